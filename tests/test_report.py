"""report.py: several sweeps on one queue, a report written from their runs, nothing rerun on a second call;
hw1's plan and its nested expert data."""
import os
import subprocess
import sys

import numpy as np
import pytest

from cs285.infrastructure.expert_data import load_expert_data
from cs285.reporting import report, report_hw1, sweep
from cs285.reporting.plotting import plot_curves
from cs285.reporting.report import Experiment, Prep, Section
from cs285.reporting.sweep import SweepSpec

from test_sweep import run_dirs, tiny  # noqa: F401  (the stand-in training script)

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "scripts")


def test_run_sweeps_runs_a_run_two_sweeps_share_once(tiny, data_dir):  # noqa: F811
    a = SweepSpec(tiny, ("--exp_name", "t"), ("lr=0.1,0.2",), (1,))
    b = SweepSpec(tiny, ("--exp_name", "t"), ("lr=0.2,0.3",), (1,))
    ra, rb = sweep.run_sweeps([a, b], jobs=2)
    assert len(run_dirs(data_dir)) == 3  # lr 0.1, 0.2, 0.3: the shared 0.2 ran once
    assert len(ra.dirs) == len(rb.dirs) == 2
    (shared,) = [run for run in ra.planned if "0.2" in run.argv]
    assert rb.dirs[rb.planned[0]] == ra.dirs[shared]
    again = sweep.run_sweeps([a, b], jobs=2)
    assert [len(r.skipped) for r in again] == [2, 2] and not any(r.succeeded for r in again)


def _write(section: Section) -> None:
    runs = section.runs()
    section.table(["lr", "final"], [[r.flags["lr"], f"{r.final():.2f}"] for r in runs])
    section.figure("curves", "tiny curves", lambda out: plot_curves(runs, out, x="step"))


def test_a_report_from_tiny_runs_and_a_second_call_that_runs_nothing(tiny, data_dir, tmp_path):  # noqa: F811
    prep_out = str(tmp_path / "inputs" / "made.txt")
    maker = tmp_path / "make_file.py"
    maker.write_text("import sys; open(sys.argv[sys.argv.index('--out') + 1], 'w').write('x')\n")
    exp = Experiment("tiny", "Tiny experiment", "a table and a figure",
                     [SweepSpec(tiny, ("--exp_name", "t"), ("lr=0.1,0.5",), (1, 2))], _write,
                     prepare=[Prep(str(maker), (), prep_out)])
    out_dir = tmp_path / "reports"
    path = report.build_report("tiny", "Tiny report", [exp], "report.py tiny", str(out_dir), jobs=2)
    text = open(path).read()
    assert os.path.exists(prep_out)
    assert "## Tiny experiment" in text and "(#tiny-experiment)" in text
    # lr 0.1 and 0.5, seeds 1 and 2: the tiny script's last Eval return is lr * 2 + seed
    for row in ("| 0.1 | 1.20 |", "| 0.1 | 2.20 |", "| 0.5 | 2.00 |", "| 0.5 | 3.00 |"):
        assert row in text
    assert "![tiny curves](figures/curves.png)" in text
    assert (out_dir / "figures" / "curves.png").stat().st_size > 1000
    assert (out_dir / "figures" / "curves.pdf").exists()
    assert "python scripts/sweep.py" in text and "--grid lr=0.1,0.5 --seeds 1 2" in text
    assert "4 runs, 4 of them run by this call" in text
    n_dirs = len(run_dirs(data_dir))
    again = open(report.build_report("tiny", "Tiny report", [exp], "report.py tiny", str(out_dir), jobs=2)).read()
    assert "4 runs, 0 of them run by this call" in again
    assert len(run_dirs(data_dir)) == n_dirs


