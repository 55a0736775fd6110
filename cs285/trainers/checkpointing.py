"""Checkpoint, stop and resume for any long training run, in one piece.

Files in ``out_dir``:
    checkpoint_latest.pt    the run's state: written every ``every_minutes`` and when the loop ends
                            (finished or stopped by SIGTERM/SIGINT); the same command resumes from it.
    checkpoint_previous.pt  the latest checkpoint before the last save: a run resumes from it when
                            checkpoint_latest.pt is absent (e.g. moved aside after it was damaged).
    checkpoint_best.pt      the state handed to ``save_best`` with the highest score so far.

Guarantees: writes are atomic (``files.atomic_path``: temp file, then os.replace), so a kill
never leaves a half-written checkpoint, and a kill loses at most ``every_minutes`` of training.
A checkpoint damaged anyway (a full disk, a copy cut short) is a one-line ``UserError`` naming
the file, why it cannot be read, and what to do: move it aside and re-run to resume from
checkpoint_previous.pt (its step given), or delete the run dir to start over.
Loads are weights-only (``ptu.load_checkpoint``): states hold tensors, arrays and plain values.
A resume refuses (``UserError``) a checkpoint whose config differs on ``compare_keys``.
Besides the caller's keys the latest checkpoint holds ``config``, ``wall_seconds`` (training
seconds, summed over resumes) and ``best_score``; the best one holds ``config`` and ``score``.
"""
from __future__ import annotations

import math
import os
import shlex
import signal
import sys
import time
import warnings
import zipfile
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.files import atomic_path

LATEST = "checkpoint_latest.pt"
PREVIOUS = "checkpoint_previous.pt"
BEST = "checkpoint_best.pt"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_signalled = False  # a run of this process was asked to stop (script_util.run_seeds starts no further seed)


def take_stop_signal() -> bool:
    """Whether a SIGTERM or Ctrl-C asked a run of this process to stop since the last call (which it clears)."""
    global _signalled
    signalled, _signalled = _signalled, False
    return signalled


class RunCheckpoint:
    """``with RunCheckpoint(out_dir, config, every_minutes) as ckpt:`` then restore from
    ``ckpt.state`` if ``ckpt.resumed``, loop ``while not ckpt.stop_requested``, call
    ``ckpt.maybe_save(make_state)`` each iteration and ``ckpt.save(make_state())`` after the loop.

    compare_keys: config keys that define the run (None: all of ``config``).
    saved_defaults: values assumed for keys absent from older checkpoints, e.g. {"algo": "sac"}.
    Signal handlers are installed by ``__enter__`` (main thread only) and restored by ``__exit__``.
    """

    def __init__(self, out_dir: str, config: Mapping[str, Any], every_minutes: float,
                 compare_keys: Optional[Sequence[str]] = None,
                 saved_defaults: Optional[Mapping[str, Any]] = None):
        self.out_dir, self.config, self.every_minutes = out_dir, dict(config), every_minutes
        self.latest_path, self.best_path = os.path.join(out_dir, LATEST), os.path.join(out_dir, BEST)
        self.previous_path = os.path.join(out_dir, PREVIOUS)
        self.stop_requested = False
        self.state: Optional[dict] = None
        self.resumed_from = resume_path(out_dir)  # None: a fresh run
        if self.resumed_from is not None:
            self.state = _load_or_explain(self.resumed_from, out_dir)
            if self.resumed_from == self.previous_path:
                print(f"{self.latest_path} is absent: resuming from {PREVIOUS}", file=sys.stderr)
            saved = {**(saved_defaults or {}), **self.state.get("config", {})}
            keys = list(config) if compare_keys is None else compare_keys
            changed = [k for k in keys if saved.get(k) != config.get(k)]
            if changed:
                diffs = ", ".join(f"{k} ({saved.get(k)!r} there, {config.get(k)!r} here)" for k in changed)
                raise UserError(f"{out_dir} holds a run with different {diffs}; "
                                f"use another --out_dir or delete {out_dir}'s {LATEST} and {PREVIOUS}")
        self.resumed = self.state is not None
        self.best_score: float = (self.state or {}).get("best_score", -math.inf)
        self._prior_seconds: float = (self.state or {}).get("wall_seconds", 0.0)
        self._t_start = self._t_saved = time.monotonic()
        self._previous: dict = {}
        os.makedirs(out_dir, exist_ok=True)

    def __enter__(self) -> RunCheckpoint:
        self._t_start = self._t_saved = time.monotonic()  # setup before the loop is not training time
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _on_signal(self, signum: int, frame) -> None:
        """The first SIGTERM / Ctrl-C asks the loop to stop after its step (and save); a second Ctrl-C
        interrupts at once, losing the work since the last checkpoint."""
        if self.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if signum == signal.SIGINT:
            print("\nStopping after this step (Ctrl-C again to quit at once)", file=sys.stderr)
        global _signalled
        self.stop_requested = _signalled = True

    def wall_seconds(self) -> float:
        """Training seconds of this run, including those before the resume."""
        return self._prior_seconds + time.monotonic() - self._t_start

    def save(self, state: dict) -> None:
        """Write ``state`` (plus config, wall_seconds, best_score) to checkpoint_latest.pt, atomically; the
        checkpoint it replaces becomes checkpoint_previous.pt.

        The new file is complete before the old one moves: a kill between the two renames leaves
        checkpoint_previous.pt (the old state) and no latest, which a resume reads.
        """
        with atomic_path(self.latest_path) as fresh:
            torch.save({**state, "config": self.config, "wall_seconds": self.wall_seconds(),
                        "best_score": self.best_score}, fresh)
            if os.path.exists(self.latest_path):
                os.replace(self.latest_path, self.previous_path)
        self._t_saved = time.monotonic()

    def maybe_save(self, make_state: Callable[[], dict]) -> bool:
        """``save(make_state())`` if ``every_minutes`` have passed since the last save; True if it wrote."""
        if time.monotonic() - self._t_saved < 60 * self.every_minutes:
            return False
        self.save(make_state())
        return True

    def save_best(self, state: Union[dict, Callable[[], dict]], score: float) -> float:
        """Write ``state`` (or ``state()``, built only when needed) to checkpoint_best.pt if ``score``
        beats the best so far; returns the best score. It reaches checkpoint_latest.pt at the next save."""
        if score > self.best_score:
            self.best_score = float(score)
            best = state() if callable(state) else state
            ptu.save_checkpoint({**best, "config": self.config, "score": self.best_score}, self.best_path)
        return self.best_score


