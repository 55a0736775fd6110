"""A preallocated ring buffer of transitions (s, a, r, s', terminated).

Only ``terminated`` is stored as the "done" flag: a time-limit truncation keeps
bootstrapping from s', so a truncated step is stored with terminated = 0 and its
real final observation as ``next_observation`` (CleanRL SAC, SB3).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class Batch(NamedTuple):
    observations: np.ndarray  # (batch, ob_dim) float32
    actions: np.ndarray  # (batch, ac_dim) float32
    rewards: np.ndarray  # (batch,) float32
    next_observations: np.ndarray  # (batch, ob_dim) float32
    terminateds: np.ndarray  # (batch,) float32 in {0, 1}


_FIELDS = Batch._fields


class ReplayBuffer:
    """Holds the latest ``capacity`` transitions; older ones are overwritten first."""

    def __init__(self, capacity: int, ob_dim: int, ac_dim: int):
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self.ob_dim = int(ob_dim)
        self.ac_dim = int(ac_dim)
        self.observations = np.zeros((capacity, ob_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, ac_dim), dtype=np.float32)
        self.rewards = np.zeros((capacity,), dtype=np.float32)
        self.next_observations = np.zeros((capacity, ob_dim), dtype=np.float32)
        self.terminateds = np.zeros((capacity,), dtype=np.float32)
        self.next_idx = 0  # where the next transition is written
        self.size = 0  # number of valid transitions, <= capacity

    def __len__(self) -> int:
        return self.size

    def insert(self, obs, action, reward, next_obs, terminated) -> None:
        """Add one transition (obs of shape (ob_dim,)) or a batch ((n, ob_dim), ...)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.ob_dim)
        n = obs.shape[0]
        action = np.asarray(action, dtype=np.float32).reshape(n, self.ac_dim)
        reward = np.asarray(reward, dtype=np.float32).reshape(n)
        next_obs = np.asarray(next_obs, dtype=np.float32).reshape(n, self.ob_dim)
        terminated = np.asarray(terminated, dtype=np.float32).reshape(n)
        if n > self.capacity:  # only the last `capacity` survive anyway
            obs, action, reward, next_obs, terminated = (
                x[-self.capacity:] for x in (obs, action, reward, next_obs, terminated))
            n = self.capacity
        idx = (self.next_idx + np.arange(n)) % self.capacity
        self.observations[idx] = obs
        self.actions[idx] = action
        self.rewards[idx] = reward
        self.next_observations[idx] = next_obs
        self.terminateds[idx] = terminated
        self.next_idx = int((self.next_idx + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def add_rollouts(self, paths: Sequence[dict]) -> None:
        """Add every step of each path dict (keys observation, action, reward,
        next_observation, terminated; arrays of length T)."""
        for path in paths:
            self.insert(path["observation"], path["action"], path["reward"],
                        path["next_observation"], path["terminated"])

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        return Batch(*(getattr(self, f)[idx] for f in _FIELDS))

    def state_dict(self) -> dict:
        """Plain arrays and ints only (loadable with ``torch.load(weights_only=True)``
        once converted to tensors); only the valid prefix of the arrays is kept."""
        state = {f: getattr(self, f)[: self.size].copy() for f in _FIELDS}
        state.update(capacity=self.capacity, next_idx=self.next_idx, size=self.size)
        return state

    def load_state_dict(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"buffer capacity {state['capacity']} in the checkpoint != {self.capacity}")
        size = int(state["size"])
        for f in _FIELDS:
            getattr(self, f)[:size] = np.asarray(state[f])
        self.size = size
        self.next_idx = int(state["next_idx"])
