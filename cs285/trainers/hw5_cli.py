"""The command line and runs of hw5's three scripts (the course's run_hw5_{explore,offline,finetune}.py).
Script layer: the only trainers module besides hw3_cli.py that reads ``args``.

explore    the config's agent (random, or DQN on the RND bonus) steps its maze ``total_steps`` times with the
           off-policy trainer, updating from the first step; rewards reach the agent only with ``use_reward``
           (the course multiplies them by 0 otherwise). At the end its buffer is the dataset:
           ``<dataset_dir>/<dataset_name>.npz`` (cs285/infrastructure/datasets.py), with the state-visitation
           heatmap beside it and in the run dir (``state_coverage.png``), and its ``coverage`` (the fraction of
           free cells visited) and ``visitation_entropy`` (how evenly, pointmass.py) at the last step.
offline    the config's agent learns ``training_steps`` updates from that dataset (offline.py); the env is
           stepped only to evaluate.
finetune   ``offline_steps`` updates on the dataset, then online, one ε-greedy step (ε = 0.3, the course's
           constant schedule) and one update a step, to ``total_steps``; the new steps join the dataset's buffer.
Every evaluation plays ``-neval`` episodes greedily (the course's hw5 ``get_action``: ε = 0; the random agent at
random) and draws them over the maze (``eval_trajectories_<step>.png`` in the run dir, the course's
"trajectories" figures); explore logs ``coverage`` (the fraction of free cells its buffer has visited) every
``-vi`` steps.
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Callable

import numpy as np

from cs285.env_configs import hw5_configs
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector
from cs285.envs.pointmass import coverage, maze_of, visitation_entropy
from cs285.envs.pointmass_plots import draw_trajectories, draw_visitation
from cs285.infrastructure import utils
from cs285.infrastructure.datasets import find_dataset, load_dataset, save_dataset
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch
from cs285.trainers.experiment_config import load_experiment
from cs285.trainers.off_policy import train_off_policy
from cs285.trainers.offline import train_offline
from cs285.trainers.run import Run
from cs285.trainers.script_util import add_device_args, check_flags

CHECKPOINT_MINUTES = 5.0
COVERAGE_FILE = "state_coverage.png"
RANDOM_AGENT_EP_LEN = 100  # the course's random_agent_config: TimeLimit(gym.make(env_name), 100)
RANDOM_AGENT_BATCH_SIZE = 0  # and its batch_size: the random agent learns nothing


def parse_args(kind: str, argv=None) -> argparse.Namespace:
    """The course's flags of run_hw5_<kind>.py; ``--seed`` takes several values here."""
    parser = argparse.ArgumentParser(description=f"hw5 {kind}: python scripts/run_hw5_{kind}.py -cfg "
                                                 f"experiments/<...>.yaml --dataset_dir datasets/")
    parser.add_argument("--config_file", "-cfg", required=True, help="experiments/<exploration|offline|finetuning>/"
                                                                      "<name>.yaml")
    parser.add_argument("--dataset_dir", required=True, help="where exploration runs write datasets and the others "
                                                             "read them")
    parser.add_argument("--eval_interval", "-ei", type=int, default=10000, help="steps between evaluations")
    if kind == "explore":
        parser.add_argument("--visualize_interval", "-vi", type=int, default=1000, help="steps between coverage rows")
    parser.add_argument("--num_eval_trajectories", "-neval", type=int, default=10)
    if kind != "explore":
        parser.add_argument("--num_render_trajectories", "-nvid", type=int, default=0,
                            help="accepted for the course's command lines; the maze has no video here (the "
                                 "trajectory figures show the episodes)")
    parser.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    add_device_args(parser)
    parser.add_argument("--log_interval", type=int, default=1, help="steps between training-scalar rows")
    if kind == "explore":
        parser.add_argument("--use_reward", action="store_true",
                            help="the agent learns from the env's reward too (the config's use_reward: true); the "
                                 "course parses this flag but reads only the config's key")
    args = parser.parse_args(argv)
    check_flags(args, at_least_1=("eval_interval", "num_eval_trajectories", "log_interval",
                                  *(("visualize_interval",) if kind == "explore" else ())),
                non_negative=() if kind == "explore" else ("num_render_trajectories",))
    args.kind = kind
    return args


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    config = hw5_configs.check_hw5_config(load_experiment(args.config_file, hw5_configs.HW5_BASE_CONFIGS),
                                          args.config_file)
    if args.kind != "explore" and config["base_config"] == "random":
        raise UserError(f"{args.config_file}: the random agent does not learn; give run_hw5_{args.kind}.py a dqn, "
                        f"cql, awac or iql config")
    needs = {"explore": ("dataset_name",), "offline": ("dataset_name", "training_steps"),
             "finetune": ("dataset_name", "offline_steps")}[args.kind]
    missing = [key for key in needs if config.get(key) is None]
    if missing:
        raise UserError(f"{args.config_file}: run_hw5_{args.kind}.py needs {' and '.join(missing)} in the config")
    if args.kind == "explore" and args.use_reward:
        config["use_reward"] = True
    return config


