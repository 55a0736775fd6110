"""EpisodeSampler: the batch is the course's serial prefix of seeded episodes, whatever the process count."""
import os
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from cs285.infrastructure.envs import make_env
from cs285.infrastructure.episode_sampler import EpisodeSampler, Request, default_num_procs, run_episode
from cs285.infrastructure.utils import PATH_KEYS
from cs285.networks.policies import MLPPolicy


def _policy(env_name: str, seed: int = 0, ob_dim: int | None = None) -> MLPPolicy:
    torch.manual_seed(seed)
    env = make_env(env_name)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    ac_dim = env.action_space.n if discrete else env.action_space.shape[0]
    return MLPPolicy(ac_dim, ob_dim or env.observation_space.shape[0], discrete, 2, 16)


def _sample(env_name: str, procs: int, requests: list[Request], ep_len: int | None = None) -> list[list[dict]]:
    sampler = EpisodeSampler(env_name, ep_len=ep_len, num_procs=procs)
    try:
        policy = _policy(env_name)
        torch.manual_seed(7)  # the requests' seeds come from torch's RNG
        return sampler.sample(policy, requests)
    finally:
        sampler.close()


def _assert_same_paths(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for p, q in zip(a, b):
        for key in PATH_KEYS:
            np.testing.assert_array_equal(p[key], q[key], err_msg=key)


@pytest.mark.parametrize("env_name, ep_len, noise", [("CartPole-v1", None, 0.0), ("Pendulum-v1", 30, 0.5)])
def test_the_number_of_processes_does_not_change_the_episodes(env_name, ep_len, noise):
    requests = [Request("eval", ntraj=3), Request("train", min_timesteps=300, action_noise_std=noise)]
    one = _sample(env_name, 1, requests, ep_len)
    for procs in (2, 3):
        for got, expected in zip(_sample(env_name, procs, requests, ep_len), one):
            _assert_same_paths(got, expected)
    assert len(one[0]) == 3


def test_a_batch_is_the_serial_prefix_of_seeded_episodes():
    """Episode k = run_episode(seed [request seed, k]) in a fresh env; the batch: episodes 0, 1, … until the steps
    reach min_timesteps, exactly as one env run serially would give."""
    min_steps = 500
    (batch,) = _sample("CartPole-v1", 2, [Request("train", min_timesteps=min_steps)])
    torch.manual_seed(7)
    request_seed = int(torch.randint(2**62, ()))
    snapshot = _policy("CartPole-v1").snapshot()
    expected, steps = [], 0
    while steps < min_steps:
        path = run_episode(make_env("CartPole-v1"), snapshot, np.random.SeedSequence([request_seed, len(expected)]))
        expected.append(path)
        steps += len(path["reward"])
    _assert_same_paths(batch, expected)
    lengths = [len(p["reward"]) for p in batch]
    assert sum(lengths) >= min_steps > sum(lengths[:-1])
    assert len(set(lengths)) > 1  # the episodes differ: each has its own seed


def test_action_noise_reaches_the_env_but_not_the_path():
    class SumEnv(gym.Env):
        """reward = the sum of the action the env receives; 4 steps."""

        observation_space = gym.spaces.Box(-1.0, 1.0, (3,))
        action_space = gym.spaces.Box(-np.inf, np.inf, (2,))

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return self.np_random.uniform(-1, 1, 3).astype(np.float32), {}

        def step(self, action):
            self.t += 1
            return np.zeros(3, np.float32), float(np.sum(action)), False, self.t == 4, {}

    torch.manual_seed(0)
    snapshot = MLPPolicy(2, 3, False, 1, 8).snapshot()
    seed = np.random.SeedSequence([123, 0])
    clean = run_episode(SumEnv(), snapshot, seed)
    noisy = run_episode(SumEnv(), snapshot, np.random.SeedSequence([123, 0]), action_noise_std=0.3)
    np.testing.assert_array_equal(noisy["action"][0], clean["action"][0])  # same start, same policy draw
    noise = 0.3 * np.random.default_rng(np.random.SeedSequence([123, 0]).spawn(3)[2]).standard_normal((4, 2))
    np.testing.assert_allclose(noisy["reward"], noisy["action"].astype(np.float64).sum(1) + noise.sum(1),
                               rtol=1e-6)
    np.testing.assert_allclose(clean["reward"], clean["action"].astype(np.float64).sum(1), rtol=1e-6)
    assert clean["truncated"][-1] and not clean["terminated"].any() and len(clean["reward"]) == 4


def test_a_worker_failure_is_an_error_here_and_the_sampler_still_closes():
    sampler = EpisodeSampler("CartPole-v1", num_procs=2)
    procs = list(sampler._pool.procs)
    wrong = _policy("CartPole-v1", ob_dim=3)  # CartPole observations have 4 numbers
    with pytest.raises(RuntimeError, match="sampler worker process failed"):
        sampler.sample(wrong, [Request("train", ntraj=1)])
    sampler.close()
    assert len(procs) == 2 and not any(p.is_alive() for p in procs)


def test_requests_need_one_stopping_rule_and_noise_needs_continuous_actions():
    sampler = EpisodeSampler("CartPole-v1")
    policy = _policy("CartPole-v1")
    with pytest.raises(ValueError, match="exactly one"):
        sampler.sample(policy, [Request("train")])
    with pytest.raises(ValueError, match="continuous"):
        sampler.sample(policy, [Request("train", ntraj=1, action_noise_std=0.1)])
    sampler.close()


def test_default_process_count_is_the_cores_unless_the_sweep_says(monkeypatch):
    monkeypatch.delenv("CS285_SAMPLER_PROCS", raising=False)
    assert default_num_procs() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("CS285_SAMPLER_PROCS", "3")
    assert default_num_procs() == 3
    monkeypatch.delenv("CS285_SAMPLER_PROCS")
    monkeypatch.setattr(sys, "platform", "darwin")  # no forking by default off Linux
    assert default_num_procs() == 1
