"""The one logger: TensorBoard (tensorboardX) plus plain-text copies in the run dir.

Every scalar goes to three places:
- the TensorBoard event file (``tensorboard --logdir data``),
- ``metrics.jsonl``: one JSON object per logged step ``{"step": ..., key: value, ...}``,
- ``metrics.csv``: the same rows as a table (rows appended; the file is rewritten only when a new key
  appears, so a run that logs every step does not rewrite it every step),
so grading and plotting never need TensorBoard's reader.

A resumed run opens its logger at the checkpoint's step (``resume_step``): the rows the killed run
logged from that step on are dropped from both text files, and TensorBoard is told to drop its
events from that step on (``purge_step``), so each step is logged exactly once.

Videos (``log_video``) go to ``videos/<name>_step<step>.mp4`` in the run dir and,
as an animated GIF in an image summary, to TensorBoard's Images tab. (tensorboardX's
``add_video`` needs moviepy and silently writes nothing without it, so the GIF
summary is built here.)
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

import numpy as np
from PIL import Image
from tensorboardX import SummaryWriter
from tensorboardX.proto.summary_pb2 import Summary

from cs285.infrastructure.media import encode_gif, encode_mp4, iter_tiled
from cs285.infrastructure.files import atomic_path

METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"
VIDEO_DIR = "videos"
FLUSH_SECONDS = 2.0


class Logger:
    def __init__(self, log_dir: str, resume_step: int | None = None):
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self._rows: list[dict] = []
        self._csv_keys: list[str] = []  # metrics.csv's header, in order of first appearance
        self._csv = None  # metrics.csv opened for appending, once written whole
        self._flushed = time.monotonic()
        if resume_step is not None:
            self._rows = [r for r in read_metrics(log_dir) if r["step"] < resume_step]
            _write_jsonl(os.path.join(log_dir, METRICS_JSONL), self._rows)
            self._write_csv()
        self._writer = SummaryWriter(log_dir, flush_secs=10, max_queue=1000, purge_step=resume_step)
        self._pending: dict[int, dict] = {}
        self._jsonl = open(os.path.join(log_dir, METRICS_JSONL), "a")

    def log_scalar(self, value: float, name: str, step: int) -> None:
        """Course signature: ``log_scalar(value, name, step)``."""
        self._pending.setdefault(int(step), {})[name] = float(value)

    def log_scalars(self, scalars: Mapping[str, float], step: int) -> None:
        for name, value in scalars.items():
            self.log_scalar(value, name, step)

    def log_video(self, frames: np.ndarray | Sequence[np.ndarray], name: str, step: int, fps: float = 10) -> str:
        """Log rollout videos side by side; returns the mp4's path.

        ``frames``: (n_videos, T, H, W, 3) uint8, or a list of n (T_i, H, W, 3)
        arrays (a shorter rollout holds its last frame). Writes
        ``videos/<name>_step<step>.mp4`` (n*W wide, ``fps``) and a smaller
        animated GIF (see ``media.encode_gif``) to TensorBoard under tag ``name``.
        """
        videos = [np.asarray(v, dtype=np.uint8) for v in frames]
        path = os.path.join(self.log_dir, VIDEO_DIR, f"{name.replace('/', '_')}_step{int(step)}.mp4")
        with ThreadPoolExecutor(max_workers=1) as pool:  # ffmpeg encodes the mp4 while we build the GIF
            mp4 = pool.submit(encode_mp4, iter_tiled(videos), path, fps)
            gif = encode_gif(iter_tiled(videos), fps)
            mp4.result()
        width, height = Image.open(io.BytesIO(gif)).size
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif)
        # SummaryWriter has no public add_summary; its file writer does (tensorboardX 2.6).
        self._writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=name, image=image)]), int(step))
        return path

    def log_paths_as_videos(self, paths: Sequence[dict], step: int, max_videos_to_save: int = 2, fps: float = 10,
                            video_title: str = "video") -> str | None:
        """Course signature: the ``image_obs`` (F, H, W, 3) of the first rendered paths as one video."""
        videos = [p["image_obs"] for p in paths if p.get("image_obs") is not None and len(p["image_obs"])]
        if not videos:
            return None
        return self.log_video(videos[:max_videos_to_save], video_title, step, fps)

    def dump(self) -> None:
        """Write the scalars gathered since the last dump as rows of the text files."""
        added = [{"step": step, **self._pending[step]} for step in sorted(self._pending)]
        events = self._writer._get_file_writer()  # one event a row, not one a scalar (tensorboardX 2.6)
        for row in added:
            self._jsonl.write(json.dumps(row, allow_nan=True) + "\n")
            events.add_summary(Summary(value=[Summary.Value(tag=name, simple_value=value)
                                              for name, value in row.items() if name != "step"]), row["step"])
        self._rows.extend(added)
        self._pending.clear()
        self._write_csv(added)

    def _write_csv(self, added: Sequence[dict] | None = None) -> None:
        """Append ``added`` to metrics.csv; rewrite it whole (atomically) if they bring a new key, or if
        ``added`` is None."""
        keys = list(dict.fromkeys([*self._csv_keys, *(k for row in (added or ()) for k in row)]))
        if added is not None and keys == self._csv_keys and self._csv is not None:
            if added:
                csv.DictWriter(self._csv, fieldnames=keys).writerows(added)
            return
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if not self._rows:
            return
        keys = list(dict.fromkeys(k for row in self._rows for k in row))  # in order of first appearance
        path = os.path.join(self.log_dir, METRICS_CSV)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self._rows)
        self._csv_keys = keys
        self._csv = open(path, "a", newline="")

    def flush(self, sync: bool = False) -> None:
        """Write the gathered rows; they reach the disk at most ``FLUSH_SECONDS`` later (a run may flush every
        step: a write per row cost more than the update it logs), or now with ``sync`` (a checkpoint does)."""
        self.dump()
        if sync or time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._jsonl.flush()
            if self._csv is not None:
                self._csv.flush()
            self._writer.flush()
            self._flushed = time.monotonic()

    def close(self) -> None:
        self.dump()
        self._writer.close()
        self._jsonl.close()
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _write_jsonl(path: str, rows: list[dict]) -> None:
    """Replace ``path`` by ``rows``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.writelines(json.dumps(row, allow_nan=True) + "\n" for row in rows)


def read_metrics(log_dir: str) -> list[dict]:
    """Rows of ``metrics.jsonl`` (a partly written last line is skipped)."""
    path = os.path.join(log_dir, METRICS_JSONL)
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows
