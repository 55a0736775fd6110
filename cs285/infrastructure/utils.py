"""Seeding, the course's sampling names over the collector, and the per-iteration statistics."""
from __future__ import annotations

import random
from typing import Optional, Union

import numpy as np
import torch

from cs285.envs.collector import Collector
from cs285.envs.make import VecEnv
from cs285.infrastructure.rollouts import path_returns, total_steps


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch. Envs are seeded by their first reset (VecEnv) or per episode (Collector)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _collector(env: Union[Collector, VecEnv]) -> Collector:
    return env if isinstance(env, Collector) else Collector.over(env)


def sample_trajectories(env: Union[Collector, VecEnv], policy, min_timesteps_per_batch: int,
                        **request) -> tuple[list[dict], int]:
    """The course's name: complete episodes until at least ``min_timesteps_per_batch`` steps; (paths, steps)."""
    paths = _collector(env).episodes(policy, min_steps=min_timesteps_per_batch, **request)
    return paths, total_steps(paths)


def sample_n_trajectories(env: Union[Collector, VecEnv], policy, ntraj: int, **request) -> list[dict]:
    """The course's name: exactly ``ntraj`` complete episodes."""
    return _collector(env).episodes(policy, n_episodes=ntraj, **request)


def episode_statistics(paths: list[dict]) -> dict[str, dict[str, float]]:
    """Mean, std, max and min of complete episodes' returns and lengths:
    ``{"return": {"mean": ..., "std": ..., "max": ..., "min": ...}, "ep_len": {...}}``."""
    values = {"return": path_returns(paths), "ep_len": np.array([len(p["reward"]) for p in paths], dtype=float)}
    return {k: {"mean": float(v.mean()), "std": float(v.std()), "max": float(v.max()), "min": float(v.min())}
            for k, v in values.items()}


COURSE_KEYS = {("return", "mean"): "AverageReturn", ("return", "std"): "StdReturn", ("return", "max"): "MaxReturn",
               ("return", "min"): "MinReturn", ("ep_len", "mean"): "AverageEpLen"}


def compute_metrics(train_paths: Optional[list[dict]], eval_paths: list[dict]) -> dict[str, float]:
    """The course's per-iteration statistics of hw1/hw2 (``Eval_AverageReturn``, ...; Train_* only when
    there are train paths)."""
    logs: dict[str, float] = {}
    groups = [("Eval", eval_paths)] + ([("Train", train_paths)] if train_paths else [])
    for prefix, paths in groups:
        stats = episode_statistics(paths)
        logs.update({f"{prefix}_{name}": stats[k][s] for (k, s), name in COURSE_KEYS.items()})
    return logs


def eval_logs(paths: list[dict]) -> dict[str, float]:
    """The course's eval scalars of hw3 on: ``eval_return``, ``eval_ep_len`` and, when there are several
    episodes, ``eval/{return,ep_len}_{std,max,min}``."""
    stats = episode_statistics(paths)
    logs = {f"eval_{k}": v["mean"] for k, v in stats.items()}
    if len(paths) > 1:
        logs.update({f"eval/{k}_{s}": v[s] for k, v in stats.items() for s in ("std", "max", "min")})
    return logs
