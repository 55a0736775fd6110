"""A preallocated ring buffer of steps (s, a, r, s', terminated, truncated), sampled as ``rollouts.Batch``.

The two end flags are kept apart: only ``terminated`` stops the bootstrap, and
after a truncation (a time limit) an agent bootstraps from s', so a truncated step
keeps its real final observation as ``next_observation`` (CleanRL SAC, SB3).
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from cs285.infrastructure.rollouts import Batch

class RingBuffer:
    """What both replay buffers share: ``capacity`` slots of actions, rewards and the two end flags, written
    at ``next_idx`` and wrapping around, the count held, sampling, and the checkpoint of all that.

    A subclass stores the observations (its own ``STEP_ARRAYS`` besides these), writes in ``insert`` and
    reads in ``gather``; ``_valid`` says which drawn steps can be given back (all, unless it overrides it).
    """

    STEP_ARRAYS: tuple[str, ...] = ("actions", "rewards", "terminated", "truncated")  # one row a step

    def __init__(self, capacity: int, action_shape: Union[int, Sequence[int]], action_dtype) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self.actions = np.zeros((capacity, *np.atleast_1d(action_shape)), dtype=action_dtype)  # int n -> (n,)
        self.rewards = np.zeros((capacity,), dtype=np.float32)
        self.terminated = np.zeros((capacity,), dtype=bool)
        self.truncated = np.zeros((capacity,), dtype=bool)
        self.next_idx = 0  # where the next step is written
        self.size = 0  # number of valid steps, <= capacity

    def __len__(self) -> int:
        return self.size

    def _advance(self, n: int) -> None:  # n steps were written at next_idx
        self.next_idx = int((self.next_idx + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def add_rollouts(self, paths: Sequence[dict]) -> None:
        """Add every step of each path (rollouts.PATH_KEYS), in order."""
        if paths:
            self.insert(Batch.from_paths(list(paths)))

    def _valid(self, idx: np.ndarray) -> np.ndarray:
        return np.ones(len(idx), dtype=bool)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` steps drawn uniformly with replacement (among the valid ones, see ``_valid``)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        while not (ok := self._valid(idx)).all():  # the newest step is always valid, so this ends
            idx[~ok] = rng.integers(0, self.size, size=int((~ok).sum()))
        return self.gather(idx)

    def state_dict(self) -> dict:
        """Plain arrays and ints only (loadable with ``torch.load(weights_only=True)``
        once converted to tensors); only the valid prefix of the arrays is kept."""
        state = {name: getattr(self, name)[: self.size].copy() for name in self.STEP_ARRAYS}
        state.update(capacity=self.capacity, next_idx=self.next_idx, size=self.size)
        return state

    def load_state_dict(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"buffer capacity {state['capacity']} in the checkpoint != {self.capacity}")
        self.size, self.next_idx = int(state["size"]), int(state["next_idx"])
        for name in self.STEP_ARRAYS:
            getattr(self, name)[: self.size] = np.asarray(state[name])


class ReplayBuffer(RingBuffer):
    """Holds the latest ``capacity`` steps; older ones are overwritten first.

    observation_shape, action_shape: an int (a vector's size) or a tuple (e.g. (84, 84, 4) frames).
    observation_dtype, action_dtype: storage types (uint8 frames stay uint8); rewards are float32, flags bool.
    """

    STEP_ARRAYS = Batch._fields  # the buffer's arrays carry the Batch's field names

    def __init__(self, capacity: int, observation_shape: Union[int, Sequence[int]],
                 action_shape: Union[int, Sequence[int]], observation_dtype=np.float32, action_dtype=np.float32):
        super().__init__(capacity, action_shape, action_dtype)
        ob_shape = np.atleast_1d(observation_shape)  # int n -> (n,)
        self.observations = np.zeros((capacity, *ob_shape), dtype=observation_dtype)
        self.next_observations = np.zeros((capacity, *ob_shape), dtype=observation_dtype)

    def insert(self, batch: Batch) -> None:
        """Add the batch's n steps at ``next_idx``, wrapping around: slot (next_idx + i) % capacity gets
        step i, as n single inserts would (of more than ``capacity`` steps only the last ``capacity`` stay)."""
        n = len(batch.rewards)
        arrays = [np.asarray(x, dtype=getattr(self, f).dtype).reshape(n, *getattr(self, f).shape[1:])
                  for f, x in zip(self.STEP_ARRAYS, batch)]
        idx = (self.next_idx + np.arange(n)) % self.capacity
        if n > self.capacity:
            idx, arrays = idx[-self.capacity:], [x[-self.capacity:] for x in arrays]
        for f, x in zip(self.STEP_ARRAYS, arrays):
            getattr(self, f)[idx] = x
        self._advance(n)

    def gather(self, idx: np.ndarray) -> Batch:
        return Batch(*(getattr(self, f)[idx] for f in self.STEP_ARRAYS))

    def load_state_dict(self, state: dict) -> None:
        if "terminateds" in state:  # a checkpoint from before truncation was stored: float flags, no truncated
            state = {**state, "terminated": np.asarray(state["terminateds"]) > 0,
                     "truncated": np.zeros(int(state["size"]), bool)}
        super().load_state_dict(state)
