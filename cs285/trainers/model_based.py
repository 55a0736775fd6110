"""The model-based trainer (hw4's MPC): collect → store → refresh statistics → fit the dynamics → evaluate.

Iteration ``itr`` = 0 … ``num_iters`` - 1 (the course's run_hw4.py):
    1. complete episodes until at least ``initial_batch_size`` env steps (itr 0, uniform random actions)
       or ``batch_size`` steps (later, the agent's MPC planner), all stored in the replay buffer;
    2. ``agent.update_statistics`` over the whole buffer (the normalization mu, sigma);
    3. ``num_agent_train_steps_per_iter`` updates, each on a fresh draw of ``ensemble_size *
       train_batch_size`` transitions (member m learns from block m, the course's one sample per member);
       at itr 0 the per-step losses are drawn in ``itr_0_loss_curve.png`` in the run dir;
    4. unless ``num_eval_trajectories`` is 0, that many episodes of the planner.
Logged at step ``itr`` (the course logs against the iteration, not the env steps): ``total_envsteps``
(env steps collected so far), ``dynamics_loss`` (the mean of the iteration's per-update losses, each the
ensemble's mean), and ``eval_return``, ``eval_ep_len``, ``eval/{return,ep_len}_{std,max,min}``. An
iteration's rows are written once it ends, so a resumed run logs each step once.

Resume: the checkpoint holds the iteration, whether its data is in (and how many updates it has taken,
with their losses), the agent (ensemble, Adam, statistics), the buffer, and the NumPy and torch RNGs
(minibatches come from ``rng``; the collected episodes' seeds from torch's RNG; the evaluation's from
``eval_seed`` and the iteration). It is written at the start, every ``checkpoint_minutes`` between
updates, and when the loop stops, so a stopped run resumes at the update it stopped after and gives the
numbers of a run never stopped.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch
from tqdm import tqdm

from cs285.envs.collector import Collector
from cs285.envs.make import RandomActor
from cs285.infrastructure.rollouts import total_steps
from cs285.infrastructure.utils import eval_logs
from cs285.trainers.checkpointing import arrays_to_tensors, tensors_to_arrays
from cs285.trainers.run import Run

if TYPE_CHECKING:
    from cs285.agents.model_based_agent import ModelBasedAgent
    from cs285.infrastructure.replay_buffer import ReplayBuffer

LOSS_CURVE_FILE = "itr_0_loss_curve.png"  # the course's name
EVAL_SEEDS_PER_RUN = 1_000_000  # iteration i's eval episodes: seed eval_seed * this + i


def save_loss_curve(losses: list[float], path: str) -> None:
    """The course's iteration-0 plot: the dynamics loss of each update (a Figure, no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot(losses)
    ax.set_title("Iteration 0: Dynamics Model Training Loss")
    ax.set_ylabel("Loss")
    ax.set_xlabel("Step")
    fig.savefig(path)


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
) -> dict[str, float]:
    """The loop of the module docstring; returns the last iteration's row (the loss, and its evaluation's
    scalars when it had one; {} if none ran).

    collector, eval_collector: complete episodes of the training and evaluation envs (episode length
        already set in them); the agent acts in this process, so they step with ``env_procs=1``.
    buffer: a ReplayBuffer of at least every step the run collects (it is never meant to wrap).
    rng: the minibatch draws. eval_seed: the evaluation episodes' seeds (module docstring).
    video: a VideoRecorder whose rollouts follow each evaluation, or None.
    """
    logger = run.logger
    itr, total_envsteps, last_eval = 0, 0, {}
    trained: Optional[int] = None  # updates taken in this iteration; None: its data is not collected yet
    losses: list[float] = []

    def make_state() -> dict:
        return {"itr": itr, "trained": -1 if trained is None else trained, "losses": list(losses),
                "total_envsteps": total_envsteps, "last_eval": last_eval, "agent": agent.state_dict(),
                "buffer": arrays_to_tensors(buffer.state_dict()), "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}

    if (state := run.resume_state) is not None:
        agent.load_state_dict(state["agent"])
        buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        itr, total_envsteps, last_eval = state["itr"], state["total_envsteps"], state["last_eval"]
        trained = None if state["trained"] < 0 else state["trained"]
        losses = [float(x) for x in state["losses"]]
    else:
        run.save_checkpoint(0, make_state())

    while itr < num_iters and not run.stop_requested:
        print(f"\n********** Iteration {itr} ************")
        if trained is None:
            actor = RandomActor(collector.action_space) if itr == 0 else agent
            paths = collector.episodes(actor, min_steps=initial_batch_size if itr == 0 else batch_size)
            buffer.add_rollouts(paths)
            total_envsteps += total_steps(paths)
            n = len(buffer)
            agent.update_statistics(buffer.observations[:n], buffer.actions[:n], buffer.next_observations[:n])
            trained, losses = 0, []
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
        logs = {"total_envsteps": total_envsteps, "dynamics_loss": float(np.mean(losses))}
        if num_eval_trajectories:
            paths = eval_collector.episodes(agent, n_episodes=num_eval_trajectories,
                                            seed=eval_seed * EVAL_SEEDS_PER_RUN + itr, stream="eval")
            logs.update(eval_logs(paths))
            print(f"Average eval return: {logs['eval_return']:.2f}")
            run.save_best(logs["eval_return"], lambda: {"eval_step": itr, "agent": agent.state_dict(),
                                                        "eval_return": logs["eval_return"]})
            if video is not None:
                video.log(logger, agent, itr)
        logger.log_scalars(logs, itr)
        logger.flush()
        last_eval = logs  # the last row: the last evaluation's scalars, when it had one, and the loss
        itr, trained = itr + 1, None
        run.maybe_checkpoint(itr, make_state)
    run.save_checkpoint(itr, make_state())
    return last_eval
