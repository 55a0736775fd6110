"""The on-policy trainer (hw2's policy gradients, PPO, actor-critic; the PPO experts): collect a batch, update.

Iteration ``itr`` (the course's run_hw2.py loop):
    1. ``agent.update(batch, itr)`` on the batch sampled with the current weights;
    2. sample, with the updated weights and in one call (they share the sampler's processes), the
       evaluation episodes of iteration ``itr`` (when ``evaluate_at(itr)``, and always at the last
       iteration) and the training batch of ``itr + 1``: complete episodes until ``batch_size`` steps,
       or ``steps_per_env`` steps of each of the collector's lock-step envs (``segments``: envs that
       keep running across batches, each cut bootstrapped like a time limit);
    3. log the course's row (``Eval_*``, ``Train_*``, the agent's scalars, ``Train_EnvstepsSoFar``, ...).
Resume (run.py): the checkpoint, written between iterations, holds the next iteration, the agent, the
batch already sampled for it and the RNGs, so a resumed run of complete episodes gives the numbers of
a run never stopped. Segments cannot: the envs' simulator states are not saved, so after a resume
each env starts a new episode (its first reset's seed again) where the stopped run's episode went on.
"""
from __future__ import annotations

import collections
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np
import torch

from cs285.envs.collector import Collector, Request
from cs285.infrastructure.rollouts import Batch, total_steps
from cs285.trainers.checkpointing import arrays_to_tensors, tensors_to_arrays
from cs285.trainers.run import Run
from cs285.trainers.training_logs import ConstantCriticWatch, check_losses_finite, iteration_logs, print_and_log

if TYPE_CHECKING:
    from cs285.agents.protocol import Agent


def _pack(train: Optional[tuple]) -> Optional[dict]:
    """A sampled (paths, Batch, env steps) for the checkpoint: the batch's arrays, and of the paths only
    what the Train_* statistics read (their rewards); None at the end of the run."""
    if train is None:
        return None
    paths, batch, envsteps = train
    return {"batch": arrays_to_tensors(batch._asdict()), "envsteps": envsteps,
            "path_rewards": [torch.from_numpy(np.asarray(p["reward"])) for p in paths]}


def _unpack(state: Optional[dict]) -> Optional[tuple]:
    if state is None:
        return None
    paths = [{"reward": r.numpy()} for r in state["path_rewards"]]
    return paths, Batch(**tensors_to_arrays(state["batch"])), state["envsteps"]


