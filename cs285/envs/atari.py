"""Atari from pixels for hw3's DQN (MsPacman), preprocessed as the course's ``wrap_deepmind`` does.

The course (homework_fall2023, hw3/cs285/infrastructure/atari_wrappers.py, ``wrap_deepmind``) builds,
innermost first:

    gym.make("MsPacmanNoFrameskip-v0")          raw frames, sticky actions p = 0.25 (the v0 ids)
    RecordEpisodeStatistics                     on the raw env: the real game score, unclipped
    AtariPreprocessing(noop_max=30, frame_skip=4, screen_size=84,
                       terminal_on_life_loss=False, grayscale_obs=True)
    FrameStack(num_stack=4)                     observations (4, 84, 84) uint8, the reset frame repeated

and nothing else: no reward clipping (``ClipRewardEnv`` is defined there but unused), no fire reset
(MsPacman has no FIRE action anyway) and no episodic life: the 2023 course dropped the older
``EpisodicLifeEnv`` (``terminal_on_life_loss=False``), so a lost life is not an end of anything.
``make_atari_env`` builds the same stack from the same gymnasium classes (``AtariPreprocessing`` and
``FrameStackObservation``, gymnasium 1.x's ``FrameStack``), so:

- ``terminated`` is the real game over (all lives gone): no bootstrap there, and only there;
  ``truncated`` is a time limit. A lost life is reported nowhere, as in the course, so the
  collector needs no change: its ended-episode records are whole games.
- rewards are the game's own points (10 a pellet, 50 a power pill, ...), so ``train_return`` /
  ``eval_return`` are the real score of a full game. Episode lengths count agent steps (4 frames
  each); the course's ``train_ep_len`` came from RecordEpisodeStatistics on the raw env and so counted
  emulator frames: 4 × our length + the 1..30 reset no-ops.
- the frame stack after a reset is (o_0, o_0, o_0, o_0), which is also what the course's
  MemoryEfficientReplayBuffer rebuilt (it padded a stack with the episode's first frame).

Why these wrappers: they are the course's own, they return a plain ``gym.Env`` that fits
``envs.make_env`` / ``VecEnv`` (reset when the collector says, per-episode seeds), and ale-py's
wheels carry the ROMs. The price is OpenCV (``AtariPreprocessing`` resizes with ``cv2.INTER_AREA``):
``opencv-python-headless``. ale-py's own ``AtariVectorEnv`` does the same preprocessing in C++ without
OpenCV and is faster, but it is a vector env that resets itself (no reset on the collector's word,
no per-episode seed), so it would need its own backend rather than an env in ``make_env``.

Time limits: ale-py cuts a game at 108 000 frames (``max_num_frames_per_episode``, reported as truncated;
30 minutes of play), for the NoFrameskip ids as when the course ran them, and registers no TimeLimit.
Outside, ``TimeLimit`` counts agent steps: ``ep_len``, else 108 000 / 4 = 27 000, so
``env.spec.max_episode_steps`` is in the collector's unit.
"""
from __future__ import annotations

import functools
import re
import warnings
from typing import Optional

import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TimeLimit

from cs285.infrastructure.errors import UserError

FRAME_SKIP = 4  # agent steps are 4 emulator frames (the last action repeated), max-pooled over the last 2
NOOP_MAX = 30  # a reset plays 1..30 NOOP frames first (Mnih et al. 2015, "no-op starts")
SCREEN_SIZE = 84
MAX_FRAMES = 108_000  # ale-py's own cut of a game (30 min of play, Machado et al. 2018)
FRAME_STACK = 4
OBSERVATION_SHAPE = (FRAME_STACK, SCREEN_SIZE, SCREEN_SIZE)  # uint8

_LEGACY_ID = re.compile(r"(?P<game>[A-Za-z]+)NoFrameskip-v(?P<version>[04])")


def _register_ale() -> None:
    """gymnasium 1.x finds ale-py's ids only once ale-py registers them."""
    try:
        import ale_py
    except ImportError:
        raise UserError("Atari needs ale-py (its wheels carry the ROMs): pip install 'ale-py>=0.10'") from None
    gym.register_envs(ale_py)


