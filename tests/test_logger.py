"""The logger's copies: metrics.csv grows by appending and is rewritten whole only for a new key; a flush
reaches the disk at most every FLUSH_SECONDS unless synced; TensorBoard gets every scalar."""
import csv
import json
import os

from cs285.infrastructure.logger import METRICS_CSV, METRICS_JSONL, Logger


def table(log_dir):
    with open(os.path.join(log_dir, METRICS_CSV), newline="") as f:
        return list(csv.DictReader(f))


def test_csv_appends_rows_and_is_rewritten_for_a_new_key(tmp_path):
    logger = Logger(str(tmp_path))
    path = os.path.join(str(tmp_path), METRICS_CSV)
    logger.log_scalars({"a": 1.0}, 0)
    logger.flush(sync=True)
    inode = os.stat(path).st_ino
    for step in (1, 2):
        logger.log_scalars({"a": float(step)}, step)
        logger.flush(sync=True)
    assert os.stat(path).st_ino == inode  # appended: the same file
    assert [r["a"] for r in table(tmp_path)] == ["1.0", "1.0", "2.0"]
    logger.log_scalars({"a": 3.0, "b": 5.0}, 3)
    logger.flush(sync=True)
    assert os.stat(path).st_ino != inode  # a new column: written again, atomically
    rows = table(tmp_path)
    assert list(rows[0]) == ["step", "a", "b"] and [r["b"] for r in rows] == ["", "", "", "5.0"]
    logger.log_scalars({"b": 6.0}, 4)
    logger.close()
    rows = table(tmp_path)
    assert [(r["step"], r["a"], r["b"]) for r in rows][-1] == ("4", "", "6.0")
    with open(os.path.join(str(tmp_path), METRICS_JSONL)) as f:
        assert [json.loads(line)["step"] for line in f] == [0, 1, 2, 3, 4]

    resumed = Logger(str(tmp_path), resume_step=2)  # a resume drops rows from step 2 on, in both files
    resumed.log_scalars({"a": 9.0}, 2)
    resumed.close()
    assert [(r["step"], r["a"]) for r in table(tmp_path)] == [("0", "1.0"), ("1", "1.0"), ("2", "9.0")]


def test_flush_reaches_the_disk_when_synced_or_due_and_tensorboard_gets_every_scalar(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from cs285.infrastructure import logger as logger_module
    clock = [100.0]
    monkeypatch.setattr(logger_module.time, "monotonic", lambda: clock[0])
    logger = Logger(str(tmp_path))
    jsonl = os.path.join(str(tmp_path), METRICS_JSONL)
    logger.log_scalars({"a": 1.0, "b": -2.0}, 0)
    logger.flush()
    assert os.path.getsize(jsonl) == 0  # written, not yet due
    clock[0] += logger_module.FLUSH_SECONDS
    logger.log_scalars({"a": 2.0, "b": float("nan")}, 1)
    logger.flush()
    with open(jsonl) as f:
        assert [json.loads(line)["a"] for line in f] == [1.0, 2.0]
    logger.log_scalar(3.0, "a", 2)
    logger.flush(sync=True)
    with open(jsonl) as f:
        assert len(f.readlines()) == 3
    logger.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("a")] == [(0, 1.0), (1, 2.0), (2, 3.0)]
    b = events.Scalars("b")
    assert [e.step for e in b] == [0, 1] and b[0].value == -2.0 and b[1].value != b[1].value  # NaN kept
