"""Envs spread over processes, several envs as one, and sampling jobs side by side."""
import functools

import numpy as np
import pytest

from cs285.infrastructure import utils
from cs285.infrastructure.envs import ConcatVecEnv, VecEnv
from cs285.infrastructure.process_env import ProcessVecEnv, train_and_eval_env


def uniform_policy(seed, ac_dim):
    rng = np.random.default_rng(seed)
    return lambda obs: rng.uniform(-1, 1, (len(obs), ac_dim)).astype(np.float32)


def assert_same_paths(a, b):
    assert len(a) == len(b)
    for p, q in zip(a, b):
        for key in utils.PATH_KEYS:
            np.testing.assert_array_equal(p[key], q[key])


def test_processes_return_exactly_what_one_process_does():
    build = functools.partial(VecEnv, "Hopper-v4", 5, seed=4, ep_len=40)
    alone, _ = utils.sample_trajectories(build(), uniform_policy(0, 3), 300)
    env = ProcessVecEnv(build, num_procs=2)
    try:
        spread, _ = utils.sample_trajectories(env, uniform_policy(0, 3), 300)
        assert_same_paths(spread, alone)
        assert len(spread) > 5  # several rounds of episodes, in slots of both processes
        for i in range(5):
            env.reset_one(i)
        obs, rewards, terminated, truncated = env.step_all(np.zeros((5, 3), dtype=np.float32))
        assert obs.shape == (5, 11) and rewards.shape == terminated.shape == truncated.shape == (5,)
    finally:
        env.close()


def test_worker_errors_reach_the_caller():
    env = ProcessVecEnv(functools.partial(VecEnv, "Pendulum-v1", 2, seed=0), num_procs=2)
    try:
        env.reset_one(0)
        with pytest.raises(RuntimeError, match="env worker"):  # slot 1 lives in the worker, never reset
            env.step_each([0, 1], np.zeros((2, 1), dtype=np.float32))
    finally:
        env.close()
    assert not any(p.is_alive() for p in env._procs)


def test_concat_keeps_each_parts_seeds():
    env = ConcatVecEnv([VecEnv("Pendulum-v1", 2, seed=0), VecEnv("Pendulum-v1", 3, seed=100)])
    assert env.num_envs == 5 and env.part_slots(1) == range(2, 5)
    np.testing.assert_array_equal(env.reset_one(3), VecEnv("Pendulum-v1", 2, seed=100).reset_one(1))
    for j in range(5):
        env.reset_one(j)
    obs, rewards, _, _ = env.step_all(np.zeros((5, 1), dtype=np.float32))
    assert obs.shape == (5, 3) and rewards.shape == (5,)


@pytest.mark.parametrize("num_procs", [1, 2])
def test_jobs_side_by_side_equal_jobs_one_after_the_other(num_procs):
    def make():
        return train_and_eval_env(lambda: VecEnv("Hopper-v4", 4, seed=1, ep_len=25),
                                  lambda: VecEnv("Hopper-v4", 3, seed=50, ep_len=25), 4, 3, num_procs)

    env, train_slots, eval_slots = make()
    try:
        train, evals = utils.sample_jobs(env, [
            utils.SampleJob(train_slots, uniform_policy(1, 3), min_timesteps=120),
            utils.SampleJob(eval_slots, uniform_policy(2, 3), ntraj=5),
        ])
    finally:
        env.close()
    alone_train, _ = utils.sample_trajectories(VecEnv("Hopper-v4", 4, seed=1, ep_len=25), uniform_policy(1, 3), 120)
    alone_eval = utils.sample_n_trajectories(VecEnv("Hopper-v4", 3, seed=50, ep_len=25), uniform_policy(2, 3), 5)
    assert_same_paths(train, alone_train)
    assert_same_paths(evals, alone_eval)
    assert utils.total_steps(train) >= 120 and len(evals) == 5


def test_jobs_must_not_share_slots():
    env = VecEnv("Pendulum-v1", 3, seed=0)
    with pytest.raises(ValueError, match="disjoint"):
        utils.sample_jobs(env, [utils.SampleJob([0, 1], uniform_policy(0, 1), ntraj=1),
                                utils.SampleJob([1, 2], uniform_policy(0, 1), ntraj=1)])


def test_segments_on_some_slots():
    env = ConcatVecEnv([VecEnv("Pendulum-v1", 2, seed=0, ep_len=7), VecEnv("Pendulum-v1", 1, seed=9)])
    batch = utils.SegmentSampler(env, slots=[0, 1]).sample(uniform_policy(0, 1), 5)
    alone = utils.SegmentSampler(VecEnv("Pendulum-v1", 2, seed=0, ep_len=7)).sample(uniform_policy(0, 1), 5)
    for key in utils.PATH_KEYS:
        np.testing.assert_array_equal(batch[key], alone[key])
