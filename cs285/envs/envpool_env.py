"""``EnvpoolVecEnv``: envpool's C++ thread pool behind the ``VecEnv`` interface.

Chosen with ``make_vec_env(..., backend="envpool")`` (``--env_backend envpool``
in run_hw2.py); needs ``pip install -e .[fast]`` (envpool >= 1.2.5, Python >= 3.11).
envpool (https://github.com/sail-sg/envpool) steps a batch of envs in C++
worker threads, so one Python call per vectorized step replaces one Python
``env.step`` per env.

What the sampler relies on, and how it is kept:

- Subsets: the pool runs in sync mode (``batch_size == num_envs``);
  ``step(actions, env_id)`` with k < num_envs ids returns after those k, in the
  order of ``env_id`` (checked on every step).
- No auto-reset leaks: envpool restarts a finished env on its *next* step (the
  action is ignored; the reset observation comes back with reward 0 as if it
  were a transition). The sampler never steps a finished env: it calls
  ``reset_one`` first, which is envpool's forced ``reset(env_id)``, and
  ``step_each`` raises if asked to step an env whose episode has ended.
- ``ep_len`` is envpool's ``max_episode_steps``; terminated and truncated come
  apart from envpool's gymnasium API, as in gymnasium's TimeLimit, but for a
  termination on the limit step itself: gymnasium reports terminated and
  truncated, envpool truncated only (its ``terminated = done & ~trunc``; seen
  on a LunarLander crash with ep_len set to that step).
- Seeds: env i draws its initial states from an RNG seeded with seed + i when
  the pool is built, so one seed gives the same episodes whatever the thread
  count or the order of resets. envpool's RNG is not NumPy's: the two backends
  draw different initial states from the same distribution.
- Rendering: not offered (videos use their own gymnasium env, see video.py).
- Observation bounds that envpool leaves unset (LunarLander's) come back as
  (-inf, inf): envpool writes [FLT_MIN, FLT_MAX], whose lower bound is > 0.

Agreement with gymnasium 1.4 (envpool 1.2.5 bundles MuJoCo 3.6.0, gymnasium
here runs MuJoCo 4.0.0), measured and printed by ``python tests/envpool_agreement.py``. Lock-step: envpool is reset, a
gymnasium env is put in the state behind that first observation (the root x/y
that v4 observations leave out set to 0; a gymnasium-vs-gymnasium control of
this rebuild stays within 1e-11 for 10 steps), then both take the same random
float32 actions:

- Reset observations: identical (≤ 1e-15). Rewards differ by ≤ 1e-7 because
  envpool returns them as float32.
- Planar and hinge-only bodies match to round-off: Hopper, Walker2d,
  InvertedPendulum, InvertedDoublePendulum stay within 1e-12 for whole
  episodes (5-63 steps under random actions), Swimmer within 1e-7 over 1000
  steps; HalfCheetah within 1e-12 for 10 steps, then its chaotic gait
  amplifies round-off (> 1e-6 from step 60-85 on). CartPole agrees to 1e-7
  (float32 observations) with equal rewards, Pendulum to 3e-6 (reward 1e-5).
- Free-joint bodies differ from the first step: Ant ~1e-6, Humanoid ~1e-6 to
  1e-8 in qpos/qvel, growing like HalfCheetah's afterwards.
- Humanoid-v4's 84 contact-force entries (cfrc_ext, obs[292:]) are always 0 in
  envpool; gymnasium calls mj_rnePostConstraint and fills them (hundreds, once
  a foot touches). Its reward does not use them (within 2e-4 of gymnasium's),
  but a policy sees different inputs: a fixed linear policy lasts 32 ± 6 steps
  on gymnasium and 22.0 ± 0.1 on envpool, and the same policy with those
  inputs zeroed gives equal statistics (z = 0.6). EnvpoolVecEnv warns about
  it. HumanoidStandup-v4 is left out: its v4 reward subtracts an
  impact cost computed from cfrc_ext, so envpool's reward is higher.
- terminated / truncated agree on every step while the states agree, and
  episodes end on the same step (only Ant, after its states diverged, ended
  on different steps).
- Statistics over many episodes of a fixed deterministic policy (only the
  initial state random): reset observations agree per entry (2000 resets:
  std ratio 0.95-1.07, |z| ≤ 3.3 over 240 entries); Hopper, Walker2d,
  CartPole, Ant episode length and return within |z| ≤ 1.1; HalfCheetah
  return -594 (gymnasium, 192 episodes) vs -620 (envpool, 128), z = 1.6,
  while two gymnasium seeds alone differ by up to z = 2.7.
- LunarLander-v3 (gymnasium: pybox2d 2.3.10; envpool: its own Box2D build,
  b2_version 2.3.0; envpool's LunarLander-v2 is the same env, and
  make_vec_env runs v3 for v2 on both backends). No lock-step: the terrain
  is drawn anew on each reset and not observed. Statistics, 2000 episodes
  per env seed (0, 1000) and backend: always-noop (a crash after ~70 steps),
  seeded random actions, and two fixed linear argmax policies: return,
  length, the per-step reward before the last step, and how episodes end
  (crash -100 / landing +100 / time limit; terminated vs truncated) all
  within |z| < 2 (two gymnasium seeds: up to 1.9); reset observations (four
  samples of 1000-2000 resets) per entry |z| ≤ 2.3, std ratio 0.96-1.02 (two
  gymnasium seeds: |z| ≤ 2.1). gymnasium's heuristic lander is the one probe
  that tells them apart, slightly: 6000 episodes per backend, return 241.4
  vs 237.0 (z = 2.35), landing 92.6% vs 91.4% (z = 2.4), crash 5.5% vs 6.3%,
  time limit 1.9% vs 2.3%; median and quartiles of the return within 0.5
  (median 264.6 vs 264.2); another 2000 episodes per backend: 241.7 vs
  235.9, landing 92.7% vs 91.5%. The terrain differs by construction:
  gymnasium averages neighbouring heights with 0.33, envpool with 1/3, so
  gymnasium's helipad is 1% lower and a lander at rest on it reads
  y = -0.0008 ± 0.0004 there vs 0.0042 ± 0.0004 on envpool (shaping: ≤ 0.5
  reward per episode). Training as in hw2 (-n 300 -b 2000 -l 3 -s 128
  -lr 0.001 -rtg --use_baseline --gae_lambda 0.98, seeds 1-3; average
  Train_AverageReturn of the last 50 iterations): -3, 59, 7 on gymnasium,
  -32, 36, 86 on envpool; seeds differ far more than backends.

So training on either backend trains on the same task (Humanoid: note above;
LunarLander: a near-perfect controller lands ~1 percentage point less often);
single trajectories do not carry over between backends (different initial
state RNG, MuJoCo versions that differ in the last bits).
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import gymnasium as gym

from cs285.infrastructure.errors import UserError

# Ids whose envpool version was checked against gymnasium's (tests/envpool_agreement.py).
# Not here: HumanoidStandup-v4 (reward differs, see above), Pusher-v4 (gymnasium cannot build
# it with MuJoCo >= 3: no reference), Reacher-v4 (its target's velocity is not observed, so
# no lock-step check), LunarLanderContinuous and the v5 ids (not checked yet).
SUPPORTED_IDS = (
    "Ant-v4", "HalfCheetah-v4", "Hopper-v4", "Humanoid-v4", "InvertedDoublePendulum-v4", "InvertedPendulum-v4",
    "Swimmer-v4", "Walker2d-v4", "CartPole-v0", "CartPole-v1", "Pendulum-v1", "LunarLander-v3",
)
# Differences a user should know of before training on envpool (see the module docstring).
NOTICES = {
    "Humanoid-v4": "envpool's Humanoid-v4 leaves the 84 contact-force observations (obs[292:]) at 0 where gymnasium "
                   "fills them: policies trained on one backend see different inputs on the other (videos and "
                   "--env_backend gymnasium runs use gymnasium)",
}
DEFAULT_NUM_THREADS = 2  # the cores of a small machine; envpool's worker threads sleep while idle


def import_envpool():
    try:
        import envpool
    except ImportError:
        raise UserError("the envpool backend needs envpool: pip install -e .[fast] "
                        "(or drop --env_backend envpool to use gymnasium)") from None
    return envpool


class EnvpoolVecEnv:
    """``num_envs`` copies of ``env_name`` in one envpool, with VecEnv's interface and no auto-reset."""

    def __init__(self, env_name: str, num_envs: int = 1, seed: Optional[int] = None, ep_len: Optional[int] = None,
                 num_threads: int = DEFAULT_NUM_THREADS):
        envpool = import_envpool()
        if env_name not in SUPPORTED_IDS:
            raise UserError(f"the envpool backend does not run {env_name!r}; it runs {', '.join(SUPPORTED_IDS)}. "
                            "Use --env_backend gymnasium for other envs.")
        if env_name in NOTICES:
            warnings.warn(NOTICES[env_name], stacklevel=2)  # shown once per call site
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)  # envpool takes an int32 seed
        options = {"max_episode_steps": ep_len} if ep_len is not None else {}
        self._pool = envpool.make(env_name, env_type="gymnasium", num_envs=num_envs, batch_size=num_envs,
                                  num_threads=max(1, min(num_threads, num_envs)), seed=seed, **options)
        self.num_envs = num_envs
        self.env_name = env_name
        with warnings.catch_warnings():  # envpool builds float32 Boxes from float64 bounds
            warnings.filterwarnings("ignore", message=".*precision lowered.*")
            self.observation_space = _gymnasium_observation_space(self._pool.observation_space)
            self.action_space = _gymnasium_action_space(self._pool.action_space)
        self.action_space.seed(seed)
        self.max_episode_steps = int(self._pool.config["max_episode_steps"])
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        self._action_dtype = np.int32 if self.discrete else np.float64
        self._ids = np.arange(num_envs, dtype=np.int32)
        self._ended = [True] * num_envs  # an env must be reset before its first step and after each episode

    def reset_one(self, i: int) -> np.ndarray:
        """Start a new episode in env ``i`` (envpool's forced reset; its first one draws from seed + i)."""
        obs, _ = self._pool.reset(self._ids[i:i + 1])
        self._ended[i] = False
        return obs[0]

    def _step(self, actions: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One envpool step of envs ``ids``, each with an episode in progress; arrays in the order of ``ids``."""
        if any(self._ended[i] for i in ids):
            raise RuntimeError("a step of an env whose episode has ended: envpool would auto-reset it; "
                               "call reset_one first")
        obs, rewards, terminated, truncated, info = self._pool.step(np.asarray(actions, dtype=self._action_dtype), ids)
        if not np.array_equal(info["env_id"], ids):
            raise RuntimeError(f"envpool returned envs {info['env_id']} for a step of envs {ids}")
        for i in ids[terminated | truncated]:
            self._ended[i] = True
        return obs, rewards, terminated, truncated

    def step_each(self, idx: Sequence[int], actions: np.ndarray) -> list[tuple]:
        """Step envs ``idx`` with ``actions`` (len(idx), *ac_shape); one ``(next_obs, reward, terminated,
        truncated)`` per env, in the order of ``idx``."""
        obs, rewards, terminated, truncated = self._step(actions, self._ids[list(idx)])
        return list(zip(obs, rewards.tolist(), terminated.tolist(), truncated.tolist()))

    def step_all(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every env in one envpool call; arrays (next_obs, rewards, terminated, truncated) as VecEnv's."""
        obs, rewards, terminated, truncated = self._step(actions, self._ids)
        return obs, rewards.astype(np.float64), terminated, truncated

    def render(self, i: int = 0) -> np.ndarray:
        raise UserError("the envpool backend does not render; use --env_backend gymnasium "
                        "(videos are recorded in a separate gymnasium env either way)")

    def close(self) -> None:
        self._pool.close()


def _gymnasium_observation_space(space: gym.Space) -> gym.Space:
    """envpool's observation Box, with bounds envpool left unset made unbounded.

    A spec without bounds (LunarLander's) gets [FLT_MIN, FLT_MAX] from envpool, C++'s smallest *positive*
    float as the lower bound, so ``contains`` would reject every negative observation.
    """
    if isinstance(space, gym.spaces.Box) and space.dtype == np.float32:
        f32 = np.finfo(np.float32)
        unset = (space.low == f32.tiny) & (space.high == f32.max)
        if unset.any():
            return gym.spaces.Box(np.where(unset, -np.inf, space.low), np.where(unset, np.inf, space.high),
                                  dtype=np.float32)
    return space


def _gymnasium_action_space(space: gym.Space) -> gym.Space:
    """envpool's float64 Box as gymnasium's float32 one (policies emit float32; envpool casts back exactly)."""
    if isinstance(space, gym.spaces.Box):
        return gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)
    return space
