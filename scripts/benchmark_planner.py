"""hw4's planner against the machine's matrix-multiply rate, config by config.

    python scripts/benchmark_planner.py [--configs halfcheetah_cem reacher_multi_iter] [--threads 1 2]

For each planning config of experiments/mpc/ (all but halfcheetah_0_iter and halfcheetah_mbpo, which
never plan) and each torch thread count:
- FLOP per planned env step: cem_num_iters (1 for random shooting) x mpc_horizon x ensemble_size x
  mpc_num_action_sequences x 2 sum(fan_in x fan_out) over the dynamics MLP's layers;
- ``matmul``: the same matrix products and nothing else, one ``torch.bmm`` per layer and horizon step on the
  whole (members, sequences, fan_in) batch, into preallocated outputs: the issue's reference rate;
- ``matmul_blocked``: the same products in the planner's blocks of sequences (``CHUNK_FLOATS``), the
  fastest way found here to multiply these shapes;
- ``planner``: ``ModelBasedAgent.plan`` itself (sampling, the folded ensemble, ``get_reward``, CEM's
  refits), on statistics of random-action data from the env, and its share of each reference rate;
- the run's planned env steps (collection after iteration 0, plus evaluation; obstacles' episodes end
  early, so there it is an upper bound) and the hours the planner alone takes for them.
Each timing is the median of ``--repeats`` rounds, the variants taken in turn within a round.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np
import torch

from cs285.agents import model_based_agent
from cs285.agents.model_based_agent import ModelBasedAgent
from cs285.env_configs import mpc_config
from cs285.envs.make import make_env
from cs285.trainers.experiment_config import load_experiment
from cs285.trainers.script_util import run_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANNING = ("obstacles_1_iter", "obstacles_multi_iter", "reacher_multi_iter", "reacher_ablation",
            "halfcheetah_multi_iter", "halfcheetah_cem")


def layer_shapes(config: dict, ob_dim: int, ac_dim: int) -> list[tuple[int, int]]:
    sizes = [ob_dim + ac_dim, *[config["hidden_size"]] * config["num_layers"], ob_dim]
    return list(zip(sizes[:-1], sizes[1:]))


def planner_flops(config: dict, shapes: list[tuple[int, int]]) -> float:
    rounds = config["cem_num_iters"] if config["mpc_strategy"] == "cem" else 1
    rows = config["ensemble_size"] * config["mpc_num_action_sequences"]
    return rounds * config["mpc_horizon"] * rows * 2.0 * sum(i * o for i, o in shapes)


def planned_steps(config: dict) -> int:
    """Planner env steps of one run: collection after iteration 0 in whole episodes of ep_len + 1 steps
    (the course's sampler), and every iteration's evaluation."""
    episode = mpc_config.ep_len(config) + 1
    collected = (config["num_iters"] - 1) * math.ceil(config["batch_size"] / episode) * episode
    return collected + config["num_iters"] * config["num_eval_trajectories"] * episode


def matmul_chain(config: dict, shapes: list[tuple[int, int]], blocked: bool):
    """The planner's products for one planned step, as a closure."""
    m, n = config["ensemble_size"], config["mpc_num_action_sequences"]
    rows = max(1, model_based_agent.CHUNK_FLOATS // (m * max(o for _, o in shapes))) if blocked else n
    weights = [torch.randn(m, i, o) / math.sqrt(i) for i, o in shapes]
    rounds = (config["cem_num_iters"] if config["mpc_strategy"] == "cem" else 1) * config["mpc_horizon"]
    x = torch.randn(m, n, shapes[0][0])
    outs = [torch.empty(m, rows, o) for _, o in shapes]

    def step():
        for _ in range(rounds):
            for start in range(0, n, rows):
                h = x[:, start:start + rows]
                for w, out in zip(weights, outs):
                    h = torch.bmm(h, w, out=out[:, :h.shape[1]])
    return step


def planner_step(config: dict, seed: int = 0):
    env = make_env(config["env_name"])
    space = env.action_space
    rng = np.random.default_rng(seed)
    obs, acs, next_obs = [], [], []
    o, _ = env.reset(seed=seed)
    for _ in range(1000):  # random-action data for realistic normalization statistics
        a = rng.uniform(space.low, space.high).astype(np.float32)
        o2, _, terminated, truncated, _ = env.step(a)
        obs.append(o), acs.append(a), next_obs.append(o2)
        o = env.reset()[0] if terminated or truncated else o2
    torch.manual_seed(seed)
    agent = ModelBasedAgent(len(o), space.shape[0], space.low, space.high, env.unwrapped.get_reward,
                            **mpc_config.agent_kwargs(config))
    agent.update_statistics(*(np.asarray(x, dtype=np.float32) for x in (obs, acs, next_obs)))
    start = np.asarray(obs[0], dtype=np.float32)
    return (lambda: agent.plan(start, rng)), len(o), space.shape[0]


def median_seconds(fns: dict, repeats: int, calls: int) -> dict[str, float]:
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(PLANNING), choices=PLANNING, metavar="NAME",
                        help=f"configs of experiments/mpc/ (default: all that plan: {', '.join(PLANNING)})")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per timing (median)")
    parser.add_argument("--calls", type=int, default=3, help="planned steps per round")
    args = parser.parse_args()
    print(f"{'config':24s} {'thr':>3s} {'GFLOP/step':>10s} {'matmul':>8s} {'blocked':>8s} {'planner':>8s} "
          f"{'vs matmul':>9s} {'vs blocked':>10s} {'steps/s':>8s} {'steps':>7s} {'hours':>6s}")
    for name in args.configs:
        path = os.path.join(ROOT, "experiments", "mpc", f"{name}.yaml")
        config = mpc_config.check_mpc_config(load_experiment(path, mpc_config.BASE_CONFIGS), path)
        plan, ob_dim, ac_dim = planner_step(config)
        shapes = layer_shapes(config, ob_dim, ac_dim)
        flops = planner_flops(config, shapes)
        for threads in args.threads:
            torch.set_num_threads(threads)
            seconds = median_seconds({"matmul": matmul_chain(config, shapes, blocked=False),
                                      "blocked": matmul_chain(config, shapes, blocked=True),
                                      "planner": plan}, args.repeats, args.calls)
            rate = {k: flops / s / 1e9 for k, s in seconds.items()}
            steps = planned_steps(config)
            print(f"{name:24s} {threads:3d} {flops / 1e9:10.2f} {rate['matmul']:8.1f} {rate['blocked']:8.1f} "
                  f"{rate['planner']:8.1f} {rate['planner'] / rate['matmul']:9.0%} "
                  f"{rate['planner'] / rate['blocked']:10.0%} {1 / seconds['planner']:8.2f} {steps:7d} "
                  f"{steps * seconds['planner'] / 3600:6.2f}", flush=True)
    print("rates in GFLOP/s; steps: the run's planned env steps; hours: the planner's share of the run")


if __name__ == "__main__":
    run_main(main)
