"""The offline trainer (hw5's CQL, AWAC, IQL, and offline-to-online fine-tuning): sample a dataset, update.

For ``offline_steps`` steps the agent is updated on minibatches of a fixed dataset (a replay buffer filled
beforehand, e.g. from an exploration run); the env is stepped only to evaluate. Then, for ``online_steps``
more steps (fine-tuning; 0 by default), each step first adds one env step of ``explore(step)`` to the same
buffer, as the off-policy trainer does. It is the off-policy trainer's loop (off_policy.py: its logging,
evaluation, checkpoint and resume) with the env steps switched off until the online phase, so the two
families log the same keys on the same schedule.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from cs285.envs.collector import Collector
from cs285.infrastructure.rollouts import Actor
from cs285.trainers.off_policy import train_off_policy
from cs285.trainers.run import Run

if TYPE_CHECKING:
    from cs285.agents.protocol import Agent


def train_offline(
    run: Run,
    agent: "Agent",
    *,
    dataset,
    eval_collector: Collector,
    eval_actor: Callable[[], Actor],
    offline_steps: int,
    batch_size: int,
    eval_interval: int,
    num_eval_trajectories: int,
    log_interval: int,
    rng: np.random.Generator,
    online_steps: int = 0,
    collector: Optional[Collector] = None,
    explore: Optional[Callable[[int], Actor]] = None,
    extra_logs: Optional[Callable[[int], dict[str, float]]] = None,
    eval_request: Optional[dict] = None,
    after_eval: Optional[Callable[[int, list[dict]], None]] = None,
) -> dict[str, float]:
    """``offline_steps`` updates on ``dataset`` (a filled ReplayBuffer), then ``online_steps`` of step → store →
    update with ``collector`` and ``explore``; returns the last evaluation's scalars. Step s is logged at s."""
    if online_steps and (collector is None or explore is None):
        raise ValueError("online_steps > 0 needs a collector and an explore policy")
    if len(dataset) == 0:
        raise ValueError("the dataset is empty")
    return train_off_policy(
        run, agent, collector=collector, eval_collector=eval_collector, buffer=dataset, explore=explore,
        eval_actor=eval_actor, total_steps=offline_steps + online_steps, learning_starts=0, batch_size=batch_size,
        eval_interval=eval_interval, num_eval_trajectories=num_eval_trajectories, log_interval=log_interval,
        rng=rng, extra_logs=extra_logs, eval_request=eval_request, collect_from=offline_steps,
        after_eval=after_eval)
