"""hw5's datasets: the transitions an exploration run collected, saved so that loading them runs no code.

The course pickles its whole ``ReplayBuffer`` object (``<dataset_dir>/<dataset_name>.pkl``), which anyone
handed such a file must trust blindly. Here a dataset is ``<dataset_dir>/<dataset_name>.npz``: plain
arrays, read with ``np.load(allow_pickle=False)``, which builds arrays and nothing else.

    observations (n, *ob_shape) float32, actions (n,) int64 or (n, ac_dim) float32, rewards (n,) float32,
    next_observations (n, *ob_shape) float32, terminated (n,) bool, truncated (n,) bool,
    header: UTF-8 JSON as uint8: {"format": FORMAT, "env_id", "steps", "seed", "config", "sha256": {...}}

``sha256`` holds each array's digest (of its dtype, shape and bytes), so a file changed after it was
written is refused, as is one whose arrays disagree in length or hold objects.

A learner's own dataset from the course's code (``.pkl``, a pickled ``cs285.infrastructure.replay_buffer.
ReplayBuffer``) is read through the project's safe unpickler (``safe_pickle.safe_load``), which rebuilds
that object as an inert record and refuses any other global: its arrays up to ``size``, ``dones`` as
``terminated`` (the course stores the time limit as a terminal, so every episode end is one) and no
truncations.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from typing import Any, Optional

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.files import atomic_path
from cs285.infrastructure.rollouts import Batch
from cs285.infrastructure.safe_pickle import safe_load

FORMAT = "cs285-dataset-1"
SUFFIX = ".npz"
COURSE_SUFFIX = ".pkl"
ARRAYS = Batch._fields  # observations, actions, rewards, next_observations, terminated, truncated
DTYPES = {"observations": np.float32, "rewards": np.float32, "next_observations": np.float32,
          "terminated": np.bool_, "truncated": np.bool_}  # actions: int64 (discrete) or float32


def _digest(array: np.ndarray) -> str:
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def _as_stored(name: str, x: np.ndarray) -> np.ndarray:
    if name == "actions":
        x = np.asarray(x)
        return x.astype(np.int64 if np.issubdtype(x.dtype, np.integer) else np.float32)
    return np.asarray(x, dtype=DTYPES[name])


def save_dataset(path: str, batch: Batch, *, env_id: str, seed: int, config: Optional[dict] = None) -> str:
    """Write ``batch`` (n transitions) to ``path`` (``.npz`` added if missing), atomically; returns the path."""
    if not path.endswith(SUFFIX):
        path += SUFFIX
    arrays = {name: _as_stored(name, x) for name, x in zip(ARRAYS, batch)}
    header = {"format": FORMAT, "env_id": env_id, "steps": len(arrays["rewards"]), "seed": seed,
              "config": config or {}, "sha256": {name: _digest(x) for name, x in arrays.items()}}
    encoded = np.frombuffer(json.dumps(header, sort_keys=True, default=str).encode(), dtype=np.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would add a second .npz to a name
            np.savez(f, header=encoded, **arrays)
    return path


def load_dataset(path: str) -> tuple[Batch, dict[str, Any]]:
    """(the transitions, the header) of a ``.npz`` dataset, or of the course's ``.pkl`` (module docstring).
    Anything else, or a file that fails a check, is refused with a one-line UserError."""
    if path.endswith(COURSE_SUFFIX):
        return _load_course_pickle(path)
    if not os.path.isfile(path):
        raise UserError(f"dataset not found: {path} (run scripts/run_hw5_explore.py to make it)")
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {name: f[name] for name in f.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{path} is not a cs285 dataset (.npz of plain arrays): {str(e).splitlines()[0]}") from None
    missing = [name for name in ("header", *ARRAYS) if name not in stored]
    if missing:
        raise UserError(f"{path} is not a cs285 dataset: it lacks {', '.join(missing)}")
    try:
        header = json.loads(stored["header"].tobytes().decode())
    except (UnicodeDecodeError, ValueError):
        raise UserError(f"{path}: its header is not JSON; the file is damaged") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else header
        raise UserError(f"{path}: unknown dataset format {found!r} (this version reads {FORMAT})")
    digests = header.get("sha256") or {}
    for name in ARRAYS:
        if digests.get(name) != _digest(stored[name]):
            raise UserError(f"{path}: '{name}' does not match the checksum written with it; the file was changed "
                            f"after it was saved (make it again with run_hw5_explore.py)")
    lengths = {len(stored[name]) for name in ARRAYS}
    if len(lengths) != 1 or lengths != {header.get("steps")}:
        raise UserError(f"{path}: its arrays hold different numbers of transitions ({sorted(lengths)})")
    return Batch(*(stored[name] for name in ARRAYS)), header


class _CourseReplayBuffer:
    """What the course's pickled ReplayBuffer is rebuilt as: its attributes and no code."""


COURSE_CLASS = ("cs285.infrastructure.replay_buffer", "ReplayBuffer")


def _load_course_pickle(path: str) -> tuple[Batch, dict[str, Any]]:
    buffer = safe_load(path, records={COURSE_CLASS: _CourseReplayBuffer})
    fields = ("observations", "actions", "rewards", "next_observations", "dones")
    state = vars(buffer) if isinstance(buffer, _CourseReplayBuffer) else {}
    if not isinstance(state.get("size"), int) or any(not isinstance(state.get(k), np.ndarray) for k in fields):
        raise UserError(f"{path} is not a dataset saved by the course's run_hw5_explore.py "
                        f"(expected a ReplayBuffer with size and {', '.join(fields)})")
    n = min(state["size"], len(state["rewards"]))
    dones = np.asarray(state["dones"][:n], dtype=bool)
    batch = Batch(*(_as_stored(name, state[k][:n]) for name, k in zip(ARRAYS[:4], fields[:4])),
                  dones, np.zeros(n, dtype=bool))
    return batch, {"format": "course-pickle", "env_id": None, "steps": n, "seed": None, "config": {}}


def find_dataset(dataset_dir: str, dataset_name: str) -> str:
    """``<dataset_dir>/<dataset_name>.npz``, else the course's ``.pkl`` of that name (a UserError if neither)."""
    for suffix in (SUFFIX, COURSE_SUFFIX):
        path = os.path.join(dataset_dir, dataset_name + suffix)
        if os.path.isfile(path):
            return path
    raise UserError(f"no dataset {dataset_name}{SUFFIX} (or the course's {dataset_name}{COURSE_SUFFIX}) in "
                    f"{dataset_dir}; make it with python scripts/run_hw5_explore.py --dataset_dir {dataset_dir} "
                    f"-cfg experiments/exploration/<the config that names it>.yaml")
