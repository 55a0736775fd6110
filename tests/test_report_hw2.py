"""report_hw2: the plan (the handout's commands, run counts, five LunarLander seeds) and each section written
from hand-made run dirs (config.json flags as run_hw2 parses the planned argv, metrics.jsonl rows, DONE)."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (pip install -e '.[plot]')")

from cs285.trainers.run_config import mark_finished  # noqa: E402
from cs285.reporting import report_hw2, sweep  # noqa: E402
from cs285.reporting.report import FIGURES, Section  # noqa: E402
from cs285.reporting.sweep import SweepResult  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
RUN_HW2 = sweep.load_script(sweep.resolve_script("run_hw2.py"))


def _experiment(key, seeds):
    return next(e for e in report_hw2.experiments(seeds) if e.key == key)


def rows(returns, batch, columns=None):
    """One row per iteration i: Eval_AverageReturn returns[i], Train_EnvstepsSoFar batch * (i + 1), and
    key: values[i] for each of ``columns``."""
    return [{"step": i, "Eval_AverageReturn": r, "Eval_StdReturn": 1.0, "Train_EnvstepsSoFar": batch * (i + 1),
             **{k: v[i] for k, v in (columns or {}).items()}} for i, r in enumerate(returns)]


def section_of(experiment, tmp_path, rows_of):
    """A Section over hand-made finished run dirs: ``rows_of(exp_name, seed)`` gives a run's rows."""
    results = []
    for spec in experiment.sweeps:
        planned, dirs = spec.planned(), {}
        for run in planned:
            flags = {**vars(RUN_HW2.parse_args(list(run.argv))), "seed": run.seed}
            d = tmp_path / "data" / f"q2_pg_{run.exp_name}_{flags['env_name']}_01-01-2026_00-00-0{run.seed}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "config.json").write_text(json.dumps({"flags": flags}))
            (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_of(run.exp_name, run.seed)))
            mark_finished(str(d))
            dirs[run] = str(d)
        results.append(SweepResult(planned=planned, dirs=dirs))
    return Section(experiment, results, str(tmp_path / "report"))


def _text(section):
    return section.markdown()


def _figures_exist(tmp_path, *names):
    for name in names:
        for suffix in (".png", ".pdf"):
            assert (tmp_path / "report" / FIGURES / (name + suffix)).stat().st_size > 1000, name + suffix


def test_the_plan_runs_the_handouts_commands_lunarlander_and_pendulum_on_five_seeds(data_dir):
    experiments = report_hw2.experiments([1, 2, 3])
    assert [e.key for e in experiments] == ["cartpole", "cheetah", "lunar_gae", "lunar_truncation", "pendulum",
                                            "humanoid", "solved_lunar", "solved_humanoid"]
    planned = {e.key: {run.identity for s in e.sweeps for run in s.planned()} for e in experiments}
    # CartPole 2 batches x 4 estimators, HalfCheetah 3 settings: x 3 seeds; LunarLander 5 λ + the truncation
    # runs, InvertedPendulum 2 settings, LunarLander's PPO: seeds 1-10; Humanoid x 3 seeds, its PPO x 1
    assert {k: len(v) for k, v in planned.items()} == {"cartpole": 24, "cheetah": 9, "lunar_gae": 25,
                                                        "lunar_truncation": 10, "pendulum": 10, "humanoid": 3,
                                                        "solved_lunar": 10, "solved_humanoid": 10}
    assert len(planned["lunar_truncation"] - planned["lunar_gae"]) == 5  # the default λ = 0.98 runs are shared
    assert len(set().union(*planned.values())) == 96
    # --save_params (for the GIFs) on one setting per task, and only there
    saving = {s.args[-1] for e in experiments for s in e.sweeps if "--save_params" in s.args}
    assert saving == set(report_hw2.GIF_RUNS) and len(saving) == 8
    lunar = [s for e in experiments if e.key == "lunar_gae" for s in e.sweeps]
    assert {s.seeds for s in lunar} == {(1, 2, 3, 4, 5)}
    assert report_hw2.at_least_five([1, 2, 3]) == (1, 2, 3, 4, 5)
    assert report_hw2.at_least_five([7, 9]) == (7, 9, 10, 11, 12)
    assert report_hw2.at_least_five([1, 2, 3, 4, 5, 6]) == (1, 2, 3, 4, 5, 6)
    # two of the handout's commands, argv as the sweep runs them
    (cartpole,) = [r for r in experiments[0].sweeps[3].planned() if r.seed == 2]
    assert cartpole.argv == ("--env_name", "CartPole-v0", "-n", "100", "-b", "1000", "-rtg", "-na", "--exp_name",
                             "cartpole_rtg_na", "--seed", "2")
    lam = lunar[1].planned()[0]
    assert lam.argv[:-2] == ("--env_name", "LunarLander-v2", "--ep_len", "1000", "--discount", "0.99", "-n", "300",
                             "-l", "3", "-s", "128", "-b", "2000", "-lr", "0.001", "-rtg", "--use_baseline",
                             "--gae_lambda", "0.95", "--exp_name", "lunar_lander_lambda0.95")
    humanoid = vars(RUN_HW2.parse_args(list(_experiment("humanoid", [1]).sweeps[0].planned()[0].argv)))
    assert (humanoid["n_iter"], humanoid["batch_size"], humanoid["gae_lambda"], humanoid["discount"],
            humanoid["baseline_gradient_steps"], humanoid["save_params"]) == (21, 50000, 0.97, 0.99, 50, True)


