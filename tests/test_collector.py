"""The one collector: stop rule, ends, seeding, action noise, and every backend and mode giving the same numbers."""
import functools
import os
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from actors import UniformActor, ZerosActor
from cs285.infrastructure import utils
from cs285.envs.collector import ACTION_NOISE_SEED_OFFSET, Collector, Request, run_episode
from cs285.envs.make import VecEnv, default_num_procs, make_env
from cs285.infrastructure.errors import UserError
from cs285.envs.process_env import ProcessVecEnv
from cs285.infrastructure.rollouts import PATH_KEYS
from cs285.networks.policies import MLPPolicy


class ActionSumEnv(gym.Env):
    """reward = the sum of the action the env receives; never ends by itself (registered with a 4-step limit)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,))
    action_space = gym.spaces.Box(-np.inf, np.inf, (2,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), {}

    def step(self, action):
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), float(np.sum(action)), False, False, {}


ACTION_SUM = "cs285test/ActionSum-v0"
if ACTION_SUM not in gym.registry:
    gym.register(ACTION_SUM, entry_point=ActionSumEnv, max_episode_steps=4)


def _mlp_policy(env_name: str, seed: int = 0, ob_dim: int | None = None) -> MLPPolicy:
    """A random MLPPolicy: its snapshot is the one Actor type that whole-episode worker processes take."""
    torch.manual_seed(seed)
    env = make_env(env_name)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    ac_dim = env.action_space.n if discrete else env.action_space.shape[0]
    return MLPPolicy(ac_dim, ob_dim or env.observation_space.shape[0], discrete, 2, 16)


def _assert_same_paths(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for p, q in zip(a, b):
        for key in PATH_KEYS:
            np.testing.assert_array_equal(p[key], q[key], err_msg=key)


def _assert_same_batch(a, b) -> None:
    for name, x, y in zip(a._fields, a, b):
        np.testing.assert_array_equal(x, y, err_msg=name)


# ---------------------------------------------------------------- complete episodes: the stop rule and ends

@pytest.mark.parametrize("lockstep", [True, False])
def test_min_steps_collects_whole_episodes_and_stops_by_the_rule(lockstep):
    # Pendulum never terminates; with ep_len=7 every episode is exactly 7 steps, truncated.
    # Rule: episode k starts while finished + running·7 < 20: k=0 (0 < 20), k=1 (7 < 20), k=2 (14 < 20),
    # not k=3 (21 ≥ 20): 3 episodes = 21 steps, though 4 lock-step envs could have run a 4th.
    collector = Collector.over(VecEnv("Pendulum-v1", num_envs=4, seed=0, ep_len=7)) if lockstep else \
        Collector("Pendulum-v1", env_procs=1, ep_len=7)
    paths, steps = utils.sample_trajectories(collector, ZerosActor(1), 20)
    collector.close()
    assert steps == 21 and len(paths) == 3
    for p in paths:
        assert len(p["reward"]) == 7
        assert p["truncated"].tolist() == [False] * 6 + [True]
        assert not p["terminated"].any()


def test_n_trajectories_and_keys():
    env = VecEnv("Pendulum-v1", num_envs=3, seed=0, ep_len=5)
    paths = utils.sample_n_trajectories(env, ZerosActor(1), 5)
    assert len(paths) == 5  # 3 envs, 5 episodes: two envs run a second one
    for p in paths:
        assert set(p) == set(PATH_KEYS)
        assert p["observation"].shape == (5, 3) and p["action"].shape == (5, 1)
        np.testing.assert_array_equal(p["next_observation"][:-1], p["observation"][1:])


@pytest.mark.parametrize("lockstep", [True, False])
def test_termination_is_not_truncation(lockstep):
    # CartPole pushed always left falls over long before its 500-step limit; reward 1 per step.
    collector = Collector.over(VecEnv("CartPole-v1", num_envs=2, seed=3)) if lockstep else \
        Collector("CartPole-v1", env_procs=1)
    (path,) = collector.episodes(ZerosActor(), n_episodes=1, seed=3)
    collector.close()
    n = len(path["reward"])
    assert n < 50
    assert path["terminated"].tolist() == [False] * (n - 1) + [True]
    assert not path["truncated"].any()
    assert path["reward"].tolist() == [1.0] * n


def test_same_seed_same_paths():
    def run(seed):
        env = VecEnv("Hopper-v4", num_envs=4, seed=seed, ep_len=30)
        paths, _ = utils.sample_trajectories(env, UniformActor(3), 100, seed=seed)
        return np.concatenate([p["observation"] for p in paths])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_ep_len_is_honoured_on_mujoco():
    with Collector("HalfCheetah-v4", env_procs=1, ep_len=13) as collector:
        paths = utils.sample_n_trajectories(collector, ZerosActor(6), 2)
    assert [len(p["reward"]) for p in paths] == [13, 13]
    assert all(p["truncated"][-1] for p in paths)


# ---------------------------------------------------------------- complete episodes: processes and seeds

def _episodes(env_name: str, procs: int, requests: list[Request], ep_len: int | None = None) -> list[list[dict]]:
    with Collector(env_name, ep_len=ep_len, env_procs=procs) as collector:
        policy = _mlp_policy(env_name)
        torch.manual_seed(7)  # the requests' seeds come from torch's RNG
        out = collector.episodes_together(policy, requests)
        if procs > 1:  # the episodes really ran in worker processes
            assert collector._pool is not None and len(collector._pool.procs) == procs
        return out


@pytest.mark.parametrize("env_name, ep_len, noise", [("CartPole-v1", 50, 0.0), ("Pendulum-v1", 30, 0.5)])
def test_the_number_of_processes_does_not_change_the_episodes(env_name, ep_len, noise):
    requests = [Request(n_episodes=3, stream="eval"), Request(min_steps=300, action_noise_std=noise)]
    one = _episodes(env_name, 1, requests, ep_len)
    for procs in (2, 3):
        for got, expected in zip(_episodes(env_name, procs, requests, ep_len), one):
            _assert_same_paths(got, expected)
    assert len(one[0]) == 3 and sum(len(p["reward"]) for p in one[1]) >= 300


def test_a_batch_is_the_serial_prefix_of_seeded_episodes():
    """Episode k = run_episode(seed [request seed, k]) in a fresh env; the batch: episodes 0, 1, … until the steps
    reach min_steps, exactly as one env run serially would give."""
    # ep_len 50 < min_steps 300: the rule lets both processes run episodes at once (0 + 1·50 < 300).
    min_steps = 300
    (batch,) = _episodes("CartPole-v1", 2, [Request(min_steps=min_steps)], ep_len=50)
    torch.manual_seed(7)
    request_seed = int(torch.randint(2**62, ()))
    snapshot = _mlp_policy("CartPole-v1").snapshot()
    expected, steps = [], 0
    while steps < min_steps:
        path = run_episode(make_env("CartPole-v1", ep_len=50), snapshot,
                           np.random.SeedSequence([request_seed, len(expected)]))
        expected.append(path)
        steps += len(path["reward"])
    _assert_same_paths(batch, expected)
    lengths = [len(p["reward"]) for p in batch]
    assert sum(lengths) >= min_steps > sum(lengths[:-1])
    assert len(set(lengths)) > 1  # the episodes differ: each has its own seed


# ---------------------------------------------------------------- lock-step envs in processes

def test_processes_return_exactly_what_one_process_does():
    build = functools.partial(VecEnv, "Hopper-v4", 5, seed=4, ep_len=40)
    alone = Collector.over(build()).episodes(UniformActor(3), min_steps=300, seed=0)
    env = ProcessVecEnv(build, num_procs=2)
    try:
        spread = Collector.over(env).episodes(UniformActor(3), min_steps=300, seed=0)
        _assert_same_paths(spread, alone)
        assert len(spread) > 5  # several rounds of episodes, in slots of both processes
        for i in range(5):
            env.reset_one(i)
        obs, rewards, terminated, truncated = env.step_all(np.zeros((5, 3), dtype=np.float32))
        assert obs.shape == (5, 11) and rewards.shape == terminated.shape == truncated.shape == (5,)
    finally:
        env.close()


def test_segments_and_steps_in_processes():
    build = functools.partial(VecEnv, "Pendulum-v1", 4, seed=0, ep_len=7)
    env = ProcessVecEnv(build, num_procs=2)
    try:
        spread, alone = Collector.over(env), Collector.over(build())
        rng_spread, rng_alone = np.random.default_rng(0), np.random.default_rng(0)
        for _ in range(2):  # the second segment crosses the 7-step limit: a reset in each process
            a, ended_a = spread.segments(UniformActor(1), 5, rng=rng_spread)
            b, ended_b = alone.segments(UniformActor(1), 5, rng=rng_alone)
            _assert_same_batch(a, b)
            assert [len(e["reward"]) for e in ended_a] == [len(e["reward"]) for e in ended_b]
        _assert_same_batch(spread.steps(UniformActor(1), 3, rng=rng_spread)[0],
                           alone.steps(UniformActor(1), 3, rng=rng_alone)[0])
    finally:
        env.close()


def test_env_worker_errors_reach_the_caller():
    env = ProcessVecEnv(functools.partial(VecEnv, "Pendulum-v1", 2, seed=0), num_procs=2)
    procs = list(env._pool.procs)
    try:
        env.reset_one(0)
        with pytest.raises(RuntimeError, match="env worker"):  # slot 1 lives in the worker, never reset
            env.step_each([0, 1], np.zeros((2, 1), dtype=np.float32))
    finally:
        env.close()
    assert len(procs) == 1 and not any(p.is_alive() for p in procs)


def test_step_all_matches_step_each():
    def run(use_all):
        env = VecEnv("Hopper-v4", num_envs=3, seed=5)
        for i in range(3):
            env.reset_one(i)
        actions = np.full((3, 3), 0.1, dtype=np.float32)
        return env.step_all(actions) if use_all else tuple(map(np.array, zip(*env.step_each(range(3), actions))))

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- segments and steps

def test_segments_are_env_major_cut_and_continued():
    # Pendulum with ep_len=7: 2 envs, segments of 5 steps. Env i's steps are rows [5i, 5i+5).
    with Collector("Pendulum-v1", num_envs=2, seed=0, ep_len=7) as collector:
        first, ended = collector.segments(ZerosActor(1), 5)
        assert first.observations.shape == (10, 3) and first.next_observations.shape == (10, 3)
        assert first.actions.shape == (10, 1) and first.rewards.shape == (10,)
        # each env's last step is a cut (truncated, bootstrapped); nothing else ended within 5 < 7 steps
        assert first.truncated.tolist() == ([False] * 4 + [True]) * 2 and not first.terminated.any()
        for i in range(2):
            rows = slice(5 * i, 5 * i + 5)
            np.testing.assert_array_equal(first.next_observations[rows][:-1], first.observations[rows][1:])
        assert ended == []

        second, ended = collector.segments(ZerosActor(1), 5)
    for i in range(2):
        # the episode goes on where the cut left it
        np.testing.assert_array_equal(second.observations[5 * i], first.next_observations[5 * i + 4])
        # it reaches its 7-step limit at the segment's 2nd step (5 + 2 = 7: a real truncation), a new one
        # starts at the 3rd, and the 5th is a cut again
        assert second.truncated[5 * i: 5 * i + 5].tolist() == [False, True, False, False, True]
        assert not np.array_equal(second.observations[5 * i + 2], second.next_observations[5 * i + 1])
    assert [len(e["reward"]) for e in ended] == [7, 7]
    # the finished episode's rewards are the ones its 7 steps earned, across both segments (5 + 2)
    np.testing.assert_array_equal(ended[0]["reward"], np.concatenate([first.rewards[:5], second.rewards[:2]]))
    np.testing.assert_array_equal(ended[1]["reward"], np.concatenate([first.rewards[5:], second.rewards[5:7]]))


def test_truncation_as_termination_turns_time_limits_but_not_cuts():
    # Pendulum with ep_len=3, one env. Segment 1 (5 steps): the limit ends row 2, row 4 is a cut (the
    # episode has 2 of its 3 steps). Segment 2 (1 step): the limit ends that episode on the segment's last
    # step, a time limit and no cut. Each row's flags as (terminated, truncated).
    batches = {}
    for course in (False, True):
        with Collector("Pendulum-v1", num_envs=1, seed=0, ep_len=3) as collector:
            batches[course] = [collector.segments(ZerosActor(1), t_len, truncation_as_termination=course)[0]
                               for t_len in (5, 1)]
    flags = {c: [list(zip(b.terminated.tolist(), b.truncated.tolist())) for b in bs] for c, bs in batches.items()}
    step, truncated, terminal = (False, False), (False, True), (True, False)
    assert flags[False] == [[step, step, truncated, step, truncated], [truncated]]
    assert flags[True] == [[step, step, terminal, step, truncated], [terminal]]  # the cut at row 4 stays
    for plain, course in zip(batches[False], batches[True]):
        np.testing.assert_array_equal(plain.next_observations, course.next_observations)


def test_segments_restart_terminated_episodes():
    # CartPole pushed left falls within ~10 steps: episodes end inside a 40-step segment and restart.
    with Collector("CartPole-v1", num_envs=1, seed=3) as collector:
        batch, ended = collector.segments(ZerosActor(), 40)
    ends = np.flatnonzero(batch.terminated)
    assert len(ends) >= 2 and not batch.truncated[:-1].any()
    assert batch.truncated[-1] != batch.terminated[-1]  # the last step is a cut unless it terminated
    # one record per termination, return = length (reward 1 per step): ends at rows e_0, e_1, …
    # → lengths e_0 + 1, e_1 − e_0, …
    assert [len(e["reward"]) for e in ended] == np.diff(np.concatenate([[-1], ends])).tolist()
    assert all(e["reward"].sum() == len(e["reward"]) for e in ended)


def test_segments_and_steps_give_the_same_transitions():
    # 3 Pendulum envs, ep_len 5, same seeds and rng: one 7-step segment (env-major, row 7i + t) against
    # steps(…, 1) seven times (time-major, row 3t + i). Env i truncates at t = 4 (5 steps), restarts,
    # and the segment cuts it at t = 6; steps leave that episode running.
    n, t_len = 3, 7
    with Collector("Pendulum-v1", num_envs=n, seed=2, ep_len=5) as a, \
            Collector("Pendulum-v1", num_envs=n, seed=2, ep_len=5) as b:
        seg, seg_ended = a.segments(UniformActor(1), t_len, rng=np.random.default_rng(9))
        rng = np.random.default_rng(9)
        stepped = [b.steps(UniformActor(1), 1, rng=rng) for _ in range(t_len)]
    step_ended = [e for _, ended in stepped for e in ended]
    steps = [np.stack([getattr(batch, name) for batch, _ in stepped]) for name in seg._fields]  # (t_len, n, ...)
    for name, s, t in zip(seg._fields, seg, steps):
        env_major = np.swapaxes(t, 0, 1).reshape(n * t_len, *t.shape[2:])
        if name == "truncated":
            assert env_major.reshape(n, t_len).tolist() == [[False] * 4 + [True, False, False]] * n
            assert s.reshape(n, t_len).tolist() == [[False] * 4 + [True, False, True]] * n  # + the cut
        else:
            np.testing.assert_array_equal(s, env_major, err_msg=name)
    assert [len(e["reward"]) for e in seg_ended] == [len(e["reward"]) for e in step_ended] == [5] * n
    for x, y in zip(seg_ended, step_ended):
        np.testing.assert_array_equal(x["reward"], y["reward"])


def test_steps_keep_terminated_and_truncated_apart_across_resets():
    # CartPole pushed always left: the pole passes 12° (0.2095 rad) within ~10 steps: terminated.
    with Collector("CartPole-v1", num_envs=1, seed=3) as collector:
        batch, ended = collector.steps(ZerosActor(), 30)
    assert batch.observations.shape == (30, 4) and batch.rewards.shape == (30,)
    ends = np.flatnonzero(batch.terminated)
    assert len(ends) >= 2 and not batch.truncated.any()
    t = ends[0]
    assert abs(batch.next_observations[t][2]) > 0.2095  # the real final observation: the pole has fallen
    # the next step starts from a fresh reset observation (CartPole resets every entry in ±0.05)
    assert not np.array_equal(batch.observations[t + 1], batch.next_observations[t])
    assert np.all(np.abs(batch.observations[t + 1]) <= 0.05)
    np.testing.assert_array_equal(batch.next_observations[:t], batch.observations[1:t + 1])
    # one record per termination, return = length (reward 1 per step): ends at t_0, t_1, …
    # → lengths t_0 + 1, t_1 − t_0, …
    assert [len(e["reward"]) for e in ended] == np.diff(np.concatenate([[-1], ends])).tolist()
    assert all(e["reward"].sum() == len(e["reward"]) for e in ended)

    # Pendulum with ep_len 5 never terminates: truncated at steps 5 and 10 (t = 4, 9) in each of 2 envs.
    with Collector("Pendulum-v1", num_envs=2, seed=0, ep_len=5) as collector:
        batch, ended = collector.steps(ZerosActor(1), 12)
    truncated, terminated = batch.truncated.reshape(12, 2), batch.terminated.reshape(12, 2)
    assert not terminated.any()
    assert [t for t in range(12) if truncated[t].all()] == [4, 9] and truncated.sum() == 4
    obs, next_obs = batch.observations.reshape(12, 2, 3), batch.next_observations.reshape(12, 2, 3)
    for t in (4, 9):  # the real final observation is kept; the next step starts from a reset one
        assert not np.array_equal(next_obs[t], obs[t + 1])
    np.testing.assert_array_equal(next_obs[:4], obs[1:5])
    # 4 episodes ended (2 envs × 2), in the order they ended: env 0 then env 1 at t = 4, then at t = 9
    rewards = batch.rewards.reshape(12, 2)
    assert [len(e["reward"]) for e in ended] == [5] * 4
    for e, (rows, i) in zip(ended, [(slice(0, 5), 0), (slice(0, 5), 1), (slice(5, 10), 0), (slice(5, 10), 1)]):
        np.testing.assert_array_equal(e["reward"], rewards[rows, i])


# ---------------------------------------------------------------- action noise

NOISE_STD = 0.3


def test_action_noise_reaches_the_env_but_not_the_path_in_run_episode():
    # ActionSum: reward_t = Σ_j (a_t + ε_t)_j. run_episode's noise ε ~ N(0, 0.3²) comes from the third child
    # of the episode's SeedSequence; the policy draws from the second, so noise does not shift them.
    env = make_env(ACTION_SUM)
    snapshot = MLPPolicy(2, 3, False, 1, 8).snapshot()
    clean = run_episode(env, snapshot, np.random.SeedSequence([123, 0]))
    noisy = run_episode(env, snapshot, np.random.SeedSequence([123, 0]), action_noise_std=NOISE_STD)
    np.testing.assert_array_equal(noisy["action"], clean["action"])  # same resets, same policy draws
    eps = NOISE_STD * np.random.default_rng(np.random.SeedSequence([123, 0]).spawn(3)[2]).standard_normal((4, 2))
    np.testing.assert_allclose(noisy["reward"], noisy["action"].astype(np.float64).sum(1) + eps.sum(1), rtol=1e-6)
    np.testing.assert_allclose(clean["reward"], clean["action"].astype(np.float64).sum(1), rtol=1e-6)
    assert clean["truncated"].tolist() == [False] * 3 + [True] and not clean["terminated"].any()


@pytest.mark.parametrize("lockstep", [True, False])
def test_action_noise_reaches_the_env_but_not_the_path_in_episodes(lockstep):
    # Whole episodes: episode k's noise from SeedSequence([5, k]).spawn(3)[2]. Lock-step: env i (running
    # episode i here, 2 envs for 2 episodes) from default_rng(5 + ACTION_NOISE_SEED_OFFSET + i).
    def collect(std):
        with (Collector.over(VecEnv(ACTION_SUM, 2, seed=0)) if lockstep else
              Collector(ACTION_SUM, env_procs=1)) as collector:
            return collector.episodes(UniformActor(2), n_episodes=2, action_noise_std=std, seed=5)

    clean, noisy = collect(0.0), collect(NOISE_STD)
    for k, (c, p) in enumerate(zip(clean, noisy)):
        np.testing.assert_array_equal(p["action"], c["action"])  # the path keeps the policy's action
        gen = np.random.default_rng(5 + ACTION_NOISE_SEED_OFFSET + k) if lockstep else \
            np.random.default_rng(np.random.SeedSequence([5, k]).spawn(3)[2])
        eps = NOISE_STD * gen.standard_normal((4, 2))
        np.testing.assert_allclose(p["reward"], p["action"].astype(np.float64).sum(1) + eps.sum(1), rtol=1e-6)
        np.testing.assert_allclose(c["reward"], c["action"].astype(np.float64).sum(1), rtol=1e-6)


@pytest.mark.parametrize("mode", ["segments", "steps"])
def test_action_noise_reaches_the_env_but_not_the_batch_in_segments_and_steps(mode):
    # 2 envs, 3 steps each; env i's noise: default_rng(seed 0 + ACTION_NOISE_SEED_OFFSET + i), one (2,) draw a step.
    def collect(std):
        with Collector(ACTION_SUM, num_envs=2, seed=0) as collector:
            batch, _ = getattr(collector, mode)(UniformActor(2), 3, rng=np.random.default_rng(1),
                                                action_noise_std=std)
        return batch

    clean, noisy = collect(0.0), collect(NOISE_STD)
    np.testing.assert_array_equal(noisy.actions, clean.actions)
    # rows (env, t): segments env-major (row 3i + t), steps time-major (row 2t + i)
    shape = (2, 3) if mode == "segments" else (3, 2)
    actions = noisy.actions.astype(np.float64).sum(-1).reshape(shape)
    rewards = noisy.rewards.reshape(shape)
    if mode == "steps":
        actions, rewards = actions.T, rewards.T
    for i in range(2):
        eps = NOISE_STD * np.random.default_rng(ACTION_NOISE_SEED_OFFSET + i).standard_normal((3, 2))
        np.testing.assert_allclose(rewards[i], actions[i] + eps.sum(1), rtol=1e-6)
    np.testing.assert_allclose(clean.rewards, clean.actions.astype(np.float64).sum(-1), rtol=1e-6)


# ---------------------------------------------------------------- errors and closing

def test_a_worker_failure_is_an_error_here_and_the_collector_still_closes():
    collector = Collector("CartPole-v1", env_procs=2)
    wrong = _mlp_policy("CartPole-v1", ob_dim=3)  # CartPole observations have 4 numbers
    collector.episodes(_mlp_policy("CartPole-v1"), n_episodes=2)  # the workers are up
    procs = list(collector._pool.procs)
    with pytest.raises(RuntimeError, match="sampler worker process failed"):
        collector.episodes(wrong, n_episodes=1)
    # the failed request's workers are closed at once; the next request forks new ones
    assert collector._pool is None and len(procs) == 2 and not any(p.is_alive() for p in procs)
    collector.close()


def test_a_worker_failure_leaves_no_stale_reply_for_the_next_request():
    wrong, good = _mlp_policy("CartPole-v1", ob_dim=3), _mlp_policy("CartPole-v1")
    with Collector("CartPole-v1", env_procs=1) as serial:
        expected = serial.episodes(good, n_episodes=4, seed=1)
    with Collector("CartPole-v1", env_procs=2) as collector:
        with pytest.raises(RuntimeError, match="sampler worker process failed"):
            collector.episodes(wrong, n_episodes=2)  # both workers fail; the second error is never read
        _assert_same_paths(collector.episodes(good, n_episodes=4, seed=1), expected)


def test_lockstep_env_processes_are_gone_after_close():
    collector = Collector("Pendulum-v1", num_envs=2, env_procs=2, seed=0, ep_len=5)
    collector.segments(ZerosActor(1), 2)
    procs = list(collector._envs["train"]._pool.procs)
    collector.close()
    assert len(procs) == 1 and not any(p.is_alive() for p in procs)


def test_bad_requests_and_policies_are_refused():
    with Collector("CartPole-v1", env_procs=1) as collector:
        policy = _mlp_policy("CartPole-v1")
        with pytest.raises(ValueError, match="exactly one"):
            collector.episodes(policy)
        with pytest.raises(ValueError, match="exactly one"):
            collector.episodes(policy, min_steps=10, n_episodes=1)
        with pytest.raises(ValueError, match="continuous"):
            collector.episodes(policy, n_episodes=1, action_noise_std=0.1)
        plain = lambda obs: np.zeros(len(obs), dtype=np.int64)  # noqa: E731
        with pytest.raises(TypeError, match="Actor"):
            collector.episodes(plain, n_episodes=1)
        with pytest.raises(TypeError, match="Actor"):
            collector.steps(plain, 1)
    with pytest.raises(ValueError, match="env_procs"):
        Collector("CartPole-v1", env_procs=0)


@pytest.mark.parametrize("mode", ["segments", "steps"])
def test_action_noise_on_discrete_actions_is_refused_in_segments_and_steps(mode):
    with Collector("CartPole-v1", num_envs=2) as collector:
        with pytest.raises(ValueError, match="continuous"):
            getattr(collector, mode)(ZerosActor(), 2, action_noise_std=0.1)


def test_default_process_count_is_the_cores_unless_the_sweep_says(monkeypatch):
    monkeypatch.delenv("CS285_SAMPLER_PROCS", raising=False)
    assert default_num_procs() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("CS285_SAMPLER_PROCS", "3")
    assert default_num_procs() == 3
    monkeypatch.delenv("CS285_SAMPLER_PROCS")
    monkeypatch.setattr(sys, "platform", "darwin")  # no forking by default off Linux
    assert default_num_procs() == 1


def test_describe_says_what_runs():
    with Collector("CartPole-v1", num_envs=4, env_procs=2) as collector:
        line = collector.describe(segments=True)
    assert line == ("sampler: gymnasium | episodes: whole episodes in 2 process(es), one env each"
                    " | segments/steps: 4 envs in lock-step on 2 process(es)")


# ---------------------------------------------------------------- the course's statistics and env ids

def test_metrics():
    paths = [{"reward": np.array([1.0, 2.0])}, {"reward": np.array([3.0, 4.0, 5.0])}]
    logs = utils.compute_metrics(paths, paths[:1])
    # returns 3 and 12: mean 7.5, std 4.5; eval only the first: 3.
    assert logs["Train_AverageReturn"] == 7.5 and logs["Train_StdReturn"] == 4.5
    assert logs["Train_MaxReturn"] == 12 and logs["Train_MinReturn"] == 3 and logs["Train_AverageEpLen"] == 2.5
    assert logs["Eval_AverageReturn"] == 3.0


def test_unknown_env_names_close_matches():
    with pytest.raises(UserError, match="Hopper-v4"):
        make_env("Hoper-v4")


def test_lunarlander_v2_alias(capsys):
    from cs285.envs import make as envs

    envs._note_once.cache_clear()
    assert envs.resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert envs.resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert capsys.readouterr().out.count("running LunarLander-v3") == 1  # said once, not once per env


@pytest.mark.parametrize("env_procs", [1, 2])
def test_deterministic_requests_leave_torchs_rng_alone(env_procs):
    """Evaluations and videos (deterministic) must not shift the random numbers training draws from torch."""
    with Collector("CartPole-v1", env_procs=env_procs, seed=0) as collector:
        policy = _mlp_policy("CartPole-v1")
        before = torch.get_rng_state()
        first = collector.episodes(policy, n_episodes=2, deterministic=True)
        assert torch.equal(torch.get_rng_state(), before)
        second = collector.episodes(policy, n_episodes=2, deterministic=True)
        assert torch.equal(torch.get_rng_state(), before)
        # each request still starts from its own reset states (the collector's stream moves on)
        assert not np.array_equal(first[0]["observation"][0], second[0]["observation"][0])
        collector.episodes(policy, n_episodes=1)  # a sampling request draws its seed from torch
        assert not torch.equal(torch.get_rng_state(), before)
