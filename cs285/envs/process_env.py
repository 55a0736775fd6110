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
        self._pool = WorkerPool(num_procs - 1, build, "an env")  # a worker's handler: its own VecEnv

    def _on_owner(self, method: str, i: int) -> object:
        """VecEnv's ``method`` of slot i, run by the process that owns the slot."""
        owner = self._owners[i]
        return getattr(self._local, method)(i) if owner == 0 else self._pool.call(owner - 1, method, i)

    def reset_one(self, i: int) -> np.ndarray:
        return self._on_owner("reset_one", i)

    def step_each(self, idx: Sequence[int], actions: np.ndarray) -> list[tuple]:
        """VecEnv.step_each: the workers step their slots of ``idx`` while this process steps its own."""
        positions: dict[int, list[int]] = {}
        for k, i in enumerate(idx):
            positions.setdefault(self._owners[i], []).append(k)
        for owner, ks in positions.items():
            if owner != 0:
                self._pool.conns[owner - 1].send(("step_each", [idx[k] for k in ks], actions[ks]))
        out: list = [None] * len(idx)
        for owner, ks in sorted(positions.items()):  # this process's own slots (owner 0) first
            results = (self._local.step_each([idx[k] for k in ks], actions[ks]) if owner == 0
                       else self._pool.receive(self._pool.conns[owner - 1]))
            for k, result in zip(ks, results):
                out[k] = result
        return out

    step_all = VecEnv.step_all  # every slot stepped by its owner, through step_each

    def render(self, i: int = 0) -> np.ndarray:
        return self._on_owner("render", i)

    def close(self) -> None:
        self._pool.close()
        self._local.close()

    def __del__(self):
        if getattr(self, "_pool", None) is not None and self._pool.alive:
            self.close()

