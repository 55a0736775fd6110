"""hw5's three scripts end to end on tiny budgets: explore writes a dataset that offline and finetune read;
run dirs, logged keys and figures; resume; one-line refusals."""
import os
import re
import sys

import numpy as np
import pytest

from cs285.infrastructure.datasets import load_dataset
from cs285.infrastructure.errors import UserError
from cs285.trainers import hw5_cli
from cs285.trainers.run_config import is_finished

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from test_resume import only_dir, rows_of, stopped_then_resumed  # noqa: E402

EXPLORE = """\
base_config: rnd
env_name: PointmassEasy-v0
exp_name: tiny_rnd
rnd_weight: 1.0
dataset_name: tiny_rnd
total_steps: 300
batch_size: 16
hidden_size: 16
rnd_network_hidden_size: 16
"""
OFFLINE = """\
base_config: cql
env_name: PointmassEasy-v0
exp_name: tiny_cql
training_steps: 200
dataset_name: tiny_rnd
batch_size: 16
hidden_size: 16
"""
FINETUNE = OFFLINE.replace("training_steps: 200", "total_steps: 250\noffline_steps: 150")
FLAGS = ["-ei", "100", "-neval", "2", "--log_interval", "10"]


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


class Module:  # what stopped_then_resumed calls: parse_args(argv) and run(args, seed)
    def __init__(self, kind):
        self.kind = kind

    def parse_args(self, argv):
        return hw5_cli.parse_args(self.kind, argv)

    run = staticmethod(hw5_cli.run_hw5)


def explore(tmp_path, monkeypatch, text=EXPLORE, *flags):
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    args = hw5_cli.parse_args("explore", ["-cfg", write(tmp_path, "explore", text), "--dataset_dir",
                                          str(tmp_path / "sets"), *FLAGS, *flags])
    return hw5_cli.run_hw5(args, 1)


def test_explore_writes_the_dataset_and_offline_and_finetune_read_it(tmp_path, monkeypatch):
    explore(tmp_path, monkeypatch)
    run_dir = only_dir(tmp_path / "data")
    assert re.fullmatch(r"hw5_explore_PointmassEasy-v0_rnd1.0_\d{2}-\d{2}-\d{4}_\d{2}-\d{2}-\d{2}",
                        os.path.basename(run_dir))
    for f in ("DONE", "state_coverage.png", "eval_trajectories_0.png", "eval_trajectories_299.png"):
        assert os.path.isfile(os.path.join(run_dir, f)), f
    rows = rows_of(run_dir)
    assert {"critic_loss", "q_values", "target_values", "grad_norm", "rnd_loss"} <= set(rows[1])
    assert 0 < next(r["coverage"] for r in rows if "coverage" in r) <= 1  # -vi 1000: logged at step 0
    batch, header = load_dataset(str(tmp_path / "sets" / "tiny_rnd.npz"))
    assert len(batch.rewards) == 300 and header["env_id"] == "PointmassEasy-v0" and header["seed"] == 1
    assert set(np.unique(batch.rewards)) <= {-1.0, 0.0}  # the env's rewards are stored, not the zeroed ones
    assert (tmp_path / "sets" / "tiny_rnd_coverage.png").is_file()

    from cs285.reporting.grading import load_run

    graded = load_run(run_dir)
    assert (graded.algorithm, graded.return_key, graded.env_steps_key, graded.status) == \
        ("rnd", "eval_return", "step", "ok")

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "offline"))
    args = hw5_cli.parse_args("offline", ["-cfg", write(tmp_path, "offline", OFFLINE), "--dataset_dir",
                                          str(tmp_path / "sets"), *FLAGS])
    hw5_cli.run_hw5(args, 1)
    offline_dir = only_dir(tmp_path / "offline")
    assert os.path.basename(offline_dir).startswith("hw5_offline_PointmassEasy-v0_cql1.0_") and is_finished(offline_dir)
    rows = rows_of(offline_dir)
    assert [r["step"] for r in rows if "eval_return" in r] == [0, 100, 199]
    assert "train_return" not in {k for r in rows for k in r}  # no env step but evaluation

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "finetune"))
    args = hw5_cli.parse_args("finetune", ["-cfg", write(tmp_path, "finetune", FINETUNE), "--dataset_dir",
                                           str(tmp_path / "sets"), *FLAGS])
    hw5_cli.run_hw5(args, 1)
    rows = rows_of(only_dir(tmp_path / "finetune"))
    episodes = [r["step"] for r in rows if "train_return" in r]
    assert episodes and min(episodes) >= 150  # env steps only after offline_steps


def test_the_random_agent_explores_at_random(tmp_path, monkeypatch):
    text = "base_config: random\nenv_name: PointmassEasy-v0\nexp_name: r\ndataset_name: tiny_random\ntotal_steps: 200\n"
    explore(tmp_path, monkeypatch, text)
    batch, _ = load_dataset(str(tmp_path / "sets" / "tiny_random.npz"))
    assert len(batch.rewards) == 200 and set(np.unique(batch.actions)) == {0, 1, 2, 3, 4}
    assert os.path.basename(only_dir(tmp_path / "data")).startswith("hw5_explore_PointmassEasy-v0_random_")


def test_an_explore_run_resumes_to_the_numbers_of_a_run_never_stopped(tmp_path, monkeypatch):
    from cs285.agents.rnd_agent import RNDAgent

    argv = ["-cfg", write(tmp_path, "explore", EXPLORE), "--dataset_dir", str(tmp_path / "sets"), *FLAGS]
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, Module("explore"), argv, RNDAgent, 120)
    # the rows before the stop are identical; after it the episode in progress restarted (off_policy.py)
    before = [r for r in whole if r["step"] < 120]
    assert [r for r in resumed if r["step"] < 120] == before
    assert sorted({r["step"] for r in resumed if "eval_return" in r}) == [0, 100, 200, 299]


def test_refusals_are_one_line(tmp_path, monkeypatch):
    def refused(kind, text, *flags):
        monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
        with pytest.raises(UserError) as e:
            args = hw5_cli.parse_args(kind, ["-cfg", write(tmp_path, kind, text), "--dataset_dir",
                                             str(tmp_path / "sets"), *flags])
            hw5_cli.run_hw5(args, 1)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "no dataset tiny_rnd.npz" in refused("offline", OFFLINE)
    assert "needs training_steps" in refused("offline", OFFLINE.replace("training_steps: 200\n", ""))
    assert "random agent does not learn" in refused(
        "offline", "base_config: random\nenv_name: PointmassEasy-v0\ndataset_name: d\ntotal_steps: 10\n")
    assert "--eval_interval must be" in refused("explore", EXPLORE, "-ei", "0")
    explore(tmp_path, monkeypatch)
    assert "holds PointmassEasy-v0 steps" in refused("offline", OFFLINE.replace("PointmassEasy", "PointmassHard"))
