"""Sampler throughput next to the raw env.step rate, per env backend, measured in the same run.

    python scripts/benchmark.py [--envs Hopper-v4 HalfCheetah-v4] [--steps 50000]
    python scripts/benchmark.py --backend gymnasium envpool --envs HalfCheetah-v4 Humanoid-v4

"raw" is the ceiling without a policy, pre-drawn random actions, resets on
episode end: for gymnasium one env (made like every env in the project) in a
Python loop; for envpool ``--num_envs`` envs in one pool, each call stepping
them all (envpool's own auto-reset). "sampler" runs the collector's lock-step
complete episodes (``utils.sample_trajectories``) on ``--num_envs`` envs of the
backend with an MLP policy (2x64, the hw1 default) choosing every action.
"episodes" (gymnasium) runs the collector's whole episodes with the same policy
in ``--procs`` processes (default: every core); its CPU time is in other
processes, so it has a wall-clock rate only. How closely envpool follows
gymnasium: ``python tests/envpool_agreement.py``.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import NamedTuple

import numpy as np
import torch

from cs285.infrastructure import utils
from cs285.envs.collector import Collector
from cs285.envs.make import ENV_BACKENDS, default_num_procs, is_discrete, make_env, make_vec_env, random_actions
from cs285.trainers.script_util import run_main
from cs285.networks.policies import MLPPolicy


class Rate(NamedTuple):
    wall: float  # env steps per second of wall-clock time
    cpu: float  # env steps per CPU-second of this process, all its threads (less sensitive to other load)


class _Clock:
    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, steps: int) -> Rate:
        return Rate(steps / (time.perf_counter() - self.wall), steps / (time.process_time() - self.cpu))


def mlp_policy(env) -> MLPPolicy:
    """The 2x64 MLP policy for ``env``'s spaces (categorical or Gaussian)."""
    space, discrete = env.action_space, is_discrete(env)
    return MLPPolicy(space.n if discrete else space.shape[0], env.observation_space.shape[0], discrete, 2, 64)


def raw_rate(env_name: str, steps: int, backend: str, num_envs: int, seed: int = 0) -> Rate:
    """Pre-drawn random actions: one gymnasium env in a Python loop, or ``num_envs`` in one envpool pool."""
    env = make_env(env_name)
    rng = np.random.default_rng(seed)
    if backend == "envpool":
        from cs285.envs.envpool_env import DEFAULT_NUM_THREADS, import_envpool

        actions = random_actions(env.action_space, (steps // num_envs, num_envs), rng)  # (calls, num_envs, ac_dim)
        env.close()
        env = import_envpool().make(env_name, env_type="gymnasium", num_envs=num_envs, batch_size=num_envs,
                                    num_threads=min(DEFAULT_NUM_THREADS, num_envs), seed=seed)
        env.reset()
        clock = _Clock()
        for a in actions:
            env.step(a)  # the pool resets an env whose episode ended itself
        rate = clock.rate(actions.shape[0] * num_envs)
    else:
        env.reset(seed=seed)
        actions = random_actions(env.action_space, (steps,), rng)
        clock = _Clock()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        rate = clock.rate(steps)
    env.close()
    return rate


def sampler_rate(env_name: str, steps: int, num_envs: int, backend: str, seed: int = 0) -> Rate:
    env = make_vec_env(env_name, num_envs, seed=seed, backend=backend)
    policy = mlp_policy(env)
    utils.sample_trajectories(env, policy, 1000)  # warm-up: first resets, torch kernels
    clock = _Clock()
    _, done = utils.sample_trajectories(env, policy, steps)
    rate = clock.rate(done)
    env.close()
    return rate


def episode_sampler_rate(env_name: str, steps: int, procs: int) -> float:
    """Env steps per second of wall-clock time of the collector's whole episodes in ``procs`` processes."""
    with Collector(env_name, env_procs=procs) as collector:
        policy = mlp_policy(collector)
        collector.episodes(policy, n_episodes=procs)  # the workers build their envs
        start = time.perf_counter()
        paths = collector.episodes(policy, min_steps=steps)
        return utils.total_steps(paths) / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["Hopper-v4", "HalfCheetah-v4"])
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--num_envs", type=int, default=8, help="envs stepped together by the sampler (and raw envpool)")
    p.add_argument("--backend", nargs="+", choices=ENV_BACKENDS, default=["gymnasium"],
                   help="env backends to measure (envpool needs pip install -e .[fast])")
    p.add_argument("--procs", type=int, default=default_num_procs(),
                   help="processes of the episode sampler (default: every core on Linux)")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"steps/s of wall-clock time, and per CPU-second of this process; load average {_loadavg()}")
    print(f"{'env':<16}{'backend':<11}{'raw /s':>9}{'raw /CPU-s':>12}{'sampler /s':>12}{'sampler /CPU-s':>16}"
          f"{'ratio':>7}{f'episodes ({args.procs} procs) /s':>28}{'ratio':>7}")
    for name in args.envs:
        rates = {}
        for backend in args.backend:
            raw = raw_rate(name, args.steps, backend, args.num_envs)
            rates[backend] = sampled = sampler_rate(name, args.steps, args.num_envs, backend)
            line = (f"{name:<16}{backend:<11}{raw.wall:>9,.0f}{raw.cpu:>12,.0f}{sampled.wall:>12,.0f}"
                    f"{sampled.cpu:>16,.0f}{sampled.wall / raw.wall:>7.2f}")
            if backend == "gymnasium":
                episodes = episode_sampler_rate(name, args.steps, args.procs)
                line += f"{episodes:>28,.0f}{episodes / raw.wall:>7.2f}"
            print(line)
        if len(rates) == 2:
            g, e = rates["gymnasium"], rates["envpool"]
            print(f"{name:<16}sampler speed-up envpool / gymnasium: {e.wall / g.wall:.2f}x wall-clock, "
                  f"{e.cpu / g.cpu:.2f}x per CPU-second")
    print(f"load average after: {_loadavg()}")


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    run_main(main)
