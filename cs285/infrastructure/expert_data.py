"""Expert demonstrations in the course's file format, read safely.

A file is a pickled list of path dicts, one per episode, each with T steps::

    observation (T, ob_dim), action (T, ac_dim), reward (T,),
    next_observation (T, ob_dim), terminal (T,), optional image_obs (T, h, w, c)

The course's ``terminal`` marks the last step of a path whatever ended it, a
true end or the time limit, so it cannot tell the two apart. When loading we
keep ``terminal`` as given and, unless the file has its own ``terminated`` and
``truncated`` keys (files written by ``save_expert_data`` do), set
``terminated = terminal`` and ``truncated = False``. BC and DAgger do not
bootstrap, so this only matters if the data is reused for a critic.

Loaded paths use the project's trajectory keys (``observation``, ``action``,
``reward``, ``next_observation``, ``terminated``, ``truncated``, and
``image_obs`` when the file has non-empty images) plus ``terminal``.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.safe_pickle import safe_dump, safe_load

STEP_KEYS = ("observation", "action", "reward", "next_observation")


def _normalize_path(path: Any, index: int, source: str) -> dict[str, np.ndarray]:
    """Check one path dict and return it with the project's keys and dtypes."""
    where = f"{source}: path {index}"
    if not isinstance(path, Mapping):
        raise UserError(f"{where} should be a dict, got {type(path).__name__}")
    for key in STEP_KEYS:
        if key not in path:
            raise UserError(f"{where} lacks key '{key}'")
    has_split = "terminated" in path and "truncated" in path
    if not has_split and "terminal" not in path:
        raise UserError(f"{where} lacks key 'terminal' (or 'terminated' and 'truncated')")

    arrays: dict[str, np.ndarray] = {}
    for key in (*STEP_KEYS, "terminal", "terminated", "truncated", "image_obs"):
        if key in path:
            try:
                arrays[key] = np.asarray(path[key])
            except (TypeError, ValueError):
                raise UserError(f"{where}: '{key}' is not an array") from None
            if arrays[key].ndim == 0:
                raise UserError(f"{where}: '{key}' is a scalar, expected one entry per step")

    T = len(arrays["observation"])
    if T == 0:
        raise UserError(f"{where} is empty (0 steps)")
    if "image_obs" in arrays and len(arrays["image_obs"]) == 0:
        del arrays["image_obs"]  # the course stores [] when nothing was rendered
    for key, arr in arrays.items():
        if len(arr) != T:
            raise UserError(f"{where}: '{key}' has {len(arr)} steps but 'observation' has {T}")
    if arrays["next_observation"].shape != arrays["observation"].shape:
        raise UserError(
            f"{where}: 'next_observation' has shape {arrays['next_observation'].shape}, "
            f"'observation' has {arrays['observation'].shape}"
        )
    if arrays["reward"].size != T:
        raise UserError(f"{where}: 'reward' should have one number per step, got shape {arrays['reward'].shape}")

    def flags(key: str) -> np.ndarray:
        return arrays[key].reshape(T).astype(bool)

    action = arrays["action"]
    out = {
        "observation": arrays["observation"].astype(np.float32),
        "action": action.astype(np.float32) if np.issubdtype(action.dtype, np.floating) else action,
        "reward": arrays["reward"].reshape(T).astype(np.float32),
        "next_observation": arrays["next_observation"].astype(np.float32),
        "terminated": flags("terminated" if has_split else "terminal"),
        "truncated": flags("truncated") if has_split else np.zeros(T, dtype=bool),
    }
    out["terminal"] = flags("terminal") if "terminal" in arrays else out["terminated"] | out["truncated"]
    if "image_obs" in arrays:
        out["image_obs"] = arrays["image_obs"]
    return out


def _normalize_paths(paths: Any, source: str) -> list[dict[str, np.ndarray]]:
    if not isinstance(paths, (list, tuple)):
        raise UserError(f"{source}: expected a list of path dicts, got {type(paths).__name__}")
    if len(paths) == 0:
        raise UserError(f"{source}: contains no paths")
    return [_normalize_path(p, i, source) for i, p in enumerate(paths)]


def load_expert_data(path: str | os.PathLike) -> list[dict[str, np.ndarray]]:
    """Read expert paths from a course-format pickle (via ``safe_load``) and validate them.

    Returns one dict per path with observation/next_observation (T, ob_dim) float32,
    action (T, ac_dim), reward (T,) float32, terminated/truncated/terminal (T,) bool,
    and image_obs if present. Raises UserError naming the path index and key on bad data.
    """
    source = os.fspath(path)
    return _normalize_paths(safe_load(source), source)


def save_expert_data(path: str | os.PathLike, paths: Sequence[Mapping[str, Any]]) -> None:
    """Write paths so both the course's code and ``load_expert_data`` can read them.

    Each path needs observation, action, reward, next_observation and either
    terminated + truncated or terminal. Written keys: those four, ``terminal``
    (= terminated | truncated, float32 as in the course), ``terminated``,
    ``truncated``, and ``image_obs`` when present.
    """
    records = []
    for p in _normalize_paths(paths, "expert data to save"):
        terminal = (p["terminated"] | p["truncated"]).astype(np.float32)
        records.append({**{key: p[key] for key in STEP_KEYS}, "terminal": terminal,
                        **{key: p[key] for key in ("terminated", "truncated", "image_obs") if key in p}})
    safe_dump(records, path)
