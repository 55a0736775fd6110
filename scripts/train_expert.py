"""Train an expert policy with SAC or PPO on a continuous-control gymnasium env.

    python scripts/train_expert.py --env Hopper-v4
    python scripts/train_expert.py --env Hopper-v4 --export experts/Hopper.pkl   # export the best checkpoint
    python scripts/train_expert.py --env Walker2d-v4 --algo ppo --env_backend envpool --total_steps 20000000

Runs resume: the same command continues from ``<out_dir>/checkpoint_latest.pt``
(networks, optimizers, log_alpha, replay buffer, numpy/torch/env RNG states,
step count; the episode in progress restarts). A checkpoint is written every
``--checkpoint_minutes`` and on SIGTERM/SIGINT, so a kill loses a few minutes at most.

Schedule (SAC paper, appendix D): uniform random actions for the first
``--learning_starts`` env steps, then one gradient update per env step.
Every ``--eval_every`` steps the deterministic policy a = squash(mu(s)) is run
for ``--eval_episodes`` episodes on a separate env; the best one is kept in
``checkpoint_best.pt``.

``--algo ppo`` trains the project's PPO agent (cs285/agents/ppo_agent.py) on
``--num_envs`` envs (envpool with ``--env_backend envpool``) in batches of
``--ppo_batch_size`` steps, with observation and reward normalization and a
learning rate decayed linearly to 0 at ``--total_steps``: the recipe that
reached 4930 on HalfCheetah-v4 in 1M steps (README). Its checkpoints hold the
networks, optimizer, statistics and RNG state; evaluation always runs in
gymnasium's env, deterministically, from the same start states each time.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
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
from cs285.infrastructure.envs import ENV_BACKENDS, UserError, VecEnv, make_env, make_vec_env  # noqa: E402
from cs285.infrastructure.logger import Logger  # noqa: E402
from cs285.infrastructure.replay_buffer import ReplayBuffer  # noqa: E402
from cs285.infrastructure.rollouts import Batch  # noqa: E402
from cs285.infrastructure.run_config import save_config  # noqa: E402
from cs285.infrastructure.script_util import run_main  # noqa: E402
from cs285.infrastructure.utils import SegmentSampler, path_returns, sample_n_trajectories, seed_everything  # noqa: E402,E501

LATEST = "checkpoint_latest.pt"
BEST = "checkpoint_best.pt"
LOG_EVERY = 1000  # env steps between training-scalar rows
EVAL_SEED_OFFSET = 10_000  # eval episodes start from seeds seed + EVAL_SEED_OFFSET + k
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


def check_resumable(saved: dict, config: dict) -> None:
    """UserError unless the checkpoint's config agrees with this command on RESUME_KEYS
    (runs from before ``--algo`` existed are SAC)."""
    changed = [k for k in RESUME_KEYS if saved.get(k, "sac" if k == "algo" else None) != config[k]]
    if changed:
        raise UserError(f"{config['out_dir']} holds a run with different {', '.join(changed)}; use another --out_dir")


def build_ppo_agent(config: dict, ob_dim: int, ac_dim: int) -> PPOAgent:
    return PPOAgent(ob_dim, ac_dim, False, config["n_layers"], config["hidden_size"], config["learning_rate"],
                    baseline_learning_rate=config["learning_rate"], discount=config["discount"],
                    gae_lambda=config["gae_lambda"], ppo_epochs=config["ppo_epochs"],
                    ppo_minibatch_size=config["ppo_minibatch_size"], normalize_advantages=True,
                    normalize_obs=True, normalize_rewards=True, init_log_std=config["init_log_std"])


def buffer_to_tensors(buffer: ReplayBuffer) -> dict:
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in buffer.state_dict().items()}


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


# ---- evaluation -------------------------------------------------------------------------
def evaluate(agent: SACAgent, env, n_episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns and lengths of ``n_episodes`` deterministic episodes started from seeds seed + k
    (the same start states at every evaluation, so evaluations compare)."""
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=int)
    for k in range(n_episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.get_action(obs, deterministic=True))
            returns[k] += reward
            lengths[k] += 1
            done = terminated or truncated
    return returns, lengths


