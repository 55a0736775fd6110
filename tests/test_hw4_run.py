"""scripts/run_hw4.py end to end on a tiny budget: run dir, logs, loss curve, resume, refusals."""
import os
import re
import sys

import pytest

from cs285.infrastructure.errors import UserError
from cs285.trainers.run_config import is_finished

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")
sys.path.insert(0, SCRIPTS)

import run_hw4  # noqa: E402
from test_resume import only_dir, rows_of, stopped_then_resumed  # noqa: E402

TINY = """\
base_config: mpc
env_name: obstacles-cs285-v0
exp_name: tiny
num_layers: 1
hidden_size: 16
initial_batch_size: 300
batch_size: 100
num_iters: 2
train_batch_size: 16
num_agent_train_steps_per_iter: 5
mpc_num_action_sequences: 20
mpc_horizon: 3
num_eval_trajectories: 1
"""


def config_file(tmp_path, text: str = TINY) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return str(path)


def test_a_tiny_mpc_run_writes_the_courses_dir_and_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path)]), 1)
    run_dir = only_dir(tmp_path / "data")
    name = "obstacles-cs285-v0_tiny_l1_h16_mpcrandom_horizon3_actionseq20"
    assert re.fullmatch(re.escape(name) + r"_\d{2}-\d{2}-\d{4}_\d{2}-\d{2}-\d{2}", os.path.basename(run_dir))
    for f in ("config.json", "DONE", "itr_0_loss_curve.png", "open_loop_itr_0.png", "open_loop_itr_1.png"):
        assert os.path.isfile(os.path.join(run_dir, f)), f
    rows = rows_of(run_dir)
    assert [r["step"] for r in rows] == [0, 1]
    # the loss curve's numbers: one row an update of iteration 0, whose mean is the logged dynamics_loss
    with open(os.path.join(run_dir, "itr_0_losses.csv")) as f:
        header, *lines = f.read().splitlines()
    assert header == "step,dynamics_loss"
    steps, losses = zip(*((int(a), float(b)) for a, b in (line.split(",") for line in lines)))
    assert list(steps) == list(range(1, len(steps) + 1)) and len(steps) > 1
    assert abs(sum(losses) / len(losses) - rows[0]["dynamics_loss"]) < 1e-9
    for row in rows:
        assert {"dynamics_loss", "total_envsteps", "eval_return", "eval_ep_len", "model/window_return_true"} <= set(row)
    # 300 random steps in episodes of at most 101 (the course's ep_len + 1), then 100 planner steps
    assert 300 <= rows[0]["total_envsteps"] < 300 + 101
    assert rows[1]["total_envsteps"] - rows[0]["total_envsteps"] >= 100
    assert is_finished(run_dir)


TINY_SAC = """\
base_config: sac
num_agent_train_steps_per_iter: 6
batch_size: 16
mbpo_rollout_length: 2
hidden_size: 16
num_layers: 1
use_soft_target_update: true
soft_target_update_rate: 0.005
actor_gradient_type: reparametrize
"""


def sac_file(tmp_path, text: str = TINY_SAC) -> str:
    path = tmp_path / "tiny_sac.yaml"
    path.write_text(text)
    return str(path)


def test_a_tiny_mbpo_run_acts_with_sac_and_learns_from_model_rollouts(monkeypatch, tmp_path):
    from cs285.agents.model_based_agent import ModelBasedAgent
    from cs285.agents.sac_agent import SACAgent

    planned, batches = [], []
    monkeypatch.setattr(ModelBasedAgent, "plan", lambda self, *a: planned.append(1))
    real_update = SACAgent.update
    monkeypatch.setattr(SACAgent, "update", lambda self, batch, step: batches.append(batch) or real_update(self, batch, step))
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path), "--sac_config_file", sac_file(tmp_path)]), 1)
    run_dir = only_dir(tmp_path / "data")
    assert not planned  # SAC collects and is evaluated; the planner never runs
    assert len(batches) == 2 * 6 and all(len(b.rewards) == 16 for b in batches)
    rows = rows_of(run_dir)
    assert [r["step"] for r in rows] == [0, 1]
    assert {"sac/critic_loss", "sac/actor_loss", "sac/q_values", "eval_return", "dynamics_loss"} <= set(rows[1])
    assert is_finished(run_dir)
    with open(os.path.join(run_dir, "config.json")) as f:
        assert '"mbpo_rollout_length": 2' in f.read()


def test_mbpo_resumes_mid_sac_training_with_each_step_once(monkeypatch, tmp_path):
    from cs285.agents.sac_agent import SACAgent

    argv = ["-cfg", config_file(tmp_path), "--sac_config_file", sac_file(tmp_path)]
    # SAC's updates 1-6 are iteration 0's: the 9th is in iteration 1, after that iteration's model rollouts began
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw4, argv, SACAgent, 9)
    assert [r["step"] for r in resumed] == [0, 1]
    assert resumed == whole


def test_the_courses_hw4_sac_file_loads_and_a_hw3_one_is_refused_in_one_line(tmp_path):
    from cs285.env_configs.sac_config import load_hw4_sac_config

    root = os.path.dirname(SCRIPTS)
    config = load_hw4_sac_config(os.path.join(root, "experiments", "sac", "halfcheetah_clipq_hw4.yaml"))
    assert (config["batch_size"], config["mbpo_rollout_length"], config["num_critic_networks"]) == (1500, 0, 2)
    hw3 = os.path.join(root, "experiments", "sac", "halfcheetah_clipq.yaml")
    with pytest.raises(UserError) as e:
        run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path), "--sac_config_file", hw3]), 1)
    assert "\n" not in str(e.value) and "is a hw3 SAC config" in str(e.value)
    with pytest.raises(UserError) as e:
        load_hw4_sac_config(sac_file(tmp_path, TINY_SAC + "temprature: 0.1\n"))
    assert "unknown key 'temprature'" in str(e.value)


