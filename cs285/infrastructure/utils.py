"""The lock-step sampler (BC, DAgger, eval, videos, and hw2 on envpool), seeding, and metrics.

hw2 on gymnasium samples its complete episodes with episode_sampler.py instead, on every core.

A trajectory ("path") is a dict of equal-length arrays:
    observation (T, *ob_shape), action (T, *ac_shape), reward (T,),
    next_observation (T, *ob_shape), terminated (T,), truncated (T,)
and, when rendered, image_obs (F, H, W, 3) uint8 with one frame every
``frame_skip`` steps. ``terminated`` marks a true end of the task (no
bootstrap); ``truncated`` marks a time limit (bootstrap with V(s_T)). At most
the last step of a path has either flag set.
"""
from __future__ import annotations

import collections
import random
from typing import Callable, Optional

import numpy as np
import torch

from cs285.infrastructure.envs import VecEnv

PolicyFn = Callable[[np.ndarray], np.ndarray]  # (n, *ob_shape) -> (n, *ac_shape)

PATH_KEYS = ("observation", "action", "reward", "next_observation", "terminated", "truncated")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch. Envs are seeded by their first reset (VecEnv)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _sample(
    env: VecEnv,
    policy: PolicyFn,
    *,
    min_timesteps: Optional[int] = None,
    ntraj: Optional[int] = None,
    render: bool = False,
    frame_skip: int = 1,
) -> list[dict]:
    """Run complete episodes in ``env`` until ``ntraj`` episodes or ``min_timesteps`` steps.

    The policy is called once per vectorized step on the observations of all
    envs with an episode in progress. With ``min_timesteps``, a new episode is
    started only while the steps done plus what the running episodes may still
    add (each counted at the env's time limit) fall short of the target. So
    sampling never stops before ``min_timesteps`` steps of complete episodes
    are in, and never overshoots by more than the episodes in flight, however
    much longer the policy's episodes have become since the last batch (a guess
    from earlier batches overshot by up to 3x when a DAgger policy improved).
    """
    n_envs = env.num_envs
    expected_len = env.max_episode_steps
    # Per env, the episode in progress: observations o_0..o_t (one more than the
    # actions: o_{t+1} is the next observation of step t), actions, rewards.
    obs_seq: list[list] = [[] for _ in range(n_envs)]
    act_seq: list[list] = [[] for _ in range(n_envs)]
    rew_seq: list[list] = [[] for _ in range(n_envs)]
    frames: list[list] = [[] for _ in range(n_envs)]
    active: list[int] = []
    paths: list[dict] = []
    done_steps = 0
    started = 0

    def want_another() -> bool:
        if ntraj is not None:
            return started < ntraj
        projected = done_steps + sum(max(expected_len, len(act_seq[i])) for i in active)
        return projected < min_timesteps

    def launch(i: int) -> None:
        nonlocal started
        obs_seq[i], act_seq[i], rew_seq[i], frames[i] = [env.reset_one(i)], [], [], []
        started += 1
        active.append(i)
        if render:
            frames[i].append(env.render(i))

    for i in range(n_envs):
        if want_another():
            launch(i)
    while active:
        idx = list(active)
        actions = policy(np.stack([obs_seq[i][-1] for i in idx]))
        for i, action, (next_ob, reward, terminated, truncated) in zip(idx, actions, env.step_each(idx, actions)):
            obs_seq[i].append(next_ob)
            act_seq[i].append(action)
            rew_seq[i].append(reward)
            ended = terminated or truncated
            if render and (len(act_seq[i]) % frame_skip == 0 or ended):
                frames[i].append(env.render(i))
            if ended:
                paths.append(to_path(obs_seq[i], act_seq[i], rew_seq[i], terminated, truncated,
                                      frames[i] if render else None))
                done_steps += len(act_seq[i])
                active.remove(i)
                if want_another():
                    launch(i)
    return paths


def to_path(observations: list, actions: list, rewards: list, terminated: bool, truncated: bool,
             frames: Optional[list]) -> dict:
    """Arrays of one finished episode; ``observations`` holds T + 1 entries (o_0..o_T)."""
    obs = np.asarray(observations, dtype=np.float32)  # (T + 1, *ob_shape)
    n = len(rewards)
    done_flags = np.zeros((2, n), dtype=bool)
    done_flags[:, -1] = terminated, truncated
    path = {
        "observation": obs[:-1],
        "action": np.asarray(actions),
        "reward": np.asarray(rewards, dtype=np.float64),
        "next_observation": obs[1:],
        "terminated": done_flags[0],
        "truncated": done_flags[1],
    }
    if path["action"].dtype.kind == "f":
        path["action"] = path["action"].astype(np.float32)
    if frames is not None:
        path["image_obs"] = np.asarray(frames, dtype=np.uint8)
    return path


def sample_trajectories(env: VecEnv, policy: PolicyFn, min_timesteps_per_batch: int, render: bool = False,
                        frame_skip: int = 1) -> tuple[list[dict], int]:
    """Complete episodes until at least ``min_timesteps_per_batch`` env steps; returns (paths, steps)."""
    paths = _sample(env, policy, min_timesteps=min_timesteps_per_batch, render=render, frame_skip=frame_skip)
    return paths, total_steps(paths)


