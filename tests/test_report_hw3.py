"""report_hw3: the plan (the course's configs, run counts, projected wall times, pasteable commands) and
sections drawn from hand-made hw3 run dirs, finished and unfinished (config.json as run_hw3_* saves it,
metrics.jsonl rows keyed by env step, DONE), with --only picking sections."""
import collections
import json
import os
import re

import pytest

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (pip install -e '.[plot]')")

from cs285.env_configs import dqn_config, sac_config  # noqa: E402
from cs285.reporting import report, report_hw3, sweep  # noqa: E402
from cs285.reporting.report import FIGURES  # noqa: E402
from cs285.trainers.experiment_config import load_experiment  # noqa: E402
from cs285.trainers.checkpointing import LATEST  # noqa: E402
from cs285.trainers.run_config import mark_finished  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
KEYS = ["dqn_cartpole", "dqn_lunarlander", "dqn_lunarlander_solved", "dqn_mspacman", "sac_pendulum", "sac_invertedpendulum",
        "sac_halfcheetah", "sac_hopper", "sac_humanoid"]


def test_the_plan_holds_each_deliverable_with_pasteable_commands_and_projected_times(data_dir, capsys):
    experiments = report_hw3.experiments([1, 2, 3])
    assert [e.key for e in experiments] == KEYS
    counts = {e.key: len({run.identity for s in e.sweeps for run in s.planned()}) for e in experiments}
    # 3 seeds where settings are compared (CartPole 1 config, LunarLander 2, HalfCheetah 4, Hopper 3),
    # the first seed for the one-run checks (MsPacman, Pendulum, InvertedPendulum x 2, Humanoid SAC + PPO)
    # and seeds 1-10 of the course's double-Q config and of the solved one, whatever the seeds
    assert counts == {"dqn_cartpole": 3, "dqn_lunarlander": 6, "dqn_lunarlander_solved": 20, "dqn_mspacman": 1,
                      "sac_pendulum": 1, "sac_invertedpendulum": 2, "sac_halfcheetah": 12, "sac_hopper": 9,
                      "sac_humanoid": 2}
    assert len({run.identity for e in experiments for s in e.sweeps for run in s.planned()}) == 53  # 3 shared
    assert all(s.seconds for e in experiments for s in e.sweeps)  # every run has a measured speed
    cheetah = next(e for e in experiments if e.key == "sac_halfcheetah")
    assert all(s.args[-2:] == ("--max_env_steps", "200000") for s in cheetah.sweeps)
    pacman = next(e for e in experiments if e.key == "dqn_mspacman").sweeps[0]
    # 1M steps at the 20.9 steps/s docs/results.md measured: ~13.3 h
    assert 13.0 * 3600 < pacman.seconds < 13.6 * 3600

    report.build_report("hw3", "hw3", experiments, "report.py hw3 --dry-run", str(data_dir / "out"), jobs=2,
                        dry_run=True)
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("python ")]
    assert len(commands) == 53
    for line in commands:
        command, _, note = line.partition("  # ")
        assert re.match(r"python scripts/run_hw(3_dqn|3_sac|2)\.py ", command), line
        assert max(collections.Counter(t for t in command.split() if t.startswith("-")).values()) == 1, line
        assert re.fullmatch(r"~(\d+ min|\d+\.\d h)", note), line
    (total,) = [line for line in lines if line.startswith("projected:")]
    assert "at least 15.7 h on 2 worker(s)" in total and "(the longest run alone: 13.3 h)" in total


def _config(config_file):
    bases = dqn_config.BASE_CONFIGS if "/dqn/" in config_file else sac_config.BASE_CONFIGS
    return load_experiment(os.path.join(ROOT, config_file), bases)