class RewardFree:
    """A replay buffer whose samples carry zero rewards (the course's ``rewards * 0`` without ``use_reward``);
    what it stores, and so the dataset, keeps the env's rewards."""

    def __init__(self, buffer: ReplayBuffer):
        self.buffer = buffer

    def __len__(self) -> int:
        return len(self.buffer)

    def insert(self, batch: Batch) -> None:
        self.buffer.insert(batch)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        batch = self.buffer.sample(batch_size, rng)
        return batch._replace(rewards=np.zeros_like(batch.rewards))

    def state_dict(self) -> dict:
        return self.buffer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state)


def draw_eval(run: Run, env_name: str) -> Callable[[int, list[dict]], None]:
    def after_eval(step: int, paths: list[dict]) -> None:
        trajectories = [np.concatenate([p["observation"][:1], p["next_observation"]]) for p in paths]
        draw_trajectories(os.path.join(run.log_dir, f"eval_trajectories_{step}.png"), env_name, trajectories,
                          title=f"step {step}: {len(paths)} evaluation episodes")
    return after_eval


def run_hw5(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One run of ``args.kind`` (module docstring); returns the last evaluation's scalars."""
    config = load_config(args)
    env_name = config["env_name"]
    dataset = None
    if args.kind != "explore":
        path = find_dataset(args.dataset_dir, config["dataset_name"])
        dataset, header = load_dataset(path)
        if header.get("env_id") not in (None, env_name):
            raise UserError(f"{path} holds {header['env_id']} steps; {args.config_file} trains on {env_name}")
    utils.seed_everything(seed)  # before the networks are built: their init is seeded too
    # the course's random config wraps the env in TimeLimit(100): Medium's 150-step episodes end at 100 there
    own = maze_of(env_name).max_episode_steps
    ep_len = min(own, RANDOM_AGENT_EP_LEN) if config["base_config"] == "random" else None
    collector = Collector(env_name, seed=seed, env_procs=1, ep_len=ep_len)
    eval_collector = Collector(env_name, seed=seed + EVAL_SEED_OFFSET, env_procs=1, ep_len=ep_len)
    try:
        space = collector.observation_space
        if not collector.discrete:
            raise UserError(f"hw5's agents need discrete actions; {env_name} has continuous ones")
        agent = hw5_configs.build_agent(config, space.shape, int(collector.action_space.n))
    except BaseException:
        collector.close()
        eval_collector.close()
        raise
    random_agent = config["base_config"] == "random"
    if random_agent:
        explorer = eval_actor = agent.actor()
    else:
        explorer = agent.actor(hw5_configs.exploration_epsilon(config))
        eval_actor = agent.actor(hw5_configs.EVAL_EPSILON)
    online = {"explore": config["total_steps"], "offline": 0,
              "finetune": config["total_steps"] - (config.get("offline_steps") or 0)}[args.kind]
    buffer = ReplayBuffer((len(dataset.rewards) if dataset is not None else 0) + online, space.shape, (),
                          action_dtype=np.int64)
    if dataset is not None:
        buffer.insert(dataset)
    prefix = f"hw5_{args.kind}_"
    with Run(prefix=prefix, log_name=hw5_configs.log_name(config), flags={**vars(args), "seed": seed},
             experiment=config, sampler=collector.resolved(segments=True), checkpoint_minutes=CHECKPOINT_MINUTES,
             closing=(collector, eval_collector)) as run:
        common = dict(eval_collector=eval_collector, eval_actor=lambda: eval_actor,
                      batch_size=config.get("batch_size", RANDOM_AGENT_BATCH_SIZE),
                      eval_interval=args.eval_interval, num_eval_trajectories=args.num_eval_trajectories,
                      log_interval=args.log_interval, rng=np.random.default_rng(seed),
                      after_eval=draw_eval(run, env_name))
        if args.kind == "explore":
            last_eval = train_off_policy(
                run, agent, collector=collector, buffer=buffer if config.get("use_reward") else RewardFree(buffer),
                explore=lambda step: explorer, total_steps=config["total_steps"], learning_starts=0,
                extra_logs=coverage_logs(buffer, env_name, args.visualize_interval), **common)
        else:
            last_eval = train_offline(
                run, agent, dataset=buffer, offline_steps=config["training_steps"] if args.kind == "offline"
                else config["offline_steps"], online_steps=online, collector=collector,
                explore=lambda step: explorer, **common)
        if run.stop_requested:
            return last_eval
        summary = f"Final eval_return {last_eval.get('eval_return', float('nan')):.1f}"
        if args.kind == "explore":
            summary += save_exploration(args, config, buffer, run, seed)
        run.finish(summary)
    return last_eval


def filled(buffer: ReplayBuffer) -> Batch:
    """The buffer's steps in the order they were stored (it never wraps here)."""
    return buffer.gather(np.arange(len(buffer)))


def coverage_logs(buffer: ReplayBuffer, env_name: str, every: int) -> Callable[[int], dict[str, float]]:
    def logs(step: int) -> dict[str, float]:
        return {"coverage": coverage(env_name, visited_states(filled(buffer)))} if step % every == 0 else {}
    return logs


def save_exploration(args: argparse.Namespace, config: dict, buffer: ReplayBuffer, run: Run, seed: int) -> str:
    """The dataset and its heatmaps (module docstring); the summary's tail."""
    steps = filled(buffer)
    path = save_dataset(os.path.join(args.dataset_dir, config["dataset_name"]), steps, env_id=config["env_name"],
                        seed=seed, config={k: v for k, v in config.items() if not callable(v)})
    visited = visited_states(steps)
    fraction, evenness = coverage(config["env_name"], visited), visitation_entropy(config["env_name"], visited)
    run.logger.log_scalars({"coverage": fraction, "visitation_entropy": evenness}, len(steps.rewards))
    for figure in (os.path.join(run.log_dir, COVERAGE_FILE),
                   os.path.join(args.dataset_dir, f"{config['dataset_name']}_coverage.png")):
        draw_visitation(figure, config["env_name"], visited, title=config["dataset_name"])
    return f", coverage {fraction:.1%}, visitation entropy {evenness:.3f}; dataset {path}"


def visited_states(steps: Batch) -> np.ndarray:
    """Every state the run was in: the observations and the last next_observation of each episode (a
    goal reached ends the episode, so the goal's cells appear only as next_observations)."""
    ends = steps.terminated | steps.truncated
    return np.concatenate([steps.observations, steps.next_observations[ends]])
