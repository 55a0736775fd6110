"""The off-policy training loop (hw3's DQN and SAC, and later homeworks): one env step, store, update.

At every step (the course's run_hw3_dqn.py / run_hw3_sac.py, step counted from 0):
    1. act with ``explore(step)`` (DQN: ε-greedy with ε(step); SAC: uniform random actions
       for ``random_steps``, then the sampling policy) through ``Collector.steps``;
    2. store the transition (only ``terminated`` stops a bootstrap; a time limit is
       stored ``truncated``) and, when an episode ends, log ``train_return`` / ``train_ep_len``;
    3. from ``learning_starts`` on, ``agent_update(buffer.sample(batch_size), step)``; every
       ``log_interval`` steps its scalars (and ``extra_logs(step)``) are logged;
    4. every ``eval_interval`` steps, ``num_eval_trajectories`` episodes of ``eval_actor()``
       give ``eval_return``, ``eval_ep_len`` and ``eval/{return,ep_len}_{std,max,min}``;
       ``num_render_trajectories`` > 0 adds a video.
Runs resume: with a ``RunCheckpoint`` the loop saves its state (step, agent, replay
buffer, RNGs) every few minutes and on SIGTERM/SIGINT, and ``resumable_logdir`` finds
the unfinished run dir of the same command, so re-running the command continues it
(the episodes in progress restart).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Callable, Optional

import numpy as np
import torch
from tqdm import tqdm

from cs285.trainers.checkpointing import LATEST, RunCheckpoint, arrays_to_tensors, tensors_to_arrays
from cs285.envs.collector import Collector
from cs285.infrastructure.logger import Logger
from cs285.infrastructure.rollouts import Actor, Batch, path_returns
from cs285.trainers.run_config import CONFIG_FILE, data_dir, is_finished, make_named_logdir, mark_finished, \
    save_config
from cs285.trainers.script_util import add_device_args
from cs285.envs.video import VideoRecorder

EVAL_KEYS = ("return", "ep_len")


def eval_logs(paths: list[dict]) -> dict[str, float]:
    """The course's eval scalars of complete episodes (the spread only when there are several)."""
    values = {"return": path_returns(paths), "ep_len": np.array([len(p["reward"]) for p in paths], dtype=float)}
    logs = {f"eval_{k}": float(v.mean()) for k, v in values.items()}
    if len(paths) > 1:
        for k, v in values.items():
            logs.update({f"eval/{k}_std": float(v.std()), f"eval/{k}_max": float(v.max()),
                         f"eval/{k}_min": float(v.min())})
    return logs


def resumable_logdir(prefix: str, log_name: str, flags: dict, experiment: Optional[dict] = None) -> Optional[str]:
    """The newest unfinished run dir ``<prefix><log_name>_<time>`` with a checkpoint, these flags and this
    experiment config, if any."""
    root = data_dir()
    if not os.path.isdir(root):
        return None
    same = json.loads(json.dumps({"flags": flags, "experiment": experiment}, default=str))
    candidates = [os.path.join(root, n) for n in os.listdir(root) if n.startswith(f"{prefix}{log_name}_")]
    for path in sorted(candidates, key=os.path.getmtime, reverse=True):
        if not os.path.exists(os.path.join(path, LATEST)) or is_finished(path):
            continue
        try:
            with open(os.path.join(path, CONFIG_FILE)) as f:
                saved = json.load(f)
            if {"flags": saved["flags"], "experiment": saved.get("experiment")} == same:
                return path
        except (OSError, ValueError, KeyError):
            continue
    return None


