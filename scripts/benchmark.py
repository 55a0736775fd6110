"""Sampler throughput next to the raw env.step rate, measured in the same run.

    python scripts/benchmark.py [--envs Hopper-v4 HalfCheetah-v4] [--steps 50000]

"raw" steps one gymnasium env (made like every env in the project) with
pre-drawn random actions and resets on episode end: the ceiling for a
single-threaded Python loop. "sampler" runs ``utils.sample_trajectories`` with
an MLP policy (2x64, the hw1 default) choosing every action.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cs285.infrastructure import utils
from cs285.infrastructure.envs import VecEnv, make_env
from cs285.infrastructure.script_util import run_main
from cs285.networks.policies import MLPPolicy


def raw_rate(env_name: str, steps: int, seed: int = 0) -> float:
    env = make_env(env_name)
    env.reset(seed=seed)
    low, high = env.action_space.low, env.action_space.high
    actions = np.random.default_rng(seed).uniform(low, high, (steps, *low.shape)).astype(np.float32)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def sampler_rate(env_name: str, steps: int, num_envs: int, seed: int = 0) -> float:
    env = VecEnv(env_name, num_envs, seed=seed)
    policy = MLPPolicy(env.action_space.shape[0], env.observation_space.shape[0], False, 2, 64)
    utils.sample_trajectories(env, policy.rollout_fn(), 1000)  # warm-up: first resets, torch kernels
    start = time.perf_counter()
    _, done = utils.sample_trajectories(env, policy.rollout_fn(), steps)
    return done / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["Hopper-v4", "HalfCheetah-v4"])
    p.add_argument("--steps", type=int, default=50_000)
    p.add_argument("--num_envs", type=int, default=8, help="envs stepped together by the sampler")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"{'env':<16}{'raw env.step/s':>16}{'sampler steps/s':>17}{'ratio':>8}")
    for name in args.envs:
        raw = raw_rate(name, args.steps)
        sampled = sampler_rate(name, args.steps, args.num_envs)
        print(f"{name:<16}{raw:>16,.0f}{sampled:>17,.0f}{sampled / raw:>8.2f}")


if __name__ == "__main__":
    run_main(main)
