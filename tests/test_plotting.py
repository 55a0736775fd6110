"""plot.py: learning curves of real hw1 runs with seeds grouped and reference lines; sweep plots; errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("matplotlib", reason="plotting needs matplotlib (pip install -e '.[plot]')")

from cs285.reporting import plotting  # noqa: E402
from cs285.infrastructure.errors import UserError  # noqa: E402
from cs285.reporting.grading import expand_paths, expert_return, load_run  # noqa: E402
from cs285.trainers.run_config import mark_finished  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw1  # noqa: E402

PLOT = os.path.join(os.path.dirname(__file__), "..", "scripts", "plot.py")


def fake_run(root, name, flags, returns, done=True):
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"flags": flags}))
    rows = [{"step": i, "Eval_AverageReturn": r, "Train_EnvstepsSoFar": 100 * (i + 1)} for i, r in enumerate(returns)]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if done:
        mark_finished(str(d))
    return load_run(str(d))


def test_dagger_curves_grouped_over_seeds_with_expert_and_bc_lines(data_dir, hopper_expert, tmp_path):
    policy, data = hopper_expert
    common = ["--env", "Hopper-v4", "-epf", policy, "-ed", data, "--ep_len", "40", "--num_agent_train_steps_per_iter",
              "20", "--batch_size", "60", "--eval_batch_size", "40", "--video_log_freq", "-1"]
    dagger = run_hw1.parse_args(common + ["--do_dagger", "-n", "3"])
    for seed in (1, 2):
        run_hw1.run(dagger, seed)
    run_hw1.run(run_hw1.parse_args(common), seed=1)
    runs = [load_run(p) for p in expand_paths([str(data_dir)])]
    bc = [r for r in runs if r.algorithm == "bc"]

    (group,) = plotting.group_runs([r for r in runs if r.algorithm == "dagger"])
    assert len(group.runs) == 2 and group.label == "dagger (2 seeds)"
    xs, ys = plotting.aligned_curves(group.runs, "Eval_AverageReturn", "step")
    assert list(xs) == [0, 1, 2] and ys.shape == (2, 3)
    for run, y in zip(group.runs, ys):
        assert list(y) == [v for _, v in run.series("Eval_AverageReturn")]

    lines = plotting.resolve_hlines(["expert", "bc", "1234:target"], group.runs, bc)
    assert lines == [(pytest.approx(expert_return(group.runs[0])), "expert"), (bc[0].final(), "BC"),
                     (1234.0, "target")]
    out = plotting.plot_curves(runs, str(tmp_path / "figs" / "dagger.png"), hlines=["expert", "bc", "1234:target"])
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (900, 600)  # 6 x 4 in at 150 dpi


def test_sweep_plot_pdf_and_the_script(tmp_path):
    root = tmp_path / "data"
    flags = {"env_name": "LunarLander-v2", "use_reward_to_go": True, "use_baseline": True, "n_iter": 3}
    for lam in (0.0, 0.95, 1.0):
        for seed in (1, 2):
            fake_run(root, f"q2_pg_ll_gae_lambda{lam}_s{seed}", {**flags, "gae_lambda": lam, "seed": seed,
                                                                  "exp_name": f"ll_gae_lambda{lam}"},
                     [0, 10 * seed, 100 * lam + seed])
    runs = [load_run(p) for p in expand_paths([str(root)])]
    (series,) = plotting.group_runs(runs, drop=(*plotting.NOT_GROUPED, "gae_lambda", "exp_name"))
    assert len(series.runs) == 6  # one series: runs differ only in the swept flag, its exp_name and the seed
    out = plotting.plot_sweep(runs, str(tmp_path / "gae.pdf"), "gae_lambda", last=2, band="minmax")
    assert open(out, "rb").read(4) == b"%PDF"

    done = subprocess.run([sys.executable, PLOT, str(root / "q2_pg_ll_*"), "--x", "step", "--band", "minmax",
                           "--hline", "150:goal", "--out", str(tmp_path / "curves.png")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "curves.png").size == (900, 600)


def test_seed_run_twice_keeps_the_finished_one_and_errors_are_one_line(tmp_path):
    root = tmp_path / "data"
    flags = {"env_name": "CartPole-v0", "exp_name": "cp", "use_reward_to_go": False, "n_iter": 3, "seed": 1}
    killed = fake_run(root, "q2_pg_cp_CartPole-v0_a", flags, [5.0], done=False)
    finished = fake_run(root, "q2_pg_cp_CartPole-v0_b", flags, [1.0, 2.0, 3.0])
    other = fake_run(root, "q2_pg_cp_CartPole-v0_c", {**flags, "seed": 2}, [3.0, 4.0, 5.0])
    (group,) = plotting.group_runs([killed, finished, other])
    assert {r.name for r in group.runs} == {finished.name, other.name}
    xs, ys = plotting.aligned_curves(group.runs, "Eval_AverageReturn", "Train_EnvstepsSoFar")
    assert list(xs) == [100, 200, 300] and list(ys.mean(axis=0)) == [2.0, 3.0, 4.0]
    low, high = plotting.band_edges(ys, "std")
    assert np.allclose(high - low, 2.0)  # std of (1, 3) is 1 at every step

    with pytest.raises(UserError, match="suffix"):
        plotting.plot_curves([finished], str(tmp_path / "f.jpg"))
    with pytest.raises(UserError, match="no expert return known for CartPole-v0"):
        plotting.plot_curves([finished], str(tmp_path / "f.png"), hlines=["expert"])
    with pytest.raises(UserError, match="no BC run"):
        plotting.plot_curves([finished], str(tmp_path / "f.png"), hlines=["bc"])
    with pytest.raises(UserError, match="expected expert, bc, a number"):
        plotting.plot_curves([finished], str(tmp_path / "f.png"), hlines=["best"])
    with pytest.raises(UserError, match="has no flag gae_lambda"):
        plotting.plot_sweep([finished], str(tmp_path / "f.png"), "gae_lambda")


def test_a_flag_only_newer_runs_record_does_not_split_seeds(tmp_path, capsys):
    base = {"exp_name": "ip", "env_name": "InvertedPendulum-v4", "learning_rate": 0.005}
    runs = [fake_run(tmp_path, "old", {**base, "seed": 1}, [1, 2]),
            fake_run(tmp_path, "new2", {**base, "seed": 2, "rollouts": "episodes"}, [1, 3]),
            fake_run(tmp_path, "new3", {**base, "seed": 3, "rollouts": "episodes"}, [2, 3]),
            fake_run(tmp_path, "other", {**base, "seed": 1, "learning_rate": 0.01, "rollouts": "episodes"}, [5, 6])]
    groups = plotting.group_runs(runs)
    assert sorted(len(g.runs) for g in groups) == [1, 3]  # learning_rate still splits; rollouts does not
    assert "not grouping by rollouts" in capsys.readouterr().err


def test_runs_of_different_algorithms_need_no_note_for_their_different_flags(tmp_path, capsys):
    pg = fake_run(tmp_path, "q2_pg_humanoid", {"exp_name": "humanoid", "env_name": "Humanoid-v4", "seed": 1,
                                               "use_reward_to_go": True, "n_iter": 20}, [1, 2])
    sac = fake_run(tmp_path, "hw3_sac_humanoid", {"exp_name": "sac_humanoid", "env_name": "Humanoid-v4", "seed": 1,
                                                  "base_config": "sac", "temperature": 0.05}, [3, 4])
    groups = plotting.group_runs([pg, sac])
    assert len(groups) == 2
    assert "not grouping" not in capsys.readouterr().err


def test_several_keys_draw_a_line_each_on_one_axis_up_to_x_max(tmp_path, monkeypatch, capsys):
    d = tmp_path / "hw3_dqn_pacman"
    d.mkdir()
    flags = {"exp_name": "dqn", "env_name": "MsPacmanNoFrameskip-v0", "seed": 1, "base_config": "dqn_atari"}
    (d / "config.json").write_text(json.dumps({"flags": flags}))
    rows = [{"step": 0, "eval_return": 100.0}, {"step": 700, "train_return": 210.0},
            {"step": 1500, "train_return": 250.0}, {"step": 2000, "eval_return": 400.0}]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    drawn = {}

    def capture(fig, ax, lines, out, title):
        drawn.update({line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()})
        drawn["ylabel"] = ax.get_ylabel()
        return out

    monkeypatch.setattr(plotting, "_finish", capture)
    plotting.plot_curves([load_run(str(d))], str(tmp_path / "p.png"), ["train_return", "eval_return"])
    assert drawn["dqn: train_return"] == ([700, 1500], [210.0, 250.0])
    assert drawn["dqn: eval_return"] == ([0, 2000], [100.0, 400.0])
    assert drawn["ylabel"] == "train_return/eval_return"
    plotting.plot_curves([load_run(str(d))], str(tmp_path / "p.png"), ["train_return", "eval_return"], x_max=1500)
    assert drawn["dqn: train_return"] == ([700, 1500], [210.0, 250.0])
    assert drawn["dqn: eval_return"] == ([0], [100.0])
    with pytest.raises(UserError, match="none of the runs logged q_values or grad_norm"):
        plotting.plot_curves([load_run(str(d))], str(tmp_path / "p.png"), ["q_values", "grad_norm"])
    plot = os.path.join(os.path.dirname(__file__), "..", "scripts", "plot.py")
    out = subprocess.run([sys.executable, plot, str(d), "--group-by", "seed", "--key", "a", "--key", "b",
                          "--out", str(tmp_path / "s.png")], capture_output=True, text=True)
    assert out.returncode != 0 and "give one --key" in out.stderr and "Traceback" not in out.stderr


def test_a_long_curve_is_drawn_as_bin_means_and_a_short_one_as_it_is():
    from cs285.reporting.plotting import bin_means
    xs, ys = np.arange(10.0), np.arange(20.0).reshape(2, 10)
    same_x, same_y = bin_means(xs, ys, n=10)
    assert same_x is xs and same_y is ys
    bx, by = bin_means(xs, ys, n=4)  # bins of 3, 3, 2, 2 steps
    np.testing.assert_allclose(bx, [1.0, 4.0, 6.5, 8.5])
    np.testing.assert_allclose(by, [[1.0, 4.0, 6.5, 8.5], [11.0, 14.0, 16.5, 18.5]])


def test_yaml_runs_sharing_an_exp_name_are_labelled_by_their_config_files():
    """The course's Hard AWAC file keeps exp_name pointmass_hard_dqn: its curve and DQN's are named by their
    config files, not by a list of every setting in which they differ."""
    from cs285.reporting.grading import Run
    from cs285.reporting.plotting import group_runs

    def run(config, base):
        return Run(path=config, name=f"hw5_offline_{config}",
                   flags={"config_file": f"experiments/offline/{config}.yaml", "seed": 1},
                   rows=[{"step": 0, "eval_return": -1.0}],
                   experiment={"exp_name": "pointmass_hard_dqn", "base_config": base, "env_name": "PointmassHard-v0"})

    groups = group_runs([run("pointmass_hard_awac", "awac"), run("pointmass_hard_dqn", "dqn")])
    assert [g.label for g in groups] == ["pointmass_hard_awac", "pointmass_hard_dqn"]


def test_hw5_offline_steps_are_labelled_as_updates():
    from cs285.reporting.grading import Run
    from cs285.reporting.plotting import ENV_STEPS, FINETUNE_STEPS, OFFLINE_STEPS, _x_label

    def run(name):
        return Run(path=name, name=name, flags={"seed": 1}, rows=[],
                   experiment={"base_config": "cql", "env_name": "PointmassHard-v0"})

    offline, finetune, explore = (run(f"hw5_{kind}_x_01-01-2026_00-00-00")
                                  for kind in ("offline", "finetune", "explore"))
    assert _x_label([offline], None) == OFFLINE_STEPS
    assert _x_label([offline, finetune], None) == FINETUNE_STEPS
    assert _x_label([explore], None) == ENV_STEPS
