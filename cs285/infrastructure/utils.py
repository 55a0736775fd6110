"""The one sampler (BC, DAgger, PG, eval and video all use it), seeding, and metrics.

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
import dataclasses
import random
from typing import Callable, Iterator, Optional, Sequence

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


@dataclasses.dataclass
class SampleJob:
    """One sampling request: complete episodes in env slots ``slots`` with ``policy``, until
    ``ntraj`` episodes or ``min_timesteps`` steps (exactly one of the two)."""

    slots: Sequence[int]
    policy: PolicyFn
    min_timesteps: Optional[int] = None
    ntraj: Optional[int] = None
    render: bool = False
    frame_skip: int = 1


def sample_jobs(env: VecEnv, jobs: Sequence[SampleJob]) -> list[list[dict]]:
    """Run the ``jobs`` side by side in one env (disjoint slot sets); the complete episodes of each.

    Each vectorized step calls each job's policy once, on the observations of
    the job's envs with an episode in progress, then steps all of them in one
    ``env.step_each`` call (which a ``ProcessVecEnv`` spreads over processes).
    Jobs never share an env or a policy, so each gets exactly the episodes it
    would get alone: running an eval job beside the next training batch gives
    the same numbers as running them one after the other, in fewer steps.

    Within a job, with ``min_timesteps``, a new episode is started only while
    the steps done plus what the running episodes may still add (each counted
    at the env's time limit) fall short of the target. So sampling never
    stops before ``min_timesteps`` steps of complete episodes are in, and
    never overshoots by more than the episodes in flight, however much longer
    the policy's episodes have become since the last batch (a guess from
    earlier batches overshot by up to 3x when a DAgger policy improved).
    """
    taken = [i for job in jobs for i in job.slots]
    if len(set(taken)) != len(taken):
        raise ValueError("sample_jobs: jobs must use disjoint env slots")
    runs = [_JobRun(env, job) for job in jobs]
    for run in runs:
        run.start()
    while True:
        stepping = [run for run in runs if run.active]
        if not stepping:
            return [run.paths for run in runs]
        slots = [list(run.active) for run in stepping]
        actions = [run.job.policy(np.stack([run.obs_seq[i][-1] for i in idx])) for run, idx in zip(stepping, slots)]
        results = iter(env.step_each([i for idx in slots for i in idx], np.concatenate(actions)))
        for run, idx, acts in zip(stepping, slots, actions):
            run.record(idx, acts, results)


class _JobRun:
    """The bookkeeping of one SampleJob: per env slot, the episode in progress (observations
    o_0..o_t, one more than the actions: o_{t+1} is the next observation of step t)."""

    def __init__(self, env: VecEnv, job: SampleJob):
        if (job.min_timesteps is None) == (job.ntraj is None):
            raise ValueError("a SampleJob needs exactly one of min_timesteps and ntraj")
        self.env, self.job = env, job
        self.obs_seq: dict[int, list] = {}
        self.act_seq: dict[int, list] = {}
        self.rew_seq: dict[int, list] = {}
        self.frames: dict[int, list] = {}
        self.active: list[int] = []
        self.paths: list[dict] = []
        self.done_steps = 0
        self.started = 0

    def want_another(self) -> bool:
        if self.job.ntraj is not None:
            return self.started < self.job.ntraj
        projected = self.done_steps + sum(max(self.env.max_episode_steps, len(self.act_seq[i])) for i in self.active)
        return projected < self.job.min_timesteps

    def launch(self, i: int) -> None:
        self.obs_seq[i], self.act_seq[i], self.rew_seq[i], self.frames[i] = [self.env.reset_one(i)], [], [], []
        self.started += 1
        self.active.append(i)
        if self.job.render:
            self.frames[i].append(self.env.render(i))

    def start(self) -> None:
        for i in self.job.slots:
            if self.want_another():
                self.launch(i)

    def record(self, idx: list[int], actions: np.ndarray, results: Iterator[tuple]) -> None:
        """Take this job's share of a step: ``actions`` it chose for slots ``idx``, and from
        ``results`` the next ``len(idx)`` (next_obs, reward, terminated, truncated)."""
        job = self.job
        for i, action, (next_ob, reward, terminated, truncated) in zip(idx, actions, results):
            self.obs_seq[i].append(next_ob)
            self.act_seq[i].append(action)
            self.rew_seq[i].append(reward)
            ended = terminated or truncated
            if job.render and (len(self.act_seq[i]) % job.frame_skip == 0 or ended):
                self.frames[i].append(self.env.render(i))
            if ended:
                self.paths.append(_to_path(self.obs_seq[i], self.act_seq[i], self.rew_seq[i], terminated, truncated,
                                           self.frames[i] if job.render else None))
                self.done_steps += len(self.act_seq[i])
                self.active.remove(i)
                if self.want_another():
                    self.launch(i)


def _to_path(observations: list, actions: list, rewards: list, terminated: bool, truncated: bool,
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
    job = SampleJob(range(env.num_envs), policy, min_timesteps=min_timesteps_per_batch, render=render,
                    frame_skip=frame_skip)
    paths = sample_jobs(env, [job])[0]
    return paths, total_steps(paths)


def sample_n_trajectories(env: VecEnv, policy: PolicyFn, ntraj: int, render: bool = False,
                          frame_skip: int = 1) -> list[dict]:
    """Exactly ``ntraj`` complete episodes."""
    return sample_jobs(env, [SampleJob(range(env.num_envs), policy, ntraj=ntraj, render=render,
                                       frame_skip=frame_skip)])[0]


def sample_trajectory(env: VecEnv, policy: PolicyFn, render: bool = False, frame_skip: int = 1) -> dict:
    """One complete episode."""
    return sample_n_trajectories(env, policy, 1, render=render, frame_skip=frame_skip)[0]


class SegmentSampler:
    """Fixed-length segments from envs that keep running across calls (PPO's rollouts).

    ``sample(policy, steps_per_env)`` steps the envs of ``slots`` (default: all) together
    ``steps_per_env`` times and returns the steps as one batch (the PATH_KEYS
    arrays) in env-major order, so each env's steps are contiguous in time. An
    episode that ends inside a segment keeps its own terminated / truncated
    flag and the env starts a new one at once; the last step of each env's
    segment, if its episode goes on, is marked ``truncated``: the episode is
    cut there and the next call continues it, so an advantage estimator
    bootstraps with V(next_observation), exactly as at a time limit.

    Episodes finished so far are kept as ``{"reward": (T,)}`` records, the last
    ``len(slots)`` of them in ``recent_episodes`` (what Train_* statistics are
    computed on; a long episode can span several calls).
    """

    def __init__(self, env: VecEnv, slots: Optional[Sequence[int]] = None):
        self.env = env
        self.slots = list(range(env.num_envs)) if slots is None else list(slots)
        n = len(self.slots)
        self._obs = np.stack([env.reset_one(i) for i in self.slots])
        # per env, the rewards its running episode earned in earlier segments
        self._earlier_rewards: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.recent_episodes: collections.deque[dict] = collections.deque(maxlen=n)

    def sample(self, policy: PolicyFn, steps_per_env: int) -> dict[str, np.ndarray]:
        """(steps_per_env · len(slots)) steps as {key: array} with the PATH_KEYS; see the class docstring."""
        env, n, t_len = self.env, len(self.slots), steps_per_env
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
            next_obs[t], rewards[t], terminated[t], truncated[t] = self._step(action)
            self._obs = next_obs[t].copy()
            for i in np.flatnonzero(terminated[t] | truncated[t]):
                episode = self._earlier_rewards[i] + [rewards[episode_start[i]:t + 1, i]]
                self.recent_episodes.append({"reward": np.concatenate(episode)})
                self._earlier_rewards[i], episode_start[i] = [], t + 1
                self._obs[i] = env.reset_one(self.slots[i])
        for i in range(n):
            self._earlier_rewards[i].append(rewards[episode_start[i]:, i].copy())
        truncated[-1] |= ~terminated[-1]  # the cut at the segment's end
        env_major = lambda x: np.swapaxes(x, 0, 1).reshape(n * t_len, *x.shape[2:])  # noqa: E731
        return {"observation": env_major(obs), "action": env_major(actions), "reward": env_major(rewards),
                "next_observation": env_major(next_obs), "terminated": env_major(terminated),
                "truncated": env_major(truncated)}

    def _step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step this sampler's slots: ``env.step_all`` when they are all of the env's."""
        if len(self.slots) == self.env.num_envs:
            return self.env.step_all(actions)
        obs, rewards, terminated, truncated = zip(*self.env.step_each(self.slots, actions))
        return np.stack(obs), np.array(rewards), np.array(terminated), np.array(truncated)


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
