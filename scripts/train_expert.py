"""Train an expert policy with SAC or PPO on a continuous-control gymnasium env.

    python scripts/train_expert.py --env Hopper-v4
    python scripts/train_expert.py --env Hopper-v4 --export experts/Hopper.pkl   # export the best checkpoint
    python scripts/train_expert.py --env Walker2d-v4 --algo ppo --env_backend envpool --total_steps 20000000

A thin front end on the project's trainers (cs285/trainers/), in the run dir ``--out_dir``:
- SAC (agents/sac_agent.py; SAC paper, appendix D) on the off-policy trainer, hw3's loop:
  one env step into the replay buffer, uniform random actions for the first
  ``--learning_starts`` steps, then one gradient update per env step; hw3's keys
  (``train_return``, ``eval_return``, the update's scalars every 1000 steps).
- PPO (agents/ppo_agent.py) on the on-policy trainer, hw2's loop: ``--num_envs``
  lock-step envs (envpool with ``--env_backend envpool``) in batches of
  ``--ppo_batch_size`` steps, with observation and reward normalization and a
  learning rate decayed linearly to 0 at ``--total_steps``: the recipe that
  reached 4930 on HalfCheetah-v4 in 1M steps; hw2's keys (``Eval_AverageReturn``, ...).
Every ``--eval_every`` steps the deterministic policy runs ``--eval_episodes``
episodes from the same start states each time; the best evaluation's agent is
kept in ``checkpoint_best.pt``, which ``--export`` writes in the expert-pickle schema.
Runs resume: the same command continues from ``<out_dir>/checkpoint_latest.pt``
(written at the start, every ``--checkpoint_minutes`` and on SIGTERM/SIGINT;
cs285/trainers/run.py); the episodes in progress restart.
"""
from __future__ import annotations

import argparse
import os
from typing import Optional

import numpy as np
import torch

from cs285.agents.ppo_agent import PPOAgent
from cs285.agents.sac_agent import SACAgent
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector, Request
from cs285.envs.make import ENV_BACKENDS, RandomActor, make_env
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.utils import seed_everything
from cs285.trainers.checkpointing import BEST
from cs285.trainers.off_policy import train_off_policy
from cs285.trainers.on_policy import train_on_policy
from cs285.trainers.run import Run
from cs285.trainers.script_util import check_flags, run_main

LOG_EVERY = 1000  # env steps between training-scalar rows
# settings that must match when a run is resumed
RESUME_KEYS = ("algo", "env", "seed", "hidden_size", "n_layers", "buffer_size")
ALGOS = ("sac", "ppo")
DEFAULT_HIDDEN = {"sac": 256, "ppo": 64}


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", "--env_name", dest="env", required=True, help="gymnasium id, e.g. Hopper-v4")
    p.add_argument("--algo", choices=ALGOS, default="sac", help="sac (default) or ppo")
    p.add_argument("--total_steps", type=int, default=1_000_000, help="env steps in all")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out_dir", default=None, help="run dir (default runs_expert/<env>_<algo>_seed<seed>)")
    p.add_argument("--eval_every", type=int, default=None,
                   help="env steps between evaluations (default 10000 for sac, 100000 for ppo)")
    p.add_argument("--eval_episodes", type=int, default=5)
    p.add_argument("--learning_starts", type=int, default=None,
                   help="random-action steps before updates (default 5000; 10000 for Ant)")
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--buffer_size", type=int, default=1_000_000)
    p.add_argument("--hidden_size", type=int, default=None, help="default 256 for sac, 64 for ppo")
    p.add_argument("--n_layers", type=int, default=2)
    p.add_argument("--discount", type=float, default=0.99)
    p.add_argument("--target_tau", type=float, default=0.005)
    p.add_argument("--learning_rate", "-lr", type=float, default=3e-4)
    p.add_argument("--checkpoint_minutes", type=float, default=5.0, help="wall-clock minutes between checkpoints")
    p.add_argument("--num_threads", type=int, default=1, help="torch CPU threads")
    g = p.add_argument_group("ppo")
    g.add_argument("--env_backend", choices=ENV_BACKENDS, default="gymnasium", help="simulator of the training envs")
    g.add_argument("--num_envs", type=int, default=16)
    g.add_argument("--ppo_batch_size", type=int, default=4096, help="env steps per update")
    g.add_argument("--ppo_minibatch_size", type=int, default=512)
    g.add_argument("--ppo_epochs", type=int, default=10)
    g.add_argument("--gae_lambda", type=float, default=0.95)
    g.add_argument("--init_log_std", type=float, default=0.0)
    p.add_argument("--export", default=None, metavar="PKL",
                   help="export the run's best checkpoint in the expert-pickle schema to PKL and exit")
    args = p.parse_args(argv)
    if args.learning_starts is None:
        args.learning_starts = 10_000 if args.env.startswith("Ant") else 5_000
    if args.eval_every is None:
        args.eval_every = 100_000 if args.algo == "ppo" else 10_000
    if args.hidden_size is None:
        args.hidden_size = DEFAULT_HIDDEN[args.algo]
    if args.out_dir is None:
        args.out_dir = os.path.join("runs_expert", f"{args.env}_{args.algo}_seed{args.seed}")
    check_flags(args, at_least_1=("total_steps", "eval_every", "eval_episodes", "batch_size", "buffer_size", "num_envs",
                                  "ppo_batch_size", "ppo_minibatch_size", "ppo_epochs", "hidden_size", "n_layers",
                                  "num_threads"),
                positive=("learning_rate",), non_negative=("learning_starts", "checkpoint_minutes"),
                fraction=("discount", "target_tau", "gae_lambda"))
    return args


