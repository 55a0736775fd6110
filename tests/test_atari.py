"""Atari for hw3: the frame-stack replay buffer against a naive one, and the course's MsPacman preprocessing."""
import collections

import numpy as np
import pytest

from cs285.infrastructure.frame_replay_buffer import FrameStackReplayBuffer
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.infrastructure.rollouts import Batch

STACK, FRAME = 4, (3, 2)  # tiny frames with values 0..2, so equal frames and equal stacks happen often


class FakeFrameStreams:
    """``n`` envs of random-length episodes giving frame stacks as FrameStackObservation does: after a reset
    (o_0, o_0, o_0, o_0), then the newest frame last. Actions number the steps (0, 1, 2, ...)."""

    def __init__(self, n: int, rng: np.random.Generator, max_len: int = 12):
        self.n, self.rng, self.max_len, self.count, self.starts = n, rng, max_len, 0, 0
        self.stacks = [self._reset() for _ in range(n)]
        self.left = [self._length() for _ in range(n)]

    def _frame(self) -> np.ndarray:
        return self.rng.integers(0, 3, FRAME).astype(np.uint8)

    def _reset(self) -> collections.deque:
        self.starts += 1
        first = self._frame()
        return collections.deque([first] * STACK, maxlen=STACK)

    def _length(self) -> int:
        return int(self.rng.integers(1, self.max_len + 1))

    def step_all(self) -> Batch:
        """One step of every env, time-major as Collector.steps hands them out."""
        rows = []
        for i in range(self.n):
            obs = np.stack(self.stacks[i])
            self.stacks[i].append(self._frame())
            self.left[i] -= 1
            ended = self.left[i] == 0
            terminated = ended and self.rng.random() < 0.5
            rows.append((obs, self.count, float(self.count), np.stack(self.stacks[i]), terminated,
                         ended and not terminated))
            self.count += 1
            if ended:
                self.stacks[i], self.left[i] = self._reset(), self._length()
        return Batch(*(np.array(x) for x in zip(*rows)))


def _buffers(capacity: int):
    naive = ReplayBuffer(capacity, (STACK, *FRAME), (), observation_dtype=np.uint8, action_dtype=np.int64)
    return naive, FrameStackReplayBuffer(capacity, (STACK, *FRAME))


def _assert_same(batch: Batch, naive: ReplayBuffer, idx: np.ndarray) -> None:
    for f, x in zip(Batch._fields, batch):
        np.testing.assert_array_equal(x, getattr(naive, f)[idx], err_msg=f)


@pytest.mark.parametrize("n_envs", [1, 3])
def test_frame_buffer_gives_back_the_stacks_a_naive_buffer_stores(n_envs):
    rng = np.random.default_rng(n_envs)
    naive, frames = _buffers(capacity=40)
    streams = FakeFrameStreams(n_envs, rng)
    for t in range(150):  # > 3 times around the ring, many episode starts
        steps = [streams.step_all() for _ in range(1 if t % 7 else 3)]  # now and then 3 steps in one insert
        batch = Batch(*(np.concatenate(x) for x in zip(*steps)))
        naive.insert(batch)
        frames.insert(batch)
        assert len(frames) == len(naive) and frames.next_idx == naive.next_idx
        every = np.arange(len(naive))
        assert frames._valid(every).all()  # ample spare frame slots for these episodes
        _assert_same(frames.gather(every), naive, every)
    seed = 5  # same draws, same steps
    a, b = frames.sample(64, np.random.default_rng(seed)), naive.sample(64, np.random.default_rng(seed))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # one frame a step, one more for each episode start (its reset stack), rarely more (equal stacks of two envs)
    assert streams.count <= frames.frames_written <= streams.count + 4 * streams.starts


def test_steps_whose_frames_were_overwritten_are_never_sampled():
    """Episodes of one step write 2 frames a step, so the oldest steps lose frames; samples stay exact."""
    rng = np.random.default_rng(0)
    naive, frames = _buffers(capacity=100)  # F = 164 frames for 100 steps
    streams = FakeFrameStreams(1, rng, max_len=1)
    for _ in range(300):
        batch = streams.step_all()
        naive.insert(batch)
        frames.insert(batch)
    valid = frames._valid(np.arange(100))
    assert 0 < valid.sum() < 100
    sample = frames.sample(500, np.random.default_rng(1))
    slot = {int(a): i for i, a in enumerate(naive.actions)}  # actions number the steps
    _assert_same(sample, naive, np.array([slot[int(a)] for a in sample.actions]))
    assert valid[[slot[int(a)] for a in sample.actions]].all()


def test_frame_buffer_state_dict_roundtrip_continues_open_episodes():
    import torch

    rng = np.random.default_rng(3)
    naive, frames = _buffers(capacity=30)
    streams = FakeFrameStreams(2, rng)
    for _ in range(40):
        batch = streams.step_all()
        naive.insert(batch)
        frames.insert(batch)
    state = frames.state_dict()
    assert all(isinstance(v, (np.ndarray, int)) for v in state.values())
    tensors = {k: torch.as_tensor(v) for k, v in state.items()}
    restored = FrameStackReplayBuffer(30, (STACK, *FRAME))
    restored.load_state_dict({k: v.numpy() if v.ndim else int(v) for k, v in tensors.items()})
    written = restored.frames_written
    batch = streams.step_all()  # both envs' episodes go on (or restart): the new frames only
    naive.insert(batch)
    restored.insert(batch)
    assert restored.frames_written - written <= 2 * 2  # 1 a step, 2 for a step that starts an episode
    every = np.arange(30)
    _assert_same(restored.gather(every), naive, every)


