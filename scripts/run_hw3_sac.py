"""hw3 soft actor-critic: the course's ``run_hw3_sac.py`` on this project's collector and off-policy loop.

    python scripts/run_hw3_sac.py -cfg experiments/sac/sanity_pendulum.yaml [--seed 1]

The YAML names ``base_config: sac`` and sets its keys (cs285/env_configs/sac_config.py: every key,
its default, and where this project differs from the course). At each env step (the course's
2023 loop, cs285/infrastructure/off_policy.py): uniform random actions for ``random_steps`` steps,
then a sample of the policy; from ``training_starts`` on, one ``SACAgent.update`` per step on a
``batch_size`` batch (``num_critic_updates`` critic steps, one actor step, the target update);
its scalars every ``--log_interval`` steps; every ``--eval_interval`` steps ``-neval`` episodes of
the sampling policy (the course's ``agent.get_action`` samples too). Only ``terminated`` stops a
bootstrap. Logs: ``data/hw3_sac_<log_name>_<dd-mm-YYYY_HH-MM-SS>``; re-running the same command
resumes an unfinished run.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cs285.agents.sac_agent import SACAgent  # noqa: E402
from cs285.env_configs.sac_config import BASE_CONFIGS, agent_kwargs, check_sac_config, log_name  # noqa: E402
from cs285.infrastructure import pytorch_util as ptu  # noqa: E402
from cs285.infrastructure.checkpointing import RunCheckpoint  # noqa: E402
from cs285.infrastructure.collector import Collector  # noqa: E402
from cs285.infrastructure.envs import RandomActor, UserError  # noqa: E402
from cs285.infrastructure.experiment_config import load_experiment  # noqa: E402
from cs285.infrastructure.logger import Logger  # noqa: E402
from cs285.infrastructure.off_policy import resumable_logdir, run_off_policy  # noqa: E402
from cs285.infrastructure.replay_buffer import ReplayBuffer  # noqa: E402
from cs285.infrastructure.run_config import make_named_logdir, mark_finished, save_config  # noqa: E402
from cs285.infrastructure.script_util import run_main, set_torch_threads  # noqa: E402
from cs285.infrastructure.utils import seed_everything  # noqa: E402
from cs285.infrastructure.video import VideoRecorder  # noqa: E402

LOGDIR_PREFIX = "hw3_sac_"  # the course's (kept for its autograder)
CHECKPOINT_MINUTES = 5.0  # wall-clock minutes between resume checkpoints


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config_file", "-cfg", required=True, help="experiments/sac/<name>.yaml")
    p.add_argument("--eval_interval", "-ei", type=int, default=5000, help="env steps between evaluations")
    p.add_argument("--num_eval_trajectories", "-neval", type=int, default=10)
    p.add_argument("--num_render_trajectories", "-nvid", type=int, default=0, help="videos per evaluation")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no_gpu", "-ngpu", action="store_true", help="run on the CPU even if CUDA is available")
    p.add_argument("--which_gpu", "-g", "-gpu_id", type=int, default=0, help="CUDA device index")
    p.add_argument("--log_interval", type=int, default=1000, help="env steps between training-scalar rows")
    args = p.parse_args(argv)
    for name in ("eval_interval", "num_eval_trajectories", "log_interval"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.num_render_trajectories < 0:
        raise UserError(f"--num_render_trajectories must be >= 0, got {args.num_render_trajectories}")
    return args


def build_agent(config: dict, collector: Collector) -> SACAgent:
    space = collector.action_space
    if collector.discrete or len(space.shape) != 1:
        raise UserError(f"{config['env_name']} does not have a continuous (Box) action space; SAC needs one")
    return SACAgent(collector.observation_space.shape[0], space.shape[0], space.low, space.high,
                    **agent_kwargs(config))


def run(args: argparse.Namespace) -> dict[str, float]:
    """One run of the config; returns the last evaluation's scalars."""
    config = check_sac_config(load_experiment(args.config_file, BASE_CONFIGS), args.config_file)
    name = log_name(config)
    flags = {**vars(args), "config": config}
    seed_everything(args.seed)  # before the networks are built: their init is seeded too
    with Collector(config["env_name"], seed=args.seed, ep_len=config["ep_len"]) as collector, \
            Collector(config["env_name"], env_procs=1, seed=args.seed, ep_len=config["ep_len"]) as eval_collector:
        agent = build_agent(config, collector)  # eval: the torch agent in this process (env_procs=1)
        buffer = ReplayBuffer(config["replay_buffer_capacity"], collector.observation_space.shape,
                              collector.action_space.shape)  # np.zeros: pages touched only when filled
        log_dir = resumable_logdir(LOGDIR_PREFIX, name, flags) or make_named_logdir(LOGDIR_PREFIX, name)
        save_config(log_dir, flags, sampler=collector.resolved(segments=True))
        print(f"logging to {log_dir}\n{collector.describe(segments=True)}")
        random_actor = RandomActor(collector.action_space)
        video = (VideoRecorder(config["env_name"], ep_len=config["ep_len"], seed=args.seed,
                               n_videos=args.num_render_trajectories) if args.num_render_trajectories else None)
        checkpoint = RunCheckpoint(log_dir, flags, CHECKPOINT_MINUTES)
        with Logger(log_dir) as logger:
            last_eval = run_off_policy(
                collector=collector, eval_collector=eval_collector, buffer=buffer,
                agent_update=agent.update,
                explore=lambda step: random_actor if step < config["random_steps"] else agent,
                eval_actor=lambda: agent,
                total_steps=config["total_steps"], learning_starts=config["training_starts"],
                batch_size=config["batch_size"], eval_interval=args.eval_interval,
                num_eval_trajectories=args.num_eval_trajectories, log_interval=args.log_interval,
                logger=logger, rng=np.random.default_rng(args.seed), checkpoint=checkpoint,
                agent_state=agent.state_dict, load_agent_state=agent.load_state_dict, video=video,
            )
        if video is not None:
            video.close()
    if checkpoint.stop_requested:
        print(f"stopped; the same command resumes {log_dir}")
    else:
        mark_finished(log_dir)
    return last_eval


def main(argv: Optional[list[str]] = None) -> dict[str, float]:
    set_torch_threads()
    args = parse_args(argv)
    ptu.init_gpu(not args.no_gpu, args.which_gpu)
    return run(args)


if __name__ == "__main__":
    run_main(main)