def record_eval(logger: Logger, returns: np.ndarray, lengths: np.ndarray, step: int, best_return: float,
                config: dict, best_state, note: str = "") -> float:
    """Log an evaluation, keep the policy (``best_state()``) in checkpoint_best.pt if it is the best
    so far, print a line; returns the best return."""
    last_eval = float(returns.mean())
    logger.log_scalars({"Eval_AverageReturn": last_eval, "Eval_StdReturn": returns.std(),
                        "Eval_MaxReturn": returns.max(), "Eval_MinReturn": returns.min(),
                        "Eval_AverageEpLen": lengths.mean(), "Train_EnvstepsSoFar": step}, step)
    logger.flush()
    if last_eval > best_return:
        best_return = last_eval
        ptu.save_checkpoint({"config": config, "step": step, "eval_return": last_eval, **best_state()},
                            os.path.join(config["out_dir"], BEST))
    tqdm.write(f"step {step}: Eval_AverageReturn {last_eval:.1f} +- {returns.std():.1f} (best {best_return:.1f}){note}")
    return best_return


# ---- training ---------------------------------------------------------------------------
class StopFlag:
    """Set by SIGTERM/SIGINT so the loop can write a checkpoint before exiting."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.stop = False
        self._previous = {sig: signal.signal(sig, self._handler) for sig in self.SIGNALS}

    def _handler(self, signum, frame):
        self.stop = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(config: dict) -> None:
    torch.set_num_threads(config["num_threads"])
    out_dir, seed = config["out_dir"], config["seed"]
    os.makedirs(out_dir, exist_ok=True)
    seed_everything(seed)  # before the networks are built: their init is seeded too
    env = make_env(config["env"], seed=seed)
    eval_env = make_env(config["env"], seed=seed + EVAL_SEED_OFFSET)
    if not hasattr(env.action_space, "low") or len(env.action_space.shape) != 1:
        raise UserError(f"{config['env']} does not have a continuous (Box) action space; SAC needs one")
    ob_dim, ac_dim = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high

    agent = build_agent(config, env)
    buffer = ReplayBuffer(config["buffer_size"], ob_dim, ac_dim)  # np.zeros: pages are touched only when filled
    rng = np.random.default_rng(seed)  # random actions and minibatches; saved in checkpoints
    step, best_return, n_evals, wall_seconds = 0, -math.inf, 0, 0.0
    obs, _ = env.reset(seed=seed)

    latest_path = os.path.join(out_dir, LATEST)
    if os.path.exists(latest_path):
        ckpt = ptu.load_checkpoint(latest_path)
        check_resumable(ckpt["config"], config)
        agent.load_state_dict(ckpt["agent"])
        buffer.load_state_dict({k: v.numpy() if torch.is_tensor(v) else v for k, v in ckpt["buffer"].items()})
        rng.bit_generator.state = ckpt["numpy_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        env.unwrapped.np_random.bit_generator.state = ckpt["env_rng"]
        step, best_return, n_evals = ckpt["step"], ckpt["best_return"], ckpt["n_evals"]
        wall_seconds = ckpt.get("wall_seconds", 0.0)  # training time before this resume (absent in old runs)
        obs, _ = env.reset()  # the interrupted episode restarts
        print(f"Resuming {out_dir} at step {step} (best Eval_AverageReturn {best_return:.1f})")
    save_config(out_dir, config)
    if step >= config["total_steps"]:
        print(f"{out_dir} already finished {step} steps; nothing to do")
        return

    def save_latest() -> None:
        ptu.save_checkpoint({
            "config": config, "step": step, "best_return": best_return, "n_evals": n_evals,
            "wall_seconds": time.time() - t_start,
            "agent": agent.state_dict(), "buffer": buffer_to_tensors(buffer),
            "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "env_rng": env.unwrapped.np_random.bit_generator.state,
        }, latest_path)

    logger = Logger(out_dir)
    stop = StopFlag()
    recent_returns: deque[float] = deque(maxlen=10)
    ep_return, ep_len = 0.0, 0
    sums: dict[str, float] = {}
    n_updates = 0
    postfix: dict[str, str] = {}
    t_ckpt = t_log = time.time()
    t_start = t_ckpt - wall_seconds  # TimeSinceStart counts training time across resumes
    steps_at_log = step
    refresh_s = 1.0 if sys.stderr.isatty() else 60.0  # a log file gets a line a minute
    bar = tqdm(total=config["total_steps"], initial=step, dynamic_ncols=True, smoothing=0.05,
               mininterval=refresh_s, maxinterval=refresh_s, desc=config["env"])
    while step < config["total_steps"] and not stop.stop:
        if step < config["learning_starts"]:
            action = rng.uniform(low, high).astype(np.float32)
        else:
            action = agent.get_action(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        # truncated steps are stored with terminated = 0 and the real final obs: they bootstrap
        buffer.insert(Batch(obs[None], action[None], np.array([reward]), next_obs[None], np.array([terminated]),
                            np.array([truncated])))
        obs = next_obs
        ep_return += reward
        ep_len += 1
        step += 1

        if step > config["learning_starts"]:
            info = agent.update(buffer.sample(config["batch_size"], rng))
            for k, v in info.items():
                sums[k] = sums.get(k, 0.0) + v
            n_updates += 1

        if terminated or truncated:
            logger.log_scalars({"Train_EpisodeReturn": ep_return, "Train_EpisodeLen": ep_len}, step)
            recent_returns.append(ep_return)
            obs, _ = env.reset()
            ep_return, ep_len = 0.0, 0

        if step % LOG_EVERY == 0:
            now = time.time()
            sps = (step - steps_at_log) / max(now - t_log, 1e-9)
            t_log, steps_at_log = now, step
            scalars = {"Train_EnvstepsSoFar": step, "Train_StepsPerSecond": sps, "Train_BufferSize": len(buffer),
                       "TimeSinceStart": now - t_start}
            if recent_returns:
                scalars["Train_AverageReturn"] = float(np.mean(recent_returns))
            scalars.update({k: v / n_updates for k, v in sums.items()} if n_updates else {})
            logger.log_scalars(scalars, step)
            logger.dump()
            sums, n_updates = {}, 0
            mean_return = np.mean(recent_returns) if recent_returns else float("nan")
            postfix.update(sps=f"{sps:.0f}", ret=f"{mean_return:.0f}")
            bar.set_postfix(postfix, refresh=False)

        if step % config["eval_every"] == 0 or step == config["total_steps"]:
            returns, lengths = evaluate(agent, eval_env, config["eval_episodes"], seed + EVAL_SEED_OFFSET)
            n_evals += 1
            best_return = record_eval(logger, returns, lengths, step, best_return, config,
                                      lambda: {"actor": agent.actor.state_dict()}, f", alpha {agent.alpha:.3f}")
            postfix["eval"] = f"{returns.mean():.0f}"

        if time.time() - t_ckpt > 60 * config["checkpoint_minutes"]:
            save_latest()
            t_ckpt = time.time()
        bar.update(1)

    bar.close()
    stop.restore()
    save_latest()
    logger.close()
    env.close()
    eval_env.close()
    state = "stopped" if stop.stop else "finished"
    print(f"{state} at step {step}; best Eval_AverageReturn {best_return:.1f}; checkpoints in {out_dir}")


def evaluate_ppo(agent: PPOAgent, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """Returns and lengths of ``eval_episodes`` deterministic episodes in gymnasium's env, env k
    started from seed + EVAL_SEED_OFFSET + k (the same start states at every evaluation)."""
    env = VecEnv(config["env"], config["eval_episodes"], seed=config["seed"] + EVAL_SEED_OFFSET)
    try:
        paths = sample_n_trajectories(env, agent.policy.rollout_fn(deterministic=True), config["eval_episodes"])
    finally:
        env.close()
    return path_returns(paths), np.array([len(p["reward"]) for p in paths])


def train_ppo(config: dict) -> None:
    """PPO on segments of ``num_envs`` envs; checkpoints and resumes like ``train``."""
    torch.set_num_threads(config["num_threads"])
    out_dir, seed = config["out_dir"], config["seed"]
    os.makedirs(out_dir, exist_ok=True)
    seed_everything(seed)
    env = make_vec_env(config["env"], config["num_envs"], seed=seed, backend=config["env_backend"])
    if env.discrete or len(env.action_space.shape) != 1:
        raise UserError(f"{config['env']} does not have a continuous (Box) action space")
    agent = build_ppo_agent(config, env.observation_space.shape[0], env.action_space.shape[0])
    steps_per_env = -(-config["ppo_batch_size"] // config["num_envs"])
    step, best_return, n_evals, wall_seconds = 0, -math.inf, 0, 0.0
    latest_path = os.path.join(out_dir, LATEST)
    if os.path.exists(latest_path):
        ckpt = ptu.load_checkpoint(latest_path)
        check_resumable(ckpt["config"], config)
        agent.load_state_dict(ckpt["agent"])
        torch.set_rng_state(ckpt["torch_rng"])
        step, best_return, n_evals, wall_seconds = (ckpt["step"], ckpt["best_return"], ckpt["n_evals"],
                                                    ckpt["wall_seconds"])
        print(f"Resuming {out_dir} at step {step} (best Eval_AverageReturn {best_return:.1f}); "
              "the episodes in progress restart")
    save_config(out_dir, config)
    if step >= config["total_steps"]:
        print(f"{out_dir} already finished {step} steps; nothing to do")
        return

    def save_latest() -> None:
        ptu.save_checkpoint({"config": config, "step": step, "best_return": best_return, "n_evals": n_evals,
                             "wall_seconds": time.time() - t_start, "agent": agent.state_dict(),
                             "torch_rng": torch.get_rng_state()}, latest_path)

    sampler = SegmentSampler(env)
    logger = Logger(out_dir)
    stop = StopFlag()
    t_ckpt = time.time()
    t_start = t_ckpt - wall_seconds
    bar = tqdm(total=config["total_steps"], initial=step, dynamic_ncols=True, smoothing=0.05,
               mininterval=1.0 if sys.stderr.isatty() else 60.0, desc=config["env"])
    postfix: dict[str, str] = {}
    while step < config["total_steps"] and not stop.stop:
        agent.set_learning_rate_fraction(1.0 - step / config["total_steps"])
        t0 = time.time()
        batch = Batch.from_dict(sampler.sample(agent.policy.rollout_fn(), steps_per_env))
        info = agent.update(batch)
        steps_before, step = step, step + len(batch.rewards)
        scalars = {**info, "Train_EnvstepsSoFar": step, "TimeSinceStart": time.time() - t_start,
                   "Train_StepsPerSecond": len(batch.rewards) / max(time.time() - t0, 1e-9)}
        if sampler.recent_episodes:
            scalars["Train_AverageReturn"] = float(np.mean(path_returns(list(sampler.recent_episodes))))
            postfix["ret"] = f"{scalars['Train_AverageReturn']:.0f}"
        logger.log_scalars(scalars, step)
        logger.dump()
        if step // config["eval_every"] > steps_before // config["eval_every"] or step >= config["total_steps"]:
            returns, lengths = evaluate_ppo(agent, config)
            n_evals += 1
            best_return = record_eval(logger, returns, lengths, step, best_return, config, lambda: {
                "policy": {k: v.clone() for k, v in agent.policy.state_dict().items()}})
            postfix["eval"] = f"{returns.mean():.0f}"
        if time.time() - t_ckpt > 60 * config["checkpoint_minutes"]:
            save_latest()
            t_ckpt = time.time()
        postfix["sps"] = f"{scalars['Train_StepsPerSecond']:.0f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(len(batch.rewards))
    bar.close()
    stop.restore()
    save_latest()
    logger.close()
    env.close()
    state = "stopped" if stop.stop else "finished"
    print(f"{state} at step {step}; best Eval_AverageReturn {best_return:.1f}; checkpoints in {out_dir}")


def main(argv: Optional[list[str]] = None) -> None:
    args = parse_args(argv)
    config = {k: v for k, v in vars(args).items() if k != "export"}
    if args.export:
        export_best(config, args.export)
    elif args.algo == "ppo":
        train_ppo(config)
    else:
        train(config)


if __name__ == "__main__":
    run_main(main)