def test_a_stopped_run_resumes_with_each_step_once(monkeypatch, tmp_path):
    from cs285.agents.model_based_agent import ModelBasedAgent

    argv = ["-cfg", config_file(tmp_path)]
    # update calls 1-5 are iteration 0's; the 7th is in iteration 1's training
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw4, argv, ModelBasedAgent, 7)
    assert [r["step"] for r in resumed] == [0, 1]
    assert resumed == whole  # the checkpoint holds the updates taken, the buffer and both RNGs


@pytest.mark.parametrize("phase", ["collecting", "evaluating"])
def test_a_stop_while_the_planner_acts_cuts_its_episodes_short_and_resumes_exactly(phase, monkeypatch, tmp_path):
    from cs285.agents.model_based_agent import ModelBasedAgent

    # collecting: no evaluation, so every plan call is iteration 1's collection; evaluating: one iteration,
    # so every plan call is its evaluation
    text = TINY.replace("num_eval_trajectories: 1", "num_eval_trajectories: 0") if phase == "collecting" \
        else TINY.replace("num_iters: 2", "num_iters: 1")
    calls = []
    real_plan = ModelBasedAgent.plan
    monkeypatch.setattr(ModelBasedAgent, "plan", lambda self, *a: calls.append(1) or real_plan(self, *a))
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw4, ["-cfg", config_file(tmp_path, text)],
                                             ModelBasedAgent, 10, method="plan")
    assert resumed == whole
    # the stopped run planned 10 steps, no more; resuming planned every step of the phase again: 2 whole + 10
    assert (len(calls) - 10) % 2 == 0 and len(calls) > 30


def test_a_tiny_cem_run_ends(monkeypatch, tmp_path):
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    text = TINY.replace("num_iters: 2", "num_iters: 1") + "mpc_strategy: cem\ncem_num_iters: 2\n" \
        "cem_num_elites: 4\ncem_alpha: 1\n"
    run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path, text), "--exact_ep_len"]), 1)
    run_dir = only_dir(tmp_path / "data")
    assert "_mpccem_horizon3_actionseq20_cem_iters2_" in run_dir and is_finished(run_dir)
    (row,) = rows_of(run_dir)
    assert row["eval_ep_len"] <= 100  # --exact_ep_len: the course's ep_len


def test_grade_and_plot_read_hw4_runs(monkeypatch, tmp_path):
    from cs285.reporting import grading, plotting

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    mpc = config_file(tmp_path, TINY.replace("exp_name: tiny", "exp_name: obstacles_multi"))
    run_hw4.run(run_hw4.parse_args(["-cfg", mpc]), 1)
    for length in (0, 2):
        sac = tmp_path / f"sac{length}.yaml"
        sac.write_text(TINY_SAC.replace("mbpo_rollout_length: 2", f"mbpo_rollout_length: {length}"))
        run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path), "--sac_config_file", str(sac)]), 1)
    runs = [grading.load_run(str(p)) for p in sorted((tmp_path / "data").iterdir())]
    by_algorithm = {}
    for run in runs:
        by_algorithm.setdefault(run.algorithm, []).append(run)
        assert (run.status, run.return_key, run.env_steps_key, run.n_iter) == ("ok", "eval_return", "total_envsteps", 2)
    (planner,) = by_algorithm["mpc+random"]
    row = grading.grade_run(planner)
    assert row.bar.startswith("hw4 obstacles_multi_iter") and row.bar_value == planner.rows[-1]["eval_return"]
    assert row.passed == (row.bar_value >= -25) and row.iterations == 2
    assert all(grading.grade_run(r).passed is None for r in by_algorithm["mbpo"])  # only length 10 has a bar
    groups = plotting.group_runs(by_algorithm["mbpo"])
    assert sorted(g.label for g in groups) == ["tiny sac_config.mbpo_rollout_length=0",
                                               "tiny sac_config.mbpo_rollout_length=2"]
    out = plotting.plot_curves(by_algorithm["mbpo"], str(tmp_path / "mbpo.png"))
    assert os.path.getsize(out) > 1000


def test_grade_reads_the_0_iter_bar_off_the_loss_csv(monkeypatch, tmp_path):
    from cs285.reporting import grading

    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "data"))
    text = (TINY.replace("exp_name: tiny", "exp_name: cheetah_0iter").replace("num_iters: 2", "num_iters: 1")
            .replace("num_agent_train_steps_per_iter: 5", "num_agent_train_steps_per_iter: 500")
            .replace("num_eval_trajectories: 1", "num_eval_trajectories: 0"))
    run_hw4.run(run_hw4.parse_args(["-cfg", config_file(tmp_path, text)]), 1)
    run_dir = only_dir(tmp_path / "data")
    with open(os.path.join(run_dir, "itr_0_losses.csv")) as f:
        loss_500 = float(f.read().splitlines()[500].split(",")[1])  # the header, then updates 1 … 500
    row = grading.grade_run(grading.load_run(run_dir))
    assert row.bar.startswith("hw4 halfcheetah_0_iter") and row.bar_value == loss_500
    assert row.passed == (loss_500 < 0.2)
    assert grading.iteration0_loss(run_dir, 501) is None  # past the last update
    os.remove(os.path.join(run_dir, "itr_0_losses.csv"))  # a run from before the file: no verdict
    assert grading.grade_run(grading.load_run(run_dir)).passed is None
