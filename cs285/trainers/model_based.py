"""The model-based trainer (hw4's MPC): collect → store → refresh statistics → fit the dynamics → evaluate.

Iteration ``itr`` = 0 … ``num_iters`` - 1 (the course's run_hw4.py):
    1. complete episodes until at least ``initial_batch_size`` env steps (itr 0, uniform random actions)
       or ``batch_size`` steps (later, the agent's MPC planner), all stored in the replay buffer;
    2. ``agent.update_statistics`` over the whole buffer (the normalization mu, sigma);
    3. ``num_agent_train_steps_per_iter`` updates, each on a fresh draw of ``ensemble_size *
       train_batch_size`` transitions (member m learns from block m, the course's one sample per member);
       at itr 0 the per-step losses are drawn in ``itr_0_loss_curve.png`` in the run dir and written to
       ``itr_0_losses.csv`` (``step,dynamics_loss``: the handout's "< 0.2 by step 500" read off as a number);
    4. unless ``num_eval_trajectories`` is 0, that many episodes of the planner.
With ``mbpo`` (the course's ``--sac_config_file``; MBPO, Janner et al. 2019, arXiv:1906.08253), a SAC agent
acts instead of the planner (step 1 after iteration 0, step 4), every real step also goes to SAC's own
buffer, and after step 3 SAC takes ``updates_per_iter`` updates, each on ``batch_size`` steps of its buffer
drawn after adding one model rollout of ``rollout_length`` steps (0: none, plain SAC on the real steps;
1: Dyna-style) from a state drawn from the real buffer (``ModelBasedAgent.model_rollout``). The course logs
nothing of SAC; here the means of its update scalars over the iteration go to ``sac/<key>``.
Logged at step ``itr`` (the course logs against the iteration, not the env steps): ``total_envsteps``
(env steps collected so far), ``dynamics_loss`` (the mean of the iteration's per-update losses, each the
ensemble's mean), and ``eval_return``, ``eval_ep_len``, ``eval/{return,ep_len}_{std,max,min}``. Beyond the
course, each evaluation checks the model on its first episode: ``model/window_return_*`` (``model_check``:
the ensemble's return of each ``mpc_horizon``-step window of real actions against the real one) and
``open_loop_itr_<itr>.png`` (``save_open_loop_figure``: predicted against real states and rewards). An
iteration's rows are written once it ends, so a resumed run logs each step once.

Resume: the checkpoint holds the iteration, whether its data is in (and how many updates it has taken,
with their losses), the agent (ensemble, Adam, statistics), the buffer, and the NumPy and torch RNGs
(minibatches come from ``rng``; the collected episodes' seeds from torch's RNG; the evaluation's from
``eval_seed`` and the iteration; with MBPO also SAC, its buffer and its update counts). It is written at
the start, at each iteration's end, every ``checkpoint_minutes`` between updates, and when the loop stops,
so a stopped run resumes at the update it stopped after and gives the numbers of a run never stopped.
A stop also cuts short a batch of episodes at the actor's next step: collection starts again from the
iteration's start, evaluation (its seeds fixed) from the evaluation's start.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch
from tqdm import tqdm

from cs285.envs.collector import Collector
from cs285.envs.make import RandomActor
from cs285.infrastructure.files import atomic_path
from cs285.infrastructure.rollouts import total_steps
from cs285.infrastructure.utils import eval_logs
from cs285.trainers.checkpointing import arrays_to_tensors, tensors_to_arrays
from cs285.trainers.run import Run

if TYPE_CHECKING:
    from cs285.agents.model_based_agent import ModelBasedAgent
    from cs285.agents.sac_agent import SACAgent
    from cs285.infrastructure.replay_buffer import ReplayBuffer
    from cs285.infrastructure.rollouts import Actor

LOSS_CURVE_FILE = "itr_0_loss_curve.png"  # the course's name
LOSSES_FILE = "itr_0_losses.csv"  # the same losses as numbers, one row an update
OPEN_LOOP_FILE = "open_loop_itr_{}.png"  # each evaluation's predicted-vs-real figure (save_open_loop_figure)
OPEN_LOOP_STEPS = 50
EVAL_SEEDS_PER_RUN = 1_000_000  # iteration i's eval episodes: seed eval_seed * this + i


@dataclass
class MBPO:
    """The SAC half of an MBPO run (module docstring): the agent, its buffer (real steps and model rollouts,
    never meant to wrap), and the hw4 SAC config's ``num_agent_train_steps_per_iter``, ``batch_size`` and
    ``mbpo_rollout_length``."""
    agent: "SACAgent"
    buffer: "ReplayBuffer"
    updates_per_iter: int
    batch_size: int
    rollout_length: int


class Stopped(Exception):
    """A stop was requested while the planner or SAC was collecting episodes."""


def stoppable(actor: Actor, run: Run) -> Actor:
    """``actor``, raising ``Stopped`` at its next step once a stop is requested: a planner's batch of episodes
    takes minutes (halfcheetah_cem: about 25 for one iteration's 5000 steps), too long to finish first."""
    class StoppableActor:
        def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
            if run.stop_requested:
                raise Stopped
            return actor.act(obs, rng)
    return StoppableActor()


def save_loss_curve(losses: list[float], path: str) -> None:
    """The course's iteration-0 plot: the dynamics loss of each update (a Figure, no pyplot state), and the
    losses themselves in a CSV beside it (``LOSSES_FILE``; steps from 1, as the handout counts updates)."""
    from matplotlib.figure import Figure

    with atomic_path(os.path.join(os.path.dirname(path), LOSSES_FILE)) as tmp, open(tmp, "w") as f:
        f.write("step,dynamics_loss\n")
        f.writelines(f"{step},{float(loss)!r}\n" for step, loss in enumerate(losses, 1))

    fig = Figure()
    ax = fig.subplots()
    ax.plot(losses)
    ax.set_title("Iteration 0: Dynamics Model Training Loss")
    ax.set_ylabel("Loss")
    ax.set_xlabel("Step")
    fig.savefig(path)


def model_check(agent: "ModelBasedAgent", path: dict, horizon: int) -> dict[str, float]:
    """How well the ensemble scores what the actor actually did on ``path`` (an evaluation episode): the
    episode cut into windows of ``horizon`` steps, each window's real return against the ensemble's
    prediction of it from the window's real first state and its real actions (what the planner computes
    for a sequence): ``model/window_return_{true,predicted,abs_error}``, means over the windows."""
    n = len(path["reward"]) // horizon
    if n == 0:
        return {}
    starts = path["observation"][: n * horizon: horizon]
    actions = path["action"][: n * horizon].reshape(n, horizon, -1)
    true = path["reward"][: n * horizon].reshape(n, horizon).sum(axis=1)
    predicted = agent.evaluate_action_sequences(starts, actions)
    return {"model/window_return_true": float(true.mean()), "model/window_return_predicted": float(predicted.mean()),
            "model/window_return_abs_error": float(np.abs(predicted - true).mean())}


def save_open_loop_figure(agent: "ModelBasedAgent", path: dict, steps: int, title: str, file: str) -> None:
    """Each member's open-loop prediction from the episode's first state under its real actions, against the
    real states, for the three state dimensions that vary most along the episode, and the reward
    ``get_reward`` gives the predicted states against the real one."""
    from matplotlib.figure import Figure

    steps = min(steps, len(path["action"]))
    real = path["next_observation"][:steps]
    predicted = agent.open_loop(path["observation"][0], path["action"][:steps])  # (M, T, ob_dim)
    dims = np.argsort(-real.std(axis=0))[:3]
    fig = Figure(figsize=(11, 3))
    axes = fig.subplots(1, len(dims) + 1)
    t = np.arange(1, steps + 1)
    for ax, d in zip(axes, dims):
        ax.plot(t, real[:, d], "k", lw=2, label="real")
        for m, member in enumerate(predicted):
            ax.plot(t, member[:, d], lw=1, alpha=0.8, label=f"member {m}")
        ax.set_title(f"state[{d}]")
        ax.set_xlabel("step")
    ax = axes[-1]
    ax.plot(t, path["reward"][:steps], "k", lw=2, label="real")
    for m, member in enumerate(predicted):
        ax.plot(t, agent.get_reward(member, path["action"][:steps])[0], lw=1, alpha=0.8, label=f"member {m}")
    ax.set_title("reward")
    ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(file, dpi=80)


def train_model_based(
    run: Run,
    agent: "ModelBasedAgent",
    *,
    collector: Collector,
    eval_collector: Collector,
    buffer: "ReplayBuffer",
    num_iters: int,
    initial_batch_size: int,
    batch_size: int,
    train_batch_size: int,
    num_agent_train_steps_per_iter: int,
    num_eval_trajectories: int,
    rng: np.random.Generator,
    eval_seed: int,
    video: Any = None,
    mbpo: Optional[MBPO] = None,
) -> dict[str, float]:
    """The loop of the module docstring; returns the last iteration's row (the loss, and its evaluation's
    scalars when it had one; {} if none ran).

    collector, eval_collector: complete episodes of the training and evaluation envs (episode length
        already set in them); the agent acts in this process, so they step with ``env_procs=1``.
    buffer: a ReplayBuffer of at least every step the run collects (it is never meant to wrap).
    rng: the minibatch draws (and MBPO's rollouts). eval_seed: the evaluation episodes' seeds (module docstring).
    video: a VideoRecorder whose rollouts follow each evaluation, or None.
    mbpo: SAC acts and learns from real and model steps (module docstring); None: the planner acts.
    """
    logger = run.logger
    actor = agent if mbpo is None else mbpo.agent
    itr, total_envsteps, last_eval = 0, 0, {}
    trained: Optional[int] = None  # updates taken in this iteration; None: its data is not collected yet
    losses: list[float] = []
    sac_trained, sac_updates, sac_sums = 0, 0, {}  # this iteration's SAC updates, the run's, their scalars' sums

    def make_state() -> dict:
        state = {"itr": itr, "trained": -1 if trained is None else trained, "losses": list(losses),
                 "total_envsteps": total_envsteps, "last_eval": last_eval, "agent": agent.state_dict(),
                 "buffer": arrays_to_tensors(buffer.state_dict()), "numpy_rng": rng.bit_generator.state,
                 "torch_rng": torch.get_rng_state()}
        if mbpo is not None:
            state["mbpo"] = {"agent": mbpo.agent.state_dict(), "buffer": arrays_to_tensors(mbpo.buffer.state_dict()),
                             "trained": sac_trained, "updates": sac_updates, "sums": dict(sac_sums)}
        return state

    if (state := run.resume_state) is not None:
        agent.load_state_dict(state["agent"])
        buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        itr, total_envsteps, last_eval = state["itr"], state["total_envsteps"], state["last_eval"]
        trained = None if state["trained"] < 0 else state["trained"]
        losses = [float(x) for x in state["losses"]]
        if mbpo is not None:
            mbpo.agent.load_state_dict(state["mbpo"]["agent"])
            mbpo.buffer.load_state_dict(tensors_to_arrays(state["mbpo"]["buffer"]))
            sac_trained, sac_updates = state["mbpo"]["trained"], state["mbpo"]["updates"]
            sac_sums = {k: float(v) for k, v in state["mbpo"]["sums"].items()}
    else:
        run.save_checkpoint(0, make_state())

    while itr < num_iters and not run.stop_requested:
        print(f"\n********** Iteration {itr} ************")
        if trained is None:
            try:
                paths = collector.episodes(RandomActor(collector.action_space) if itr == 0 else stoppable(actor, run),
                                           min_steps=initial_batch_size if itr == 0 else batch_size)
            except Stopped:  # the latest checkpoint is this iteration's start: resuming collects again
                return last_eval
            buffer.add_rollouts(paths)
            if mbpo is not None:
                mbpo.buffer.add_rollouts(paths)
            total_envsteps += total_steps(paths)
            n = len(buffer)
            agent.update_statistics(buffer.observations[:n], buffer.actions[:n], buffer.next_observations[:n])
            trained, losses, sac_trained, sac_sums = 0, [], 0, {}
        bar = tqdm(total=num_agent_train_steps_per_iter, initial=trained, dynamic_ncols=True, mininterval=1.0)
        while trained < num_agent_train_steps_per_iter and not run.stop_requested:
            batch = buffer.sample(agent.ensemble_size * train_batch_size, rng)
            losses.append(agent.update(batch, itr)["dynamics_loss"])
            trained += 1
            bar.update(1)
            run.maybe_checkpoint(itr, make_state)
        bar.close()
        if run.stop_requested:
            break
        if itr == 0:
            save_loss_curve(losses, os.path.join(run.log_dir, LOSS_CURVE_FILE))
        if mbpo is not None:
            bar = tqdm(total=mbpo.updates_per_iter, initial=sac_trained, dynamic_ncols=True, mininterval=1.0,
                       desc="SAC")
            while sac_trained < mbpo.updates_per_iter and not run.stop_requested:
                if mbpo.rollout_length:
                    start = buffer.sample(1, rng).observations[0]  # a real state
                    mbpo.buffer.insert(agent.model_rollout(mbpo.agent, start, mbpo.rollout_length, rng))
                info = mbpo.agent.update(mbpo.buffer.sample(mbpo.batch_size, rng), sac_updates)
                for key, value in info.items():
                    sac_sums[key] = sac_sums.get(key, 0.0) + value
                sac_trained, sac_updates = sac_trained + 1, sac_updates + 1
                bar.update(1)
                run.maybe_checkpoint(itr, make_state)
            bar.close()
            if run.stop_requested:
                break
        logs = {"total_envsteps": total_envsteps, "dynamics_loss": float(np.mean(losses)),
                **{f"sac/{key}": total / max(sac_trained, 1) for key, total in sac_sums.items()}}
        if num_eval_trajectories:
            try:
                paths = eval_collector.episodes(stoppable(actor, run), n_episodes=num_eval_trajectories,
                                                seed=eval_seed * EVAL_SEEDS_PER_RUN + itr, stream="eval")
            except Stopped:  # saved below with this iteration's training done: resuming evaluates again
                break
            logs.update(eval_logs(paths))
            logs.update(model_check(agent, paths[0], agent.mpc_horizon))
            save_open_loop_figure(agent, paths[0], OPEN_LOOP_STEPS, f"iteration {itr}: open-loop predictions from "
                                  f"the first eval episode's start, under its actions",
                                  os.path.join(run.log_dir, OPEN_LOOP_FILE.format(itr)))
            print(f"Average eval return: {logs['eval_return']:.2f}")
            run.save_best(logs["eval_return"], lambda: {
                "eval_step": itr, "eval_return": logs["eval_return"], "agent": agent.state_dict(),
                **({} if mbpo is None else {"sac_agent": mbpo.agent.state_dict()})})
            if video is not None:
                video.log(logger, actor, itr)
        logger.log_scalars(logs, itr)
        logger.flush()
        last_eval = logs  # the last row: the last evaluation's scalars, when it had one, and the loss
        itr, trained = itr + 1, None
        run.save_checkpoint(itr, make_state())  # the next iteration's start (a stop while collecting returns to it)
    if run.stop_requested:  # stopped while training or evaluating: resume there
        run.save_checkpoint(itr, make_state())
    return last_eval
