"""Vectorized envs spread over processes, so the simulator runs on every core.

A gymnasium MuJoCo step is Python plus C that holds the GIL: one process steps
one env at a time, whatever the number of envs. ``ProcessVecEnv`` builds the
same ``VecEnv`` in the main process and in ``num_procs − 1`` worker processes,
and gives each env slot an owner: a vectorized step sends the worker slots'
actions down their pipes, steps the main process's own slots meanwhile, then
reads the workers' results. The sampler's code and numbers are unchanged:
slot i is the same env with the same seed in every process, so a
``ProcessVecEnv`` returns exactly what its ``VecEnv`` would (tested).

Envs stay lazy (a VecEnv builds env i on its first reset), so each process
only compiles the models of the slots it owns.

It pays when each process has several envs to step at once, so that the
simulation outweighs the pipe traffic of every step. Measured on this project's
2-core VM (``--env_procs 2`` against 1, random actions): 16 HalfCheetah-v4 envs
12.5k -> 18.1k steps/s, 16 Humanoid-v4 envs 3.0k -> 4.3k, but 6 HalfCheetah envs
12.3k -> 12.2k and 8 Hopper envs (mostly one episode at a time) 5.4k -> 5.9k. So
it is an option (the collector's lock-step envs: segments and steps with
``--env_procs``, default 1) for batches that run many envs at once. Complete
episodes have a better way: the collector runs whole episodes in each process.

Workers are forked (Linux): they inherit the builder and the modules already
imported, start in milliseconds, and only ever touch gymnasium, never torch.
WorkerPool refuses to start where fork is unavailable.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from cs285.envs.make import VecEnv
from cs285.envs.worker_pool import WorkerPool


class ProcessVecEnv:
    """The slots of ``build()`` (a VecEnv) stepped by ``num_procs`` processes; VecEnv's interface.

    Slot i belongs to process i mod num_procs (0 = this one). Needs the fork start method.
    """

    def __init__(self, build: Callable[[], VecEnv], num_procs: int):
        self._local = build()
        self.num_envs = self._local.num_envs
        for name in ("env_name", "observation_space", "action_space", "max_episode_steps", "discrete"):
            setattr(self, name, getattr(self._local, name))
        self._owners = [i % num_procs for i in range(self.num_envs)]
        self._pool = WorkerPool(num_procs - 1, lambda: _EnvServer(build()), "an env")

    def reset_one(self, i: int) -> np.ndarray:
        owner = self._owners[i]
        return self._local.reset_one(i) if owner == 0 else self._pool.call(owner - 1, "reset", i)

    def step_each(self, idx: Sequence[int], actions: np.ndarray) -> list[tuple]:
        """VecEnv.step_each: the workers step their slots of ``idx`` while this process steps its own."""
        positions: dict[int, list[int]] = {}
        for k, i in enumerate(idx):
            positions.setdefault(self._owners[i], []).append(k)
        conns = self._pool.conns
        for owner, ks in positions.items():
            if owner != 0:
                conns[owner - 1].send(("step", [idx[k] for k in ks], actions[ks]))
        out: list = [None] * len(idx)
        if 0 in positions:
            ks = positions[0]
            for k, result in zip(ks, self._local.step_each([idx[k] for k in ks], actions[ks])):
                out[k] = result
        for owner, ks in positions.items():
            if owner != 0:
                for k, result in zip(ks, self._pool.receive(conns[owner - 1])):
                    out[k] = result
        return out

    def step_all(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """VecEnv.step_all, every slot stepped by its owner."""
        obs, rewards, terminated, truncated = zip(*self.step_each(range(self.num_envs), actions))
        return np.stack(obs), np.array(rewards), np.array(terminated), np.array(truncated)

    def render(self, i: int = 0) -> np.ndarray:
        owner = self._owners[i]
        return self._local.render(i) if owner == 0 else self._pool.call(owner - 1, "render", i)

    def close(self) -> None:
        self._pool.close()
        self._local.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None and self._pool.alive:
            self.close()


class _EnvServer:
    """A worker's VecEnv: ("reset", i), ("step", ids, actions), ("render", i)."""

    def __init__(self, env: VecEnv):
        self.env = env

    def __call__(self, command: str, *args) -> object:
        if command == "reset":
            return self.env.reset_one(*args)
        if command == "step":
            return self.env.step_each(*args)
        if command == "render":
            return self.env.render(*args)
        raise ValueError(f"unknown command {command!r}")

    def close(self) -> None:
        self.env.close()
