"""grade.py: rows checked against real hw1 runs' metrics files; broken dirs get a status, not a crash."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cs285.reporting import grading
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.expert_data import load_expert_data
from cs285.infrastructure.logger import read_metrics
from cs285.trainers.run_config import mark_finished
from cs285.infrastructure.utils import path_returns

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw1  # noqa: E402

GRADE = os.path.join(os.path.dirname(__file__), "..", "scripts", "grade.py")


def fake_run(root, name, flags, rows, done=True, tail=""):
    """A run dir written by hand: config.json, metrics.jsonl (+ ``tail`` unterminated), DONE."""
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"flags": flags}))
    (d / "metrics.jsonl").write_text("".join(json.dumps({"step": i, **r}) + "\n" for i, r in enumerate(rows)) + tail)
    if done:
        mark_finished(str(d))
    return d


def hw1_args(policy, data, *extra):
    return run_hw1.parse_args(["--env", "Hopper-v4", "-epf", policy, "-ed", data, "--ep_len", "40",
                               "--num_agent_train_steps_per_iter", "20", "--batch_size", "60",
                               "--eval_batch_size", "40", "--video_log_freq", "-1", *extra])


def test_grades_real_hw1_runs_as_their_metrics_say(data_dir, hopper_expert):
    policy, data = hopper_expert
    run_hw1.run(hw1_args(policy, data), seed=1)
    run_hw1.run(hw1_args(policy, data, "--do_dagger", "-n", "2"), seed=1)
    expert = float(np.mean(path_returns(load_expert_data(data))))

    rows = {r.algorithm: r for r in grading.grade([str(data_dir)])}
    assert set(rows) == {"bc", "dagger"}
    for algo, row in rows.items():
        metrics = read_metrics(row.path)
        last = metrics[-1]
        assert row.status == "ok" and row.env == "Hopper-v4"
        assert row.run.startswith("q1_bc_Hopper-v4_" if algo == "bc" else "q2_dagger_Hopper-v4_")
        assert row.iterations == row.n_iter == len(metrics) == (1 if algo == "bc" else 2)
        assert row.final_return == last["Eval_AverageReturn"] and row.final_std == last["Eval_StdReturn"]
        assert row.env_steps == last["Train_EnvstepsSoFar"]
        assert row.expert_return == pytest.approx(metrics[0]["Initial_DataCollection_AverageReturn"])
        assert row.expert_return == pytest.approx(expert, rel=1e-5)
        assert row.percent_of_expert == pytest.approx(100 * last["Eval_AverageReturn"] / expert, rel=1e-5)
    bc, dagger = rows["bc"], rows["dagger"]
    assert "30%" in bc.bar and "course" in bc.bar and bc.bar_value == bc.percent_of_expert
    assert bc.passed == (bc.percent_of_expert >= 30)
    assert dagger.bar is None and dagger.passed is None and dagger.env_steps > 0

    # The script: --json gives the same rows; a missing path is one line and exit 2.
    out = subprocess.run([sys.executable, GRADE, str(data_dir), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    by_run = {r["run"]: r for r in json.loads(out.stdout)}
    assert by_run[bc.run]["final_return"] == bc.final_return and by_run[dagger.run]["algorithm"] == "dagger"
    out = subprocess.run([sys.executable, GRADE, str(data_dir), str(data_dir / "nope*")], capture_output=True,
                         text=True)
    assert out.returncode == 2 and out.stderr.strip() == f"error: no such run dir or folder: {data_dir}/nope*"
    table = grading.format_table(list(rows.values()))
    assert bc.run in table and dagger.run in table and "% expert" in table


def test_broken_and_foreign_dirs_get_a_status_row(tmp_path):
    root = tmp_path / "data"
    (root / "q1_bc_Ant-v4_01-01-2026_00-00-00").mkdir(parents=True)  # made, nothing written yet
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("x")
    (root / "README.md").write_text("not a dir: left out")
    (root / ".sweep_logs").mkdir()  # hidden: left out
    row = {"Eval_AverageReturn": 10.0, "Eval_StdReturn": 1.0, "Train_EnvstepsSoFar": 5}
    fake_run(root, "q2_dagger_Ant-v4_01-01-2026_00-00-01", {"env_name": "Ant-v4", "do_dagger": True, "n_iter": 5},
             [row, {**row, "Eval_AverageReturn": 20.0}], done=False, tail='{"step": 2, "Eval_Av')
    fake_run(root, "q1_bc_Ant-v4_01-01-2026_00-00-02", {}, [row])
    (root / "q1_bc_Ant-v4_01-01-2026_00-00-02" / "config.json").write_text("{broken")

    rows = {r.run: r for r in grading.grade([str(root)])}
    assert set(rows) == {"q1_bc_Ant-v4_01-01-2026_00-00-00", "notes", "q2_dagger_Ant-v4_01-01-2026_00-00-01",
                         "q1_bc_Ant-v4_01-01-2026_00-00-02"}
    empty = rows["q1_bc_Ant-v4_01-01-2026_00-00-00"]
    assert empty.status == "no metrics" and empty.final_return is None and empty.env == "Ant-v4"
    assert rows["notes"].status == "not a run" and rows["notes"].algorithm == "-"
    partial = rows["q2_dagger_Ant-v4_01-01-2026_00-00-01"]
    assert partial.status == "incomplete 2/5; last line partial"
    assert partial.final_return == 20.0 and partial.iterations == 2 and partial.algorithm == "dagger"
    bad = rows["q1_bc_Ant-v4_01-01-2026_00-00-02"]
    assert bad.status == "bad config.json" and bad.algorithm == "bc" and bad.final_return == 10.0
    table = grading.format_table(list(rows.values()))
    assert "not a run" in table and "last line partial" in table
    assert json.loads(grading.rows_as_json(list(rows.values())))[0]["run"]

    with pytest.raises(UserError, match="no such run dir"):
        grading.grade([str(tmp_path / "missing")])
    with pytest.raises(UserError, match="no such run dir"):
        grading.grade([str(root / "q9_*")])


def test_pg_algorithms_bars_and_shipped_expert(tmp_path, monkeypatch):
    root = tmp_path / "data"
    pg = {"use_reward_to_go": True, "normalize_advantages": False, "use_baseline": True, "gae_lambda": None,
          "n_iter": 6}
    returns = [{"Eval_AverageReturn": v, "Eval_StdReturn": 0.0} for v in (0, 290, 290, 290, 290, 320)]
    # last 5: (290 * 4 + 320) / 5 = 296, not > 300, though the final 320 is
    fake_run(root, "q2_pg_hc_HalfCheetah-v4_01-01-2026_00-00-00", {**pg, "env_name": "HalfCheetah-v4"}, returns)
    fake_run(root, "q2_pg_hcnb_HalfCheetah-v4_01-01-2026_00-00-00",
             {**pg, "env_name": "HalfCheetah-v4", "use_baseline": False}, returns)
    lunar = [{"Eval_AverageReturn": 100.0 + 10 * i} for i in range(12)]  # last 10: 120..210, mean 165
    fake_run(root, "q2_pg_ll_LunarLander-v2_01-01-2026_00-00-00",
             {**pg, "env_name": "LunarLander-v2", "gae_lambda": 0.98, "normalize_advantages": True, "n_iter": 12},
             lunar)
    fake_run(root, "q2_pg_cp_CartPole-v0_01-01-2026_00-00-00",
             {**pg, "env_name": "CartPole-v0", "use_baseline": False, "n_iter": 1}, [{"Eval_AverageReturn": 200.0}])

    # A shipped expert for HalfCheetah: 2 paths of returns 3 and 5 -> expert 4.
    from cs285.infrastructure.expert_data import save_expert_data
    expert_file = tmp_path / "expert_data_HalfCheetah-v4.pkl"
    save_expert_data(expert_file, [{"observation": np.zeros((2, 3)), "action": np.zeros((2, 1)),
                                    "reward": np.array([1.0, r - 1.0]), "next_observation": np.zeros((2, 3)),
                                    "terminal": np.array([0, 1])} for r in (3.0, 5.0)])
    monkeypatch.setattr(grading, "default_expert_data",
                        lambda env: str(expert_file) if env == "HalfCheetah-v4" else str(tmp_path / "none.pkl"))

    rows = {r.run.split("_")[2]: r for r in grading.grade([str(root)])}
    hc, hcnb, ll, cp = rows["hc"], rows["hcnb"], rows["ll"], rows["cp"]
    assert hc.algorithm == "pg+rtg+baseline" and hcnb.algorithm == "pg+rtg" and ll.algorithm == "pg+rtg+na+baseline+gae"
    assert hc.bar_value == pytest.approx(296.0) and hc.passed is False and hc.final_return == 320
    assert hc.expert_return == pytest.approx(4.0) and hc.percent_of_expert == pytest.approx(8000.0)
    assert hcnb.bar is None and hcnb.passed is None
    assert ll.bar_value == pytest.approx(165.0) and ll.passed is False and ll.expert_return is None
    assert cp.passed is True and "200" in cp.bar
