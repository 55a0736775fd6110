"""report_hw5: the plan (the course's configs and the handout's ablations, run counts, pasteable commands, the
exploration runs a stage before the runs that read their datasets), wall times, and every section drawn
from hand-made hw5 run dirs (config.json as the hw5 scripts save it, metrics.jsonl keyed by step, DONE)."""
import collections
import json
import os
import re

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (pip install -e '.[plot]')")

from cs285.envs.pointmass_oracle import OracleReturns  # noqa: E402
from cs285.infrastructure.datasets import save_dataset  # noqa: E402
from cs285.infrastructure.rollouts import Batch  # noqa: E402
from cs285.reporting import report, report_hw5, sweep  # noqa: E402
from cs285.reporting.grading import load_run  # noqa: E402
from cs285.reporting.report import FIGURES  # noqa: E402
from cs285.trainers import hw5_cli  # noqa: E402
from cs285.trainers.run_config import mark_finished  # noqa: E402

KEYS = ["exploration", "cql_dqn", "cql_alpha", "awac_iql", "data_size", "finetune", "all_configs"]


def test_the_plan_holds_each_deliverable_with_pasteable_commands_explorations_first(data_dir, capsys):
    experiments = report_hw5.experiments([1, 2, 3])
    assert [e.key for e in experiments] == KEYS
    counts = {e.key: len({run.identity for s in e.sweeps for run in s.planned()}) for e in experiments}
    # 3 seeds for CQL against DQN (4 configs) and fine-tuning; seed 1 for the rest; the 16 course configs once
    assert counts == {"exploration": 6, "cql_dqn": 12, "cql_alpha": 4, "awac_iql": 6, "data_size": 8,
                      "finetune": 6, "all_configs": 16}
    unique = {run.identity for e in experiments for s in e.sweeps for run in s.planned()}
    assert len(unique) == 39  # 9 explorations, 24 offline runs, 6 fine-tunings
    for e in experiments:
        for s in e.sweeps:
            assert s.stage == (0 if s.script == report_hw5.EXPLORE else 1)
            for run in s.planned():  # every config the plan names exists
                assert os.path.isfile(run.argv[run.argv.index("--config_file") + 1])

    report.build_report("hw5", "hw5", experiments, "report.py hw5 --dry-run", str(data_dir / "out"), jobs=2,
                        dry_run=True)
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("python ")]
    assert len(commands) == 39
    first_offline = next(i for i, c in enumerate(commands) if "run_hw5_explore.py" not in c)
    assert all("run_hw5_explore.py" in c for c in commands[:first_offline]) and first_offline == 9
    for line in commands:
        command = line.partition("  # ")[0]
        assert re.match(r"python scripts/run_hw5_(explore|offline|finetune)\.py --dataset_dir datasets ", command)
        assert max(collections.Counter(t for t in command.split() if t.startswith("-")).values()) == 1, line


def test_wall_seconds_from_the_done_line_or_the_start_and_done_times(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"flags": {}, "started": "2026-12-07 19:07:21"}))
    (d / "metrics.jsonl").write_text("")
    assert report_hw5.wall_seconds(load_run(str(d))) is None  # not finished
    (d / "DONE").write_text("2026-12-07 19:11:46\n")
    assert report_hw5.wall_seconds(load_run(str(d))) == 265.0
    (d / sweep.RUN_LOG).write_text("100%|...|\n\nDone in 251.5s. Final eval_return -30.0 | data/x\n")
    assert report_hw5.wall_seconds(load_run(str(d))) == 251.5
    (d / sweep.RUN_LOG).unlink()
    (d / "config.json").write_text(json.dumps({"flags": {}, "started": "2026-12-07 19:07:21",
                                               "resumed": ["2026-12-07 21:00:00"]}))
    assert report_hw5.wall_seconds(load_run(str(d))) is None  # a resumed run's gap is no training


