"""The command line hw3's two scripts share (the course's run_hw3_dqn.py / run_hw3_sac.py flags) and their
run: a Run around the off-policy trainer. Script layer: the only trainers module that reads ``args``."""
from __future__ import annotations

import argparse

import numpy as np

from cs285.envs.collector import Collector
from cs285.infrastructure.errors import UserError
from cs285.trainers.off_policy import train_off_policy
from cs285.trainers.run import Run
from cs285.trainers.script_util import add_device_args, check_flags


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


def check_experiment_args(args: argparse.Namespace) -> argparse.Namespace:
    check_flags(args, at_least_1=("eval_interval", "num_eval_trajectories", "log_interval", "max_env_steps"),
                non_negative=("num_render_trajectories",))
    return args


def run_experiment(args: argparse.Namespace, seed: int, *, prefix: str, log_name: str, config: dict,
                   collector: Collector, eval_collector: Collector, checkpoint_minutes: float,
                   learning_starts: int, **loop) -> dict[str, float]:
    """One hw3 run of ``train_off_policy`` (``loop``: its agent, buffer and schedule arguments) in a Run:
    ``data/<prefix><log_name>_<time>``, or the unfinished one of the same command, resumed. Closes the
    collectors; returns the last eval's scalars."""
    flags = {**vars(args), "seed": seed}
    total_steps = min(config["total_steps"], args.max_env_steps or config["total_steps"])
    video = None
    try:
        if total_steps <= learning_starts:
            raise UserError(f"{args.config_file}: the run ends at step {total_steps} (total_steps "
                            f"{config['total_steps']}, --max_env_steps {args.max_env_steps}) before learning starts "
                            f"at step {learning_starts}: raise the budget or lower the config's learning start")
        if args.num_render_trajectories:
            from cs285.envs.video import VideoRecorder

            video = VideoRecorder(config["env_name"], ep_len=config.get("ep_len"), seed=seed,
                                  n_videos=args.num_render_trajectories)
    except BaseException:
        collector.close()
        eval_collector.close()
        raise
    with Run(prefix=prefix, log_name=log_name, flags=flags, experiment=config,
             sampler=collector.resolved(segments=True), checkpoint_minutes=checkpoint_minutes,
             closing=(collector, eval_collector) + ((video,) if video else ())) as run:
        last_eval = train_off_policy(
            run, collector=collector, eval_collector=eval_collector, total_steps=total_steps,
            learning_starts=learning_starts, batch_size=config["batch_size"], eval_interval=args.eval_interval,
            num_eval_trajectories=args.num_eval_trajectories, log_interval=args.log_interval,
            rng=np.random.default_rng(seed), video=video, **loop)
        if not run.stop_requested:
            run.finish(f"Final eval_return {last_eval.get('eval_return', float('nan')):.1f}")
    return last_eval