def hw3_rows(total, reached, returns, every=10_000):
    """Rows as run_hw3_* logs them, to step ``reached - 1``: an eval every ``every`` steps (eval_return
    returns(step)), a training episode and an update row (q_values, entropy) between; the last row at
    ``reached - 1`` (``total - 1`` when finished), an eval there too as the loop's last step."""
    rows = []
    for step in range(0, reached, every):
        rows.append({"step": step, "eval_return": returns(step), "eval/return_std": 1.0})
        rows.append({"step": step + every // 2, "train_return": returns(step) / 2, "train_ep_len": 100.0})
        rows.append({"step": step + every // 2 + 1, "critic_loss": 1.0, "q_values": -step / 1000.0,
                     "entropy": 0.69})
    rows = [r for r in rows if r["step"] < reached]
    rows.append({"step": reached - 1, "eval_return": returns(reached - 1), "eval/return_std": 1.0})
    return rows


def fake_hw3_run(data, run, script, returns, reached=None, tag=0):
    """A run dir for planned ``run``: config.json with the flags run_hw3_* parses from its argv and the
    resolved YAML config; finished (DONE, rows to the last step) unless ``reached`` stops it earlier."""
    module = sweep.load_script(sweep.resolve_script(script))
    flags = {**vars(module.parse_args(list(run.argv))), "seed": run.seed}
    experiment = _config(flags["config_file"])
    total = min(experiment["total_steps"], flags.get("max_env_steps") or experiment["total_steps"])
    d = data / f"hw3_x_{run.exp_name}_{run.seed}_01-01-2026_00-00-0{tag}"
    d.mkdir(parents=True)
    command = sweep.shell_command(sweep.resolve_script(script), run.argv)
    (d / "config.json").write_text(json.dumps({"flags": flags, "experiment": experiment, "command": command}))
    rows = hw3_rows(total, reached or total, returns)
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if reached is None:
        mark_finished(str(d))
    return d


def test_a_section_draws_finished_and_unfinished_runs_and_only_picks_it(data_dir, tmp_path, monkeypatch, capsys):
    experiments = report_hw3.experiments([1, 2])
    lunar = next(e for e in experiments if e.key == "dqn_lunarlander")
    plain, double = (s.planned() for s in lunar.sweeps)
    for run in plain:
        fake_hw3_run(data_dir, run, "run_hw3_dqn.py", lambda s, seed=run.seed: s / 2000 + seed)
    fake_hw3_run(data_dir, double[0], "run_hw3_dqn.py", lambda s: s / 1000)
    fake_hw3_run(data_dir, double[1], "run_hw3_dqn.py", lambda s: s / 1000, reached=120_000)
    # nothing is trained: the sweep only finds the run dirs, as a dry run does
    monkeypatch.setattr(report, "run_sweeps", lambda specs, *a, **k: sweep.run_sweeps(specs, dry_run=True))
    out = tmp_path / "report"
    path = report.build_report("hw3", "hw3", experiments, "report.py hw3 --only dqn_lunarlander", str(out),
                               only=["dqn_lunarlander"])
    assert os.path.basename(path) == "report_dqn_lunarlander.md"
    text = open(path).read()
    assert "## DQN on LunarLander: double Q against plain" in text and "## DQN on CartPole" not in text
    for suffix in (".png", ".pdf"):
        assert (out / FIGURES / ("dqn_lunarlander" + suffix)).stat().st_size > 1000
    # the finished plain runs end at step 299999: eval_return 299999 / 2000 + seed
    assert "| lunarlander | 1 | 300,000 | 151.0 |" in text and "| lunarlander | 2 | 300,000 | 152.0 |" in text
    # the unfinished double-Q seed: its last row at 119999, drawn and named with the steps it reached
    assert "| lunarlander_doubleq | 2 | 120,000 | 120.0 |" in text
    assert "incomplete 119999/300000 steps" in text and "draws these unfinished ones as far as they got" in text
    # its last 5 evals at 260k, 270k, 280k, 290k and 299999: 260 ... 300, mean 280
    assert "| lunarlander_doubleq | 1 | 300,000 | 300.0 | 280.0 | 300.0 | finished | pass |" in text
    assert "FAIL (unfinished)" in text  # 120.0 < 200, graded where it stopped
    assert "GIF dqn_lunarlander_doubleq not made: no checkpoint_best.pt" in text
    # the unfinished seed is a curve of its own: the finished seed's is not cut to the steps they share
    assert "seeds logged different iterations" not in capsys.readouterr().err
    assert "python scripts/sweep.py run_hw3_dqn.py -cfg experiments/dqn/lunarlander_doubleq.yaml --seeds 1 2" in text


def test_a_dry_run_names_the_unfinished_run_it_resumes(data_dir, capsys):
    (pacman,) = next(e for e in report_hw3.experiments([1]) if e.key == "dqn_mspacman").sweeps
    (run,) = pacman.planned()
    d = fake_hw3_run(data_dir, run, "run_hw3_dqn.py", lambda s: 300.0, reached=300_000)
    (d / LATEST).write_bytes(b"")  # a checkpoint: the same command resumes the dir
    (result,) = sweep.run_sweeps([pacman], dry_run=True)
    assert result.unfinished == {run: str(d)} and not result.dirs
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("python ")]
    assert line.endswith(f"# ~13.3 h; resumes {d} (incomplete 299999/1000000 steps)")


def test_mspacman_draws_train_and_eval_returns_with_the_random_line_and_the_projection(data_dir, tmp_path):
    experiment = next(e for e in report_hw3.experiments([1]) if e.key == "dqn_mspacman")
    (run,) = experiment.sweeps[0].planned()
    fake_hw3_run(data_dir, run, "run_hw3_dqn.py", lambda s: 200 + s / 500, reached=300_000)
    (result,) = sweep.run_sweeps(experiment.sweeps, dry_run=True)
    section = report.Section(experiment, [result], str(tmp_path / "report"))
    experiment.write(section)
    text = section.markdown()
    assert "![MsPacman: train_return" in text and (tmp_path / "report" / FIGURES / "dqn_mspacman.png").exists()
    assert "| mspacman | 1 | 300,000 |" in text
    assert "9.3 h |" in text  # the 700,000 steps left at 20.9 steps/s
    assert "232.0 ± 66.6 over 30 episodes, as docs/results.md measured it" in text
    assert "incomplete 299999/1000000 steps" in text


def test_the_solved_lunarlander_section_counts_seeds_at_the_bar_by_the_last_5_mean(data_dir, tmp_path):
    experiment = next(e for e in report_hw3.experiments([1, 2, 3]) if e.key == "dqn_lunarlander_solved")
    course, solved = (s.planned() for s in experiment.sweeps)
    assert [r.seed for r in solved] == list(range(1, 11)) and len(course) == 10
    for run in course:
        fake_hw3_run(data_dir, run, "run_hw3_dqn.py", lambda s: 100.0)
    for run in solved:  # seed k: 195 + k at every evaluation, so seeds 5-10 reach 200
        fake_hw3_run(data_dir, run, "run_hw3_dqn.py", lambda s, k=run.seed: 195.0 + k)
    results = sweep.run_sweeps(experiment.sweeps, dry_run=True)
    section = report.Section(experiment, results, str(tmp_path / "report"))
    experiment.write(section)
    text = section.markdown()
    assert "| lunarlander_solved | 10 | 300,000 | 205.0 | 205.0 | 205.0 |" in text
    assert "≥ 200 on 6 of 10 seeds (mean 200.5, min 196.0, std 2.9)" in text
    assert (tmp_path / "report" / FIGURES / "dqn_lunarlander_solved.png").exists()


def test_only_refuses_an_unknown_section_and_lists_them():
    from cs285.infrastructure.errors import UserError

    with pytest.raises(UserError, match="no such section.*dqn_cartpole, dqn_lunarlander"):
        report.pick(report_hw3.experiments([1]), ["dqn_pong"])


def test_a_gif_of_the_best_agent_of_a_dqn_run(tmp_path):
    """best_agent_actor rebuilds the agent from the run's config and checkpoint_best.pt; one CartPole episode."""
    from cs285.agents.dqn_agent import DQNAgent
    from cs285.reporting.grading import load_run
    from cs285.infrastructure import pytorch_util as ptu
    from cs285.trainers.checkpointing import BEST

    config = _config("experiments/dqn/cartpole.yaml")
    d = tmp_path / "hw3_dqn_dqn_CartPole-v1_01-01-2026_00-00-00"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"flags": {"config_file": "experiments/dqn/cartpole.yaml", "seed": 1},
                                               "experiment": config}))
    (d / "metrics.jsonl").write_text(json.dumps({"step": 0, "eval_return": 9.0}) + "\n")
    agent = DQNAgent((4,), 2, **dqn_config.agent_kwargs(config))
    ptu.save_checkpoint({"agent": agent.state_dict(), "eval_step": 0, "eval_return": 9.0}, str(d / BEST))
    experiment = report_hw3.experiments([1])[0]
    section = report.Section(experiment, [], str(tmp_path / "report"))
    report_hw3.agent_gif(section, [load_run(str(d))], "cartpole", "DQN on CartPole-v1")
    assert (tmp_path / "report" / FIGURES / "cartpole.gif").stat().st_size > 1000
    assert "![DQN on CartPole-v1, seed 1" in "\n".join(section.parts)


