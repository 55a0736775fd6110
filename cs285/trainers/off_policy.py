"""The off-policy trainer (hw3's DQN and SAC, the SAC experts, later homeworks): one env step, store, update.

At every step (the course's run_hw3_dqn.py / run_hw3_sac.py, step counted from 0):
    1. act with ``explore(step)`` (DQN: ε-greedy with ε(step); SAC: uniform random actions
       for ``random_steps``, then the sampling policy) through ``Collector.steps``;
    2. store the transition (only ``terminated`` stops a bootstrap; a time limit is
       stored ``truncated``) and, when an episode ends, log ``train_return`` / ``train_ep_len``;
    3. from ``learning_starts`` on, ``agent.update(buffer.sample(batch_size), step)``; every
       ``log_interval`` steps its scalars (and ``extra_logs(step)``) are logged;
    4. every ``eval_interval`` steps, and at the last step, ``num_eval_trajectories`` episodes of
       ``eval_actor()`` give ``eval_return``, ``eval_ep_len`` and ``eval/{return,ep_len}_{std,max,min}``
       (the last-step evaluation is this project's addition: the final number is the final policy's);
       the best evaluation's agent is kept in checkpoint_best.pt; a ``video`` adds rollouts.
The run shell (run.py) resumes: the checkpoint holds the step, the agent, the replay buffer and the
RNGs; the episodes in progress restart.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np
import torch
from tqdm import tqdm

from cs285.envs.collector import Collector
from cs285.infrastructure.rollouts import Actor
from cs285.infrastructure.utils import eval_logs
from cs285.trainers.checkpointing import arrays_to_tensors, tensors_to_arrays
from cs285.trainers.run import Run

if TYPE_CHECKING:
    from cs285.agents.protocol import Agent


def train_off_policy(
    run: Run,
    agent: "Agent",
    *,
    collector: Optional[Collector],
    eval_collector: Collector,
    buffer,
    explore: Optional[Callable[[int], Actor]],
    eval_actor: Callable[[], Actor],
    total_steps: int,
    learning_starts: int,
    batch_size: int,
    eval_interval: int,
    num_eval_trajectories: int,
    log_interval: int,
    rng: np.random.Generator,
    extra_logs: Optional[Callable[[int], dict[str, float]]] = None,
    eval_request: Optional[dict] = None,
    video: Any = None,
    collect_from: int = 0,
    after_eval: Optional[Callable[[int, list[dict]], None]] = None,
) -> dict[str, float]:
    """The loop of the module docstring; returns the last evaluation's scalars.

    buffer: a ReplayBuffer-like object (insert(Batch), sample(n, rng), state_dict, load_state_dict).
    collect_from: the first step that steps the env (offline.py: before it, updates sample the buffer as
        given, a fixed dataset; ``collector`` and ``explore`` may be None if it is ``total_steps``).
    eval_request: keywords of the eval episodes' Request (e.g. deterministic=True, seed=...).
    video: a VideoRecorder for rollouts at each evaluation, or None.
    after_eval: called with the step and the evaluation's episodes (e.g. to draw them), or None.
    """
    step, last_eval = 0, {}
    logger = run.logger

    def make_state() -> dict:
        return {"agent": agent.state_dict(), "buffer": arrays_to_tensors(buffer.state_dict()),
                "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "last_eval": last_eval}

    if (state := run.resume_state) is not None:
        agent.load_state_dict(state["agent"])
        buffer.load_state_dict(tensors_to_arrays(state["buffer"]))
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, last_eval = state["step"], state.get("last_eval", {})
    else:
        run.save_checkpoint(0, make_state())  # a run killed before its first timed checkpoint resumes too

    def evaluate(step: int) -> dict[str, float]:
        actor = eval_actor()
        paths = eval_collector.episodes(actor, n_episodes=num_eval_trajectories, **(eval_request or {}))
        logs = eval_logs(paths)
        logger.log_scalars(logs, step)
        if after_eval is not None:
            after_eval(step, paths)
        run.save_best(logs["eval_return"], lambda: {"eval_step": step, "eval_return": logs["eval_return"],
                                                    "agent": agent.state_dict()})
        if video is not None:
            video.log(logger, actor, step, deterministic=bool((eval_request or {}).get("deterministic")))
        return logs

    bar = tqdm(total=total_steps, initial=step, dynamic_ncols=True, smoothing=0.05, mininterval=1.0)
    while step < total_steps and not run.stop_requested:
        if step >= collect_from:
            batch, ended = collector.steps(explore(step), 1, rng)
            buffer.insert(batch)
            for episode in ended:
                logger.log_scalars({"train_return": float(np.sum(episode["reward"])),
                                    "train_ep_len": len(episode["reward"])}, step)
        if step >= learning_starts:
            info = agent.update(buffer.sample(batch_size, rng), step)
            if step % log_interval == 0:
                logger.log_scalars({**info, **(extra_logs(step) if extra_logs else {})}, step)
        if step % eval_interval == 0 or step == total_steps - 1:
            last_eval = evaluate(step)
            bar.set_postfix(eval_return=f"{last_eval['eval_return']:.1f}", refresh=False)
        if step % log_interval == 0:
            logger.flush()
        step += 1
        bar.update(1)
        run.maybe_checkpoint(step, make_state)
    run.save_checkpoint(step, make_state())
    bar.close()
    return last_eval
