"""Run directories and the config file that lets any run be repeated."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

from cs285.infrastructure.files import atomic_path

CONFIG_FILE = "config.json"
DONE_FILE = "DONE"  # written last by a run that got to its end; sweeps skip runs that have it
DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data")
VERSIONED_PACKAGES = ("torch", "gymnasium", "mujoco", "numpy", "tensorboardX")


def data_dir() -> str:
    """Where runs go: $CS285_DATA_DIR if set, else data/ at the top of the repository."""
    return os.environ.get("CS285_DATA_DIR") or DATA_DIR


def make_named_logdir(prefix: str, log_name: str) -> str:
    """``data/<prefix><log_name>_<dd-mm-YYYY_HH-MM-SS>``, the course's naming (hw1/hw2: log_name is
    ``<exp_name>_<env>``; hw3 on: the config's ``log_name``)."""
    root = data_dir()
    name = f"{prefix}{log_name}_{time.strftime('%d-%m-%Y_%H-%M-%S')}"
    os.makedirs(root, exist_ok=True)
    path, suffix = os.path.join(root, name), 1
    while True:  # runs started in the same second (parallel sweep workers too) get _2, _3, ...
        try:
            os.mkdir(path)  # atomic: of two processes racing for a name, exactly one gets it
            return path
        except FileExistsError:
            suffix += 1
            path = os.path.join(root, f"{name}_{suffix}")


def git_commit(short: bool = False) -> str | None:
    """The repository's HEAD commit (abbreviated as ``git rev-parse --short`` does, if ``short``); None without git."""
    try:
        out = subprocess.run(["git", "rev-parse", *(["--short"] if short else []), "HEAD"], capture_output=True,
                             cwd=os.path.dirname(os.path.abspath(__file__)), text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in VERSIONED_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def save_config(log_dir: str, flags: dict[str, Any], **extra: Any) -> str:
    """Write ``config.json``: every flag, the command line, package versions and git commit.

    Over a resumed run's config it keeps the first ``started`` and appends this start to ``resumed``.
    """
    path = os.path.join(log_dir, CONFIG_FILE)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    config = {
        "flags": flags,
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "versions": versions(),
        "git_commit": git_commit(),
        "started": now,
        **extra,
    }
    try:
        before = load_config(log_dir)
        config.update(started=before["started"], resumed=before.get("resumed", []) + [now])
    except (OSError, ValueError, KeyError):
        pass  # a new run
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(config, f, indent=2, default=str)
    return path


def load_config(log_dir: str) -> dict[str, Any]:
    with open(os.path.join(log_dir, CONFIG_FILE)) as f:
        return json.load(f)


def mark_finished(log_dir: str) -> str:
    """Write ``DONE`` (the finish time) in the run dir: the run got to its end without an error.

    Call it after the logger is closed. A dir without it was killed, crashed or is
    still running; ``scripts/sweep.py`` runs such a run again.
    """
    path = os.path.join(log_dir, DONE_FILE)
    with open(path, "w") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S") + "\n")
    return path


def is_finished(log_dir: str) -> bool:
    return os.path.isfile(os.path.join(log_dir, DONE_FILE))
