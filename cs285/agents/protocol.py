"""What every agent in this package is, written once: ``Agent``.

A trainer drives an agent through three methods and its actor, nothing else
(STYLE.md, house habit 15); ``tests/test_agent_protocol.py`` checks each agent
against this text.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from cs285.infrastructure.rollouts import Batch


@runtime_checkable
class Agent(Protocol):
    """An agent owns its networks, losses and optimizers and never touches an env or a logger.

    ``update(batch, step)``: learn from ``batch`` (on-policy agents: whole episodes or
        segments in time order; DQN, SAC: steps drawn from a replay buffer; BC: expert
        observations and actions) and return the scalars to log. ``step`` is the caller's
        clock: the iteration (hw1, hw2) or the env step (hw3). DQN and SAC copy their target
        networks when ``step % target_update_period == 0``; the other agents ignore it.
    ``state_dict()``: everything ``update`` changes: networks, target networks, optimizers
        (with their learning rates), counters, running statistics, the temperature. Tensors
        and plain values only, so ``ptu.save_checkpoint`` / ``ptu.load_checkpoint``
        (weights-only) carry it. Like torch's, it may share tensors with the live agent:
        save or deep-copy it before the next ``update``.
    ``load_state_dict(state)``: restore into an agent built with the same arguments; its next
        ``update`` then gives the same numbers as the saved agent's would.

    The actor (``rollouts.Actor``, or an ``MLPPolicy``, which the collector snapshots) is
    not one member, because SAC's ``actor`` attribute is its network:
        BCAgent, PGAgent and its subclasses: ``agent.policy``
        DQNAgent: ``agent.actor(epsilon)``, ε-greedy over the live Q-network; the same for hw5's
            RNDAgent, CQLAgent, AWACAgent and IQLAgent (the course evaluates all of them by argmax Q),
            whose ``agent.awr.policy`` (AWAC, IQL: an MLPPolicy) is the learned π
        RandomAgent: ``agent.actor()``, uniform actions
        SACAgent: the agent itself, ``agent.act(obs, rng)``
        ModelBasedAgent: the agent itself, ``agent.act(obs, rng)`` (MPC with the learned ensemble)
    """

    def update(self, batch: Batch, step: int) -> dict[str, float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...