def resume_path(out_dir: str) -> Optional[str]:
    """The checkpoint a run in ``out_dir`` resumes from: checkpoint_latest.pt, else checkpoint_previous.pt
    (the latest one moved aside), else None. A run dir is resumable when this is not None."""
    for name in (LATEST, PREVIOUS):
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            return path
    return None


def _why_unreadable(path: str, error: Exception) -> str:
    """A few words on why ``ptu.load_checkpoint(path)`` raised ``error``. ``save_checkpoint`` writes
    torch's zip format, so a file that is no complete zip archive was cut short or overwritten."""
    size = os.path.getsize(path)
    if size == 0:
        return "it is empty (0 bytes)"
    if not zipfile.is_zipfile(path):  # the end-of-archive directory is missing
        return f"it is truncated or corrupt ({size} bytes, not a complete torch zip archive)"
    text = str(error)
    if "Unsupported global" in text:
        return "it holds objects other than tensors, arrays and plain values"
    first = text.strip().splitlines()[0][:100] if text.strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _load_quietly(path: str) -> Any:
    """``ptu.load_checkpoint``; torch's warnings about a damaged file are dropped (the caller's one-line
    error says it), a good file's are shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = ptu.load_checkpoint(path)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return state


def _load_or_explain(path: str, out_dir: str) -> dict:
    """The checkpoint at ``path``, or a one-line UserError that names it, says why it cannot be read
    and what to do: move it aside and re-run (resuming from checkpoint_previous.pt, at the step it
    holds, if that one can be read), or delete the run dir to start over."""
    try:
        state = _load_quietly(path)
    except Exception as e:  # a damaged file raises anything from EOFError to RuntimeError
        why = _why_unreadable(path, e)
    else:
        if isinstance(state, dict):
            return state
        why = f"it holds a {type(state).__name__}, not a checkpoint's dict"
    previous = os.path.join(out_dir, PREVIOUS)
    if path != previous and os.path.exists(previous):
        try:
            step = _load_quietly(previous).get("step")
        except Exception:
            why += f"; {PREVIOUS} cannot be read either"
        else:
            at = f" at step {step}" if step is not None else ""
            move = f"mv {shlex.quote(path)} {shlex.quote(path + '.bad')}"
            raise UserError(f"cannot load {path}: {why}; to fix, `{move}` and re-run: the run resumes from "
                            f"{PREVIOUS}{at} (or delete {out_dir} to start over)") from None
    raise UserError(f"cannot load {path}: {why}; no earlier checkpoint to resume from: "
                    f"delete {out_dir} to start over") from None


def arrays_to_tensors(state: dict) -> dict:
    """NumPy arrays as tensors, so a weights-only torch checkpoint can hold them (and back: ``tensors_to_arrays``)."""
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}


def tensors_to_arrays(state: dict) -> dict:
    return {k: v.numpy() if torch.is_tensor(v) else v for k, v in state.items()}
