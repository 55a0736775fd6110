"""hw1 end to end: flags, a short DAgger run on a real MuJoCo env, errors."""
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import pytest

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import read_metrics

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw1  # noqa: E402

HW1_KEYS = [
    "Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn", "Eval_AverageEpLen",
    "Train_AverageReturn", "Train_StdReturn", "Train_MaxReturn", "Train_MinReturn", "Train_AverageEpLen",
    "Training Loss", "Train_EnvstepsSoFar", "TimeSinceStart",
]


def test_course_flags_and_short_forms():
    args = run_hw1.parse_args([
        "-epf", "e.pkl", "-ed", "d.pkl", "-env", "Hopper-v4", "-exp", "x", "--do_dagger", "-n", "3",
        "-lr", "0.01", "-ngpu", "--which_gpu", "1", "--ep_len", "100", "--num_agent_train_steps_per_iter", "7",
        "--batch_size", "11", "--eval_batch_size", "12", "--train_batch_size", "13", "--n_layers", "3",
        "--size", "32", "--video_log_freq", "-1", "--scalar_log_freq", "2", "--max_replay_buffer_size", "99",
        "--save_params", "--seed", "4",
    ])
    assert (args.expert_policy_file, args.expert_data, args.env_name, args.exp_name) == ("e.pkl", "d.pkl",
                                                                                           "Hopper-v4", "x")
    assert args.do_dagger and args.n_iter == 3 and args.learning_rate == 0.01 and args.no_gpu
    assert (args.which_gpu, args.ep_len, args.num_agent_train_steps_per_iter) == (1, 100, 7)
    assert (args.batch_size, args.eval_batch_size, args.train_batch_size) == (11, 12, 13)
    assert (args.n_layers, args.size, args.video_log_freq, args.scalar_log_freq) == (3, 32, -1, 2)
    assert args.max_replay_buffer_size == 99 and args.save_params and args.seed == [4]


def test_defaults_follow_the_course_plus_conveniences():
    bc = run_hw1.parse_args(["--env", "Ant-v4"])
    assert bc.env_name == "Ant-v4" and bc.n_iter == 1 and bc.exp_name == "bc"
    assert bc.expert_policy_file.endswith(os.path.join("experts", "Ant.pkl"))
    assert bc.expert_data.endswith(os.path.join("experts", "expert_data_Ant-v4.pkl"))
    assert (bc.num_agent_train_steps_per_iter, bc.batch_size, bc.eval_batch_size) == (1000, 1000, 1000)
    assert (bc.train_batch_size, bc.n_layers, bc.size, bc.learning_rate) == (100, 2, 64, 5e-3)
    assert (bc.video_log_freq, bc.scalar_log_freq, bc.seed, bc.ep_len) == (5, 1, [1], None)
    dagger = run_hw1.parse_args(["--env_name", "Hopper-v4", "--do_dagger"])
    assert dagger.n_iter == 10 and dagger.exp_name == "dagger"


def test_dagger_smoke_run_writes_every_key_and_a_video(data_dir, hopper_expert):
    policy, data = hopper_expert
    args = run_hw1.parse_args([
        "--env", "Hopper-v4", "--do_dagger", "-n", "2", "-epf", policy, "-ed", data, "--ep_len", "40",
        "--num_agent_train_steps_per_iter", "20", "--batch_size", "60", "--eval_batch_size", "40",
        "--video_log_freq", "1", "--save_params",
    ])
    run_hw1.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert run_dir.name.startswith("q2_dagger_Hopper-v4_")
    rows = read_metrics(str(run_dir))
    assert [r["step"] for r in rows] == [0, 1]
    for key in HW1_KEYS:
        assert all(key in r for r in rows), key
    assert "Initial_DataCollection_AverageReturn" in rows[0]
    assert rows[0]["Train_EnvstepsSoFar"] == 0 and rows[1]["Train_EnvstepsSoFar"] >= 60
    config = json.loads((run_dir / "config.json").read_text())
    assert config["flags"]["seed"] == 1 and "torch" in config["versions"]
    assert (run_dir / "policy_itr_1.pt").exists()
    videos = sorted((run_dir / "videos").glob("*.mp4"))
    assert len(videos) == 2  # iterations 0 and 1
    frames = iio.imread(videos[0])
    assert frames.ndim == 4 and frames.shape[-1] == 3 and len(frames) > 1


def test_same_seed_same_numbers(data_dir, hopper_expert):
    policy, data = hopper_expert
    flags = ["--env", "Hopper-v4", "--do_dagger", "-n", "2", "-epf", policy, "-ed", data, "--ep_len", "30",
             "--num_agent_train_steps_per_iter", "10", "--batch_size", "40", "--eval_batch_size", "30",
             "--video_log_freq", "-1"]
    a = run_hw1.run(run_hw1.parse_args(flags), seed=3)
    b = run_hw1.run(run_hw1.parse_args(flags), seed=3)
    a.pop("TimeSinceStart"), b.pop("TimeSinceStart")
    assert a == b


def test_bc_keeps_training_on_expert_data_only(data_dir, hopper_expert):
    policy, data = hopper_expert
    args = run_hw1.parse_args(["--env", "Hopper-v4", "-n", "3", "-epf", policy, "-ed", data, "--ep_len", "30",
                               "--num_agent_train_steps_per_iter", "200", "--eval_batch_size", "30",
                               "--video_log_freq", "-1"])
    run_hw1.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    rows = read_metrics(str(run_dir))
    assert run_dir.name.startswith("q1_bc_Hopper-v4_")
    assert [r["Train_EnvstepsSoFar"] for r in rows] == [0, 0, 0]
    assert rows[-1]["Training Loss"] < rows[0]["Training Loss"]  # the BC loss falls


@pytest.mark.parametrize("flags, message", [
    (["--env", "Hoper-v4"], "Hopper-v4"),
    (["--env", "Hopper-v4", "-epf", "/nonexistent.pkl"], "expert policy not found"),
    (["--env", "HalfCheetah-v4", "-epf", "{policy}", "-ed", "{data}"], "does not fit HalfCheetah-v4"),
])
def test_user_mistakes_are_one_line(flags, message, data_dir, hopper_expert, tmp_path):
    policy, data = hopper_expert
    flags = [f.format(policy=policy, data=data) for f in flags]
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "run_hw1.py")
    out = subprocess.run([sys.executable, script, *flags, "--video_log_freq", "-1"], capture_output=True,
                         text=True, env={**os.environ, "CS285_DATA_DIR": str(data_dir)}, timeout=120)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert sum(line.startswith("error: ") for line in out.stderr.splitlines()) == 1
