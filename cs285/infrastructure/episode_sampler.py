"""Batches of complete episodes, sampled by several processes with the same result as one.

Each episode is a pure function of the frozen policy and of its own seed:
episode k of a request starts from ``env.reset(seed=…)`` and draws its
actions' noise (and any ``action_noise_std`` noise) from generators, all
derived from ``SeedSequence([request seed, k])``, where the request's seed is
one draw from torch's RNG (so ``--seed`` drives it, as it drives
``MLPPolicy.rollout_fn``). Which process runs an episode, and when, changes
nothing: ``num_procs`` only changes the speed (tested).

The episodes of a request are the course's: episodes 0, 1, 2, … until their
steps reach ``min_timesteps``, or exactly ``ntraj`` of them. Episode k starts
only once it is sure to be needed: the steps of the finished episodes, plus
those the running ones may still take (each counted at the time limit), fall
short of ``min_timesteps``. So no process runs an episode that is thrown
away, and the batch is the same prefix a single env would have sampled.

Several requests with the same policy (the eval episodes of iteration i and
the training batch of iteration i + 1) share the processes: an idle one takes
the next episode of the first request that may start one.

Why processes and whole episodes: a gymnasium MuJoCo step holds the GIL, and
stepping envs in lock-step across processes pays two process wake-ups per
step (process_env.py). Here a worker runs a whole episode on its own copy of
the policy (a NumPy PolicySnapshot), and talks to the main process once per
episode. Measured on this project's 2-core VM: one iteration's episodes of
hw2's HalfCheetah-v4 command (six of 1000 steps) took 0.58 and 0.61 s in 2
processes against 0.93 and 1.21 s in 1 (alternated).

Workers are forked (Linux), start in milliseconds, never touch torch, and
build their env on their first episode. With ``num_procs=1`` the episodes
run in this process, with the same numbers.
"""
from __future__ import annotations

import os
import sys
from multiprocessing.connection import wait
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch

from cs285.infrastructure.envs import VecEnv, is_discrete, make_env, max_episode_steps
from cs285.infrastructure.utils import sample_n_trajectories, sample_trajectories, to_path
from cs285.infrastructure.worker_pool import NO_REPLY, WorkerPool
from cs285.networks.policies import MLPPolicy, PolicySnapshot


class Request(NamedTuple):
    """A batch of complete episodes: until ``min_timesteps`` steps, or exactly ``ntraj`` episodes.

    ``stream`` names the envs it runs in where that matters (VecEnvEpisodes:
    training and eval envs are separate; EpisodeSampler ignores it).
    ``action_noise_std``: EpisodeSampler gives the env action + N(0, std²) noise
    (VecEnvEpisodes: the stream's envs add their own, if any).
    """

    stream: str
    min_timesteps: Optional[int] = None
    ntraj: Optional[int] = None
    action_noise_std: float = 0.0


def default_num_procs() -> int:
    """$CS285_SAMPLER_PROCS if set (sweep.py sets it), else the CPU cores this process may run on.

    1 off Linux: fork is missing on Windows, and on macOS Python itself no
    longer forks by default (system libraries are not fork-safe there);
    ``--env_procs`` can still ask for more where fork exists.
    """
    if os.environ.get("CS285_SAMPLER_PROCS"):
        return max(1, int(os.environ["CS285_SAMPLER_PROCS"]))
    if not sys.platform.startswith("linux"):
        return 1
    return len(os.sched_getaffinity(0))


def run_episode(env, policy: PolicySnapshot, seed: np.random.SeedSequence, action_noise_std: float = 0.0) -> dict:
    """One complete episode of ``policy`` in ``env``, every random number from ``seed``; a path (utils.PATH_KEYS).

    With ``action_noise_std`` the env is given action + N(0, std²) noise while
    the path records the policy's action (the course's ActionNoiseWrapper).
    """
    reset_seed, policy_seed, noise_seed = seed.spawn(3)
    obs, _ = env.reset(seed=int(reset_seed.generate_state(1)[0]))
    rng = np.random.default_rng(policy_seed)
    noise = np.random.default_rng(noise_seed) if action_noise_std else None
    observations, actions, rewards = [obs], [], []
    while True:
        action = policy.act(obs[None], rng)[0]
        env_action = action if noise is None else action + action_noise_std * noise.standard_normal(action.shape)
        obs, reward, terminated, truncated, _ = env.step(env_action)
        observations.append(obs)
        actions.append(action)
        rewards.append(float(reward))
        if terminated or truncated:
            return to_path(observations, actions, rewards, bool(terminated), bool(truncated), None)


