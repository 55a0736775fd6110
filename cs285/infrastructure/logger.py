"""The one logger: TensorBoard (tensorboardX) plus plain-text copies in the run dir.

Every scalar goes to three places:
- the TensorBoard event file (``tensorboard --logdir data``),
- ``metrics.jsonl``: one JSON object per logged step ``{"step": ..., key: value, ...}``,
- ``metrics.csv``: the same rows as a table (rewritten when new keys appear),
so grading and plotting never need TensorBoard's reader.
"""
from __future__ import annotations

import csv
import json
import os
from typing import Mapping

from tensorboardX import SummaryWriter

METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"


class Logger:
    def __init__(self, log_dir: str):
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self._writer = SummaryWriter(log_dir, flush_secs=10, max_queue=1000)
        self._rows: list[dict] = []
        self._pending: dict[int, dict] = {}
        self._jsonl = open(os.path.join(log_dir, METRICS_JSONL), "a", buffering=1)

    def log_scalar(self, value: float, name: str, step: int) -> None:
        """Course signature: ``log_scalar(value, name, step)``."""
        value = float(value)
        self._writer.add_scalar(name, value, step)
        self._pending.setdefault(int(step), {})[name] = value

    def log_scalars(self, scalars: Mapping[str, float], step: int) -> None:
        for name, value in scalars.items():
            self.log_scalar(value, name, step)

    def dump(self) -> None:
        """Write the scalars gathered since the last dump as rows of the text files."""
        for step in sorted(self._pending):
            row = {"step": step, **self._pending[step]}
            self._jsonl.write(json.dumps(row, allow_nan=True) + "\n")
            self._rows.append(row)
        self._pending.clear()
        self._write_csv()

    def _write_csv(self) -> None:
        if not self._rows:
            return
        keys: list[str] = []
        for row in self._rows:
            keys += [k for k in row if k not in keys]
        tmp = os.path.join(self.log_dir, METRICS_CSV + ".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self._rows)
        os.replace(tmp, os.path.join(self.log_dir, METRICS_CSV))

    def flush(self) -> None:
        self.dump()
        self._writer.flush()
        self._jsonl.flush()

    def close(self) -> None:
        self.flush()
        self._writer.close()
        self._jsonl.close()

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(log_dir: str) -> list[dict]:
    """Rows of ``metrics.jsonl`` (a partly written last line is skipped)."""
    rows = []
    path = os.path.join(log_dir, METRICS_JSONL)
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows.append(row)
    return rows