def fake_hw5_run(data, run, script, tag):
    """A finished run dir for planned ``run``: config.json with the script's flags and the resolved YAML,
    evaluations every 10k steps (eval_return −100 + step / 2000 + seed), a q_values row between; an
    exploration run also logs coverage at its end."""
    module = sweep.load_script(sweep.resolve_script(script))
    args = module.parse_args(list(run.argv))
    flags = {**vars(args), "seed": run.seed}
    experiment = hw5_cli.load_config(args)
    total = experiment.get("training_steps") or experiment["total_steps"]
    d = data / f"hw5_{args.kind}_{run.exp_name}_{tag:02d}_01-01-2026_00-00-00"
    d.mkdir(parents=True)
    command = sweep.shell_command(sweep.resolve_script(script), run.argv)
    (d / "config.json").write_text(json.dumps({"flags": flags, "experiment": experiment, "command": command,
                                               "started": "2026-01-01 00:00:00"}))
    rows = []
    for step in [*range(0, total, 10_000), total - 1]:
        rows.append({"step": step, "eval_return": -100 + step / 2000 + run.seed, "eval/return_std": 1.0})
        rows.append({"step": step + 1, "q_values": -step / 10_000, "critic_loss": 0.1})
    if args.kind == "explore":
        rows.append({"step": total, "coverage": 0.5 + 0.01 * tag, "visitation_entropy": 0.8})
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["step"] <= total))
    (d / sweep.RUN_LOG).write_text(f"Done in {10.0 * tag:.1f}s. Final eval_return -30.0 | {d}\n")
    mark_finished(str(d))
    return experiment


def test_every_section_is_drawn_from_fake_runs_and_datasets(data_dir, tmp_path, monkeypatch):
    experiments = report_hw5.experiments([1])
    datasets = tmp_path / "datasets"
    monkeypatch.setattr(report_hw5, "DATASETS", str(datasets))
    monkeypatch.setattr(report_hw5, "ceilings", lambda env: (OracleReturns(-38.55, -29.0, [-38.55]),
                                                             OracleReturns(-33.1, -24.0, [-33.1])))
    rng = np.random.default_rng(0)
    tag, seen = 0, set()
    for spec in (s for e in experiments for s in e.sweeps):
        for run in spec.planned():
            if run.identity in seen:
                continue
            seen.add(run.identity)
            tag += 1
            experiment = fake_hw5_run(data_dir, run, spec.script, tag)
            if spec.script == report_hw5.EXPLORE:
                n = 50
                obs = rng.uniform(0, 1, (n, 2)).astype(np.float32)
                steps = Batch(obs, np.zeros(n, np.int64), -np.ones(n, np.float32), obs, np.zeros(n, bool),
                              np.zeros(n, bool))
                save_dataset(str(datasets / experiment["dataset_name"]), steps, env_id=experiment["env_name"], seed=1)
    monkeypatch.setattr(report, "run_sweeps", lambda specs, *a, **k: sweep.run_sweeps(specs, dry_run=True))
    out = tmp_path / "report"
    text = open(report.build_report("hw5", "hw5", experiments, "report.py hw5 --seeds 1", str(out))).read()
    assert "27 runs, 0 of them run by this call" in text and "did not finish" not in text
    for name in ("exploration_visitation", "cql_dqn_medium", "cql_dqn_medium_q_values", "cql_dqn_hard",
                 "cql_dqn_hard_q_values", "cql_alpha_returns", "cql_alpha_q_values", "awac_iql_hard", "iql_medium",
                 "data_size", "finetune"):
        assert f"](figures/{name}.png)" in text, name
        assert (out / FIGURES / f"{name}.png").stat().st_size > 1000, name
    assert text.count("<summary>Commands</summary>") == len(KEYS) and "not drawn" not in text
    # a 100k-step offline run ends at step 99999: eval_return −100 + 99999 / 2000 + 1 = −49.0; its last 5
    # evaluations at 60k ... 90k and 99999: mean −100 + (60000 + 70000 + 80000 + 90000 + 99999) / 5 / 2000 + 1
    assert "| pointmass_medium_dqn | 1 | -49.0 | -59.0 | -49.0 | -10.00 |" in text
    assert "| pointmass_medium_cql_alpha10 | 1 | -49.0 | -59.0 | -49.0 | 10 |" in text
    assert "| pointmass_medium_cql_1k | 1 | -49.0 | -59.0 | -49.0 | 1,000 |" in text
    # fine-tuning, offline for 100k of 200k steps: the last offline eval at 90k, −100 + 45 + 1; online, the
    # evals from 130k on are at or above the oracle's −38.55 (8 of the 11 at 100k ... 190k and 199999)
    assert "| pointmass_hard_cql_finetune | 1 | 1.0 | -9.0 | 1.0 | -54.0 | 8 of 11 | -38.55 | -33.10 |" in text
    assert "| pointmass_hard_rnd | PointmassHard-v0 | 10,000 |" in text
    assert "python scripts/sweep.py run_hw5_offline.py --dataset_dir datasets --grid config_file=" in text
    assert "Sum of the 16 runs' wall times" in text