def run_off_policy(
    *,
    collector: Collector,
    eval_collector: Collector,
    buffer,
    agent_update: Callable[[Batch, int], dict[str, float]],
    explore: Callable[[int], Actor],
    eval_actor: Callable[[], Actor],
    total_steps: int,
    learning_starts: int,
    batch_size: int,
    eval_interval: int,
    num_eval_trajectories: int,
    log_interval: int,
    logger: Logger,
    rng: np.random.Generator,
    checkpoint: RunCheckpoint,
    agent_state: Callable[[], dict],
    load_agent_state: Callable[[dict], None],
    extra_logs: Optional[Callable[[int], dict[str, float]]] = None,
    video: Any = None,
) -> dict[str, float]:
    """The loop of the module docstring; returns the last evaluation's scalars.

    buffer: a ReplayBuffer-like object (insert(Batch), sample(n, rng), state_dict, load_state_dict).
    video: a VideoRecorder for ``num_render_trajectories`` rollouts at each evaluation, or None.
    """
    step, last_eval = 0, {}
    if checkpoint.resumed:
        state = checkpoint.state
        load_agent_state(state["agent"])
        buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, last_eval = state["step"], state.get("last_eval", {})
        checkpoint.state = None  # no second copy of the replay buffer
        print(f"Resuming {checkpoint.out_dir} at step {step}; the episodes in progress restart")

    def make_state() -> dict:
        return {"step": step, "agent": agent_state(), "buffer": arrays_to_tensors(buffer.state_dict()),
                "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "last_eval": last_eval}

    bar = tqdm(total=total_steps, initial=step, dynamic_ncols=True, smoothing=0.05, mininterval=1.0)
    with checkpoint:
        while step < total_steps and not checkpoint.stop_requested:
            batch, ended = collector.steps(explore(step), 1, rng)
            buffer.insert(batch)
            for episode in ended:
                logger.log_scalars({"train_return": float(np.sum(episode["reward"])),
                                    "train_ep_len": len(episode["reward"])}, step)
            if step >= learning_starts:
                info = agent_update(buffer.sample(batch_size, rng), step)
                if step % log_interval == 0:
                    logger.log_scalars({**info, **(extra_logs(step) if extra_logs else {})}, step)
            if step % eval_interval == 0:
                actor = eval_actor()
                last_eval = eval_logs(eval_collector.episodes(actor, n_episodes=num_eval_trajectories))
                logger.log_scalars(last_eval, step)
                if video is not None:
                    video.log(logger, actor, step)
                bar.set_postfix(eval_return=f"{last_eval['eval_return']:.1f}", refresh=False)
            if step % log_interval == 0:
                logger.flush()
            step += 1
            bar.update(1)
            checkpoint.maybe_save(make_state)
        checkpoint.save(make_state())
    bar.close()
    logger.flush()
    return last_eval


def add_experiment_args(parser: argparse.ArgumentParser, eval_interval: int) -> None:
    """The course's hw3 flags (run_hw3_dqn.py / run_hw3_sac.py); ``--seed`` takes several values here."""
    parser.add_argument("--config_file", "-cfg", required=True, help="experiments/<dqn|sac>/<name>.yaml")
    parser.add_argument("--eval_interval", "-ei", type=int, default=eval_interval, help="env steps between evals")
    parser.add_argument("--num_eval_trajectories", "-neval", type=int, default=10)
    parser.add_argument("--num_render_trajectories", "-nvid", type=int, default=0, help="videos per evaluation")
    parser.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    add_device_args(parser)
    parser.add_argument("--log_interval", type=int, default=1000, help="env steps between training-scalar rows")
    parser.add_argument("--max_env_steps", type=int, default=None,
                        help="end the run after this many env steps, the config (total_steps and the schedules "
                             "built on it) unchanged: the handout's shortened runs (e.g. Humanoid at 500000)")


def check_experiment_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    for flag in ("eval_interval", "num_eval_trajectories", "log_interval", "max_env_steps"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1 (got {getattr(args, flag)})")
    if args.num_render_trajectories < 0:
        parser.error(f"--num_render_trajectories must be at least 0 (got {args.num_render_trajectories})")
    return args


def run_experiment(args: argparse.Namespace, seed: int, *, prefix: str, log_name: str, config: dict,
                   collector: Collector, eval_collector: Collector, checkpoint_minutes: float,
                   **loop) -> dict[str, float]:
    """One hw3 run around ``run_off_policy`` (``loop``: its agent, buffer and schedule arguments): the run dir
    ``data/<prefix><log_name>_<time>`` (or the unfinished one of the same command, resumed), config.json,
    the sampler line, videos, the checkpoint, DONE. Closes the collectors; returns the last eval's scalars."""
    flags = {**vars(args), "seed": seed}
    video = None
    try:
        log_dir = resumable_logdir(prefix, log_name, flags, config) or make_named_logdir(prefix, log_name)
        save_config(log_dir, flags, experiment=config, sampler=collector.resolved(segments=True))
        print(f"Logging to {log_dir}\n{collector.describe(segments=True)}")
        if args.num_render_trajectories:
            video = VideoRecorder(config["env_name"], ep_len=config.get("ep_len"), seed=seed,
                                  n_videos=args.num_render_trajectories)
        checkpoint = RunCheckpoint(log_dir, {**flags, "experiment": config}, checkpoint_minutes)
        start = time.time()
        with Logger(log_dir) as logger:
            total_steps = min(config["total_steps"], args.max_env_steps or config["total_steps"])
            last_eval = run_off_policy(collector=collector, eval_collector=eval_collector, total_steps=total_steps,
                batch_size=config["batch_size"], eval_interval=args.eval_interval,
                num_eval_trajectories=args.num_eval_trajectories, log_interval=args.log_interval, logger=logger,
                rng=np.random.default_rng(seed), checkpoint=checkpoint, video=video, **loop)
    finally:
        collector.close()
        eval_collector.close()
        if video is not None:
            video.close()
    if checkpoint.stop_requested:
        print(f"Stopped; the same command resumes {log_dir}")
    else:
        mark_finished(log_dir)
        print(f"Done in {time.time() - start:.1f}s. Final eval_return "
              f"{last_eval.get('eval_return', float('nan')):.1f} | {log_dir}")
    return last_eval
