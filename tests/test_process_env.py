"""Envs spread over processes: the same numbers as in one process."""
import functools

import numpy as np
import pytest

from cs285.infrastructure import utils
from cs285.infrastructure.envs import VecEnv
from cs285.infrastructure.process_env import ProcessVecEnv


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
    procs = list(env._pool.procs)
    try:
        env.reset_one(0)
        with pytest.raises(RuntimeError, match="env worker"):  # slot 1 lives in the worker, never reset
            env.step_each([0, 1], np.zeros((2, 1), dtype=np.float32))
    finally:
        env.close()
    assert len(procs) == 1 and not any(p.is_alive() for p in procs)


def test_segments_in_processes():
    build = functools.partial(VecEnv, "Pendulum-v1", 4, seed=0, ep_len=7)
    env = ProcessVecEnv(build, num_procs=2)
    try:
        spread = utils.SegmentSampler(env).sample(uniform_policy(0, 1), 5)
        alone = utils.SegmentSampler(build()).sample(uniform_policy(0, 1), 5)
        for key in utils.PATH_KEYS:
            np.testing.assert_array_equal(spread[key], alone[key])
    finally:
        env.close()
