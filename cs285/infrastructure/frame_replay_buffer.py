"""A replay buffer for stacked frames that stores each frame once (hw3's DQN on Atari).

A transition's observation and next observation are stacks of 4 frames (4, 84, 84) uint8; the
next observation shares 3 frames with the observation, and the next transition's observation is
this one's next observation. Storing full stacks costs 2 · 4 · 7056 B = 56 KB a transition
(56 GB for 1M); storing each frame once costs one 84 × 84 frame a transition.

How: a ring of frames, each numbered by a serial (its write count, stored at slot serial % F),
and per transition the serials of its two stacks (obs_serials, next_serials: (4,) int64 each).
``insert`` writes, per transition:
- the observation: nothing when it continues an episode already in the buffer (it equals the
  next observation of an open transition, compared by content, so any number of envs may be
  interleaved in any order); else its frames (consecutive equal frames once: a stack right after
  a reset, (o_0, o_0, o_0, o_0), costs one frame);
- the next observation: its newest frame when it is the observation shifted by one (always, for
  a frame stack), else its frames as above.
So a stored stack is exactly the stack that was inserted, whatever padding the env used (the
course's MemoryEfficientReplayBuffer padded with the episode's first frame, and so does
gymnasium's FrameStackObservation after a reset): frames from before an episode's start can only
appear if the env put them there.

F = capacity + capacity // 64 (at least 64 more): the spare slots absorb the episode starts' extra
frames and the other envs' frames written between two steps of one env. A transition whose oldest
frame has been overwritten anyway (only after more than F frames, e.g. very short episodes) is
never sampled; ``sample`` draws again in its place.

Memory: 7056 B of frames per transition, × (1 + 1/64), plus 64 B of serials and ~10 B of action,
reward and flags: about 7.24 KB a transition, 7.24 GB for 1M (``nbytes``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from cs285.infrastructure.replay_buffer import RingBuffer
from cs285.infrastructure.rollouts import Batch

MAX_OPEN = 64  # episodes in progress remembered for continuation (envs stepped together)


class FrameStackReplayBuffer(RingBuffer):
    """Holds the latest ``capacity`` steps of stacked-frame observations; the same interface as ReplayBuffer.

    observation_shape: (stack, H, W), e.g. (4, 84, 84); frames are uint8. action_shape: () for a
    discrete action (int64), else the action's shape (float32).
    """

    STEP_ARRAYS = ("obs_serials", "next_serials", *RingBuffer.STEP_ARRAYS)

    def __init__(self, capacity: int, observation_shape=(4, 84, 84), action_shape=(), action_dtype=np.int64):
        super().__init__(capacity, action_shape, action_dtype)
        self.stack, *frame_shape = observation_shape
        self.n_frames = self.capacity + max(64, self.capacity // 64)  # F
        self.frames = np.zeros((self.n_frames, *frame_shape), dtype=np.uint8)
        self.obs_serials = np.zeros((capacity, self.stack), dtype=np.int64)
        self.next_serials = np.zeros((capacity, self.stack), dtype=np.int64)
        self.frames_written = 0  # the next frame's serial
        self._open: list[tuple[np.ndarray, np.ndarray]] = []  # (next_serials, next_obs) of episodes going on

    @property
    def nbytes(self) -> int:
        return int(self.frames.nbytes + sum(getattr(self, name).nbytes for name in self.STEP_ARRAYS))

    # ------------------------------------------------------------------ writing

    def _write_frame(self, frame: np.ndarray) -> int:
        serial = self.frames_written
        self.frames[serial % self.n_frames] = frame
        self.frames_written += 1
        return serial

    def _write_stack(self, stack: np.ndarray) -> np.ndarray:
        """Serials of a stack's frames, a frame equal to the one before it written once."""
        serials = np.empty(self.stack, dtype=np.int64)
        for j, frame in enumerate(stack):
            same = j > 0 and np.array_equal(frame, stack[j - 1])
            serials[j] = serials[j - 1] if same else self._write_frame(frame)
        return serials

    def _fresh(self, serials: np.ndarray) -> bool:
        """All frames still in the ring, even after this step writes its frames (at most 2 stacks)."""
        return int(serials.min()) >= self.frames_written - self.n_frames + 2 * self.stack  # room for this step's frames

    def _continued(self, obs: np.ndarray) -> Optional[np.ndarray]:
        """The serials of an open episode whose next observation is ``obs`` (and is still stored), or None."""
        for k, (serials, next_obs) in enumerate(self._open):
            if np.array_equal(next_obs, obs):
                del self._open[k]
                return serials if self._fresh(serials) else None
        return None

    def insert(self, batch: Batch) -> None:
        """Add the batch's n steps at ``next_idx``, wrapping around (slot (next_idx + i) % capacity gets step i)."""
        obs_all = np.asarray(batch.observations)
        next_all = np.asarray(batch.next_observations)
        if obs_all.dtype != np.uint8 or obs_all.shape[1:] != (self.stack, *self.frames.shape[1:]):
            raise ValueError(f"expected uint8 observations (n, {self.stack}, H, W), (H, W) = {self.frames.shape[1:]}; "
                             f"got {obs_all.dtype} {obs_all.shape}")
        n = len(batch.rewards)
        actions = np.asarray(batch.actions, dtype=self.actions.dtype).reshape(n, *self.actions.shape[1:])
        ended = np.asarray(batch.terminated, bool) | np.asarray(batch.truncated, bool)
        for i in range(n):
            obs, nxt = obs_all[i], next_all[i]
            obs_serials = self._continued(obs)
            if obs_serials is None:
                obs_serials = self._write_stack(obs)
            if np.array_equal(nxt[:-1], obs[1:]):  # a frame stack moved on by one frame
                next_serials = np.append(obs_serials[1:], self._write_frame(nxt[-1]))
            else:
                next_serials = self._write_stack(nxt)
            if not ended[i]:
                self._open.append((next_serials, nxt.copy()))
                del self._open[:-MAX_OPEN]
            slot = self.next_idx
            self.obs_serials[slot], self.next_serials[slot] = obs_serials, next_serials
            self.actions[slot], self.rewards[slot] = actions[i], batch.rewards[i]
            self.terminated[slot], self.truncated[slot] = batch.terminated[i], batch.truncated[i]
            self._advance(1)

    # ------------------------------------------------------------------ reading

    def _valid(self, idx: np.ndarray) -> np.ndarray:
        """Steps none of whose frames has been overwritten."""
        oldest = np.minimum(self.obs_serials[idx].min(axis=1), self.next_serials[idx].min(axis=1))
        return oldest >= self.frames_written - self.n_frames

    def gather(self, idx: np.ndarray) -> Batch:
        """Steps ``idx`` (slots) with their stacks rebuilt: observations (len(idx), stack, H, W)."""
        f = self.n_frames
        return Batch(self.frames[self.obs_serials[idx] % f], self.actions[idx], self.rewards[idx],
                     self.frames[self.next_serials[idx] % f], self.terminated[idx], self.truncated[idx])

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict:
        """Plain arrays and ints (for ``torch.load(weights_only=True)`` once converted to tensors)."""
        open_serials = np.array([s for s, _ in self._open], dtype=np.int64).reshape(-1, self.stack)
        return {**super().state_dict(), "frames": self.frames[: min(self.frames_written, self.n_frames)].copy(),
                "open_serials": open_serials, "frames_written": self.frames_written}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        frames = np.asarray(state["frames"])
        self.frames[: len(frames)] = frames
        self.frames_written = int(state["frames_written"])
        self._open = [(s, self.frames[s % self.n_frames]) for s in np.asarray(state["open_serials"], dtype=np.int64)]
