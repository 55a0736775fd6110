"""hw4: model-based RL with a learned dynamics ensemble and MPC (random shooting, CEM).

    python scripts/run_hw4.py -cfg experiments/mpc/obstacles_1_iter.yaml
    python scripts/run_hw4.py -cfg experiments/mpc/halfcheetah_cem.yaml --seed 1 2 3
    python scripts/run_hw4.py -cfg experiments/mpc/halfcheetah_mbpo.yaml \
        --sac_config_file experiments/sac/halfcheetah_clipq_hw4.yaml

Flags are the course's run_hw4.py: ``--config_file/-cfg``, ``--sac_config_file`` (MBPO: SAC acts
and learns from real steps and ``mbpo_rollout_length``-step model rollouts; the course's hw4 SAC
files say ``base_config: sac`` and are read as ``sac_hw4``, cs285/env_configs/sac_config.py),
``--eval_interval/-ei`` (accepted and unused, as in the course: every iteration evaluates),
``--num_render_trajectories/-nvid`` (0), ``--seed`` (1; several values run one run each),
``--no_gpu/-ngpu``, ``--which_gpu/-g``. The config names ``base_config: mpc``
(cs285/env_configs/mpc_config.py). The planner scores sequences with the env's own batched
``get_reward`` (cs285/envs/).

Episode length: the course's sampler stops an episode when ``steps > max_length``, so its episodes run
``ep_len`` + 1 steps (101 on obstacles, 201 on reacher, 501 on the cheetah) unless the env ends them
first. That is the default here, for the course's numbers; ``--exact_ep_len`` runs ``ep_len`` steps.

Each run writes ``data/<log name>_<dd-mm-YYYY_HH-MM-SS>`` (no homework prefix, as in the course) with,
at step = iteration, ``total_envsteps``, ``dynamics_loss``, ``eval_return``, ``eval_ep_len``,
``eval/{return,ep_len}_{std,max,min}`` (MBPO: also ``sac/<key>``, SAC's update scalars averaged over
the iteration), and ``itr_0_loss_curve.png``; the loop is
cs285/trainers/model_based.py. Re-running a stopped command resumes it from its checkpoint.
"""
from __future__ import annotations

import argparse

import numpy as np

from cs285.agents.model_based_agent import ModelBasedAgent
from cs285.agents.sac_agent import SACAgent
from cs285.env_configs import mpc_config, sac_config
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector
from cs285.envs.make import make_env
from cs285.infrastructure import utils
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.trainers.experiment_config import load_experiment
from cs285.trainers.model_based import MBPO, train_model_based
from cs285.trainers.run import Run
from cs285.trainers.script_util import add_device_args, check_flags, run_main, run_seeds

CHECKPOINT_MINUTES = 5.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config_file", "-cfg", required=True, help="experiments/mpc/<name>.yaml")
    parser.add_argument("--sac_config_file", default=None,
                        help="MBPO: hw4's SAC config (experiments/sac/halfcheetah_clipq_hw4.yaml); SAC acts")
    parser.add_argument("--eval_interval", "-ei", type=int, default=5000,
                        help="accepted for the course's command lines; unused there and here (every iteration "
                             "evaluates num_eval_trajectories episodes)")
    parser.add_argument("--num_render_trajectories", "-nvid", type=int, default=0, help="videos per evaluation")
    parser.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    add_device_args(parser)
    parser.add_argument("--exact_ep_len", action="store_true",
                        help="episodes of ep_len steps (default: the course's ep_len + 1, see the docstring)")
    args = parser.parse_args(argv)
    check_flags(args, non_negative=("num_render_trajectories",))
    return args


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One model-based run; returns the last evaluation's scalars."""
    config = mpc_config.check_mpc_config(load_experiment(args.config_file, mpc_config.BASE_CONFIGS),
                                         args.config_file)
    sac = None if args.sac_config_file is None else sac_config.load_hw4_sac_config(args.sac_config_file)
    ep_len = mpc_config.ep_len(config) + (0 if args.exact_ep_len else 1)
    utils.seed_everything(seed)  # before the networks are built: their init is seeded too
    reward_env = make_env(config["env_name"])  # only its batched get_reward, a pure function, is used
    # the planner runs torch in this process: one process for the episodes
    collector = Collector(config["env_name"], seed=seed, ep_len=ep_len, env_procs=1)
    eval_collector = Collector(config["env_name"], seed=seed + EVAL_SEED_OFFSET, ep_len=ep_len, env_procs=1)
    closing = [collector, eval_collector, reward_env]
    try:
        space = collector.action_space
        if collector.discrete:
            raise UserError(f"MPC needs continuous actions; {config['env_name']} has discrete ones")
        ob_dim, ac_dim = collector.observation_space.shape[0], space.shape[0]
        agent = ModelBasedAgent(ob_dim, ac_dim, space.low, space.high, reward_env.unwrapped.get_reward,
                                **mpc_config.agent_kwargs(config))
        # every step the run collects (each batch overshoots by less than one episode): the buffer never wraps
        most = config["initial_batch_size"] + (config["num_iters"] - 1) * config["batch_size"] \
            + config["num_iters"] * ep_len
        buffer = ReplayBuffer(min(config["replay_buffer_capacity"], most), ob_dim, ac_dim)
        mbpo = None
        if sac is not None:
            model_steps = config["num_iters"] * sac["num_agent_train_steps_per_iter"] * sac["mbpo_rollout_length"]
            mbpo = MBPO(SACAgent(ob_dim, ac_dim, space.low, space.high, **sac_config.agent_kwargs(sac)),
                        ReplayBuffer(min(sac["replay_buffer_capacity"], most + model_steps), ob_dim, ac_dim),
                        updates_per_iter=sac["num_agent_train_steps_per_iter"], batch_size=sac["batch_size"],
                        rollout_length=sac["mbpo_rollout_length"])
        video = None
        if args.num_render_trajectories:
            from cs285.envs.video import VideoRecorder

            video = VideoRecorder(config["env_name"], ep_len=ep_len, seed=seed, n_videos=args.num_render_trajectories)
            closing.append(video)
    except BaseException:
        for thing in closing:
            thing.close()
        raise
    with Run(prefix="", log_name=mpc_config.log_name(config), flags={**vars(args), "seed": seed},
             experiment=config if sac is None else {**config, "sac_config": sac}, sampler=collector.resolved(),
             checkpoint_minutes=CHECKPOINT_MINUTES,
             closing=tuple(closing)) as run:
        last_eval = train_model_based(
            run, agent, collector=collector, eval_collector=eval_collector, buffer=buffer,
            num_iters=config["num_iters"], initial_batch_size=config["initial_batch_size"],
            batch_size=config["batch_size"], train_batch_size=config["train_batch_size"],
            num_agent_train_steps_per_iter=config["num_agent_train_steps_per_iter"],
            num_eval_trajectories=config["num_eval_trajectories"], rng=np.random.default_rng(seed),
            eval_seed=seed + EVAL_SEED_OFFSET, video=video, mbpo=mbpo)
        if not run.stop_requested:
            final = (f"Final eval_return {last_eval['eval_return']:.1f}, " if "eval_return" in last_eval else "Final ")
            mbpo_note = "" if sac is None else f" (MBPO, rollout length {sac['mbpo_rollout_length']})"
            loss = last_eval.get("dynamics_loss", float("nan"))
            run.finish(f"{final}dynamics_loss {loss:.4f} (the last iteration's mean over its updates){mbpo_note}")
    return last_eval


if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, run))
