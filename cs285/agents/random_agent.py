"""hw5's random agent: uniform actions, nothing to learn (the baseline exploration run,
``base_config: random``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cs285.agents.dqn_agent import EpsilonGreedyActor
from cs285.infrastructure.rollouts import Batch


class RandomAgent:
    """Acts uniformly at random over ``num_actions``; ``update`` is a no-op returning {} (the course's)."""

    def __init__(self, observation_shape: Sequence[int], num_actions: int):
        self.observation_shape, self.num_actions = tuple(observation_shape), int(num_actions)

    def actor(self) -> EpsilonGreedyActor:
        """ε-greedy with ε = 1: with an rng, a uniform action per row (the draws DQN's first steps make);
        the course evaluates this agent at random too, so pass an rng there as well (without one, the
        argmax of an all-zero Q is action 0)."""
        return EpsilonGreedyActor(self._zero_q, self.num_actions, 1.0)

    def _zero_q(self, obs: np.ndarray) -> np.ndarray:
        return np.zeros((len(obs), self.num_actions))

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
