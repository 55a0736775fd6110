"""hw2 end to end: flags, short CartPole / Pendulum runs, errors."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from cs285.trainers.script_util import run_seeds
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import read_metrics
from cs285.infrastructure.errors import TrainingError
from test_pg_agent import _agent, _constant_critic

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw2  # noqa: E402

HW2_KEYS = [
    "Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn", "Eval_AverageEpLen",
    "Train_AverageReturn", "Train_StdReturn", "Train_MaxReturn", "Train_MinReturn", "Train_AverageEpLen",
    "Train_EnvstepsSoFar", "TimeSinceStart", "Actor Loss", "Baseline Loss",
]
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "run_hw2.py")


def test_course_flags_and_short_forms():
    args = run_hw2.parse_args([
        "--env", "CartPole-v0", "--exp_name", "x", "-n", "3", "-rtg", "--use_baseline", "-na", "-blr", "0.01",
        "-bgs", "7", "--gae_lambda", "0.95", "-b", "11", "-eb", "12", "--discount", "0.9", "-lr", "0.02",
        "-l", "3", "-s", "32", "--ep_len", "100", "--seed", "4", "5", "-ngpu", "-gpu_id", "1",
        "--video_log_freq", "2", "--scalar_log_freq", "3", "--action_noise_std", "0.5",
    ])
    assert (args.env_name, args.exp_name, args.n_iter) == ("CartPole-v0", "x", 3)
    assert args.use_reward_to_go and args.use_baseline and args.normalize_advantages
    assert (args.baseline_learning_rate, args.baseline_gradient_steps, args.gae_lambda) == (0.01, 7, 0.95)
    assert (args.batch_size, args.eval_batch_size, args.discount, args.learning_rate) == (11, 12, 0.9, 0.02)
    assert (args.n_layers, args.layer_size, args.ep_len, args.seed) == (3, 32, 100, [4, 5])
    assert args.no_gpu and args.which_gpu == 1
    assert (args.video_log_freq, args.scalar_log_freq, args.action_noise_std) == (2, 3, 0.5)


def test_defaults_follow_the_course():
    args = run_hw2.parse_args(["--env_name", "CartPole-v0"])
    assert (args.exp_name, args.n_iter, args.batch_size, args.eval_batch_size) == ("pg", 200, 1000, 400)
    assert not (args.use_reward_to_go or args.use_baseline or args.normalize_advantages or args.no_gpu)
    assert (args.baseline_learning_rate, args.baseline_gradient_steps, args.gae_lambda) == (5e-3, 5, None)
    assert (args.discount, args.learning_rate, args.n_layers, args.layer_size) == (1.0, 5e-3, 2, 64)
    assert (args.ep_len, args.seed, args.which_gpu) == (None, [1], 0)
    assert (args.video_log_freq, args.scalar_log_freq, args.action_noise_std) == (-1, 1, 0.0)


@pytest.mark.parametrize("flags, message", [
    (["--gae_lambda", "0.9"], "--use_baseline"),
    (["--use_baseline", "--gae_lambda", "1.5"], "--gae_lambda"),
    (["-b", "0"], "--batch_size"),
])
def test_bad_flag_values(flags, message):
    with pytest.raises(UserError, match=message):
        run_hw2.parse_args(["--env", "CartPole-v0", *flags])


def test_cartpole_smoke_run_writes_every_key(data_dir):
    args = run_hw2.parse_args(["--env", "CartPole-v1", "-n", "2", "-b", "100", "-eb", "50", "-rtg",
                               "--use_baseline", "-na", "--exp_name", "smoke"])
    last = run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert run_dir.name.startswith("q2_pg_smoke_CartPole-v1_")
    rows = read_metrics(str(run_dir))
    assert [r["step"] for r in rows] == [0, 1]
    for key in HW2_KEYS:
        assert all(key in r and math.isfinite(r[key]) for r in rows), key
    assert "Initial_DataCollection_AverageReturn" in rows[0]
    assert 100 <= rows[0]["Train_EnvstepsSoFar"] < rows[1]["Train_EnvstepsSoFar"]
    assert last["Eval_AverageReturn"] == rows[1]["Eval_AverageReturn"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["flags"]["seed"] == 1 and config["flags"]["use_reward_to_go"]


@pytest.mark.parametrize("bar, rows_expected, finished_early", [
    (-1e9, [0, 2, 4], True),  # every evaluation reaches it: stops after the 3rd in a row (iteration 4)
    (1e9, [0, 2, 4, 6, 8, 9], False),  # never: all 10 iterations
])
def test_stop_at_return_ends_a_finished_run_after_k_evaluations_in_a_row(bar, rows_expected, finished_early,
                                                                         data_dir, capsys):
    from cs285.trainers.run_config import is_finished

    args = run_hw2.parse_args(["--env", "CartPole-v1", "-n", "10", "-b", "50", "-eb", "20", "--scalar_log_freq", "2",
                               "--stop_at_return", str(bar), "--exp_name", "stop"])
    assert args.stop_after == 3
    run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert [r["step"] for r in read_metrics(str(run_dir))] == rows_expected
    assert is_finished(str(run_dir))
    assert ("Stopped at iteration 4: 3 evaluations in a row" in capsys.readouterr().out) == finished_early


# Pendulum never terminates, so every episode ends at --ep_len. With reward 1, γ = 0.5 and a constant critic
# V = 2 = r/(1 − γ): reward-to-go_t = (1 − γ^{T−t})/(1 − γ) = 2 − 2·0.5^{T−t} where an end is terminal, and
# + γ^{T−t}·V = 2 at every step where it bootstraps.
# episodes (-b 8, --ep_len 4): two 4-step episodes, both ended by the limit (rows 3 and 7).
EPISODES_COURSE = [1.875, 1.75, 1.5, 1.0] * 2  # 2 − 2/16, 2 − 2/8, 2 − 2/4, 2 − 2/2
# segments (one env, -b 8, --ep_len 6): the limit ends rows 0-5, the cut at row 7 bootstraps either way.
SEGMENTS_COURSE = [1.96875, 1.9375, 1.875, 1.75, 1.5, 1.0, 2.0, 2.0]  # 2 − 2/64, …, 2 − 2/2 | 1 + 0.5·2, 1 + 0.5·2


@pytest.mark.parametrize("method, rollouts, flag", [(m, "episodes", True) for m in run_hw2.PG_METHODS if m != "ppo"]
                         + [(m, "segments", True) for m in ("vanilla", "ppo")]
                         + [("vanilla", "episodes", False), ("ppo", "segments", False)])
def test_truncation_as_termination_reaches_the_agent_and_is_recorded(method, rollouts, flag, data_dir, monkeypatch):
    ep_len = 4 if rollouts == "episodes" else 6
    args = run_hw2.parse_args(["--env", "Pendulum-v1", "-n", "1", "-b", "8", "-eb", "4", "--ep_len", str(ep_len),
                               "-rtg", "--use_baseline", "--pg_method", method, "--rollouts", rollouts,
                               "--num_envs", "1", "--critic_updates_per_iter", "2", "--ppo_epochs", "1",
                               "--exp_name", "trunc"] + ["--truncation_as_termination"] * flag)
    batches = []
    make_agent = run_hw2.make_agent

    def recording_agent(*a, **kw):
        agent = make_agent(*a, **kw)
        update = agent.update
        agent.update = lambda batch, step: batches.append(batch) or update(batch, step)
        return agent

    monkeypatch.setattr(run_hw2, "make_agent", recording_agent)
    run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert json.loads((run_dir / "config.json").read_text())["flags"]["truncation_as_termination"] is flag
    (batch,) = batches
    ends = np.zeros(8, dtype=bool)
    ends[ep_len - 1::ep_len] = True
    ends[-1] = True  # the last step: a limit (episodes) or the cut (segments)
    np.testing.assert_array_equal(batch.terminated | batch.truncated, ends)  # the ends never move
    estimator = _agent(use_reward_to_go=True, use_baseline=True)
    _constant_critic(estimator, 2.0)
    q, _, _ = estimator.estimate_advantages(batch._replace(rewards=np.ones(8)))
    course = EPISODES_COURSE if rollouts == "episodes" else SEGMENTS_COURSE
    np.testing.assert_allclose(q, course if flag else [2.0] * 8, rtol=1e-6)


def test_env_processes_do_not_change_the_numbers(data_dir):
    rows = {}
    for procs in ("1", "2"):
        args = run_hw2.parse_args(["--env", "Hopper-v4", "-n", "3", "-b", "150", "-eb", "60", "--ep_len", "50",
                                   "-rtg", "--use_baseline", "--exp_name", f"procs{procs}", "--env_procs", procs])
        run_hw2.run(args, seed=3)
        (run_dir,) = [d for d in data_dir.iterdir() if f"procs{procs}" in d.name]
        rows[procs] = [{k: v for k, v in r.items() if k != "TimeSinceStart"} for r in read_metrics(str(run_dir))]
    assert rows["1"] == rows["2"] and len(rows["1"]) == 3
    default = run_hw2.parse_args(["--env", "Hopper-v4"])
    assert default.env_procs is None  # the machine's default is not saved as a flag (sweeps compare flags)
    with pytest.raises(UserError, match="envpool"):
        run_hw2.parse_args(["--env", "Hopper-v4", "--env_backend", "envpool", "--env_procs", "2"])


def test_continuous_run_with_action_noise_and_two_seeds(data_dir, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run_hw2.py", "--env", "Pendulum-v1", "-n", "1", "-b", "40", "-eb", "20",
                                      "--ep_len", "20", "--action_noise_std", "0.3", "--seed", "1", "2"])
    run_seeds(run_hw2.parse_args, run_hw2.run)
    run_dirs = sorted(data_dir.iterdir())
    assert len(run_dirs) == 2
    for d in run_dirs:
        (row,) = read_metrics(str(d))
        assert row["Train_EnvstepsSoFar"] == 40 and "Baseline Loss" not in row


def test_non_finite_loss_names_the_iteration_and_keeps_the_logs(data_dir, monkeypatch):
    calls = []

    def fake_update(self, *batch):
        calls.append(1)
        return {"Actor Loss": 1.0 if len(calls) == 1 else float("nan")}

    monkeypatch.setattr(run_hw2.PGAgent, "update", fake_update)
    args = run_hw2.parse_args(["--env", "CartPole-v1", "-n", "3", "-b", "50", "-eb", "20"])
    with pytest.raises(TrainingError, match="iteration 1"):
        run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert [r["step"] for r in read_metrics(str(run_dir))] == [0]


@pytest.mark.parametrize("flags, message", [
    (["--env", "CartPole-v1", "--action_noise_std", "0.1"], "continuous actions"),
    (["--env", "CartPol-v1"], "CartPole-v1"),
])
def test_user_mistakes_are_one_line(flags, message, data_dir):
    out = subprocess.run([sys.executable, SCRIPT, *flags, "-n", "1", "-b", "20"], capture_output=True, text=True,
                         env={**os.environ, "CS285_DATA_DIR": str(data_dir)}, timeout=120)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert sum(line.startswith("error: ") for line in out.stderr.splitlines()) == 1


def test_video_log(data_dir):
    args = run_hw2.parse_args(["--env", "InvertedPendulum-v4", "-n", "1", "-b", "30", "-eb", "10", "--ep_len", "10",
                               "--video_log_freq", "1"])
    run_hw2.run(args, seed=1)
    (run_dir,) = list(data_dir.iterdir())
    assert len(list((run_dir / "videos").glob("*.mp4"))) == 1


def test_the_run_says_which_sampler_runs_and_records_it(data_dir, capsys):
    run_hw2.run(run_hw2.parse_args(["--env", "CartPole-v1", "-n", "1", "-b", "100", "-eb", "50", "--env_procs", "2",
                                    "--exp_name", "episodes"]), seed=1)
    run_hw2.run(run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "ppo", "-n", "1", "-b", "64", "-eb", "20",
                                    "--num_envs", "4", "--exp_name", "segments"]), seed=1)
    out = capsys.readouterr().out
    assert "sampler: gymnasium | episodes: whole episodes in 2 process(es), one env each\n" in out
    assert "| segments/steps: 4 envs in lock-step on 1 process(es)\n" in out
    configs = {d.name.split("_")[2]: json.loads((d / "config.json").read_text()) for d in data_dir.iterdir()}
    # the flag stays as given (sweeps match runs on flags); the sampler entry holds what ran
    assert configs["episodes"]["flags"]["env_procs"] == 2 and configs["episodes"]["sampler"]["env_procs"] == 2
    assert configs["segments"]["flags"]["env_procs"] is None and configs["segments"]["sampler"]["env_procs"] == 1
    assert configs["segments"]["sampler"]["backend"] == "gymnasium"
    assert configs["segments"]["sampler"]["num_envs"] == 4


@pytest.mark.parametrize("flags, notes", [
    (["--pg_method", "ppo", "-rtg", "-bgs", "7"], ["ppo ignores -rtg", "ppo ignores -bgs"]),
    (["--pg_method", "npg", "-lr", "0.1"], ["npg ignores -lr"]),
    (["--pg_method", "ac", "-rtg"], ["ac ignores -rtg"]),
    (["--clip_eps", "0.3", "--n_step", "2"], ["vanilla ignores --clip_eps: it is an option of --pg_method ppo",
                                              "vanilla ignores --n_step: it is an option of --pg_method ac"]),
    (["--pg_method", "trpo", "--npg_step_size", "0.2"], ["trpo ignores --npg_step_size"]),
    # no critic, or one whose targets are full returns: nothing bootstraps from V(s_T) to turn off
    (["--truncation_as_termination", "-rtg"], ["vanilla ignores --truncation_as_termination"]),
    (["--pg_method", "is", "--use_baseline", "--truncation_as_termination"],
     ["is ignores --truncation_as_termination"]),
])
def test_a_flag_the_method_ignores_is_named(flags, notes, capsys):
    run_hw2.parse_args(["--env", "CartPole-v1", *flags])
    out = capsys.readouterr().out
    assert all(f"Note: --pg_method {n}" in out for n in notes), out
    assert out.count("Note:") == len(notes)


def test_no_note_for_flags_the_method_uses(capsys):
    run_hw2.parse_args(["--env", "CartPole-v1", "-rtg", "--use_baseline", "-bgs", "7", "-lr", "0.1"])
    run_hw2.parse_args(["--env", "CartPole-v1", "--pg_method", "trpo", "--max_kl", "0.02", "--cg_iters", "5"])
    for flags in (["-rtg", "--use_baseline"], ["--use_baseline", "--gae_lambda", "0.9"], ["--pg_method", "ppo"],
                  ["--pg_method", "ac"]):
        run_hw2.parse_args(["--env", "CartPole-v1", "--truncation_as_termination", *flags])
    assert "Note:" not in capsys.readouterr().out


def test_cartpole_learns(data_dir):
    """A learning regression guard for the README's CartPole numbers: the handout's flags with 20
    iterations reach a last-5 mean Eval_AverageReturn of 200 on seeds 1-3 here (~3 s a run); >= 150 is asked."""
    for seed in (1, 2, 3):
        run_hw2.run(run_hw2.parse_args(["--env_name", "CartPole-v0", "-n", "20", "-b", "4000", "-rtg", "-na",
                                        "--exp_name", f"learn{seed}"]), seed=seed)
    for run_dir in data_dir.iterdir():
        rows = read_metrics(str(run_dir))
        assert len(rows) == 20
        assert sum(r["Eval_AverageReturn"] for r in rows[-5:]) / 5 >= 150, run_dir.name
