"""How closely envpool's envs follow gymnasium's: lock-step traces and episode statistics.

envpool cannot be put in a given state, but gymnasium can: ``lockstep`` resets
envpool, rebuilds the full simulator state from that first observation inside
a gymnasium env, and steps both with the same actions. Where the state cannot
be rebuilt (LunarLander: its terrain is drawn at random on each reset and is
not observed), only statistics compare: ``episode_stats`` runs a fixed policy
(``fixed_policy``) through the sampler on one backend, so that two backends
can be compared by their return, length, episode ends and reset-observation
distributions (``compare_stats``). Findings are summarized in
cs285/envs/envpool_env.py's docstring; ``python tests/envpool_agreement.py
[--envs …]`` prints them. A validation harness for tests/test_envpool_env.py, not
part of the runtime package.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable, NamedTuple

import numpy as np
import gymnasium as gym

from cs285.infrastructure import utils
from cs285.envs.envpool_env import EnvpoolVecEnv
from cs285.envs.make import make_env, make_vec_env, random_actions

# MuJoCo v4 tasks whose observation starts with qpos[k:], qvel: k root coordinates
# (x, or x and y) are left out, and no dynamics or reward depends on them.
ROOT_COORDS_NOT_OBSERVED = {
    "HalfCheetah-v4": 1, "Hopper-v4": 1, "Walker2d-v4": 1, "Swimmer-v4": 2, "Ant-v4": 2,
    "Humanoid-v4": 2, "HumanoidStandup-v4": 2, "InvertedPendulum-v4": 0,
}
DIVERGED = 1e-6  # an observation entry further apart than this counts as diverged
# Ids compared by several fixed policies (fixed_policy), with their episode ends; others by "linear".
STATS_POLICIES = {"LunarLander-v3": ("noop", "random", "linear", "heuristic")}


def _set_mujoco_prefix(env: gym.Env, obs: np.ndarray, k: int) -> None:
    u = env.unwrapped
    nq, nv = u.model.nq, u.model.nv
    u.set_state(np.concatenate([np.zeros(k), obs[:nq - k]]), obs[nq - k:nq - k + nv])


def _set_double_pendulum(env: gym.Env, obs: np.ndarray) -> None:
    # obs = [cart x, sin(angles) (2), cos(angles) (2), clip(qvel, ±10) (3), constraint forces (3)]
    qpos = np.concatenate([obs[:1], np.arctan2(obs[1:3], obs[3:5])])
    env.unwrapped.set_state(qpos, obs[5:8])


def _set_pendulum(env: gym.Env, obs: np.ndarray) -> None:
    env.unwrapped.state = np.array([np.arctan2(obs[1], obs[0]), obs[2]], dtype=np.float64)  # obs = [cos, sin, thdot]


def _set_cartpole(env: gym.Env, obs: np.ndarray) -> None:
    env.unwrapped.state = np.asarray(obs, dtype=np.float64)  # obs = state, rounded to float32


def state_setter(env_id: str) -> Callable[[gym.Env, np.ndarray], None]:
    """``set(gym_env, envpool_obs)``: put a reset gymnasium env into the state envpool observed."""
    if env_id in ROOT_COORDS_NOT_OBSERVED:
        k = ROOT_COORDS_NOT_OBSERVED[env_id]
        return lambda env, obs: _set_mujoco_prefix(env, obs, k)
    setters = {"InvertedDoublePendulum-v4": _set_double_pendulum, "Pendulum-v1": _set_pendulum,
               "CartPole-v0": _set_cartpole, "CartPole-v1": _set_cartpole}
    if env_id not in setters:
        raise ValueError(f"no way to rebuild {env_id}'s state from its observation")
    return setters[env_id]


class Lockstep(NamedTuple):
    """One episode of both backends from one state with the same actions."""
    steps: int  # steps compared (until either backend ended, or a flag disagreed)
    obs_diff_first: float  # max |Δobs| after the first step
    obs_diff_10: float  # max |Δobs| over the first 10 steps
    obs_diff: float  # max |Δobs| over the episode
    reward_diff: float  # max |Δreward| over the episode
    first_diverged: int  # first step whose max |Δobs| > DIVERGED (-1: never)
    flags_agree: bool  # terminated and truncated equal on every step
    ended_by: str  # "terminated", "truncated" or "steps" (n_steps reached)


def lockstep(env_id: str, seed: int = 0, n_steps: int = 1000) -> Lockstep:
    """Reset envpool (seed), copy its state into gymnasium, step both with the same random actions.

    Actions are float32 (what the policies emit) and given to both backends alike.
    """
    pool = EnvpoolVecEnv(env_id, 1, seed=seed)
    env = make_env(env_id)
    env.reset(seed=seed)
    ob_pool = pool.reset_one(0)
    state_setter(env_id)(env, ob_pool)
    rng = np.random.default_rng(seed)
    obs_diffs, reward_diffs, agree, ended_by = [], [], True, "steps"
    for _ in range(n_steps):
        if pool.discrete:
            action = np.int64(rng.integers(pool.action_space.n))
        else:
            action = rng.uniform(pool.action_space.low, pool.action_space.high).astype(np.float32)
        [(ob_pool, r_pool, term_pool, trunc_pool)] = pool.step_each([0], np.asarray([action]))
        ob_gym, r_gym, term_gym, trunc_gym, _ = env.step(action)
        obs_diffs.append(float(np.max(np.abs(np.asarray(ob_pool, np.float64) - ob_gym))))
        reward_diffs.append(abs(r_pool - float(r_gym)))
        if (term_pool, trunc_pool) != (bool(term_gym), bool(trunc_gym)):
            agree = False
            break
        if term_pool or trunc_pool:
            ended_by = "terminated" if term_pool else "truncated"
            break
    pool.close()
    env.close()
    d = np.array(obs_diffs)
    over = np.flatnonzero(d > DIVERGED)
    return Lockstep(len(d), float(d[0]), float(d[:10].max()), float(d.max()), float(max(reward_diffs)),
                    int(over[0]) + 1 if len(over) else -1, agree, ended_by)


class EpisodeStats(NamedTuple):
    returns: np.ndarray  # (n_episodes,)
    lengths: np.ndarray  # (n_episodes,)
    first_obs: np.ndarray  # (n_episodes, ob_dim) reset observations
    last_obs: np.ndarray  # (n_episodes, ob_dim) observations the episodes ended in
    last_rewards: np.ndarray  # (n_episodes,) reward of each episode's last step
    terminated: np.ndarray  # (n_episodes,) bool: ended by termination
    truncated: np.ndarray  # (n_episodes,) bool: ended by the time limit


class FixedActor:
    """A policy that does not learn, as the collector's Actor: ``act(obs, rng)`` ignores ``rng``."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]):
        self.fn = fn

    def act(self, obs: np.ndarray, rng=None) -> np.ndarray:
        return self.fn(obs)

    __call__ = act


