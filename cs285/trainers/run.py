"""The run shell every training script stands on: one run dir, its config, logger, checkpoint and end.

    with Run(prefix="q2_pg_", log_name=f"{exp_name}_{env}", flags={**vars(args), "seed": seed},
             sampler=collector.resolved(segments)) as run:
        state = run.resume_state           # None for a new run
        ...                                # the family's loop (trainers/on_policy.py, off_policy.py, offline.py)
        run.logger.log_scalars(logs, step)
        run.maybe_checkpoint(step, make_state)
        run.finish(f"Final Eval_AverageReturn {r:.1f}")

What it owns, so no loop writes it again:
- **The run dir**: ``data/<prefix><log_name>_<dd-mm-YYYY_HH-MM-SS>`` (the course's names), or, when the
  same command left an unfinished run with a checkpoint (same flags, same experiment config), that dir:
  re-running a killed command continues it. A lock file held while the run lives keeps two copies of a
  command from resuming the same dir.
- **config.json**: every flag, the experiment config, the sampler, versions, commit; ``started`` is kept
  across resumes and each resume's time is appended to ``resumed``.
- **The logger** (infrastructure/logger.py), opened at the checkpoint's step: rows logged after the
  checkpoint by the killed run are dropped from metrics.jsonl / metrics.csv and TensorBoard
  (``purge_step``), so every logged step appears exactly once after a resume.
- **The checkpoint** (checkpointing.py): written at the start (a run killed at once resumes too), every
  ``checkpoint_minutes``, on SIGTERM/SIGINT and at the end; the logger is flushed first, so the rows
  before the checkpoint's step are on disk. ``checkpoint_best.pt``: the agent of the best evaluation.
- **Videos** of the policy (envs/video.py) when asked for, **DONE** and the final line.
"""
from __future__ import annotations

import fcntl
import json
import os
from typing import Any, Callable, Mapping, Optional

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import Logger
from cs285.trainers.checkpointing import RunCheckpoint, resume_path
from cs285.trainers.run_config import CONFIG_FILE, DONE_FILE, data_dir, is_finished, make_named_logdir, mark_finished, \
    save_config

LOCK_FILE = ".lock"


def _locked(path: str) -> bool:
    """Whether a live process holds ``path``'s run lock (a dead one's lock is released with it)."""
    try:
        with open(os.path.join(path, LOCK_FILE), "r") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:  # no lock file: a run from before the locks, or none running
        return False


def resumable_logdir(prefix: str, log_name: str, flags: Mapping, experiment: Optional[Mapping] = None) -> Optional[str]:
    """The newest unfinished, unlocked run dir ``<prefix><log_name>_<time>`` with a checkpoint of these flags
    and this experiment config, if any."""
    root = data_dir()
    if not os.path.isdir(root):
        return None
    same = json.loads(json.dumps({"flags": flags, "experiment": experiment}, default=str))
    candidates = [os.path.join(root, n) for n in os.listdir(root) if n.startswith(f"{prefix}{log_name}_")]
    for path in sorted(candidates, key=os.path.getmtime, reverse=True):
        if resume_path(path) is None or is_finished(path) or _locked(path):
            continue
        try:
            with open(os.path.join(path, CONFIG_FILE)) as f:
                saved = json.load(f)
            if {"flags": saved["flags"], "experiment": saved.get("experiment")} == same:
                return path
        except (OSError, ValueError, KeyError):
            continue
    return None


