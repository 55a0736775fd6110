"""Sampler throughput next to the raw env.step rate, per env backend, measured in the same run.

    python scripts/benchmark.py [--envs Hopper-v4 HalfCheetah-v4] [--steps 50000]
    python scripts/benchmark.py --backend gymnasium envpool --envs HalfCheetah-v4 Humanoid-v4
    python scripts/benchmark.py --check [--envs HalfCheetah-v4 Hopper-v4 Humanoid-v4 LunarLander-v3]

"raw" is the ceiling without a policy, pre-drawn random actions, resets on
episode end: for gymnasium one env (made like every env in the project) in a
Python loop; for envpool ``--num_envs`` envs in one pool, each call stepping
them all (envpool's own auto-reset). "sampler" runs the collector's lock-step
complete episodes (``utils.sample_trajectories``) on ``--num_envs`` envs of the
backend with an MLP policy (2x64, the hw1 default) choosing every action.
"episodes" (gymnasium) runs the collector's whole episodes with the same policy
in ``--procs`` processes (default: every core); its CPU time is in other
processes, so it has a wall-clock rate only. ``--check`` prints how closely
envpool follows gymnasium instead (see scripts/envpool_agreement.py).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import NamedTuple

import gymnasium as gym
import numpy as np
import torch

from cs285.infrastructure import utils
from cs285.infrastructure.collector import Collector
from cs285.infrastructure.envs import ENV_BACKENDS, default_num_procs, make_env, make_vec_env, random_actions
from cs285.infrastructure.script_util import run_main
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
    space = env.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    return MLPPolicy(space.n if discrete else space.shape[0], env.observation_space.shape[0], discrete, 2, 64)


def raw_rate(env_name: str, steps: int, backend: str, num_envs: int, seed: int = 0) -> Rate:
    env = make_env(env_name)
    rng = np.random.default_rng(seed)
    if backend == "envpool":
        env.close()
        return _raw_envpool_rate(env_name, steps, num_envs,
                                 random_actions(env.action_space, (steps // num_envs, num_envs), rng), seed)
    env.reset(seed=seed)
    actions = random_actions(env.action_space, (steps,), rng)
    clock = _Clock()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return clock.rate(steps)


def _raw_envpool_rate(env_name: str, steps: int, num_envs: int, actions: np.ndarray, seed: int) -> Rate:
    """actions: (calls, num_envs, ac_dim)."""
    from cs285.infrastructure.envpool_env import DEFAULT_NUM_THREADS, import_envpool

    pool = import_envpool().make(env_name, env_type="gymnasium", num_envs=num_envs, batch_size=num_envs,
                                 num_threads=min(DEFAULT_NUM_THREADS, num_envs), seed=seed)
    pool.reset()
    clock = _Clock()
    for a in actions:
        pool.step(a)
    rate = clock.rate(actions.shape[0] * num_envs)
    pool.close()
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


def print_agreement(env_names: list[str], n_seeds: int, n_episodes: int) -> None:
    """Lock-step traces (one line per seed) and episode statistics, envpool vs gymnasium."""
    from envpool_agreement import (STATS_POLICIES, compare_stats, episode_stats, lockstep, reset_obs_max_z,
                                   state_setter)

    print("lock-step from one state, same random actions (max |envpool - gymnasium|):")
    print(f"{'env':<16}{'seed':>5}{'steps':>7}{'obs@1':>10}{'obs@≤10':>10}{'obs':>10}{'reward':>10}"
          f"{'diverged@':>10}{'flags':>7}  end")
    for name in env_names:
        try:
            state_setter(name)
        except ValueError:
            print(f"{name:<16} none: its state cannot be rebuilt from an observation (statistics only)")
            continue
        for seed in range(n_seeds):
            r = lockstep(name, seed=seed)
            print(f"{name:<16}{seed:>5}{r.steps:>7}{r.obs_diff_first:>10.1e}{r.obs_diff_10:>10.1e}{r.obs_diff:>10.1e}"
                  f"{r.reward_diff:>10.1e}{r.first_diverged:>10}{'same' if r.flags_agree else 'DIFF':>7}  {r.ended_by}")
    print(f"\n{n_episodes} episodes of a fixed policy per backend, gymnasium vs envpool "
          "(z: difference / its standard error):")
    for name in env_names:
        for policy in STATS_POLICIES.get(name, ("linear",)):
            g = episode_stats(name, "gymnasium", n_episodes, policy=policy)
            e = episode_stats(name, "envpool", n_episodes, policy=policy)
            shown = compare_stats(g, e) if name in STATS_POLICIES else \
                {k: v for k, v in compare_stats(g, e).items() if k in ("return", "length")}
            print(f"{name:<16}{policy:<10}" + " | ".join(f"{k} {a:.2f} vs {b:.2f} (z {z:5.2f})"
                                                       for k, (a, b, z) in shown.items())
                  + f" | reset obs max |z| {reset_obs_max_z(g, e):.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["Hopper-v4", "HalfCheetah-v4"])
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--num_envs", type=int, default=8, help="envs stepped together by the sampler (and raw envpool)")
    p.add_argument("--backend", nargs="+", choices=ENV_BACKENDS, default=["gymnasium"],
                   help="env backends to measure (envpool needs pip install -e .[fast])")
    p.add_argument("--procs", type=int, default=default_num_procs(),
                   help="processes of the episode sampler (default: every core on Linux)")
    p.add_argument("--check", action="store_true", help="print envpool's agreement with gymnasium instead")
    p.add_argument("--check_seeds", type=int, default=3, help="--check: lock-step episodes per env")
    p.add_argument("--check_episodes", type=int, default=64, help="--check: episodes per backend for statistics")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.check:
        print_agreement(args.envs, args.check_seeds, args.check_episodes)
        return
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