def test_hw1_plan_covers_every_deliverable(data_dir):
    experiments = report_hw1.experiments([1, 2, 3])
    assert [e.key for e in experiments] == ["bc_table", "bc_hyper", "dagger", "bc_demos"]
    planned = {run.identity for e in experiments for s in e.sweeps
               for run in sweep.plan(sweep.resolve_script(s.script), s.args, sweep.parse_grid(s.grid), s.seeds)}
    n_tasks, n_seeds = len(report_hw1.TASKS), 3
    # BC table 4 tasks + learning rates on one task + DAgger on 2 tasks (its BC lines are the table's runs)
    # + BC on 7 data sizes on 4 tasks, each × 3 seeds
    expected = (n_tasks + len(report_hw1.LEARNING_RATES) + len(report_hw1.DAGGER_TASKS)
                + n_tasks * len(report_hw1.N_DEMOS)) * n_seeds
    assert len(planned) == expected == 120
    preps = [p for e in experiments for p in e.prepare]
    assert len(preps) == n_tasks * len(report_hw1.N_DEMOS)
    assert all(p.out.startswith(os.path.join(os.path.relpath(str(data_dir)), report.INPUTS_DIR)) or
               p.out.startswith(str(data_dir)) for p in preps)


def test_collect_expert_data_files_are_nested(tmp_path):
    """report_hw1 relies on it: the file of N trajectories is the first N of the file of 2N."""
    paths = {}
    for n in (1, 2):
        out = str(tmp_path / f"d{n}.pkl")
        subprocess.run([sys.executable, os.path.join(SCRIPTS, "collect_expert_data.py"), "--env", "Hopper-v4",
                        "--n_traj", str(n), "--out", out], check=True, capture_output=True)
        paths[n] = load_expert_data(out)
    assert len(paths[1]) == 1 and len(paths[2]) == 2
    for key in ("observation", "action", "reward"):
        np.testing.assert_array_equal(paths[1][0][key], paths[2][0][key])
    assert not np.array_equal(paths[2][0]["observation"][:5], paths[2][1]["observation"][:5])


def test_n_demos_is_read_back_from_the_data_file_name():
    run = report_hw1.Run(path="x", name="x", flags={"expert_data": report_hw1._demo_path("Hopper-v4", 16)})
    assert report_hw1._n_demos(run) == 16


@pytest.mark.parametrize("title, anchor", [("Behavioral cloning on four tasks", "behavioral-cloning-on-four-tasks"),
                                           ("BC and one hyperparameter: the learning rate",
                                            "bc-and-one-hyperparameter-the-learning-rate")])
def test_anchor_is_githubs(title, anchor):
    assert report._anchor(title) == anchor


def test_the_help_counts_the_runs_each_report_plans_and_its_dry_run_lines_paste():
    """scripts/report.py's --help says how many runs hw1, hw2, hw3 and hw5 plan with the default seeds: the plans
    hold that many, and every planned command reads ``python scripts/<script>.py`` with each flag once."""
    import collections
    import re
    import sys

    from cs285.reporting import report_hw1, report_hw2, report_hw3, report_hw5
    from cs285.reporting.sweep import parse_grid, plan, resolve_script, shell_command

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    import report as report_script

    said = {hw: int(n) for hw, n in re.findall(r"report\.py (hw\d) +# (\d+)", report_script.__doc__)}
    assert set(said) == {"hw1", "hw2", "hw3", "hw5"}
    for hw, experiments in (("hw1", report_hw1.experiments), ("hw2", report_hw2.experiments),
                            ("hw3", report_hw3.experiments), ("hw5", report_hw5.experiments)):
        runs = {}
        for spec in (s for e in experiments([1, 2, 3]) for s in e.sweeps):
            script = resolve_script(spec.script)
            for run in plan(script, spec.args, parse_grid(spec.grid), spec.seeds):
                runs[run.identity] = shell_command(script, run.argv)
        assert len(runs) == said[hw], hw
        for line in runs.values():
            assert re.match(r"python scripts/run_hw\d(_dqn|_sac|_explore|_offline|_finetune)?\.py ", line), line
            flags = collections.Counter(t for t in line.split() if t.startswith("--"))
            assert max(flags.values()) == 1, line