class Run:
    """One run (see the module docstring); a context manager.

    prefix, log_name: the dir ``data/<prefix><log_name>_<time>``; or ``log_dir``: a fixed dir
    (train_expert's ``--out_dir``), resumed when it holds a checkpoint.
    flags: every flag as resolved, seed included (what makes two commands "the same").
    experiment: the YAML config (hw3 on), compared and recorded beside the flags.
    sampler: ``Collector.resolved()``, recorded and printed.
    checkpoint_minutes: wall-clock minutes between checkpoints; $CS285_CHECKPOINT_MINUTES overrides it
        (0: at every step or iteration).
    compare_keys / saved_defaults: passed to RunCheckpoint (a fixed dir compares these flags only).
    closing: objects closed when the run ends however it ends (collectors, video recorders).
    """

    def __init__(self, *, flags: Mapping[str, Any], prefix: str = "", log_name: str = "",
                 log_dir: Optional[str] = None, experiment: Optional[Mapping] = None,
                 sampler: Optional[Mapping] = None, checkpoint_minutes: float = 5.0,
                 compare_keys: Optional[tuple] = None, saved_defaults: Optional[Mapping] = None,
                 closing: tuple = ()):
        self.flags, self.experiment, self.sampler = dict(flags), experiment, sampler
        self._prefix, self._log_name, self._fixed_dir = prefix, log_name, log_dir
        self._minutes = float(os.environ.get("CS285_CHECKPOINT_MINUTES", checkpoint_minutes))
        self._compare, self._defaults = compare_keys, saved_defaults
        self._closing = list(closing)
        self.finished = False
        self.log_dir: str = ""
        self.logger: Optional[Logger] = None
        self.checkpoint: Optional[RunCheckpoint] = None
        self._lock = None

    # ------------------------------------------------------------------ start and end

    def __enter__(self) -> "Run":
        try:
            self._start()
        except BaseException:
            self._close()
            raise
        return self

    def _start(self) -> None:
        if self._fixed_dir is not None:  # resumed when it holds a checkpoint, finished or not (a larger budget)
            self.log_dir = self._fixed_dir
            os.makedirs(self.log_dir, exist_ok=True)
            if is_finished(self.log_dir):
                os.remove(os.path.join(self.log_dir, DONE_FILE))
        else:
            self.log_dir = (resumable_logdir(self._prefix, self._log_name, self.flags, self.experiment)
                            or make_named_logdir(self._prefix, self._log_name))
        self._lock = open(os.path.join(self.log_dir, LOCK_FILE), "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{self.log_dir} is in use by another run of this command; wait for it to end "
                            "or stop it") from None
        self.checkpoint = RunCheckpoint(self.log_dir, self._checkpoint_config(), self._minutes,
                                        compare_keys=self._compare, saved_defaults=self._defaults)
        self.resume_step = int(self.checkpoint.state["step"]) if self.checkpoint.resumed else 0
        extra = {"experiment": self.experiment} if self.experiment is not None else {}
        if self.sampler is not None:
            extra["sampler"] = dict(self.sampler)
        save_config(self.log_dir, self.flags, **extra)
        self.logger = Logger(self.log_dir, resume_step=self.resume_step if self.checkpoint.resumed else None)
        print(f"Logging to {self.log_dir}")
        if self.sampler is not None:
            print(self.sampler["line"])
        if self.checkpoint.resumed:
            print(f"Resuming {self.log_dir} at step {self.resume_step} (its {self.checkpoint.wall_seconds():.0f} s "
                  "of training so far kept); the episodes in progress restart")
        self.checkpoint.__enter__()  # SIGTERM / SIGINT now ask the loop to stop at its next step

    def _checkpoint_config(self) -> dict:
        return {**self.flags, "experiment": self.experiment} if self.experiment is not None else dict(self.flags)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._close()
        if exc_type is None and self.stop_requested:
            print(f"Stopped; the same command resumes {self.log_dir}")

    def _close(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint.__exit__()
        if self.logger is not None:
            self.logger.close()
        for thing in self._closing:
            thing.close()
        if self.finished:  # the spare copy only matters to a run that may resume
            if os.path.exists(self.checkpoint.previous_path):
                os.remove(self.checkpoint.previous_path)
            mark_finished(self.log_dir)
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    # ------------------------------------------------------------------ during the run

    @property
    def resume_state(self) -> Optional[dict]:
        """The checkpoint's state when resuming (once: it is dropped after the first read), else None."""
        state, self.checkpoint.state = self.checkpoint.state, None  # no second copy of a replay buffer
        return state

    @property
    def stop_requested(self) -> bool:
        return self.checkpoint is not None and self.checkpoint.stop_requested

    def wall_seconds(self) -> float:
        """Seconds of training, summed over resumes."""
        return self.checkpoint.wall_seconds()

    def save_checkpoint(self, step: int, state: dict) -> None:
        """Write ``state`` as the run's checkpoint at ``step`` (the next step to run), the logs before it first."""
        self.checkpoint.save(self._at(step, state))

    def maybe_checkpoint(self, step: int, make_state: Callable[[], dict]) -> None:
        """``save_checkpoint`` if ``checkpoint_minutes`` have passed since the last one."""
        self.checkpoint.maybe_save(lambda: self._at(step, make_state()))

    def _at(self, step: int, state: dict) -> dict:
        self.logger.flush(sync=True)
        return {**state, "step": int(step)}

    def save_best(self, score: float, make_state: Callable[[], dict]) -> float:
        """Keep ``make_state()`` in checkpoint_best.pt if ``score`` is the best evaluation so far; the best."""
        return self.checkpoint.save_best(make_state, score)

    def finish(self, summary: str) -> None:
        """The run got to its end: DONE is written when the run closes; print the final line."""
        self.finished = True
        print(f"\nDone in {self.wall_seconds():.1f}s. {summary} | {self.log_dir}")
