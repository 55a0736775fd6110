"""Small Actors for tests (rollouts.Actor: ``act(obs (n, ...), rng) -> actions (n, ...)``; rng None = deterministic)."""
from typing import Callable, Optional

import numpy as np


class ZerosActor:
    """Action 0 everywhere: zeros (n, ac_dim) float32 for a Box, or zeros (n,) int64 for a Discrete space."""

    def __init__(self, ac_dim: Optional[int] = None):
        self.ac_dim = ac_dim  # None: discrete

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        if self.ac_dim is None:
            return np.zeros(len(obs), dtype=np.int64)
        return np.zeros((len(obs), self.ac_dim), dtype=np.float32)


class UniformActor:
    """Uniform actions in [low, high]^ac_dim drawn from the collector's rng; the midpoint when rng is None."""

    def __init__(self, ac_dim: int, low: float = -1.0, high: float = 1.0):
        self.ac_dim, self.low, self.high = ac_dim, low, high

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        if rng is None:
            return np.full((len(obs), self.ac_dim), (self.low + self.high) / 2, dtype=np.float32)
        return rng.uniform(self.low, self.high, (len(obs), self.ac_dim)).astype(np.float32)


class FnActor:
    """A plain function of the observations (e.g. envpool_agreement's fixed policies) as an Actor; rng unused."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        self.fn = fn

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        return self.fn(obs)