def test_the_truncation_runs_plan_and_the_dry_run_prints_all_96_and_starts_nothing(data_dir):
    (spec,) = [s for e in report_hw2.experiments([1, 2, 3]) for s in e.sweeps if report_hw2.TRUNCATION in s.args]
    runs = spec.planned()
    assert len(runs) == 5 and vars(RUN_HW2.parse_args(list(runs[0].argv)))["truncation_as_termination"]
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "report.py"), "hw2", "--dry-run"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "sweep: 96 runs, 0 complete, 96 to run" in out
    assert out.count("run_hw2.py") == 96 and "--exp_name humanoid" in out
    assert not data_dir.exists() or not os.listdir(data_dir)


def test_cartpole_tables_figures_grade_and_gif(tmp_path):
    def rows_of(exp_name, seed):
        batch = 4000 if "_lb" in exp_name else 1000
        if exp_name == "cartpole_lb_rtg_na":
            return rows([50, 120, 200, 200, 200][seed - 1:] + [200] * (seed - 1), batch)
        return rows([20, 60, 120, 200, 200] if seed == 1 else [20, 50, 100, 150, 180], batch)

    section = section_of(_experiment("cartpole", [1, 2]), tmp_path, rows_of)
    gif = tmp_path / "report" / FIGURES / "cartpole_lb_rtg_na.gif"
    gif.write_bytes(b"GIF89a")  # kept as it is: the saved policy is not even loaded
    lb = section.results[7].dirs[section.results[7].planned[0]]
    open(os.path.join(lb, "policy_itr_4.pt"), "wb").close()
    report_hw2._write_cartpole(section)
    text = _text(section)
    # cartpole: finals 200, 180 (mean 190); seed 1 first at 200 at iteration 3: 4 x 1000 steps; seed 2 never
    assert "| cartpole | `-b 1000` | 1 2 | 200.0 / 180.0 | 190.0 | 4000 / — | 1 of 2 |" in text
    # lb_rtg_na: seed 1 [50, 120, 200, ...] first at 200 at iteration 2 (12000 steps), seed 2 [120, 200, ...] at 1
    assert "| cartpole_lb_rtg_na | `-b 4000 -rtg -na` | 1 2 | 200.0 / 200.0 | 200.0 | 12000 / 8000 | 2 of 2 |" in text
    assert "Every seed at 200 at the last iteration: cartpole_lb_rtg_na." in text
    assert "figures/cartpole_lb_rtg_na.gif" in text and "policy_itr_4.pt" in text
    _figures_exist(tmp_path, "cartpole_b1000", "cartpole_b4000")


def test_cheetah_baseline_loss_figure_and_the_strict_last_5_bar(tmp_path):
    def rows_of(exp_name, seed):
        returns = [0, 100, 200, 300, 400, 500] if seed == 1 else [0, 200, 300, 400, 500, 600]
        loss = {"Baseline Loss": [10 - i for i in range(6)]} if "baseline" in exp_name else {}
        return rows(returns, 5000, loss)

    section = section_of(_experiment("cheetah", [1, 2]), tmp_path, rows_of)
    report_hw2._write_cheetah(section)
    text = _text(section)
    # last 5: seed 1 (100+200+300+400+500)/5 = 300, not above 300; seed 2 400; final Baseline Loss 10 - 5 = 5
    assert ("| cheetah_baseline | `--use_baseline -blr 0.01 -bgs 5` | 1 2 | 300.0 / 400.0 | 350.0 | 5.0 | 1 of 2 |"
            in text)
    assert "| cheetah | (none) | 1 2 | 300.0 / 400.0 | 350.0 | — | no bar |" in text
    assert "each seed: 1 of 2 seeds" in text and "No saved policy" in text
    _figures_exist(tmp_path, "cheetah_returns", "cheetah_baseline_loss")


def lunar_rows(exp_name, seed):
    """λ index k: Eval return 10k + seed + i at iteration i = 0..11 (last 10: 10k + seed + 6.5); λ = 0.98
    seed 3 and, without the λ, the truncation runs of seed 5: 200 throughout."""
    if (exp_name == "lunar_lander_lambda0.98" and seed == 3) or (exp_name.endswith("termination") and seed == 5):
        return rows([200.0] * 12, 2000)
    k = report_hw2.LAMBDAS.index(exp_name.split("lambda")[1].split("_")[0])
    return rows([10.0 * k + seed + i for i in range(12)], 2000)


def test_lunar_lambda_table_reference_and_grade(tmp_path):
    section = section_of(_experiment("lunar_gae", [1, 2, 3]), tmp_path, lunar_rows)
    report_hw2._write_lunar(section)
    text = _text(section)
    # λ = 0.98 (k = 2): last 10 = 20 + seed + 6.5 for seeds 1 2 4 5, 200 for seed 3; mean 318 / 5 = 63.6
    assert "| λ = 0.98 | mean of the last 10 | 1 2 3 4 5 | 27.5 / 28.5 / 200.0 / 30.5 / 31.5 | 63.6 |" in text
    # final = 20 + seed + 11; best single iteration = the final on a rising curve
    assert "| λ = 0.98 | final | 1 2 3 4 5 | 32.0 / 33.0 / 200.0 / 35.0 / 36.0 | 67.2 |" in text
    assert "| λ = 0.98 | best single iteration | 1 2 3 4 5 | 32.0 / 33.0 / 200.0 / 35.0 / 36.0 | 67.2 |" in text
    # the reference: (18.8 - 0.4 + 35.4 + 25.7 + 175.0) / 5 = 50.9
    assert "| mean of the last 10 | 1 2 3 4 5 | 18.8 / -0.4 / 35.4 / 25.7 / 175.0 | 50.9 |" in text
    assert "the best run, λ = 0.98 seed 3, 200.0: met" in text
    assert "the best setting on average, λ = 0.98, 63.6 over its seeds, 1 of 5 seeds at the bar" in text
    assert report_hw2.LUNAR_HANDOUT in text and "139.2" in text
    _figures_exist(tmp_path, "lunar_gae_lambda")


def test_lunar_truncation_beside_the_default(tmp_path):
    section = section_of(_experiment("lunar_truncation", [1, 2, 3]), tmp_path, lunar_rows)
    name = report_hw2.TRUNCATION_VARIANTS[1][0]
    (tmp_path / "report" / FIGURES / f"{name}.gif").write_bytes(b"GIF89a")
    open(os.path.join(section.results[1].dirs[section.results[1].planned[0]], "policy_itr_299.pt"), "wb").close()
    report_hw2._write_truncation(section)
    text = _text(section)
    # the truncation runs (k = 2 by their λ): 27.5 / 28.5 / 29.5 / 30.5 and 200 for seed 5: mean 316 / 5 = 63.2
    assert ("| lunar_lander_lambda0.98_truncation_as_termination | mean of the last 10 | 1 2 3 4 5 | "
            "27.5 / 28.5 / 29.5 / 30.5 / 200.0 | 63.2 |") in text
    assert "the best setting on average, lunar_lander_lambda0.98, 63.6" in text
    assert f"figures/{name}.gif" in text and "policy_itr_299.pt" in text
    _figures_exist(tmp_path, "lunar_truncation")


def test_pendulum_env_steps_to_1000(tmp_path):
    def rows_of(exp_name, seed):
        return rows([500, 1000, 1000, 1000, 1000] if "ppo" in exp_name else [100, 500, 900, 1000, 1000], 5000)

    section = section_of(_experiment("pendulum", [1, 2, 3]), tmp_path, rows_of)
    report_hw2._write_pendulum(section)
    text = _text(section)
    # default first at 1000 at iteration 3: 4 x 5000 = 20000 steps; tuned at iteration 1: 10000; 2x fewer
    assert ("| pendulum_default | (none) | 1 2 3 4 5 | 20000 / 20000 / 20000 / 20000 / 20000 | 20000 | "
            "1000.0 / 1000.0 / 1000.0 / 1000.0 / 1000.0 | 5 of 5 |") in text
    assert "| pendulum_ppo_lr1e-3_blr1e-3_mb500 | `--pg_method ppo -lr 1e-3 -blr 1e-3 --ppo_minibatch_size 500` |" \
        in text
    assert "2.0× fewer env steps" in text
    _figures_exist(tmp_path, "pendulum")


