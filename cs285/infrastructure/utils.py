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