def linear_policy(env_id: str, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A fixed deterministic policy: tanh(W o) scaled to the action box, or argmax(W o) for discrete actions."""
    env = make_env(env_id)
    ob_dim = env.observation_space.shape[0]
    space = env.action_space
    env.close()
    rng = np.random.default_rng(seed)
    if isinstance(space, gym.spaces.Discrete):
        w = rng.standard_normal((ob_dim, space.n))
        return lambda obs: np.argmax(obs @ w, axis=1)
    w = rng.standard_normal((ob_dim, space.shape[0])) / np.sqrt(ob_dim)
    mid, half = (space.high + space.low) / 2, (space.high - space.low) / 2
    return lambda obs: (mid + half * np.tanh(obs @ w)).astype(np.float32)


def _lunar_lander_heuristic(obs: np.ndarray) -> np.ndarray:
    """gymnasium's hand-written LunarLander controller (lands most episodes), one action per row of ``obs``."""
    from gymnasium.envs.box2d.lunar_lander import heuristic

    discrete = SimpleNamespace(unwrapped=SimpleNamespace(continuous=False))  # all heuristic() reads of its env
    return np.array([heuristic(discrete, o) for o in obs], dtype=np.int64)


def fixed_policy(name: str, env_id: str, seed: int = 0) -> FixedActor:
    """A policy that does not learn: "linear" (``linear_policy``), "noop" (action 0 or zeros), "random"
    (uniform actions from a NumPy RNG seeded with ``seed``) or "heuristic" (LunarLander only, gymnasium's)."""
    return FixedActor(_fixed_policy_fn(name, env_id, seed))


def _fixed_policy_fn(name: str, env_id: str, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    if name == "linear":
        return linear_policy(env_id, seed)
    if name == "heuristic":
        return _lunar_lander_heuristic
    env = make_env(env_id)
    space = env.action_space
    env.close()
    discrete = isinstance(space, gym.spaces.Discrete)
    if name == "noop":
        return lambda obs: np.zeros(len(obs), np.int64) if discrete else np.zeros((len(obs), *space.shape),
                                                                                  np.float32)
    if name == "random":
        rng = np.random.default_rng(seed)
        return lambda obs: random_actions(space, (len(obs),), rng)
    raise ValueError(f"unknown fixed policy {name!r}")


def episode_stats(env_id: str, backend: str, n_episodes: int, seed: int = 0, num_envs: int = 8,
                  policy: str = "linear") -> EpisodeStats:
    """``n_episodes`` of ``fixed_policy(policy)`` (the same policy whatever ``seed``) on ``backend``,
    its envs seeded with ``seed``."""
    env = make_vec_env(env_id, num_envs, seed=seed, backend=backend)
    paths = utils.sample_n_trajectories(env, fixed_policy(policy, env_id), n_episodes)
    env.close()
    return EpisodeStats(utils.path_returns(paths), np.array([len(p["reward"]) for p in paths]),
                        np.stack([p["observation"][0] for p in paths]),
                        np.stack([p["next_observation"][-1] for p in paths]),
                        np.array([p["reward"][-1] for p in paths]),
                        np.array([p["terminated"][-1] for p in paths]),
                        np.array([p["truncated"][-1] for p in paths]))


def compare_stats(a: EpisodeStats, b: EpisodeStats, landing_reward: float = 100.0) -> dict[str, tuple]:
    """``{quantity: (mean over a, mean over b, z_score)}`` for per-episode quantities of two samples.

    "landed" / "crashed": terminated with last reward +``landing_reward`` / −``landing_reward``
    (LunarLander's terminal rewards); "step reward": an episode's mean reward before its last step
    (LunarLander: shaping differences and fuel, without the terminal bonus).
    """
    def per_episode(s: EpisodeStats) -> dict[str, np.ndarray]:
        before_last = (s.returns - s.last_rewards) / np.maximum(s.lengths - 1, 1)
        return {"return": s.returns, "length": s.lengths.astype(np.float64),
                "landed": (s.terminated & (s.last_rewards == landing_reward)).astype(np.float64),
                "crashed": (s.terminated & (s.last_rewards == -landing_reward)).astype(np.float64),
                "truncated": s.truncated.astype(np.float64), "step reward": before_last}

    qa, qb = per_episode(a), per_episode(b)
    return {k: (float(qa[k].mean()), float(qb[k].mean()), z_score(qa[k], qb[k])) for k in qa}


def reset_obs_max_z(a: EpisodeStats, b: EpisodeStats) -> float:
    """max over observation entries that vary of |z| between the two samples' reset observations."""
    return max(abs(z_score(a.first_obs[:, j], b.first_obs[:, j])) for j in range(a.first_obs.shape[1])
               if np.ptp(a.first_obs[:, j]) > 0 or np.ptp(b.first_obs[:, j]) > 0)


def z_score(a: np.ndarray, b: np.ndarray) -> float:
    """(mean(a) − mean(b)) / standard error of the difference; 0 when both are constant and equal."""
    se = np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    diff = float(np.mean(a) - np.mean(b))
    return diff / se if se > 0 else (0.0 if diff == 0 else float("inf"))


def print_agreement(env_names: list[str], n_seeds: int, n_episodes: int) -> None:
    """Lock-step traces (one line per seed) and episode statistics, envpool vs gymnasium."""
    print("lock-step from one state, same random actions (max |envpool - gymnasium|):")
    print(f"{'env':<16}{'seed':>5}{'steps':>7}{'obs@1':>10}{'obs@≤10':>10}{'obs':>10}{'reward':>10}"
          f"{'diverged@':>10}{'flags':>7}  end")
    for name in env_names:
        try:
            state_setter(name)
        except ValueError:
            print(f"{name:<16} none: its state cannot be rebuilt from an observation (statistics only)")
            continue
        for seed in range(n_seeds):
            r = lockstep(name, seed=seed)
            print(f"{name:<16}{seed:>5}{r.steps:>7}{r.obs_diff_first:>10.1e}{r.obs_diff_10:>10.1e}{r.obs_diff:>10.1e}"
                  f"{r.reward_diff:>10.1e}{r.first_diverged:>10}{'same' if r.flags_agree else 'DIFF':>7}  {r.ended_by}")
    print(f"\n{n_episodes} episodes of a fixed policy per backend, gymnasium vs envpool "
          "(z: difference / its standard error):")
    for name in env_names:
        for policy in STATS_POLICIES.get(name, ("linear",)):
            g = episode_stats(name, "gymnasium", n_episodes, policy=policy)
            e = episode_stats(name, "envpool", n_episodes, policy=policy)
            shown = compare_stats(g, e) if name in STATS_POLICIES else \
                {k: v for k, v in compare_stats(g, e).items() if k in ("return", "length")}
            print(f"{name:<16}{policy:<10}" + " | ".join(f"{k} {a:.2f} vs {b:.2f} (z {z:5.2f})"
                                                       for k, (a, b, z) in shown.items())
                  + f" | reset obs max |z| {reset_obs_max_z(g, e):.2f}")


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=["HalfCheetah-v4", "Hopper-v4", "Humanoid-v4", "LunarLander-v3"])
    p.add_argument("--seeds", type=int, default=3, help="lock-step episodes per env")
    p.add_argument("--episodes", type=int, default=64, help="episodes per backend for statistics")
    args = p.parse_args()
    print_agreement(args.envs, args.seeds, args.episodes)
