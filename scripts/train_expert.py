"""Train an expert policy with SAC or PPO on a continuous-control gymnasium env.

    python scripts/train_expert.py --env Hopper-v4
    python scripts/train_expert.py --env Hopper-v4 --export experts/Hopper.pkl   # export the best checkpoint
    python scripts/train_expert.py --env Walker2d-v4 --algo ppo --env_backend envpool --total_steps 20000000

Runs resume: the same command continues from ``<out_dir>/checkpoint_latest.pt``
(networks, optimizers, statistics, replay buffer, numpy/torch RNG states, step
count; the episodes in progress restart). A checkpoint is written every
``--checkpoint_minutes`` and on SIGTERM/SIGINT (infrastructure/checkpointing.py),
so a kill loses a few minutes at most.

Both algorithms run the project's agents on the one collector (collector.py):
- SAC (agents/sac_agent.py; SAC paper, appendix D): ``Collector.steps`` one env step
  at a time into the replay buffer, uniform random actions for the first
  ``--learning_starts`` steps, then one gradient update per env step.
- PPO (agents/ppo_agent.py): ``Collector.segments`` of ``--num_envs`` envs (envpool
  with ``--env_backend envpool``) in batches of ``--ppo_batch_size`` steps, with
  observation and reward normalization and a learning rate decayed linearly to 0
  at ``--total_steps``: the recipe that reached 4930 on HalfCheetah-v4 in 1M steps.
Every ``--eval_every`` steps the deterministic policy runs ``--eval_episodes``
episodes in gymnasium's env from the same start states each time; the best is
kept in ``checkpoint_best.pt``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from typing import Optional

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cs285.agents.ppo_agent import PPOAgent  # noqa: E402
from cs285.agents.sac_agent import SACAgent  # noqa: E402
from cs285.infrastructure import pytorch_util as ptu  # noqa: E402
from cs285.trainers.checkpointing import (BEST, LATEST, RunCheckpoint, arrays_to_tensors,  # noqa: E402
                                              tensors_to_arrays)
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector  # noqa: E402
from cs285.envs.make import ENV_BACKENDS, RandomActor, make_env  # noqa: E402
from cs285.infrastructure.errors import UserError  # noqa: E402
from cs285.infrastructure.logger import Logger  # noqa: E402
from cs285.infrastructure.replay_buffer import ReplayBuffer  # noqa: E402
from cs285.infrastructure.rollouts import path_returns  # noqa: E402
from cs285.trainers.run_config import save_config  # noqa: E402
from cs285.trainers.script_util import run_main  # noqa: E402
from cs285.infrastructure.utils import seed_everything  # noqa: E402

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
    for name in ("total_steps", "eval_every", "eval_episodes", "batch_size", "buffer_size", "num_envs",
                 "ppo_batch_size", "ppo_minibatch_size", "ppo_epochs", "hidden_size"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(args, name)}")
    return args


def build_agent(config: dict, env) -> SACAgent:
    return SACAgent(
        ob_dim=env.observation_space.shape[0],
        ac_dim=env.action_space.shape[0],
        action_low=env.action_space.low,
        action_high=env.action_space.high,
        hidden_size=config["hidden_size"],
        n_layers=config["n_layers"],
        discount=config["discount"],
        target_tau=config["target_tau"],
        learning_rate=config["learning_rate"],
    )


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
    if best["config"].get("algo", "sac") == "ppo":
        agent = build_ppo_agent(best["config"], env.observation_space.shape[0], env.action_space.shape[0])
        agent.policy.load_state_dict(best["policy"])
    else:
        agent = build_agent(best["config"], env)
        agent.actor.load_state_dict(best["actor"])
    os.makedirs(os.path.dirname(os.path.abspath(pkl_path)), exist_ok=True)
    agent.export_expert(pkl_path)
    print(f"exported {best_path} (step {best['step']}, Eval_AverageReturn {best['eval_return']:.1f}) to {pkl_path}")


class SACLearner:
    """One env step into the replay buffer, then (past ``learning_starts``) one SAC update."""

    def __init__(self, config: dict, collector: Collector):
        self.config, self.collector = config, collector
        self.agent = build_agent(config, collector)
        self.buffer = ReplayBuffer(config["buffer_size"], collector.observation_space.shape,
                                   collector.action_space.shape)  # np.zeros: pages touched only when filled
        self.rng = np.random.default_rng(config["seed"])  # random actions, policy noise and minibatches
        self.random_actor = RandomActor(collector.action_space)

    def iteration(self, step: int) -> tuple[int, list[dict], dict[str, float]]:
        """(env steps taken, episodes that ended, the update's scalars)."""
        actor = self.random_actor if step < self.config["learning_starts"] else self.agent
        batch, ended = self.collector.steps(actor, 1, self.rng)
        self.buffer.insert(batch)  # a truncated step keeps its bootstrap: terminated stays False
        info = {}
        if step + 1 > self.config["learning_starts"]:
            info = self.agent.update(self.buffer.sample(self.config["batch_size"], self.rng), step)
        return 1, ended, info

    def state(self) -> dict:
        buffer = arrays_to_tensors(self.buffer.state_dict())
        return {"agent": self.agent.state_dict(), "buffer": buffer, "numpy_rng": self.rng.bit_generator.state}

    def load(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
        self.rng.bit_generator.state = state["numpy_rng"]

    def best_state(self) -> dict:
        return {"actor": self.agent.actor.state_dict()}

    def eval_actor(self):
        return self.agent

    def note(self) -> str:
        return f", alpha {self.agent.alpha:.3f}"


class PPOLearner:
    """One batch of segments, then one PPO update, with the step size decayed linearly to 0 at total_steps."""

    def __init__(self, config: dict, collector: Collector):
        self.config, self.collector = config, collector
        if collector.discrete:
            raise UserError(f"{config['env']} does not have a continuous (Box) action space")
        self.agent = build_ppo_agent(config, collector.observation_space.shape[0], collector.action_space.shape[0])
        self.steps_per_env = -(-config["ppo_batch_size"] // config["num_envs"])

    def iteration(self, step: int) -> tuple[int, list[dict], dict[str, float]]:
        self.agent.set_learning_rate_fraction(1.0 - step / self.config["total_steps"])
        batch, ended = self.collector.segments(self.agent.policy, self.steps_per_env)
        return len(batch.rewards), ended, self.agent.update(batch, step)

    def state(self) -> dict:
        return {"agent": self.agent.state_dict()}

    def load(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])

    def best_state(self) -> dict:
        return {"policy": {k: v.clone() for k, v in self.agent.policy.state_dict().items()}}

    def eval_actor(self):
        return self.agent.policy

    def note(self) -> str:
        return ""


def train(config: dict) -> None:
    """Either algorithm: iterate, log every LOG_EVERY steps, evaluate every eval_every, checkpoint."""
    torch.set_num_threads(config["num_threads"])
    out_dir, seed, total = config["out_dir"], config["seed"], config["total_steps"]
    ckpt = RunCheckpoint(out_dir, config, config["checkpoint_minutes"], compare_keys=RESUME_KEYS,
                         saved_defaults={"algo": "sac"})
    seed_everything(seed)  # before the networks are built: their init is seeded too
    sac = config["algo"] == "sac"
    collector = Collector(config["env"], backend="gymnasium" if sac else config["env_backend"],
                          num_envs=1 if sac else config["num_envs"], seed=seed)
    if sac and (collector.discrete or len(collector.action_space.shape) != 1):
        collector.close()
        raise UserError(f"{config['env']} does not have a continuous (Box) action space; SAC needs one")
    learner = SACLearner(config, collector) if sac else PPOLearner(config, collector)
    # evaluation: deterministic, in gymnasium's env, the same start states each time (SAC's torch actor in-process)
    evaluator = Collector(config["env"], env_procs=1 if sac else None)
    step, n_evals = 0, 0
    if ckpt.resumed:
        learner.load(ckpt.state)
        torch.set_rng_state(ckpt.state["torch_rng"])
        step, n_evals = ckpt.state["step"], ckpt.state["n_evals"]
        if "best_score" not in ckpt.state:  # checkpoints written before checkpointing.py
            ckpt.best_score = ckpt.state["best_return"]
        ckpt.state = None  # no second copy of the replay buffer
        print(f"Resuming {out_dir} at step {step} (best Eval_AverageReturn {ckpt.best_score:.1f}); "
              "the episodes in progress restart")
    save_config(out_dir, config, sampler=collector.resolved(segments=True))
    if step >= total:
        print(f"{out_dir} already finished {step} steps; nothing to do")
        return

    def make_state() -> dict:
        return {"step": step, "n_evals": n_evals, "torch_rng": torch.get_rng_state(), **learner.state()}

    logger = Logger(out_dir)
    recent_returns: deque[float] = deque(maxlen=10)
    sums: dict[str, float] = {}
    n_updates, t_log, steps_at_log = 0, time.time(), step
    refresh_s = 1.0 if sys.stderr.isatty() else 60.0  # a log file gets a line a minute
    bar = tqdm(total=total, initial=step, dynamic_ncols=True, smoothing=0.05, mininterval=refresh_s,
               maxinterval=refresh_s, desc=config["env"])
    postfix: dict[str, str] = {}
    with ckpt:
        while step < total and not ckpt.stop_requested:
            new_steps, ended, info = learner.iteration(step)
            step_before, step = step, step + new_steps
            for k, v in info.items():
                sums[k] = sums.get(k, 0.0) + v
            n_updates += bool(info)
            for episode in ended:
                ret = float(np.sum(episode["reward"]))
                recent_returns.append(ret)
                logger.log_scalars({"Train_EpisodeReturn": ret, "Train_EpisodeLen": len(episode["reward"])}, step)

            if step // LOG_EVERY > step_before // LOG_EVERY:
                now = time.time()
                sps = (step - steps_at_log) / max(now - t_log, 1e-9)
                t_log, steps_at_log = now, step
                scalars = {"Train_EnvstepsSoFar": step, "Train_StepsPerSecond": sps,
                           "TimeSinceStart": ckpt.wall_seconds()}
                if sac:
                    scalars["Train_BufferSize"] = len(learner.buffer)
                if recent_returns:
                    scalars["Train_AverageReturn"] = float(np.mean(recent_returns))
                scalars.update({k: v / n_updates for k, v in sums.items()} if n_updates else {})
                logger.log_scalars(scalars, step)
                logger.dump()
                sums, n_updates = {}, 0
                postfix.update(sps=f"{sps:.0f}", ret=f"{np.mean(recent_returns) if recent_returns else np.nan:.0f}")
                bar.set_postfix(postfix, refresh=False)

            if step // config["eval_every"] > step_before // config["eval_every"] or step >= total:
                paths = evaluator.episodes(learner.eval_actor(), n_episodes=config["eval_episodes"],
                                           deterministic=True, seed=seed + EVAL_SEED_OFFSET)
                n_evals += 1
                returns, lengths = path_returns(paths), np.array([len(p["reward"]) for p in paths])
                logger.log_scalars({"Eval_AverageReturn": returns.mean(), "Eval_StdReturn": returns.std(),
                                    "Eval_MaxReturn": returns.max(), "Eval_MinReturn": returns.min(),
                                    "Eval_AverageEpLen": lengths.mean(), "Train_EnvstepsSoFar": step}, step)
                logger.flush()
                best = ckpt.save_best(lambda: {"step": step, "eval_return": float(returns.mean()),
                                               **learner.best_state()}, float(returns.mean()))
                tqdm.write(f"step {step}: Eval_AverageReturn {returns.mean():.1f} +- {returns.std():.1f} "
                           f"(best {best:.1f}){learner.note()}")
                postfix["eval"] = f"{returns.mean():.0f}"
            ckpt.maybe_save(make_state)
            bar.update(new_steps)
        ckpt.save(make_state())
    bar.close()
    logger.close()
    collector.close()
    evaluator.close()
    state = "stopped" if ckpt.stop_requested else "finished"
    print(f"{state} at step {step}; best Eval_AverageReturn {ckpt.best_score:.1f}; checkpoints in {out_dir}")


def main(argv: Optional[list[str]] = None) -> None:
    args = parse_args(argv)
    config = {k: v for k, v in vars(args).items() if k != "export"}
    if args.export:
        export_best(config, args.export)
    else:
        train(config)


if __name__ == "__main__":
    run_main(main)
