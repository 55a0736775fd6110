"""ReplayBuffer: ring wrap-around, the two end flags kept apart, storage dtypes, checkpoints."""
import numpy as np
import pytest

from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch


def _steps(first: int, n: int, terminated=(), truncated=()) -> Batch:
    """n steps numbered first, first + 1, ...: obs = action = reward = the number, next obs = number + 1."""
    k = np.arange(first, first + n, dtype=np.float64)
    term, trunc = np.isin(k, terminated), np.isin(k, truncated)
    return Batch(np.repeat(k[:, None], 2, 1), k[:, None], k, np.repeat(k[:, None] + 1, 2, 1), term, trunc)


def test_ring_wraps_and_keeps_the_flags_apart():
    buffer = ReplayBuffer(5, 2, 1)
    for i in range(7):  # single steps; 0 and 1 get overwritten by 5 and 6
        buffer.insert(_steps(i, 1, terminated=[6], truncated=[3]))
    assert len(buffer) == 5 and buffer.next_idx == 2  # 7 mod 5
    assert buffer.rewards.tolist() == [5, 6, 2, 3, 4]
    assert buffer.terminated.tolist() == [False, True, False, False, False]
    assert buffer.truncated.tolist() == [False, False, False, True, False]
    # 4 steps 10..13 written at slots 2, 3, 4, 0; next_idx = (2 + 4) mod 5 = 1
    buffer.insert(_steps(10, 4, terminated=[12], truncated=[13]))
    assert buffer.rewards.tolist() == [13, 6, 10, 11, 12] and buffer.next_idx == 1
    assert buffer.terminated.tolist() == [False, True, False, False, True]
    assert buffer.truncated.tolist() == [True, False, False, False, False]
    np.testing.assert_array_equal(buffer.next_observations[:, 0], [14, 7, 11, 12, 13])
    # 7 steps 20..26 from slot 1, as 7 single inserts: slots 1, 2, 3, 4, 0, 1, 2, so 22..26 stay
    # at slots 3, 4, 0, 1, 2; next_idx = (1 + 7) mod 5 = 3
    buffer.insert(_steps(20, 7))
    assert buffer.rewards.tolist() == [24, 25, 26, 22, 23] and buffer.next_idx == 3 and len(buffer) == 5


def test_sample_is_a_batch_of_stored_steps():
    buffer = ReplayBuffer(8, 2, 1)
    buffer.insert(_steps(0, 3, terminated=[1], truncated=[2]))
    batch = buffer.sample(50, np.random.default_rng(0))
    assert isinstance(batch, Batch) and batch.observations.shape == (50, 2) and batch.actions.shape == (50, 1)
    assert batch.observations.dtype == np.float32 and batch.terminated.dtype == bool
    assert set(batch.rewards.tolist()) == {0, 1, 2}  # only the 3 valid slots, all drawn in 50 tries
    np.testing.assert_array_equal(batch.terminated, batch.rewards == 1)
    np.testing.assert_array_equal(batch.truncated, batch.rewards == 2)
    np.testing.assert_array_equal(batch.next_observations[:, 0], batch.rewards + 1)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, 2, 1).sample(1, np.random.default_rng(0))


def test_uint8_frames_are_stored_as_uint8():
    buffer = ReplayBuffer(3, (4, 4, 2), 1, observation_dtype=np.uint8, action_dtype=np.int64)
    frames = np.full((2, 4, 4, 2), 255, dtype=np.uint8)
    buffer.insert(Batch(frames, np.array([1, 2]), np.ones(2), frames, np.zeros(2, bool), np.zeros(2, bool)))
    assert buffer.observations.dtype == np.uint8 and buffer.observations.nbytes == 3 * 32
    batch = buffer.sample(4, np.random.default_rng(0))
    assert batch.observations.dtype == np.uint8 and batch.observations.shape == (4, 4, 4, 2)
    assert batch.next_observations.max() == 255 and batch.actions.dtype == np.int64


def test_add_rollouts_and_state_dict_roundtrip():
    paths = [{"observation": np.ones((3, 2)), "action": np.ones((3, 1)), "reward": np.arange(3.0),
              "next_observation": np.ones((3, 2)), "terminated": np.array([0, 0, 1], bool),
              "truncated": np.zeros(3, bool)},
             {"observation": np.zeros((2, 2)), "action": np.zeros((2, 1)), "reward": np.array([7.0, 8.0]),
              "next_observation": np.zeros((2, 2)), "terminated": np.zeros(2, bool),
              "truncated": np.array([0, 1], bool)}]
    buffer = ReplayBuffer(4, 2, 1)
    buffer.add_rollouts(paths)  # 5 steps into 4 slots: 1, 2 | 7, 8 kept; next_idx = 5 mod 4 = 1
    assert len(buffer) == 4 and buffer.next_idx == 1 and buffer.rewards.tolist() == [8, 1, 2, 7]
    assert buffer.terminated.tolist() == [False, False, True, False]
    assert buffer.truncated.tolist() == [True, False, False, False]
    state = buffer.state_dict()
    assert all(isinstance(v, (np.ndarray, int)) for v in state.values())
    restored = ReplayBuffer(4, 2, 1)
    restored.load_state_dict(state)
    assert restored.next_idx == 1 and len(restored) == 4
    for f in Batch._fields:
        np.testing.assert_array_equal(getattr(restored, f), getattr(buffer, f))
    # a checkpoint from before truncation was stored: float "terminateds", every step a non-truncation
    old = {k: v for k, v in state.items() if k not in ("terminated", "truncated")}
    old["terminateds"] = state["terminated"].astype(np.float32)
    restored.load_state_dict(old)
    assert restored.terminated.tolist() == [False, False, True, False] and not restored.truncated.any()
