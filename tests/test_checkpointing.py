"""checkpointing.RunCheckpoint: resume, config check, timed saves, SIGTERM, wall time, best kept."""
import os
import signal

import pytest
import torch

from cs285.trainers import checkpointing
from cs285.infrastructure import pytorch_util as ptu
from cs285.trainers.checkpointing import BEST, LATEST, PREVIOUS, RunCheckpoint
from cs285.infrastructure.errors import UserError

CONFIG = {"env": "Hopper-v4", "seed": 1, "total_steps": 100}


class FakeClock:
    """Stands in for time.monotonic; tests move it by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(checkpointing.time, "monotonic", c)
    return c


def test_fresh_run_then_resume_returns_saved_state(tmp_path):
    ckpt = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert not ckpt.resumed and ckpt.state is None
    with ckpt:
        ckpt.save({"step": 7, "weights": torch.arange(3.0)})
    again = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert again.resumed
    assert again.state["step"] == 7
    assert torch.equal(again.state["weights"], torch.arange(3.0))
    assert again.state["config"] == CONFIG
    assert not os.path.exists(os.path.join(tmp_path, LATEST + ".tmp"))  # atomic: temp file renamed


def test_config_mismatch_raises_naming_the_key(tmp_path):
    with RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5) as ckpt:
        ckpt.save({"step": 1})
    with pytest.raises(UserError, match="different seed.*another --out_dir"):
        RunCheckpoint(str(tmp_path), {**CONFIG, "seed": 2}, every_minutes=5)
    # keys outside compare_keys may change (a longer run resumes)
    longer = RunCheckpoint(str(tmp_path), {**CONFIG, "total_steps": 200}, 5, compare_keys=("env", "seed"))
    assert longer.resumed
    with pytest.raises(UserError, match="total_steps") as err:
        RunCheckpoint(str(tmp_path), {**CONFIG, "total_steps": 200}, every_minutes=5)  # None: all keys
    assert "\n" not in str(err.value)


def test_saved_defaults_stand_in_for_keys_old_checkpoints_lack(tmp_path):
    ptu.save_checkpoint({"config": CONFIG, "step": 3}, os.path.join(tmp_path, LATEST))  # before "algo" existed
    new = {**CONFIG, "algo": "sac"}
    assert RunCheckpoint(str(tmp_path), new, 5, compare_keys=("env", "algo"), saved_defaults={"algo": "sac"}).resumed
    with pytest.raises(UserError, match="algo"):
        RunCheckpoint(str(tmp_path), {**new, "algo": "ppo"}, 5, compare_keys=("env", "algo"),
                      saved_defaults={"algo": "sac"})


def test_maybe_save_writes_only_when_due(tmp_path, clock):
    calls = []

    def make_state():
        calls.append(clock.now)
        return {"step": len(calls)}

    with RunCheckpoint(str(tmp_path), CONFIG, every_minutes=2) as ckpt:
        clock.now += 119.0  # 1:59 < 2 minutes since entering: not due, make_state not even called
        assert not ckpt.maybe_save(make_state)
        assert calls == [] and not os.path.exists(os.path.join(tmp_path, LATEST))
        clock.now += 1.0  # 2:00: due
        assert ckpt.maybe_save(make_state)
        assert ptu.load_checkpoint(os.path.join(tmp_path, LATEST))["step"] == 1
        clock.now += 60.0  # 1 minute after that save: not due
        assert not ckpt.maybe_save(make_state)
        ckpt.save(make_state())  # save always writes, and restarts the interval
        clock.now += 119.0
        assert not ckpt.maybe_save(make_state)
        clock.now += 1.0
        assert ckpt.maybe_save(make_state)
    assert len(calls) == 3
    assert ptu.load_checkpoint(os.path.join(tmp_path, LATEST))["step"] == 3


def test_sigterm_sets_stop_requested_and_handlers_are_restored(tmp_path):
    seen = []

    def previous(signum, frame):
        seen.append(signum)

    old = signal.signal(signal.SIGTERM, previous)
    sigint_before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN under nohup / in CI
    try:
        with RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5) as ckpt:
            assert not ckpt.stop_requested
            os.kill(os.getpid(), signal.SIGTERM)  # Python runs the handler before the next bytecode
            assert ckpt.stop_requested
            assert signal.getsignal(signal.SIGINT) == ckpt._on_signal
        assert seen == []  # the previous handler did not run inside the context
        assert signal.getsignal(signal.SIGTERM) is previous
        assert signal.getsignal(signal.SIGINT) is sigint_before
    finally:
        signal.signal(signal.SIGTERM, old)


def test_wall_seconds_accumulate_across_resume(tmp_path, clock):
    first = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    clock.now += 50.0  # setup before the loop: not training time
    with first:
        clock.now += 30.0
        assert first.wall_seconds() == 30.0
        first.save({"step": 1})
    clock.now += 3600.0  # the run is down for an hour
    second = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert second.state["wall_seconds"] == 30.0
    with second:
        clock.now += 12.0
        assert second.wall_seconds() == 30.0 + 12.0
        second.save({"step": 2})
    assert RunCheckpoint(str(tmp_path), CONFIG, 5).state["wall_seconds"] == 42.0


def test_save_best_keeps_the_best_only_and_persists_it(tmp_path):
    best_path = os.path.join(tmp_path, BEST)
    built = []

    def policy(tag):
        def make():
            built.append(tag)
            return {"tag": tag}
        return make

    with RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5) as ckpt:
        assert ckpt.best_score == float("-inf")
        assert ckpt.save_best({"tag": "a"}, 10.0) == 10.0
        assert ckpt.save_best(policy("b"), 5.0) == 10.0  # worse: not written, not even built
        assert built == []
        assert ptu.load_checkpoint(best_path)["tag"] == "a"
        assert ckpt.save_best(policy("c"), 12.5) == 12.5
        assert built == ["c"]
        saved = ptu.load_checkpoint(best_path)
        assert (saved["tag"], saved["score"], saved["config"]) == ("c", 12.5, CONFIG)
        ckpt.save({"step": 1})
    resumed = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert resumed.best_score == 12.5  # persisted in checkpoint_latest.pt
    assert resumed.save_best({"tag": "d"}, 11.0) == 12.5
    assert ptu.load_checkpoint(best_path)["tag"] == "c"


# ---- a damaged checkpoint, and the previous one ----------------------------------------------------------

def _save_steps(out_dir, *steps):
    with RunCheckpoint(str(out_dir), CONFIG, every_minutes=5) as ckpt:
        for step in steps:
            ckpt.save({"step": step, "weights": torch.full((64,), float(step))})


def test_each_save_keeps_the_one_before_as_previous(tmp_path):
    _save_steps(tmp_path, 10)
    assert not os.path.exists(os.path.join(tmp_path, PREVIOUS))  # nothing to keep yet
    _save_steps(tmp_path, 20, 30)
    assert ptu.load_checkpoint(os.path.join(tmp_path, LATEST))["step"] == 30
    assert ptu.load_checkpoint(os.path.join(tmp_path, PREVIOUS))["step"] == 20
    assert sorted(os.listdir(tmp_path)) == [LATEST, PREVIOUS]  # no temp files left


def test_truncated_latest_is_one_line_naming_the_file_the_fix_and_the_step(tmp_path):
    _save_steps(tmp_path, 20, 30)
    latest = os.path.join(tmp_path, LATEST)
    with open(latest, "r+b") as f:
        f.truncate(os.path.getsize(latest) // 2)  # a copy cut short
    with pytest.raises(UserError) as err:
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"cannot load {latest}: it is truncated or corrupt"), message
    assert f"`mv {latest} {latest}.bad` and re-run: the run resumes from {PREVIOUS} at step 20" in message
    assert f"delete {tmp_path} to start over" in message


def test_moved_aside_latest_resumes_from_previous(tmp_path, capsys):
    _save_steps(tmp_path, 20, 30)
    latest = os.path.join(tmp_path, LATEST)
    with open(latest, "wb"):
        pass  # emptied
    with pytest.raises(UserError, match="it is empty"):
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    os.rename(latest, latest + ".bad")  # what the message says to do
    ckpt = RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert ckpt.resumed and ckpt.state["step"] == 20
    assert torch.equal(ckpt.state["weights"], torch.full((64,), 20.0))
    assert ckpt.resumed_from == os.path.join(tmp_path, PREVIOUS) == checkpointing.resume_path(str(tmp_path))
    assert f"resuming from {PREVIOUS}" in capsys.readouterr().err
    with ckpt:
        ckpt.save({"step": 21})  # no latest to move: the previous one stays
    assert ptu.load_checkpoint(latest)["step"] == 21
    assert ptu.load_checkpoint(os.path.join(tmp_path, PREVIOUS))["step"] == 20


def test_damaged_checkpoint_without_a_usable_previous_says_to_start_over(tmp_path):
    latest = os.path.join(tmp_path, LATEST)
    with open(latest, "wb") as f:
        f.write(b"not a checkpoint at all" * 10)
    with pytest.raises(UserError) as err:
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    assert str(err.value) == (f"cannot load {latest}: it is truncated or corrupt (230 bytes, not a complete torch "
                              f"zip archive); no earlier checkpoint to resume from: delete {tmp_path} to start over")
    with open(os.path.join(tmp_path, PREVIOUS), "wb") as f:
        f.write(b"")
    with pytest.raises(UserError, match=f"; {PREVIOUS} cannot be read either; no earlier checkpoint"):
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)


def test_a_complete_file_that_is_no_checkpoint_is_named(tmp_path):
    ptu.save_checkpoint([1, 2, 3], os.path.join(tmp_path, LATEST))
    with pytest.raises(UserError, match="it holds a list, not a checkpoint's dict"):
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
    torch.save({"step": 1, "opener": open}, os.path.join(tmp_path, LATEST))  # code: refused by a weights-only load
    with pytest.raises(UserError, match="it holds objects other than tensors, arrays and plain values"):
        RunCheckpoint(str(tmp_path), CONFIG, every_minutes=5)