def test_humanoid_iterations_0_to_20_and_the_300_check(tmp_path):
    def rows_of(exp_name, seed):
        slope = 15 if seed == 1 else 14  # eval at iteration 20: 300 for seed 1, 280 for the others
        return rows([slope * i for i in range(21)], 50000, {"Train_AverageReturn": [12 * i + 5 for i in range(21)]})

    section = section_of(_experiment("humanoid", [1, 2, 3]), tmp_path, rows_of)
    report_hw2._write_humanoid(section)
    text = _text(section)
    # seed 1: train 12i + 5 (5, 125, 233, 245), eval 15i (0, 150, 285, 300) at iterations 0, 10, 19, 20
    assert "| 1 | 5.0 | 0.0 | 125.0 | 150.0 | 233.0 | 285.0 | 245.0 | 300.0 | no / yes |" in text
    assert "| 2 | 5.0 | 0.0 | 125.0 | 140.0 | 233.0 | 266.0 | 245.0 | 280.0 | no / no |" in text
    assert "1 of 3 seeds reach an eval return of 300 by iteration 20" in text
    assert report_hw2.HUMANOID_HANDOUT in text and "236 vs 225" in text
    assert "No saved policy" in text  # the hand-made runs have none: no GIF, one line instead
    _figures_exist(tmp_path, "humanoid_eval", "humanoid_training")


def test_solved_settings_plan_ppo_on_the_faster_backend_where_it_is_installed(monkeypatch):
    lunar = vars(RUN_HW2.parse_args(list(_experiment("solved_lunar", [1]).sweeps[0].planned()[0].argv)))
    assert (lunar["pg_method"], lunar["discount"], lunar["n_iter"] * lunar["batch_size"]) == \
        ("ppo", 0.999, 92 * 16384)
    monkeypatch.setitem(sys.modules, "envpool", None)  # import envpool fails: the gymnasium backend
    assert report_hw2.envpool_backend() == ()
    (spec,) = _experiment("solved_humanoid", [4, 5]).sweeps
    assert "--env_backend" not in spec.args and spec.seeds == tuple(range(1, 11))  # seeds 1-10, whatever --seeds
    assert spec.args[spec.args.index("--stop_at_return") + 1] == "600"


def test_solved_lunar_last_10_on_every_seed(tmp_path):
    def rows_of(exp_name, seed):  # seed s: 195 + s at each of 12 evaluations; the wall time 100 s a row
        return [{**r, "TimeSinceStart": 100.0 * (r["step"] + 1)} for r in rows([195.0 + seed] * 12, 4096)]

    section = section_of(_experiment("solved_lunar", [1, 2, 3]), tmp_path, rows_of)
    report_hw2._write_solved_lunar(section)
    text = _text(section)
    per_seed = " / ".join(f"{195.0 + s:.1f}" for s in range(1, 11))  # seeds 1-10 whatever the report's seeds
    assert f"| lunar_lander_ppo | mean of the last 10 | 1 2 3 4 5 6 7 8 9 10 | {per_seed} |" in text
    assert "≥ 200 on 6 of 10 seeds" in text and " / ".join(["1200"] * 10) + " s" in text
    _figures_exist(tmp_path, "lunar_ppo")


def test_solved_humanoid_steps_and_seconds_to_600(tmp_path):
    def rows_of(exp_name, seed):  # eval 100 i at iteration i, 700 s an iteration: 600 first at i = 6 (4900 s)
        return [{**r, "TimeSinceStart": 700.0 * (r["step"] + 1)} for r in rows([100.0 * i for i in range(8)], 8192)]

    section = section_of(_experiment("solved_humanoid", [1]), tmp_path, rows_of)
    report_hw2._write_solved_humanoid(section)
    text = _text(section)
    # iteration 6: 7 x 8192 = 57344 env steps, 4900 s: past the hour
    assert "| 1 | 57344 | 4900 | 700.0 | 700.0 | 5600 |" in text
    assert "within 60 minutes of wall time on 0 of 10 seeds" in text
    _figures_exist(tmp_path, "humanoid_ppo")