def sample_n_trajectories(env: VecEnv, policy: PolicyFn, ntraj: int, render: bool = False,
                          frame_skip: int = 1) -> list[dict]:
    """Exactly ``ntraj`` complete episodes."""
    return _sample(env, policy, ntraj=ntraj, render=render, frame_skip=frame_skip)


def sample_trajectory(env: VecEnv, policy: PolicyFn, render: bool = False, frame_skip: int = 1) -> dict:
    """One complete episode."""
    return sample_n_trajectories(env, policy, 1, render=render, frame_skip=frame_skip)[0]


class SegmentSampler:
    """Fixed-length segments from envs that keep running across calls (PPO's rollouts).

    ``sample(policy, steps_per_env)`` steps all ``env.num_envs`` envs together
    ``steps_per_env`` times and returns the steps as one batch (the PATH_KEYS
    arrays) in env-major order, so each env's steps are contiguous in time. An
    episode that ends inside a segment keeps its own terminated / truncated
    flag and the env starts a new one at once; the last step of each env's
    segment, if its episode goes on, is marked ``truncated``: the episode is
    cut there and the next call continues it, so an advantage estimator
    bootstraps with V(next_observation), exactly as at a time limit.

    Episodes finished so far are kept as ``{"reward": (T,)}`` records, the last
    ``num_envs`` of them in ``recent_episodes`` (what Train_* statistics are
    computed on; a long episode can span several calls).
    """

    def __init__(self, env: VecEnv):
        self.env = env
        n = env.num_envs
        self._obs = np.stack([env.reset_one(i) for i in range(n)])
        # per env, the rewards its running episode earned in earlier segments
        self._earlier_rewards: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.recent_episodes: collections.deque[dict] = collections.deque(maxlen=n)

    def sample(self, policy: PolicyFn, steps_per_env: int) -> dict[str, np.ndarray]:
        """(steps_per_env · num_envs) steps as {key: array} with the PATH_KEYS; see the class docstring."""
        env, n, t_len = self.env, self.env.num_envs, steps_per_env
        obs = np.empty((t_len, *self._obs.shape), dtype=np.float32)
        next_obs = np.empty_like(obs)
        actions, rewards = None, np.empty((t_len, n))
        terminated, truncated = np.zeros((t_len, n), dtype=bool), np.zeros((t_len, n), dtype=bool)
        episode_start = np.zeros(n, dtype=int)  # where each env's running episode began in this segment
        for t in range(t_len):
            obs[t] = self._obs
            action = policy(self._obs)
            if actions is None:
                actions = np.empty((t_len, *action.shape), dtype=action.dtype)
            actions[t] = action
            next_obs[t], rewards[t], terminated[t], truncated[t] = env.step_all(action)
            self._obs = next_obs[t].copy()
            for i in np.flatnonzero(terminated[t] | truncated[t]):
                episode = self._earlier_rewards[i] + [rewards[episode_start[i]:t + 1, i]]
                self.recent_episodes.append({"reward": np.concatenate(episode)})
                self._earlier_rewards[i], episode_start[i] = [], t + 1
                self._obs[i] = env.reset_one(i)
        for i in range(n):
            self._earlier_rewards[i].append(rewards[episode_start[i]:, i].copy())
        truncated[-1] |= ~terminated[-1]  # the cut at the segment's end
        env_major = lambda x: np.swapaxes(x, 0, 1).reshape(n * t_len, *x.shape[2:])  # noqa: E731
        return {"observation": env_major(obs), "action": env_major(actions), "reward": env_major(rewards),
                "next_observation": env_major(next_obs), "terminated": env_major(terminated),
                "truncated": env_major(truncated)}


def total_steps(paths: list[dict]) -> int:
    return int(sum(len(p["reward"]) for p in paths))


def concat_paths(paths: list[dict], keys: tuple[str, ...] = PATH_KEYS) -> dict[str, np.ndarray]:
    """Concatenate the paths' arrays along time: {key: (sum T, ...)}."""
    return {k: np.concatenate([p[k] for p in paths]) for k in keys}


def path_returns(paths: list[dict]) -> np.ndarray:
    return np.array([float(np.sum(p["reward"])) for p in paths])


def compute_metrics(train_paths: Optional[list[dict]], eval_paths: list[dict]) -> dict[str, float]:
    """The course's per-iteration statistics (Train_* only when there are train paths)."""
    logs: dict[str, float] = {}
    groups = [("Eval", eval_paths)] + ([("Train", train_paths)] if train_paths else [])
    for prefix, paths in groups:
        returns = path_returns(paths)
        lengths = [len(p["reward"]) for p in paths]
        logs[f"{prefix}_AverageReturn"] = float(np.mean(returns))
        logs[f"{prefix}_StdReturn"] = float(np.std(returns))
        logs[f"{prefix}_MaxReturn"] = float(np.max(returns))
        logs[f"{prefix}_MinReturn"] = float(np.min(returns))
        logs[f"{prefix}_AverageEpLen"] = float(np.mean(lengths))
    return logs
