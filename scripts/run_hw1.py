"""hw1: behavioral cloning and DAgger.

    python scripts/run_hw1.py --env Hopper-v4 --do_dagger
    tensorboard --logdir data

Flags, short forms and defaults follow the course's run_hw1.py. On top of it:
``--env`` spells ``--env_name``; the expert policy and data default to the
shipped files in experts/; ``--exp_name`` defaults to bc / dagger; ``--n_iter``
defaults to 10 with --do_dagger, else 1; BC with n_iter > 1 keeps training on
the expert data alone; ``--seed`` takes several values (one run each).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from tqdm import tqdm

from cs285.agents.bc_agent import BCAgent
from cs285.infrastructure import utils
from cs285.envs.collector import Collector
from cs285.envs.make import resolve_env_id
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.expert_data import load_expert_data
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.trainers.training_logs import check_losses_finite, iteration_logs, print_and_log
from cs285.trainers.checkpointing import arrays_to_tensors, tensors_to_arrays
from cs285.trainers.run import Run
from cs285.trainers.script_util import (add_device_args, check_flags, default_expert_data,
                                              default_expert_policy, require_file, run_main,
                                              run_seeds)
from cs285.envs.video import VideoRecorder
from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--expert_policy_file", "-epf", help="default: experts/<EnvFamily>.pkl")
    p.add_argument("--expert_data", "-ed", help="default: experts/expert_data_<env>.pkl")
    p.add_argument("--env_name", "-env", "--env", required=True, help="e.g. Ant-v4, HalfCheetah-v4, Hopper-v4")
    p.add_argument("--exp_name", "-exp", help="default: bc, or dagger with --do_dagger")
    p.add_argument("--do_dagger", action="store_true")
    p.add_argument("--ep_len", type=int, help="max episode length (default: the env's time limit)")
    p.add_argument("--num_agent_train_steps_per_iter", type=int, default=1000)
    p.add_argument("--n_iter", "-n", type=int, help="default: 10 with --do_dagger, else 1")
    p.add_argument("--batch_size", type=int, default=1000, help="env steps collected per DAgger iteration")
    p.add_argument("--eval_batch_size", type=int, default=1000, help="env steps of evaluation per logged iteration")
    p.add_argument("--train_batch_size", type=int, default=100, help="samples per gradient step")
    p.add_argument("--n_layers", type=int, default=2)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--learning_rate", "-lr", type=float, default=5e-3)
    p.add_argument("--video_log_freq", type=int, default=5, help="-1 turns videos off")
    p.add_argument("--scalar_log_freq", type=int, default=1)
    add_device_args(p)
    p.add_argument("--max_replay_buffer_size", type=int, default=1_000_000)
    p.add_argument("--save_params", action="store_true", help="save the policy after every iteration")
    p.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    p.add_argument("--env_procs", type=int, default=None,
                   help="processes running whole episodes (default: every core on Linux); the numbers do not "
                        "depend on it (cs285/envs/collector.py)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    resolve_env_id(args.env_name)  # an unknown id is named before the expert files it implies
    if args.n_iter is None:
        args.n_iter = 10 if args.do_dagger else 1
    if args.exp_name is None:
        args.exp_name = "dagger" if args.do_dagger else "bc"
    if args.expert_policy_file is None:
        args.expert_policy_file = default_expert_policy(args.env_name)
    if args.expert_data is None:
        args.expert_data = default_expert_data(args.env_name)
    check_flags(args, at_least_1=("n_iter", "batch_size", "eval_batch_size", "train_batch_size", "n_layers", "size",
                                  "num_agent_train_steps_per_iter", "env_procs", "ep_len", "scalar_log_freq",
                                  "max_replay_buffer_size"), positive=("learning_rate",))
    return args


def relabel_with_expert(paths: list[dict], expert: LoadedGaussianPolicy) -> None:
    """DAgger: replace each path's actions with the expert's, one batched expert call."""
    labels = expert.get_action(np.concatenate([p["observation"] for p in paths]))
    start = 0
    for p in paths:
        n = len(p["observation"])
        p["action"] = labels[start:start + n].astype(np.float32)
        start += n


def train(agent: BCAgent, buffer: ReplayBuffer, args: argparse.Namespace, rng: np.random.Generator,
          itr: int) -> dict[str, float]:
    """``num_agent_train_steps_per_iter`` BC steps on minibatches drawn uniformly from the buffer."""
    n = len(buffer)
    # All minibatch indices at once: one RNG call instead of one per step.
    batches = rng.integers(0, n, (args.num_agent_train_steps_per_iter, args.train_batch_size))
    with tqdm(total=len(batches), desc=f"iter {itr} training", leave=False, disable=None, mininterval=0.5) as bar:
        log = agent.train_steps(buffer.observations[:n], buffer.actions[:n], batches, progress=bar.update)
    check_losses_finite(log, itr, "lower --learning_rate")
    return log


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One BC / DAgger run; returns the last iteration's logs. Re-running a stopped run's command resumes it
    (the checkpoint, written after every iteration, holds the policy, the replay buffer and the RNGs)."""
    utils.seed_everything(seed)
    rng = np.random.default_rng(seed)
    expert = LoadedGaussianPolicy(require_file(args.expert_policy_file, "expert policy", "--expert_policy_file"))
    expert_paths = load_expert_data(require_file(args.expert_data, "expert data", "--expert_data"))
    collector = Collector(args.env_name, env_procs=args.env_procs, seed=seed, ep_len=args.ep_len)
    try:
        if collector.discrete:
            raise UserError(f"{args.env_name} has discrete actions; hw1's experts and BC are for continuous control")
        ob_dim, ac_dim = collector.observation_space.shape[0], collector.action_space.shape[0]
        expert.check_fits(ob_dim, ac_dim, args.env_name)
        data_shape = expert_paths[0]["observation"].shape[1:]
        if data_shape != (ob_dim,):
            raise UserError(f"expert data {args.expert_data} has observations of shape {data_shape} but "
                            f"{args.env_name} gives ({ob_dim},): pass the data for this env with --expert_data")
    except BaseException:
        collector.close()
        raise
    agent = BCAgent(ob_dim, ac_dim, False, args.n_layers, args.size, args.learning_rate)
    buffer = ReplayBuffer(args.max_replay_buffer_size, ob_dim, ac_dim)
    videos = VideoRecorder(args.env_name, ep_len=args.ep_len, seed=seed) if args.video_log_freq > 0 else None
    itr, total_envsteps, logs = 0, 0, {}

    def make_state() -> dict:
        return {"agent": agent.state_dict(), "buffer": arrays_to_tensors(buffer.state_dict()), "logs": logs,
                "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "collector": collector.state_dict(), "total_envsteps": total_envsteps}

    # the flags stay as given in config.json (sweeps match runs on them); "sampler" records what ran
    with Run(prefix="q2_" if args.do_dagger else "q1_", log_name=f"{args.exp_name}_{args.env_name}",
             flags={**vars(args), "seed": seed}, sampler=collector.resolved(), checkpoint_minutes=0.0,
             closing=(collector,) + ((videos,) if videos else ())) as shell:
        start = time.time()
        if (state := shell.resume_state) is not None:
            agent.load_state_dict(state["agent"])
            buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
            rng.bit_generator.state, logs = state["numpy_rng"], state["logs"]
            torch.set_rng_state(state["torch_rng"])
            collector.load_state_dict(state["collector"])
            itr, total_envsteps = state["step"], state["total_envsteps"]
            start -= shell.wall_seconds()
        else:
            shell.save_checkpoint(0, make_state())
        while itr < args.n_iter and not shell.stop_requested:
            print(f"\n********** Iteration {itr} ************")
            if itr == 0:
                paths, envsteps = expert_paths, 0
            elif args.do_dagger:
                paths, envsteps = utils.sample_trajectories(collector, agent.policy, args.batch_size)
                relabel_with_expert(paths, expert)
            else:  # BC past the first iteration: more steps on the same expert data, no new labels
                paths, envsteps = [], 0
            total_envsteps += envsteps
            if paths:
                buffer.add_rollouts(paths)
            train_log = train(agent, buffer, args, rng, itr)

            if videos is not None and itr % args.video_log_freq == 0:
                videos.log(shell.logger, agent.policy, itr, deterministic=True)
            if itr % args.scalar_log_freq == 0 or itr == args.n_iter - 1:
                eval_paths, _ = utils.sample_trajectories(collector, agent.policy, args.eval_batch_size,
                                                          deterministic=True)
                logs = iteration_logs(paths, eval_paths, train_log, total_envsteps, start, itr)
                print_and_log(shell.logger, logs, itr)
            if args.save_params:
                agent.save(os.path.join(shell.log_dir, f"policy_itr_{itr}.pt"))
            itr += 1
            shell.maybe_checkpoint(itr, make_state)  # every iteration: checkpoint_minutes=0
        if itr == args.n_iter:
            expert_return = float(np.mean(utils.path_returns(expert_paths)))
            final = logs["Eval_AverageReturn"]
            shell.finish(f"Final Eval_AverageReturn {final:.1f} ± {logs['Eval_StdReturn']:.1f} | expert "
                         f"{expert_return:.1f} | {100 * final / expert_return:.1f}% of expert")
    return logs

if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, run))