def train_on_policy(
    run: Run,
    agent: "Agent",
    *,
    collector: Collector,
    n_iter: int,
    batch_size: int,
    eval_request: Request,
    evaluate_at: Callable[[int], bool],
    segments: bool = False,
    action_noise_std: float = 0.0,
    truncation_as_termination: bool = False,
    lr_fraction: Optional[Callable[[int], float]] = None,
    loss_hint: str = "lower --learning_rate or --baseline_learning_rate",
    critic_watch: Optional[ConstantCriticWatch] = None,
    video: Any = None,
    video_log_freq: int = -1,
    save_params: bool = False,
    stop_at: Optional[tuple[float, int]] = None,
) -> dict[str, float]:
    """The loop of the module docstring; returns the last logged row.

    agent: acts with ``agent.policy``; ``lr_fraction(itr)`` (if given) scales its learning rates first.
    stop_at: (R, k): the run ends, finished, after k evaluations in a row with Eval_AverageReturn >= R.
    """
    n_envs = collector.num_envs
    steps_per_env = -(-batch_size // n_envs)
    train_request = Request(min_steps=batch_size, action_noise_std=action_noise_std)
    recent_episodes: collections.deque[dict] = collections.deque(maxlen=n_envs)  # Train_* of segments

    def sample(evaluate: bool, train: bool) -> tuple[Optional[list[dict]], Optional[tuple]]:
        """(eval paths or None, (train paths, Batch, env steps) or None), with the current weights."""
        requests = [eval_request] * evaluate + [train_request] * (train and not segments)
        results = collector.episodes_together(agent.policy, requests)
        eval_paths = results.pop(0) if evaluate else None
        if not train:
            return eval_paths, None
        if not segments:
            batch = Batch.from_paths(results[0])
            if truncation_as_termination:
                batch = batch.truncations_as_terminations()
            return eval_paths, (results[0], batch, total_steps(results[0]))
        batch, ended = collector.segments(agent.policy, steps_per_env, action_noise_std=action_noise_std,
                                          truncation_as_termination=truncation_as_termination)
        recent_episodes.extend(ended)
        return eval_paths, (list(recent_episodes), batch, len(batch.rewards))

    itr, total_envsteps, logs, streak = 0, 0, {}, 0  # streak: evaluations in a row at stop_at's return
    totals = np.zeros(3)  # seconds spent sampling, updating, logging

    def make_state() -> dict:
        return {"agent": agent.state_dict(), "train": _pack(train), "total_envsteps": total_envsteps,
                "torch_rng": torch.get_rng_state(), "collector": collector.state_dict(), "logs": logs,
                "recent_episodes": [torch.from_numpy(np.asarray(e["reward"])) for e in recent_episodes],
                "streak": streak}

    start = time.time()
    if (state := run.resume_state) is not None:
        agent.load_state_dict(state["agent"])
        train, total_envsteps, logs = _unpack(state["train"]), state["total_envsteps"], state["logs"]
        torch.set_rng_state(state["torch_rng"])
        collector.load_state_dict(state["collector"])
        recent_episodes.extend({"reward": r.numpy()} for r in state["recent_episodes"])
        itr, streak = state["step"], state.get("streak", 0)
        start -= run.wall_seconds()  # TimeSinceStart goes on from the stopped run's
        if train is None and itr < n_iter:  # a finished run given more iterations (train_expert's budget)
            _, train = sample(evaluate=False, train=True)
    else:
        t0 = time.perf_counter()
        _, train = sample(evaluate=False, train=True)
        totals[0] += time.perf_counter() - t0
        run.save_checkpoint(0, make_state())
    held = lambda: stop_at is not None and streak >= stop_at[1]  # noqa: E731
    while itr < n_iter and not held() and not run.stop_requested:
        print(f"\n********** Iteration {itr} ************")
        paths, batch, envsteps = train
        total_envsteps += envsteps
        t1 = time.perf_counter()
        if lr_fraction is not None:
            agent.set_learning_rate_fraction(lr_fraction(itr))
        train_log = agent.update(batch, itr)
        check_losses_finite(train_log, itr, loss_hint)
        if critic_watch is not None:
            critic_watch.update(train_log, itr)
        t2 = time.perf_counter()

        evaluate = evaluate_at(itr) or itr == n_iter - 1
        eval_paths, train = sample(evaluate, train=itr + 1 < n_iter)
        t3 = time.perf_counter()
        if save_params:
            agent.save(os.path.join(run.log_dir, f"policy_itr_{itr}.pt"))
        if video is not None and itr % video_log_freq == 0:
            video.log(run.logger, agent.policy, itr, deterministic=eval_request.deterministic)
        if evaluate:
            logs = iteration_logs(paths, eval_paths, train_log, total_envsteps, start, itr)
            print_and_log(run.logger, logs, itr)
            run.save_best(logs["Eval_AverageReturn"], lambda: {"eval_step": itr, "agent": agent.state_dict(),
                                                               "eval_return": logs["Eval_AverageReturn"]})
            if stop_at is not None:
                streak = streak + 1 if logs["Eval_AverageReturn"] >= stop_at[0] else 0
        t4 = time.perf_counter()
        split = np.array([t3 - t2, t2 - t1, t4 - t3])
        totals += split
        print("time (s): update {1:.2f} | sampling (eval + next batch) {0:.2f} | logging {2:.2f}".format(*split))
        itr += 1
        if train is not None:
            run.maybe_checkpoint(itr, make_state)
    run.save_checkpoint(itr, make_state())
    if held():
        run.finish(f"Stopped at iteration {itr - 1}: {streak} evaluations in a row with Eval_AverageReturn >= "
                   f"{stop_at[0]:g} (--stop_at_return); the last {logs['Eval_AverageReturn']:.1f}")
    elif itr == n_iter:
        run.finish(f"Final Eval_AverageReturn {logs['Eval_AverageReturn']:.1f} ± {logs['Eval_StdReturn']:.1f} "
                   f"(sampling {totals[0]:.1f}s, update {totals[1]:.1f}s, logging {totals[2]:.1f}s)")
    return logs