def is_atari(env_name: str) -> bool:
    """An ALE id: "ALE/<Game>-v5", the course's "<Game>NoFrameskip-v0/v4", or any id registered by ale-py."""
    if env_name.startswith("ALE/") or _LEGACY_ID.fullmatch(env_name):
        return True
    spec = gym.registry.get(env_name)
    return spec is not None and str(spec.entry_point).startswith("ale_py")


def resolve_atari_id(env_name: str) -> tuple[str, dict]:
    """(id to make, extra gym.make kwargs). The course's NoFrameskip ids run as they are when ale-py still
    registers them (ale-py 0.12 does); else as "ALE/<Game>-v5" with the old settings (raw frames, sticky
    actions 0.25 for v0 and 0 for v4, the same 108k-frame cut), with a one-line notice."""
    _register_ale()
    if env_name in gym.registry:
        if _LEGACY_ID.fullmatch(env_name):  # gymnasium warns on every make; one line instead
            _note(f"Note: gymnasium calls {env_name} out of date (its v4 has no sticky actions); "
                  "running it as the course does.")
        return env_name, {}
    m = _LEGACY_ID.fullmatch(env_name)
    new = f"ALE/{m['game']}-v5" if m else None
    if new is None or new not in gym.registry:
        raise UserError(f"unknown Atari id {env_name!r} (ale-py {_ale_version()} registers e.g. "
                        "ALE/MsPacman-v5 and MsPacmanNoFrameskip-v0)")
    _note(f"Note: ale-py {_ale_version()} no longer registers {env_name}; running {new} with its settings "
          "(frameskip 1 under the course's preprocessing, the same sticky actions).")
    sticky = 0.25 if m["version"] == "0" else 0.0
    return new, {"repeat_action_probability": sticky}


@functools.cache
def _note(line: str) -> None:
    print(line)  # cached: once, not once per env


def _ale_version() -> str:
    import ale_py

    return getattr(ale_py, "__version__", "?")


def make_atari_env(env_name: str, render: bool = False, *, seed: Optional[int] = None,
                   ep_len: Optional[int] = None, **kwargs) -> gym.Env:
    """The course's MsPacman (any ALE game): observations (4, 84, 84) uint8, the last frame newest.

    render: the raw env renders RGB frames (210, 160, 3) for videos. seed: seeds the action space
    (the game, its no-ops and sticky actions are seeded by the first ``reset(seed=...)``).
    ep_len: a time limit in agent steps (None: the 108k-frame cut / 4 = 27 000). kwargs: to gym.make
    (e.g. repeat_action_probability).
    """
    env_id, id_kwargs = resolve_atari_id(env_name)
    kwargs = {**id_kwargs, **kwargs}
    if env_id.startswith("ALE/"):
        kwargs["frameskip"] = 1  # AtariPreprocessing skips frames itself
    try:
        with warnings.catch_warnings():  # said once by resolve_atari_id
            warnings.filterwarnings("ignore", message=".*is out of date.*")
            env = gym.make(env_id, render_mode="rgb_array" if render else None, **kwargs)
        raw_limit = env.spec.max_episode_steps if env.spec is not None else None  # in frames; ale-py sets none
        env = AtariPreprocessing(env, noop_max=NOOP_MAX, frame_skip=FRAME_SKIP, screen_size=SCREEN_SIZE,
                                 terminal_on_life_loss=False, grayscale_obs=True)
    except gym.error.DependencyNotInstalled:
        raise UserError(f"{env_name} needs OpenCV to resize frames: pip install opencv-python-headless") from None
    env = FrameStackObservation(env, FRAME_STACK)  # padding_type="reset": (o_0, o_0, o_0, o_0) after a reset
    env = TimeLimit(env, ep_len or (raw_limit or MAX_FRAMES) // FRAME_SKIP)  # in agent steps
    if seed is not None:
        env.action_space.seed(seed)
    return env