def test_every_section_is_drawn_from_one_seed_of_fake_runs(data_dir, tmp_path, monkeypatch):
    """Seed 1 of every planned run, finished (hw2's PPO run too, rows by iteration); the report has every
    section's figures and tables, and each section its commands."""
    experiments = report_hw3.experiments([1])
    ppo = sweep.load_script(sweep.resolve_script("run_hw2.py"))
    made = set()
    for spec in (s for e in experiments for s in e.sweeps):
        for run in spec.planned():
            if run.identity in made:  # double Q's seed 1: in both LunarLander sections
                continue
            made.add(run.identity)
            if spec.script != "run_hw2.py":
                fake_hw3_run(data_dir, run, spec.script, lambda s: s / 1000)
                continue
            flags = {**vars(ppo.parse_args(list(run.argv))), "seed": run.seed}
            d = data_dir / "q2_pg_humanoid_ppo_Humanoid-v4_01-01-2026_00-00-00"
            d.mkdir()
            command = sweep.shell_command(sweep.resolve_script("run_hw2.py"), run.argv)
            (d / "config.json").write_text(json.dumps({"flags": flags, "command": command}))
            rows = [{"step": i, "Eval_AverageReturn": 10.0 * i, "Train_EnvstepsSoFar": 8192 * (i + 1)}
                    for i in range(flags["n_iter"])]
            (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            mark_finished(str(d))
    monkeypatch.setattr(report, "run_sweeps", lambda specs, *a, **k: sweep.run_sweeps(specs, dry_run=True))
    out = tmp_path / "report"
    text = open(report.build_report("hw3", "hw3", experiments, "report.py hw3 --seeds 1", str(out))).read()
    assert "35 runs, 0 of them run by this call" in text and "did not finish" not in text
    for name in ("dqn_cartpole", "dqn_lunarlander", "dqn_lunarlander_solved", "dqn_mspacman", "sac_pendulum_q_values", "sac_pendulum_entropy",
                 "sac_invertedpendulum", "sac_halfcheetah_estimators", "sac_halfcheetah_clipq",
                 "sac_halfcheetah_q_values", "sac_hopper", "sac_hopper_q_values", "sac_humanoid_vs_ppo"):
        assert f"](figures/{name}.png)" in text, name
        assert (out / FIGURES / f"{name}.png").stat().st_size > 1000, name
    assert text.count("<summary>Commands</summary>") == len(KEYS)
    assert "not drawn" not in text
    # hw2's PPO within 500k env steps: iteration 60 (61 x 8192 = 499,712 steps), Eval_AverageReturn 600
    assert "within the first 500,000 env steps: 600.0" in text
