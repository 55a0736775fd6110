"""grade.py, plot.py and sweep.py on hw3 run dirs (hw3_dqn_ / hw3_sac_), written by hand in tmp_path."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cs285.reporting import grading, plotting, sweep
from cs285.reporting.grading import expand_paths, load_run
from cs285.trainers.run_config import mark_finished

ROOT = os.path.join(os.path.dirname(__file__), "..")
PLOT = os.path.join(ROOT, "scripts", "plot.py")
DQN_CFG = "experiments/dqn/lunarlander_doubleq.yaml"
DQN_FLAGS = {"config_file": DQN_CFG, "eval_interval": 10000, "num_eval_trajectories": 10,
             "num_render_trajectories": 0, "no_gpu": False, "which_gpu": 0, "log_interval": 1000}
DQN_EXPERIMENT = {"base_config": "dqn_basic", "env_name": "LunarLander-v2", "exp_name": None, "hidden_size": 64,
                  "num_layers": 2, "learning_rate": 0.001, "total_steps": 30000, "discount": 0.99,
                  "target_update_period": 1000, "clip_grad_norm": None, "use_double_q": True,
                  "learning_starts": 20000, "batch_size": 128}


def hw3_run(root, name, flags, experiment, evals, done=True, in_flags=False, command=""):
    """A run dir as run_hw3_dqn writes it: eval rows every 10k steps (eval_return = evals[i]), an
    update row every 1000 steps, a train_return row between; the last row a train row at step
    10000 len(evals) - 1 (29999 for 3 evals: total_steps 30000)."""
    d = root / name
    d.mkdir(parents=True)
    config = {"flags": {**flags, "config": experiment} if in_flags else flags, "command": command}
    if not in_flags:
        config["experiment"] = experiment
    (d / "config.json").write_text(json.dumps(config))
    rows = []
    for step in range(0, 10000 * len(evals), 1000):
        if step % 10000 == 0:
            ret = evals[step // 10000]
            rows.append({"step": step, "eval_return": ret, "eval_ep_len": 200.0, "eval/return_std": abs(ret) / 10,
                         "eval/return_max": ret + 5, "eval/return_min": ret - 5})
        rows.append({"step": step + 500, "train_return": -100.0, "train_ep_len": 500.0})
        rows.append({"step": step + 1000, "critic_loss": 1.0, "q_values": step / 1000 + evals[0], "lr": 0.001})
    rows[-1] = {"step": 10000 * len(evals) - 1, "train_return": -50.0, "train_ep_len": 400.0}
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if done:
        mark_finished(str(d))
    return d


def test_grades_hw3_dqn_and_sac_runs(tmp_path):
    hw3_run(tmp_path, "hw3_dqn_dqn_LunarLander-v2_s64_l2_d0.99_doubleq_30-11-2026_00-02-50",
            {**DQN_FLAGS, "seed": 1}, DQN_EXPERIMENT, [-400.0, 50.0, 210.0])
    hw3_run(tmp_path, "hw3_dqn_dqn_LunarLander-v2_s64_l2_d0.99_30-11-2026_00-03-00",
            {**DQN_FLAGS, "config_file": "experiments/dqn/lunarlander.yaml", "seed": 1},
            {**DQN_EXPERIMENT, "use_double_q": False}, [-400.0, 10.0], done=False)
    sac = {"base_config": "sac", "env_name": "InvertedPendulum-v4", "exp_name": "sanity_invertedpendulum",
           "actor_gradient_type": "reparametrize", "target_critic_backup_type": "min", "total_steps": 30000}
    # the SAC script of the sac branch keeps its config in flags["config"]; both places are read
    hw3_run(tmp_path, "hw3_sac_sanity_invertedpendulum_InvertedPendulum-v4_reparametrize_s128_l3_alr0.0003"
            "_clr0.0003_b128_d0.99_t0.1_stu0.005_min_30-11-2026_01-00-00",
            {"config_file": "experiments/sac/x.yaml", "seed": 1}, sac, [5.0, 300.0, 940.0], in_flags=True)

    rows = {r.algorithm: r for r in grading.grade([str(tmp_path)])}
    assert set(rows) == {"dqn+doubleq", "dqn", "sac+reparametrize+min"}
    double, plain, sac_row = rows["dqn+doubleq"], rows["dqn"], rows["sac+reparametrize+min"]
    assert double.env == "LunarLander-v2" and double.status == "ok"
    assert double.final_return == 210.0 and double.final_std == 21.0  # the last eval row: 210, std 210 / 10
    assert double.env_steps == 29999 and double.iterations is None and double.n_iter is None
    assert double.passed and double.bar_value == 210.0 and "return of 200 by the end of training" in double.bar
    # vanilla DQN: the handout states no number ("may not reach high return (200) ... this is okay!")
    assert plain.passed is None and "this is okay" in plain.bar and plain.final_return == 10.0
    assert plain.status == "incomplete 19999/30000 steps"  # no DONE marker, killed after 20k steps
    assert sac_row.env == "InvertedPendulum-v4" and sac_row.final_return == 940.0
    assert sac_row.passed is False and "close to 1000" in sac_row.bar  # 940 < 950 = 0.95 × 1000
    table = grading.format_table(list(rows.values()))
    assert "final ≥ 200" in table and "—" in table and "FAIL" in table
    # the run name alone still tells env and algorithm (config.json unreadable)
    bare = tmp_path / "x" / ("hw3_dqn_dqn_MsPacmanNoFrameskip-v0_d0.99_tu2000_lr0.0001_doubleq_clip10.0"
                             "_01-12-2026_10-00-00")
    bare.mkdir(parents=True)
    run = load_run(str(bare))
    assert run.env_name == "MsPacmanNoFrameskip-v0" and run.algorithm == "dqn" and run.status == "no metrics"


def test_double_q_and_plain_dqn_are_two_groups_with_bands(tmp_path):
    for double in (False, True):
        for seed in (1, 2):
            cfg = DQN_CFG if double else "experiments/dqn/lunarlander.yaml"
            # double-Q: 100 + seed; plain: seed; so each group's band is ±0.5 about its mean
            evals = [100.0 * double + seed + i for i in range(3)]
            hw3_run(tmp_path / "data", f"hw3_dqn_dqn_LunarLander-v2_{double}_0{seed}-11-2026_00-00-00",
                    {**DQN_FLAGS, "config_file": cfg, "seed": seed}, {**DQN_EXPERIMENT, "use_double_q": double},
                    evals)
    runs = [load_run(p) for p in expand_paths([str(tmp_path / "data" / "hw3_dqn_*")])]
    groups = plotting.group_runs(runs)
    assert sorted(g.label for g in groups) == ["dqn (2 seeds)", "dqn+doubleq (2 seeds)"]
    for g in groups:
        xs, ys = plotting.aligned_curves(g.runs, "eval_return", "step")
        assert list(xs) == [0, 10000, 20000]  # the env steps the evals were logged at
        offset = 100.0 * g.runs[0].settings["use_double_q"]
        assert list(ys.mean(axis=0)) == [offset + 1.5, offset + 2.5, offset + 3.5]
        low, high = plotting.band_edges(ys, "std")
        assert np.allclose(high - low, 1.0)  # std of (1, 2) is 0.5: a band, not a line
    assert plotting._x_label(runs, None) == "Environment steps"

    for extra, name in (([], "ll.png"), (["--key", "q_values", "--band", "minmax"], "q.png")):
        done = subprocess.run([sys.executable, PLOT, str(tmp_path / "data" / "hw3_dqn_*LunarLander*"),
                               "--hline", "200:handout", *extra, "--out", str(tmp_path / name)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert Image.open(tmp_path / name).size == (900, 600)
    out = plotting.plot_sweep(runs, str(tmp_path / "sweep.png"), "use_double_q")  # a YAML key as the sweep axis
    assert os.path.exists(out)


def test_sweep_plans_a_hw3_command_and_skips_the_finished_seed(tmp_path):
    script = sweep.resolve_script("run_hw3_dqn.py")
    planned = sweep.plan(script, ["-cfg", DQN_CFG], [], [1, 2, 3])
    assert [(r.exp_name, r.seed) for r in planned] == [("lunarlander_doubleq", s) for s in (1, 2, 3)]
    assert planned[0].argv == ("-cfg", DQN_CFG, "--seed", "1")  # no --exp_name: the YAML names the run
    assert planned[0].log_name == "lunarlander_doubleq_seed1.log"
    with pytest.raises(sweep.UserError, match="--seeds, not --seed"):
        sweep.plan(script, ["-cfg", DQN_CFG, "--seed", "1"], [], [1])

    # seed 1 finished, started by hand with several seeds (flags hold the one seed, as run_hw3_dqn saves them);
    # seed 2 was killed: it runs again; seed 3 never ran
    root = tmp_path / "data"
    name = "hw3_dqn_dqn_LunarLander-v2_s64_l2_d0.99_doubleq_30-11-2026_00-0{}-00"
    hw3_run(root, name.format(1), {**DQN_FLAGS, "config_file": "./" + DQN_CFG, "seed": 1}, DQN_EXPERIMENT,
            [0.0, 0.0, 0.0], command=f"python scripts/run_hw3_dqn.py -cfg ./{DQN_CFG} --seed 1 2")
    hw3_run(root, name.format(2), {**DQN_FLAGS, "seed": 2}, DQN_EXPERIMENT, [0.0, 0.0, 0.0], done=False,
            command=f"python scripts/run_hw3_dqn.py -cfg {DQN_CFG} --seed 2")
    result = sweep.run_sweep("run_hw3_dqn.py", ["-cfg", DQN_CFG], [], [1, 2, 3], root=str(root), dry_run=True)
    assert [r.seed for r in result.skipped] == [1] and len(result.planned) == 3

    # the grid may sweep the required config file: double-Q against plain, named after the YAMLs
    grid = sweep.parse_grid([f"config_file=experiments/dqn/lunarlander.yaml,{DQN_CFG}"])
    names = [r.exp_name for r in sweep.plan(script, [], grid, [1])]
    assert names == ["run_hw3_dqn_lunarlander", "run_hw3_dqn_lunarlander_doubleq"]