def test_frame_buffer_memory_is_one_frame_a_step():
    frames = FrameStackReplayBuffer(6400, (4, 84, 84))  # 1M would need the same per step: 7.24 GB
    per_step = frames.nbytes / frames.capacity
    # 84·84 = 7056 B of frames × (1 + 1/64) spare slots + 2·4·8 B serials + 8 B action + 4 B reward + 2 B flags
    assert per_step == pytest.approx(7056 * (1 + 1 / 64) + 64 + 8 + 4 + 2)
    assert per_step * 1_000_000 < 7.3e9
    with pytest.raises(ValueError, match="uint8"):
        frames.insert(Batch(np.zeros((1, 4, 84, 84)), np.zeros(1), np.zeros(1), np.zeros((1, 4, 84, 84)),
                            np.zeros(1, bool), np.zeros(1, bool)))


# ---------------------------------------------------------------------- MsPacman through ale-py

@pytest.fixture(scope="module")
def pacman():
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    from cs285.envs.atari import make_atari_env

    env = make_atari_env("MsPacmanNoFrameskip-v0", seed=0)
    yield env
    env.close()


def test_observations_are_four_stacked_84x84_uint8_frames(pacman):
    obs, _ = pacman.reset(seed=0)
    assert pacman.observation_space.shape == (4, 84, 84) and pacman.observation_space.dtype == np.uint8
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert all(np.array_equal(f, obs[0]) for f in obs)  # after a reset: (o_0, o_0, o_0, o_0)
    nxt, *_ = pacman.step(0)
    np.testing.assert_array_equal(nxt[:3], obs[1:])  # shifted by one frame, the newest last
    assert pacman.spec.max_episode_steps == 27_000  # ale-py's 108k-frame cut / 4, in agent steps


def test_noop_starts_and_frame_skip(pacman):
    ale = pacman.unwrapped.ale
    noops = []
    for seed in range(8):
        pacman.reset(seed=seed)
        noops.append(ale.getEpisodeFrameNumber())
        for k in range(1, 4):
            pacman.step(pacman.action_space.sample())
            assert ale.getEpisodeFrameNumber() == noops[-1] + 4 * k  # an agent step is 4 emulator frames
    assert all(1 <= n <= 30 for n in noops) and len(set(noops)) > 1  # 1..30 no-ops, drawn per reset


def test_a_game_runs_through_lost_lives_with_its_real_score(pacman):
    """The course's wrap_deepmind: terminal_on_life_loss=False, no reward clipping."""
    pacman.reset(seed=1)
    ale = pacman.unwrapped.ale
    lives, rewards = [ale.lives()], []
    terminated = truncated = False
    while not (terminated or truncated):
        _, r, terminated, truncated, _ = pacman.step(pacman.action_space.sample())
        rewards.append(r)
        lives.append(ale.lives())
    assert terminated and not truncated and lives[-1] == 0 and lives[0] > 1
    assert min(lives[:-1]) >= 1  # lives were lost on the way and the game went on
    assert max(rewards) >= 10 and all(r % 10 == 0 for r in rewards)  # points, not clipped to {-1, 0, 1}


def test_make_env_builds_atari_and_the_collector_steps_it():
    pytest.importorskip("ale_py")
    pytest.importorskip("cv2")
    from actors import ZerosActor
    from cs285.envs.collector import Collector
    from cs285.envs.make import make_env

    env = make_env("MsPacmanNoFrameskip-v0", seed=0)
    assert env.observation_space.shape == (4, 84, 84)
    env.close()
    buffer = FrameStackReplayBuffer(100)
    with Collector("MsPacmanNoFrameskip-v0", seed=0) as collector:
        for _ in range(20):
            batch, ended = collector.steps(ZerosActor(), 1, rng=np.random.default_rng(0))
            assert batch.observations.shape == (1, 4, 84, 84) and batch.observations.dtype == np.uint8
            buffer.insert(batch)
    assert buffer.frames_written == 21  # the reset stack's one frame, then one a step
    sample = buffer.sample(8, np.random.default_rng(0))
    np.testing.assert_array_equal(sample.next_observations[:, :3], sample.observations[:, 1:])


def test_old_id_runs_as_v5_with_a_notice_when_ale_py_drops_it(monkeypatch, capsys):
    pytest.importorskip("ale_py")
    import gymnasium as gym

    from cs285.envs import atari

    atari._note.cache_clear()
    for _ in range(2):  # still registered (ale-py 0.12): the course's settings, one line for gymnasium's warning
        assert atari.resolve_atari_id("MsPacmanNoFrameskip-v0") == ("MsPacmanNoFrameskip-v0", {})
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "out of date" in out and "as the course does" in out
    monkeypatch.delitem(gym.registry, "MsPacmanNoFrameskip-v0")
    assert atari.is_atari("MsPacmanNoFrameskip-v0") and not atari.is_atari("CartPole-v1")
    env_id, kwargs = atari.resolve_atari_id("MsPacmanNoFrameskip-v0")
    assert env_id == "ALE/MsPacman-v5" and kwargs["repeat_action_probability"] == 0.25
    atari.resolve_atari_id("MsPacmanNoFrameskip-v0")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no longer registers" in out and "running ALE/MsPacman-v5" in out
    env = atari.make_atari_env("MsPacmanNoFrameskip-v0")  # raw frames under the course's preprocessing
    assert env.reset(seed=0)[0].shape == (4, 84, 84) and env.unwrapped._frameskip == 1
    env.close()
