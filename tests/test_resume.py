"""Every training script resumes: a run stopped (SIGTERM) or killed (SIGKILL) mid-way continues when its
command is run again, and its metrics hold every logged step exactly once.

Complete episodes (hw1, hw2's default) resume exactly: the checkpoint holds the batch sampled for the next
iteration and every random stream, so the resumed run's rows equal those of a run never stopped. Lock-step
envs (hw2's segments, hw3's single steps) cannot: an env's episode in progress is simulator state that the
checkpoint does not hold, so each env starts a new episode at the resume, and the numbers after it differ.
"""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from cs285.infrastructure.logger import read_metrics
from cs285.trainers.run_config import is_finished, load_config

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "scripts")
sys.path.insert(0, SCRIPTS)

import run_hw1  # noqa: E402
import run_hw2  # noqa: E402
import run_hw3_dqn  # noqa: E402

TIME_KEYS = ("TimeSinceStart",)


def rows_of(run_dir: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIME_KEYS} for r in read_metrics(run_dir)]


def only_dir(data) -> str:
    (name,) = os.listdir(data)
    return os.path.join(data, name)


def wait_for_rows(data, n: int, timeout: float = 60) -> None:
    """Until the one run dir under ``data`` has logged ``n`` rows."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        dirs = os.listdir(data)
        if dirs and len(read_metrics(os.path.join(data, dirs[0]))) >= n:
            return
        time.sleep(0.05)


def stop_at_update(monkeypatch, cls, n: int, method: str) -> None:
    """SIGTERM this process during the ``n``-th call of ``cls.<method>``: the loop ends its step and stops."""
    real, calls = getattr(cls, method), []

    def update(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, update)


def stopped_then_resumed(monkeypatch, tmp_path, module, argv, cls, n, method="update"):
    """(rows of a run never stopped, rows of the same run stopped at update n and run again, its dir)."""
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "whole"))
    module.run(module.parse_args(argv), 1)
    whole = only_dir(tmp_path / "whole")
    monkeypatch.setenv("CS285_DATA_DIR", str(tmp_path / "stopped"))
    with monkeypatch.context() as m:
        stop_at_update(m, cls, n, method)
        module.run(module.parse_args(argv), 1)
    stopped = only_dir(tmp_path / "stopped")
    assert not is_finished(stopped)
    module.run(module.parse_args(argv), 1)
    assert only_dir(tmp_path / "stopped") == stopped and is_finished(stopped)  # the same dir, continued
    return rows_of(whole), rows_of(stopped), stopped


def test_hw2_episodes_resume_to_the_numbers_of_a_run_never_stopped(monkeypatch, tmp_path):
    from cs285.agents.pg_agent import PGAgent

    argv = ["--env_name", "CartPole-v0", "-n", "5", "-b", "400", "-eb", "200", "-rtg", "--use_baseline", "-na"]
    whole, resumed, run_dir = stopped_then_resumed(monkeypatch, tmp_path, run_hw2, argv, PGAgent, 3)
    assert [r["step"] for r in resumed] == [0, 1, 2, 3, 4]
    assert resumed == whole
    config = load_config(run_dir)
    assert len(config["resumed"]) == 1 and config["started"] <= config["resumed"][0]


def test_hw2_ppo_segments_resume_with_every_iteration_once(monkeypatch, tmp_path):
    from cs285.agents.ppo_agent import PPOAgent

    argv = ["--env_name", "InvertedPendulum-v4", "--pg_method", "ppo", "-n", "4", "-b", "400", "-eb", "200"]
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw2, argv, PPOAgent, 2)
    assert [r["step"] for r in resumed] == [0, 1, 2, 3]
    assert resumed[:2] == whole[:2]  # before the stop, the same rows; after it each env's episode restarted
    assert resumed[2]["Train_EnvstepsSoFar"] == whole[2]["Train_EnvstepsSoFar"] == 1200


def test_hw1_dagger_resumes_exactly(monkeypatch, tmp_path, hopper_expert):
    from cs285.agents.bc_agent import BCAgent

    policy, data = hopper_expert
    argv = ["--env", "Hopper-v4", "--do_dagger", "-n", "4", "--num_agent_train_steps_per_iter", "20",
            "--batch_size", "200", "--eval_batch_size", "200", "--video_log_freq", "-1", "--ep_len", "50",
            "--expert_policy_file", policy, "--expert_data", data]
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw1, argv, BCAgent, 2, "train_steps")
    assert [r["step"] for r in resumed] == [0, 1, 2, 3]
    assert resumed == whole


def test_hw3_dqn_resumes_with_every_step_logged_once(monkeypatch, tmp_path):
    from cs285.agents.dqn_agent import DQNAgent

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("base_config: dqn_basic\nenv_name: CartPole-v1\ntotal_steps: 600\nlearning_starts: 100\n"
                   "batch_size: 16\ntarget_update_period: 50\n")
    argv = ["-cfg", str(cfg), "--eval_interval", "200", "--num_eval_trajectories", "2", "--log_interval", "50"]
    whole, resumed, _ = stopped_then_resumed(monkeypatch, tmp_path, run_hw3_dqn, argv, DQNAgent, 200)
    steps = [r["step"] for r in resumed]
    assert steps == sorted(set(steps))  # each step once
    # the stop came during the update of step 299: the rows before it are those of the run never stopped
    assert [r for r in resumed if r["step"] < 299] == [r for r in whole if r["step"] < 299]
    evals = [r["step"] for r in resumed if "eval_return" in r]
    assert evals == [r["step"] for r in whole if "eval_return" in r] == [0, 200, 400, 599]  # 599: the last step


def test_a_killed_run_resumes_with_its_command(tmp_path):
    """SIGKILL (no chance to save) mid-way: the same command continues from the last checkpoint, and the
    run's metrics end with every iteration exactly once."""
    env = {**os.environ, "CS285_DATA_DIR": str(tmp_path), "CS285_CHECKPOINT_MINUTES": "0"}
    cmd = [sys.executable, os.path.join(SCRIPTS, "run_hw2.py"), "--env_name", "CartPole-v0", "-n", "40", "-b",
           "300", "-eb", "100", "--env_procs", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_rows(tmp_path, 5)
    proc.kill()
    proc.wait()
    run_dir = only_dir(tmp_path)
    assert not is_finished(run_dir)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"Resuming {run_dir}" in out.stdout
    assert only_dir(tmp_path) == run_dir and is_finished(run_dir)
    assert [r["step"] for r in read_metrics(run_dir)] == list(range(40))
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        assert len(f.read().splitlines()) == 41  # header + every iteration once


@pytest.mark.parametrize("garbage", [b"", b"not a checkpoint"])
def test_a_corrupt_checkpoint_is_one_line(tmp_path, garbage):
    env = {**os.environ, "CS285_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, os.path.join(SCRIPTS, "run_hw2.py"), "--env_name", "CartPole-v0", "-n", "3", "-b", "200"]
    subprocess.run(cmd, env={**env, "CS285_CHECKPOINT_MINUTES": "0"}, capture_output=True, check=True)
    run_dir = only_dir(tmp_path)
    os.remove(os.path.join(run_dir, "DONE"))  # as if killed at the end, the latest checkpoint then damaged
    with open(os.path.join(run_dir, "checkpoint_latest.pt"), "wb") as f:
        f.write(garbage)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "checkpoint_latest.pt" in line and "Traceback" not in proc.stderr


def test_a_run_in_progress_is_never_resumed_by_a_second_copy_of_its_command(data_dir):
    from cs285.infrastructure.errors import UserError
    from cs285.trainers.run import Run

    flags = {"exp_name": "x", "seed": 1}
    with Run(prefix="q2_pg_", log_name="x_CartPole-v0", flags=flags) as first:
        first.save_checkpoint(0, {})  # resumable, were it not running
        with Run(prefix="q2_pg_", log_name="x_CartPole-v0", flags=flags) as second:
            assert second.log_dir != first.log_dir and second.resume_state is None
        with pytest.raises(UserError, match="in use by another run"):
            with Run(flags=flags, log_dir=first.log_dir):
                pass
    with Run(prefix="q2_pg_", log_name="x_CartPole-v0", flags=flags) as third:  # the first has ended: resumed
        assert third.log_dir == first.log_dir and third.resume_state is not None


@pytest.mark.parametrize("module,argv,message", [
    (run_hw2, ["--env_name", "CartPole-v0", "-lr", "nan"], "--learning_rate must be a finite number > 0 (got nan)"),
    (run_hw2, ["--env_name", "CartPole-v0", "-blr", "-1"], "--baseline_learning_rate must be a finite number > 0"),
    (run_hw2, ["--env_name", "CartPole-v0", "--ep_len", "0"], "--ep_len must be at least 1 (got 0)"),
    (run_hw2, ["--env_name", "CartPole-v0", "--discount", "1.5"], "--discount must be in [0, 1] (got 1.5)"),
    (run_hw1, ["--env", "Hopper-v4", "-lr", "inf"], "--learning_rate must be a finite number > 0 (got inf)"),
    (run_hw1, ["--env", "Hopper-v4", "--size", "0"], "--size must be at least 1 (got 0)"),
    (run_hw3_dqn, ["-cfg", "x.yaml", "--log_interval", "0"], "--log_interval must be at least 1 (got 0)"),
    (run_hw3_dqn, ["-cfg", "x.yaml", "-nvid", "-1"], "--num_render_trajectories must be a finite number >= 0"),
])
def test_a_bad_flag_is_one_line_before_anything_is_written(data_dir, module, argv, message):
    from cs285.infrastructure.errors import UserError

    with pytest.raises(UserError, match=re.escape(message)):
        module.parse_args(argv)
    assert not os.path.exists(data_dir)


def test_train_expert_refuses_bad_rates():
    import train_expert

    from cs285.infrastructure.errors import UserError

    with pytest.raises(UserError, match=re.escape("--target_tau must be in [0, 1] (got 2.0)")):
        train_expert.parse_args(["--env", "Hopper-v4", "--target_tau", "2"])
    with pytest.raises(UserError, match=re.escape("--learning_rate must be a finite number > 0 (got nan)")):
        train_expert.parse_args(["--env", "Hopper-v4", "-lr", "nan"])


def test_a_finished_run_keeps_its_last_and_best_checkpoints_only(data_dir):
    run_hw2.run(run_hw2.parse_args(["--env_name", "CartPole-v0", "-n", "2", "-b", "200", "-eb", "100"]), 1)
    files = set(os.listdir(only_dir(data_dir)))
    assert {"checkpoint_latest.pt", "checkpoint_best.pt", "DONE"} <= files and "checkpoint_previous.pt" not in files


def test_sigterm_to_the_runs_process_group_stops_it_gracefully(tmp_path):
    """``timeout``, a batch scheduler or ``kill -- -PGID`` signal the whole group: the env workers, in a group
    of their own, keep serving until the parent has finished its iteration and saved; then they end too."""
    env = {**os.environ, "CS285_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, os.path.join(SCRIPTS, "run_hw2.py"), "--env_name", "HalfCheetah-v4", "-n", "200", "-b",
           "2000", "-eb", "1000", "--env_procs", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for_rows(tmp_path, 2)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "Stopped; the same command resumes" in out
    run_dir = only_dir(tmp_path)
    done = [r["step"] for r in read_metrics(run_dir)]
    assert done == list(range(len(done))) and not is_finished(run_dir)


def test_a_stop_ends_a_multi_seed_command_not_just_its_current_seed(tmp_path, capsys):
    """--seed 1 2 3 stopped (SIGTERM) during seed 1: seeds 2 and 3 do not start."""
    import argparse
    import os
    import signal

    from cs285.trainers import checkpointing, script_util
    from cs285.trainers.checkpointing import RunCheckpoint

    checkpointing._signalled = True  # an earlier stop in this process does not count
    ran = []

    def run(args, seed):
        ran.append(seed)
        with RunCheckpoint(str(tmp_path / str(seed)), {"seed": seed}, 60) as ckpt:
            os.kill(os.getpid(), signal.SIGTERM)
            assert ckpt.stop_requested

    parse = lambda: argparse.Namespace(seed=[1, 2, 3], no_gpu=True, which_gpu=0)  # noqa: E731
    script_util.run_seeds(parse, run)
    assert ran == [1] and "Seeds 2 3 not started" in capsys.readouterr().err