class _Batch:
    """The episodes of one request: which may start next, and the finished ones."""

    def __init__(self, request: Request, seed: int, max_len: int):
        if (request.min_timesteps is None) == (request.ntraj is None):
            raise ValueError("a Request needs exactly one of min_timesteps and ntraj")
        self.request, self.seed, self.max_len = request, seed, max_len
        self.started = 0
        self.running = 0
        self.finished_steps = 0
        self.paths: dict[int, dict] = {}

    def next_episode(self) -> Optional[int]:
        """Start episode ``started`` if it is sure to be needed; its index, or None."""
        r = self.request
        if r.ntraj is not None:
            may_start = self.started < r.ntraj
        else:
            may_start = self.finished_steps + self.running * self.max_len < r.min_timesteps
        if not may_start:
            return None
        self.started += 1
        self.running += 1
        return self.started - 1

    def finish(self, k: int, path: dict) -> None:
        self.paths[k] = path
        self.running -= 1
        self.finished_steps += len(path["reward"])

    def episode_args(self, k: int) -> tuple[np.random.SeedSequence, float]:
        """run_episode's seed and action noise for episode k."""
        return np.random.SeedSequence([self.seed, k]), self.request.action_noise_std


class EpisodeSampler:
    """Complete episodes of gymnasium's ``env_name`` run by ``num_procs`` processes (see the module docstring).

    ``sample(policy, requests)`` -> one list of paths per request, in episode order.
    """

    def __init__(self, env_name: str, ep_len: Optional[int] = None, num_procs: int = 1):
        if num_procs < 1:
            raise ValueError(f"num_procs must be at least 1, got {num_procs}")
        self._make_env = lambda: make_env(env_name, ep_len=ep_len)
        self._env = self._make_env()  # the spaces, and the episodes when no worker runs them
        self.observation_space, self.action_space = self._env.observation_space, self._env.action_space
        self.discrete = is_discrete(self._env)
        self.max_episode_steps = max_episode_steps(self._env)
        self._pool: Optional[WorkerPool] = None
        if num_procs > 1:
            self._pool = WorkerPool(num_procs, lambda: _EpisodeServer(self._make_env), "a sampler")
        self.num_procs = num_procs

    def sample(self, policy: MLPPolicy, requests: Sequence[Request]) -> list[list[dict]]:
        """The episodes of each request (see Request), all with the policy's current weights."""
        if self.discrete and any(r.action_noise_std for r in requests):
            raise ValueError("action noise needs continuous actions")
        batches = [_Batch(r, int(torch.randint(2**62, ())), self.max_episode_steps) for r in requests]
        snapshot = policy.snapshot()

        def next_job() -> Optional[tuple[_Batch, int]]:
            for batch in batches:
                k = batch.next_episode()
                if k is not None:
                    return batch, k
            return None

        if self._pool is None:
            while (job := next_job()) is not None:
                batch, k = job
                batch.finish(k, run_episode(self._env, snapshot, *batch.episode_args(k)))
        else:
            for conn in self._pool.conns:
                conn.send(("policy", snapshot))
            idle, busy = list(self._pool.conns), {}
            while True:
                while idle and (job := next_job()) is not None:
                    conn = idle.pop()
                    conn.send(("episode", *job[0].episode_args(job[1])))
                    busy[conn] = job
                if not busy:
                    break
                for conn in wait(list(busy)):
                    batch, k = busy.pop(conn)
                    batch.finish(k, self._pool.receive(conn))
                    idle.append(conn)
        return [[b.paths[k] for k in sorted(b.paths)] for b in batches]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        self._env.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None and self._pool.alive:
            self.close()


class VecEnvEpisodes:
    """``sample(policy, requests)`` over lock-step VecEnvs, one per stream (the envpool backend).

    Each request's episodes come from the lock-step sampler (utils.sample_trajectories)
    on ``envs[request.stream]`` with a fresh ``policy.rollout_fn()``.
    """

    def __init__(self, envs: dict[str, VecEnv]):
        self.envs = envs
        first = next(iter(envs.values()))
        self.observation_space, self.action_space = first.observation_space, first.action_space
        self.discrete = first.discrete

    def sample(self, policy: MLPPolicy, requests: Sequence[Request]) -> list[list[dict]]:
        out = []
        for r in requests:
            env, policy_fn = self.envs[r.stream], policy.rollout_fn()
            if r.ntraj is not None:
                out.append(sample_n_trajectories(env, policy_fn, r.ntraj))
            else:
                out.append(sample_trajectories(env, policy_fn, r.min_timesteps)[0])
        return out

    def close(self) -> None:
        for env in self.envs.values():
            env.close()


class _EpisodeServer:
    """A worker's episodes: ("policy", snapshot) sets the policy (no reply), ("episode", seed, noise std) runs one."""

    def __init__(self, make_env):
        self.make_env, self.env, self.policy = make_env, None, None

    def __call__(self, command: str, *args) -> object:
        if command == "policy":
            self.policy = args[0]
            return NO_REPLY
        if command == "episode":
            if self.env is None:  # built on the first episode
                self.env = self.make_env()
            return run_episode(self.env, self.policy, *args)
        raise ValueError(f"unknown command {command!r}")

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