def build_agent(config: dict, env) -> SACAgent:
    space = env.action_space
    return SACAgent(ob_dim=env.observation_space.shape[0], ac_dim=space.shape[0], action_low=space.low,
                    action_high=space.high, hidden_size=config["hidden_size"], n_layers=config["n_layers"],
                    discount=config["discount"], target_tau=config["target_tau"],
                    learning_rate=config["learning_rate"])


def build_ppo_agent(config: dict, ob_dim: int, ac_dim: int) -> PPOAgent:
    return PPOAgent(ob_dim, ac_dim, False, config["n_layers"], config["hidden_size"], config["learning_rate"],
                    baseline_learning_rate=config["learning_rate"], discount=config["discount"],
                    gae_lambda=config["gae_lambda"], ppo_epochs=config["ppo_epochs"],
                    ppo_minibatch_size=config["ppo_minibatch_size"], normalize_advantages=True,
                    normalize_obs=True, normalize_rewards=True, init_log_std=config["init_log_std"])


def export_best(config: dict, pkl_path: str) -> None:
    best_path = os.path.join(config["out_dir"], BEST)
    if not os.path.exists(best_path):
        raise UserError(f"no {BEST} in {config['out_dir']}: train first (it is written at the first evaluation)")
    best = ptu.load_checkpoint(best_path)
    env = make_env(config["env"])
    ppo = best["config"].get("algo", "sac") == "ppo"
    agent = build_ppo_agent(best["config"], env.observation_space.shape[0], env.action_space.shape[0]) if ppo \
        else build_agent(best["config"], env)
    if "agent" in best:
        agent.load_state_dict(best["agent"])
    else:  # checkpoints written before the trainers kept the whole agent
        (agent.policy if ppo else agent.actor).load_state_dict(best["policy" if ppo else "actor"])
    os.makedirs(os.path.dirname(os.path.abspath(pkl_path)), exist_ok=True)
    agent.export_expert(pkl_path)
    print(f"exported {best_path} (Eval_AverageReturn {best['eval_return']:.1f}) to {pkl_path}")


def train(config: dict) -> None:
    """Either algorithm on its family's trainer, in a Run at ``out_dir``."""
    torch.set_num_threads(config["num_threads"])
    out_dir, seed, total = config["out_dir"], config["seed"], config["total_steps"]
    seed_everything(seed)  # before the networks are built: their init is seeded too
    sac = config["algo"] == "sac"
    collector = Collector(config["env"], backend="gymnasium" if sac else config["env_backend"],
                          num_envs=1 if sac else config["num_envs"], seed=seed)
    # evaluation: deterministic, the same start states each time (SAC's torch actor in this process)
    evaluator = Collector(config["env"], env_procs=1, seed=seed + EVAL_SEED_OFFSET) if sac else collector
    if collector.discrete or len(collector.action_space.shape) != 1:
        collector.close()
        raise UserError(f"{config['env']} does not have a continuous (Box) action space; {config['algo']} "
                        "experts need one")
    eval_request = dict(deterministic=True, seed=seed + EVAL_SEED_OFFSET)
    with Run(flags=config, log_dir=out_dir, sampler=collector.resolved(segments=True),
             checkpoint_minutes=config["checkpoint_minutes"], compare_keys=RESUME_KEYS,
             saved_defaults={"algo": "sac"}, closing=(collector, evaluator) if sac else (collector,)) as run:
        if sac:
            agent = build_agent(config, collector)
            random_actor = RandomActor(collector.action_space)
            last = train_off_policy(
                run, agent, collector=collector, eval_collector=evaluator,
                buffer=ReplayBuffer(config["buffer_size"], collector.observation_space.shape,
                                    collector.action_space.shape),  # np.zeros: pages touched only when filled
                explore=lambda step: random_actor if step < config["learning_starts"] else agent,
                eval_actor=lambda: agent, total_steps=total, learning_starts=config["learning_starts"],
                batch_size=config["batch_size"], eval_interval=config["eval_every"],
                num_eval_trajectories=config["eval_episodes"], log_interval=LOG_EVERY,
                rng=np.random.default_rng(seed), eval_request=eval_request)
            final = last.get("eval_return", float("nan"))
        else:
            agent = build_ppo_agent(config, collector.observation_space.shape[0], collector.action_space.shape[0])
            batch = -(-config["ppo_batch_size"] // config["num_envs"]) * config["num_envs"]
            every = config["eval_every"]
            last = train_on_policy(
                run, agent, collector=collector, n_iter=-(-total // batch), batch_size=batch, segments=True,
                eval_request=Request(n_episodes=config["eval_episodes"], stream="eval", **eval_request),
                evaluate_at=lambda itr: (itr + 1) * batch // every > itr * batch // every,
                lr_fraction=lambda itr: 1.0 - itr * batch / total)
            final = last.get("Eval_AverageReturn", float("nan"))
        if not run.stop_requested:
            run.finish(f"Final eval {final:.1f}, best {run.checkpoint.best_score:.1f}")
def main(argv: Optional[list[str]] = None) -> None:
    args = parse_args(argv)
    config = {k: v for k, v in vars(args).items() if k != "export"}
    if args.export:
        export_best(config, args.export)
    else:
        train(config)


if __name__ == "__main__":
    run_main(main)
