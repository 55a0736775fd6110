"""Environment construction and the vectorized-env interface every sampler uses.

All algorithms see environments only through ``VecEnv``: ``num_envs`` copies of
one task stepped together, with *no* auto-reset, so the sampler decides when an
episode starts and keeps ``terminated`` (a true end: no bootstrap) apart from
``truncated`` (a time limit: bootstrap with V(s')). ``make_vec_env`` picks the
backend: ``VecEnv`` (gymnasium, the default, runs every env) or ``EnvpoolVecEnv``
(envpool_env.py: C++ threads, a fixed list of ids, optional extra ``fast``).
Atari ids go to atari.py (the course's preprocessing, frame stacks (4, 84, 84) uint8).
The project's own envs (registry.py: the course's hw4/hw5 ids) are in gymnasium's registry
once ``cs285.envs`` is imported, so they are made here like any other.
"""
from __future__ import annotations

import difflib
import functools
import os
import sys
import warnings
from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering unless the user chose a backend

import gymnasium as gym  # noqa: E402

from cs285.envs.atari import is_atari, make_atari_env, resolve_atari_id  # noqa: E402
from cs285.envs.registry import project_env_ids  # noqa: E402
from cs285.infrastructure.errors import UserError  # noqa: E402

if TYPE_CHECKING:
    from cs285.envs.envpool_env import EnvpoolVecEnv

# Ids that no longer exist in gymnasium 1.x, and what they run instead.
ENV_ALIASES = {
    "LunarLander-v2": "LunarLander-v3",
    "LunarLanderContinuous-v2": "LunarLanderContinuous-v3",
}

ENV_BACKENDS = ("gymnasium", "envpool")


@functools.cache
def _note_once(line: str, stderr: bool = False) -> None:
    """Print ``line`` the first time only (cached): once, not once per env."""
    print(line, file=sys.stderr if stderr else sys.stdout)


@functools.cache
def quiet_env_warnings() -> None:
    """Show MuJoCo's compiler warnings once at most (gymnasium's notices: see ``make_env``); runs once (cached)."""
    try:
        import mujoco

        @functools.cache
        def _warn_once(msg: str) -> None:
            print(f"MuJoCo warning: {msg.strip()}", file=sys.stderr)  # cached: once per message

        mujoco.set_mju_user_warning(_warn_once)
    except ImportError:
        pass
    except Exception as e:  # e.g. an unusable MUJOCO_GL makes `import mujoco` fail
        raise UserError(f"MuJoCo cannot start with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r} ({e}); "
                        "try MUJOCO_GL=egl or MUJOCO_GL=osmesa") from None


def resolve_env_id(env_name: str) -> str:
    """Map old ids to current ones and reject unknown ids with the closest matches."""
    if is_atari(env_name):  # ale-py ids: atari.py
        return resolve_atari_id(env_name)[0]
    if env_name in ENV_ALIASES:
        new = ENV_ALIASES[env_name]
        _note_once(f"Note: {env_name} no longer exists in gymnasium {gym.__version__}; running {new}.")
        return new
    if env_name not in gym.registry:
        close = closest_env_ids(env_name)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UserError(f"unknown environment id {env_name!r}.{hint}")
    return env_name


def closest_env_ids(env_name: str, n: int = 3) -> list[str]:
    """Up to ``n`` known ids nearest ``env_name``, ignoring case: the project's own (registry.py),
    gymnasium's and the old ids of ENV_ALIASES."""
    known = {i.lower(): i for i in [*ENV_ALIASES, *gym.registry, *project_env_ids()]}
    return [known[i] for i in difflib.get_close_matches(env_name.lower(), list(known), n=n, cutoff=0.5)]


def make_env(
    env_name: str,
    seed: Optional[int] = None,
    ep_len: Optional[int] = None,
    render: bool = False,
    **kwargs,
) -> gym.Env:
    """One gymnasium env. ``ep_len`` overrides the env's time limit (None keeps it)."""
    if is_atari(env_name):  # the course's Atari preprocessing: atari.py
        return make_atari_env(env_name, render, seed=seed, ep_len=ep_len, **kwargs)
    quiet_env_warnings()
    env_id = resolve_env_id(env_name)
    if render:
        kwargs.setdefault("render_mode", "rgb_array")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            env = gym.make(env_id, max_episode_steps=ep_len, **kwargs)
    except gym.error.DependencyNotInstalled as e:
        raise UserError(f"{env_id} needs an extra package: {e}") from None
    for w in caught:
        if "is out of date" in str(w.message):  # v4 ids are the course's; say so once, in one line
            _note_once(f"Note: gymnasium calls {env_id} out of date (a newer version exists); "
                       "running it as the course does.", stderr=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if seed is not None:
        env.action_space.seed(seed)
    return env


def default_num_procs() -> int:
    """$CS285_SAMPLER_PROCS if set (sweep.py sets it), else the CPU cores this process may run on.

    1 off Linux: fork is missing on Windows, and on macOS Python itself no
    longer forks by default (system libraries are not fork-safe there).
    """
    if os.environ.get("CS285_SAMPLER_PROCS"):
        return max(1, int(os.environ["CS285_SAMPLER_PROCS"]))
    if not sys.platform.startswith("linux"):
        return 1
    return len(os.sched_getaffinity(0))


def max_episode_steps(env: gym.Env) -> int:
    spec = env.spec
    if spec is not None and spec.max_episode_steps:
        return int(spec.max_episode_steps)
    return 1000


def is_discrete(env: gym.Env) -> bool:
    return isinstance(env.action_space, gym.spaces.Discrete)


def random_actions(space: gym.Space, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Uniform random actions of ``space``, (*shape, *action shape): integers for a Discrete space,
    float32 for a Box."""
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.n, size=shape)
    return rng.uniform(space.low, space.high, (*shape, *space.shape)).astype(np.float32)


class RandomActor:
    """The Actor of uniform random actions of ``space`` (SAC's first random steps, DQN's exploration)."""

    def __init__(self, space: gym.Space):
        self.space = space

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return random_actions(self.space, (len(obs),), rng)


class VecEnv:
    """``num_envs`` gymnasium envs stepped in lock-step, without auto-reset.

    ``step_each`` takes actions for a subset ``idx`` of the envs (those with an
    episode in progress) so a finished env simply stops being stepped. Envs
    are built on their first reset: a MuJoCo env compiles its model when made
    (~30 ms), and short batches of long episodes never use most of them.
    """

    def __init__(self, env_name: str, num_envs: int = 1, seed: Optional[int] = None, ep_len: Optional[int] = None,
                 **kwargs):
        def factory(i: int) -> gym.Env:
            return make_env(env_name, seed=None if seed is None else seed + i, ep_len=ep_len, **kwargs)

        self._setup([factory(0)] + [None] * (num_envs - 1), seed, factory)

    @classmethod
    def from_envs(cls, envs: list[gym.Env], seed: Optional[int] = None) -> "VecEnv":
        """Wrap envs made elsewhere (e.g. with rendering set up)."""
        self = cls.__new__(cls)
        self._setup(list(envs), seed, None)
        return self

    def _setup(self, envs: list[Optional[gym.Env]], seed: Optional[int], factory) -> None:
        self.envs = envs
        self._factory = factory
        self.num_envs = len(envs)
        first = envs[0]
        self.env_name = first.spec.id if first.spec is not None else type(first.unwrapped).__name__
        self.observation_space, self.action_space = first.observation_space, first.action_space
        self.max_episode_steps = max_episode_steps(first)
        self.discrete = is_discrete(first)
        self._seed = seed
        self._first_reset = [True] * self.num_envs

    def reset_one(self, i: int) -> np.ndarray:
        """Start a new episode in env ``i``; the first reset of env i uses seed + i."""
        seed = None
        if self._first_reset[i]:
            self._first_reset[i] = False
            seed = None if self._seed is None else self._seed + i
            if self.envs[i] is None:
                self.envs[i] = self._factory(i)
        obs, _ = self.envs[i].reset(seed=seed)
        return obs

    def step_each(self, idx: Sequence[int], actions: np.ndarray) -> list[tuple]:
        """Step envs ``idx`` with ``actions`` (len(idx), *ac_shape).

        Returns one ``(next_obs, reward, terminated, truncated)`` per stepped env:
        plain Python values, so the sampler's per-step bookkeeping stays cheap.
        """
        out = []
        for i, action in zip(idx, actions):
            o, r, term, trunc, _ = self.envs[i].step(action)
            out.append((o, float(r), bool(term), bool(trunc)))
        return out

    def step_all(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every env; arrays (next_obs (n, *ob_shape), rewards (n,), terminated (n,), truncated (n,)).

        Every env must have an episode in progress (``reset_one`` after each end).
        """
        obs, rewards, terminated, truncated = zip(*self.step_each(range(self.num_envs), actions))
        return np.stack(obs), np.array(rewards), np.array(terminated), np.array(truncated)

    def render(self, i: int = 0) -> np.ndarray:
        return self.envs[i].render()

    def close(self) -> None:
        for e in self.envs:
            if e is not None:
                e.close()


def make_vec_env(env_name: str, num_envs: int, seed: Optional[int] = None, ep_len: Optional[int] = None,
                 backend: str = "gymnasium") -> Union[VecEnv, "EnvpoolVecEnv"]:
    """``num_envs`` copies of ``env_name`` on ``backend`` ("gymnasium" or "envpool"), same interface.

    envpool runs only the ids in ``envpool_env.SUPPORTED_IDS``; any other id (or
    envpool not installed) is a UserError that names the way out, never a silent
    fall back to gymnasium, so a run's config says which simulator produced it.
    """
    if backend not in ENV_BACKENDS:
        raise UserError(f"unknown env backend {backend!r}; choose one of {', '.join(ENV_BACKENDS)}")
    if backend == "gymnasium":
        return VecEnv(env_name, num_envs, seed=seed, ep_len=ep_len)
    from cs285.envs.envpool_env import EnvpoolVecEnv  # envpool is an optional extra

    return EnvpoolVecEnv(resolve_env_id(env_name), num_envs, seed=seed, ep_len=ep_len)
