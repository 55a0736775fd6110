"""sweep.py: grid × seeds, parallel workers, complete runs skipped on relaunch, killed ones redone, Ray."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from cs285.reporting import sweep
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import read_metrics
from cs285.trainers.run_config import DONE_FILE, load_config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import run_hw1  # noqa: E402

SWEEP = os.path.join(os.path.dirname(__file__), "..", "scripts", "sweep.py")

# A stand-in training script that keeps the contract of scripts/run_hw*.py (parse_args,
# --seed with several values, config.json, metrics.jsonl, DONE at the end) but starts in
# a blink. TINY_CRASH="<lr>,<seed>" makes that run die after its first row, like a kill.
TINY_SCRIPT = textwrap.dedent('''
    import argparse, json, os, sys, time
    from cs285.trainers.run_config import make_named_logdir, mark_finished, save_config

    def parse_args(argv=None):
        p = argparse.ArgumentParser()
        p.add_argument("--env_name", default="Tiny-v0")
        p.add_argument("--exp_name", default="tiny")
        p.add_argument("--lr", type=float, default=0.1)
        p.add_argument("--width", type=int, default=8)
        p.add_argument("--use_trick", action="store_true")
        p.add_argument("--n_iter", type=int, default=3)
        p.add_argument("--seed", type=int, nargs="+", default=[1])
        args = p.parse_args(argv)
        if args.use_trick:
            print("Note: tiny ignores --use_trick")  # like run_hw2's notes on flags a method ignores
        return args

    if __name__ == "__main__":
        args = parse_args()
        for seed in args.seed:
            log_dir = make_named_logdir("q2_pg_", f"{args.exp_name}_{args.env_name}")
            save_config(log_dir, {**vars(args), "seed": seed})
            start = time.time()
            time.sleep(0.5)
            with open(os.path.join(log_dir, "metrics.jsonl"), "w") as f:
                for itr in range(args.n_iter):
                    row = {"step": itr, "Eval_AverageReturn": args.lr * itr + seed, "start": start, "end": time.time(),
                           "threads": os.environ.get("CS285_TORCH_THREADS"),
                           "sampler_procs": os.environ.get("CS285_SAMPLER_PROCS")}
                    f.write(json.dumps(row) + "\\n")
                    f.flush()
                    if os.environ.get("TINY_CRASH") == f"{args.lr},{seed}":
                        sys.exit(3)
            print("finished", log_dir)
            mark_finished(log_dir)
''')


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny_run.py"
    path.write_text(TINY_SCRIPT)
    return str(path)


def run_dirs(root):
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def test_plan_names_runs_after_the_grid_and_checks_the_flags(tiny):
    runs = sweep.plan(tiny, ["--exp_name", "lr"], sweep.parse_grid(["lr=0.1,0.5", "use_trick=true,false"]), [1, 2, 1])
    assert [(r.exp_name, r.seed) for r in runs] == [
        ("lr_lr0.1_use_trick", 1), ("lr_lr0.1_use_trick", 2), ("lr_lr0.1_no_use_trick", 1),
        ("lr_lr0.1_no_use_trick", 2), ("lr_lr0.5_use_trick", 1), ("lr_lr0.5_use_trick", 2),
        ("lr_lr0.5_no_use_trick", 1), ("lr_lr0.5_no_use_trick", 2)]
    assert runs[0].argv == ("--lr", "0.1", "--use_trick", "--exp_name", "lr_lr0.1_use_trick",  # each flag once
                            "--seed", "1")
    assert "--use_trick" not in runs[2].argv
    assert len({r.identity for r in runs}) == 8
    with pytest.raises(UserError, match="--seeds, not --seed"):
        sweep.plan(tiny, ["--seed", "3"], [], [1])
    with pytest.raises(UserError, match="has no flag --depth"):
        sweep.plan(tiny, [], sweep.parse_grid(["depth=1,2"]), [1])
    with pytest.raises(UserError, match="both in --grid"):
        sweep.plan(tiny, ["--lr", "1"], sweep.parse_grid(["lr=1,2"]), [1])
    with pytest.raises(UserError, match="true / false"):
        sweep.plan(tiny, [], sweep.parse_grid(["use_trick=1,0"]), [1])
    with pytest.raises(UserError, match="tiny_run.py: argument --width: invalid int value: 'wide'"):
        sweep.plan(tiny, [], sweep.parse_grid(["width=wide"]), [1])
    with pytest.raises(UserError, match="expected FLAG=V1,V2"):
        sweep.parse_grid(["lr"])


def test_local_sweep_2x2_skips_complete_runs_and_redoes_killed_ones(tiny, data_dir, monkeypatch):
    grid, seeds = ["lr=0.1,0.5"], [1, 2]
    monkeypatch.setenv("TINY_CRASH", "0.5,2")
    first = sweep.run_sweep(tiny, ["--exp_name", "t"], grid, seeds, jobs=2)
    assert len(first.succeeded) == 3 and len(first.skipped) == 0
    ((crashed, log),) = first.failed
    assert (crashed.exp_name, crashed.seed) == ("t_lr0.5", 2) and os.path.dirname(log) == str(data_dir / ".sweep_logs")
    dirs = run_dirs(data_dir)
    assert len(dirs) == 4 and sum((d / DONE_FILE).exists() for d in dirs) == 3
    rows = [read_metrics(str(d))[0] for d in dirs]
    assert all(r["threads"] == "1" for r in rows)  # each worker is told to use one thread
    # and its share of the cores for sampling
    assert all(r["sampler_procs"] == str(max(1, (os.cpu_count() or 1) // 2)) for r in rows)
    spans = sorted((r["start"], r["end"]) for r in rows)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))  # --jobs 2: two runs overlapped
    for d in dirs:
        if (d / DONE_FILE).exists():
            assert "finished" in (d / "stdout.log").read_text()
            flags = load_config(str(d))["flags"]
            assert flags["exp_name"] == f"t_lr{flags['lr']}" and flags["seed"] in (1, 2)

    monkeypatch.delenv("TINY_CRASH")
    second = sweep.run_sweep(tiny, ["--exp_name", "t"], grid, seeds, jobs=2)
    assert [(r.exp_name, r.seed) for r in second.succeeded] == [("t_lr0.5", 2)]
    assert len(second.skipped) == 3 and not second.failed
    assert len(run_dirs(data_dir)) == 5  # the killed run's dir stays, a new one has the finished run

    # A run killed before its end has no DONE marker: the next launch redoes it, and only it.
    victim = next(d for d in run_dirs(data_dir) if (d / DONE_FILE).exists())
    (victim / DONE_FILE).unlink()
    third = sweep.run_sweep(tiny, ["--exp_name", "t"], grid, seeds, jobs=2)
    assert len(third.succeeded) == 1 and len(third.skipped) == 3
    fourth = sweep.run_sweep(tiny, ["--exp_name", "t"], grid, seeds, jobs=2)
    assert not fourth.succeeded and len(fourth.skipped) == 4


def test_a_flag_added_to_the_script_later_keeps_finished_runs_complete(tiny, data_dir):
    first = sweep.run_sweep(tiny, ["--exp_name", "t"], ["lr=0.1"], [1], jobs=1)
    assert len(first.succeeded) == 1
    # the script gains a flag whose default keeps the old behaviour: the finished run still counts
    with open(tiny) as f:
        code = f.read()
    with open(tiny, "w") as f:
        f.write(code.replace('p.add_argument("--n_iter"', 'p.add_argument("--new_option", default="off")\n'
                                                           '    p.add_argument("--n_iter"'))
    again = sweep.run_sweep(tiny, ["--exp_name", "t"], ["lr=0.1"], [1], jobs=1, dry_run=True)
    assert again.skipped == again.planned
    # asking for a value of the new flag that the old run did not have is a new run
    other = sweep.run_sweep(tiny, ["--exp_name", "t", "--new_option", "on"], ["lr=0.1"], [1], jobs=1, dry_run=True)
    assert not other.skipped


def test_the_scripts_notes_on_finished_runs_stay_out_of_the_sweeps_output(tiny, data_dir, capsys):
    sweep.run_sweep(tiny, ["--exp_name", "t", "--use_trick"], ["lr=0.1"], [1], jobs=1)
    capsys.readouterr()
    again = sweep.run_sweep(tiny, ["--exp_name", "t"], ["lr=0.2"], [1], jobs=1, dry_run=True)  # reads the old run
    assert not again.skipped and "Note:" not in capsys.readouterr().out


def test_a_real_hw1_run_is_recognised_as_complete(data_dir, hopper_expert, monkeypatch):
    policy, data = hopper_expert
    argv = ["--env", "Hopper-v4", "-epf", policy, "-ed", data, "--ep_len", "30", "--eval_batch_size", "30",
            "--video_log_freq", "-1"]
    monkeypatch.setattr(sys, "argv", ["scripts/run_hw1.py"])  # the script name config.json records
    run_hw1.run(run_hw1.parse_args(argv + ["--exp_name", "bc_num_agent_train_steps_per_iter7",
                                           "--num_agent_train_steps_per_iter", "7"]), seed=2)
    result = sweep.run_sweep("run_hw1.py", argv, ["num_agent_train_steps_per_iter=7,9"], [2], dry_run=True)
    assert [(r.exp_name, r.seed) for r in result.planned] == [("bc_num_agent_train_steps_per_iter7", 2),
                                                              ("bc_num_agent_train_steps_per_iter9", 2)]
    assert result.skipped == result.planned[:1]


def test_the_script_passes_unknown_arguments_to_the_training_script(tiny, data_dir):
    out = subprocess.run([sys.executable, SWEEP, tiny, "--width", "4", "--grid", "lr=0.1,0.2", "--seeds", "1", "2",
                          "--dry_run"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("sweep: 4 runs, 0 complete, 4 to run")
    assert lines[1] == f"python {tiny} --width 4 --lr 0.1 --exp_name tiny_lr0.1 --seed 1"  # pasteable


def test_ray_launcher_runs_the_same_commands(tiny, data_dir):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]'); the Ray path is untested")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = sweep.run_sweep(tiny, ["--exp_name", "r"], ["lr=0.3"], [1, 2], launcher="ray")
    finally:
        ray.shutdown()
    assert len(result.succeeded) == 2 and not result.failed
    dirs = run_dirs(data_dir)
    assert len(dirs) == 2 and all((d / DONE_FILE).exists() and (d / "stdout.log").exists() for d in dirs)
    assert sorted(json.loads((d / "config.json").read_text())["flags"]["seed"] for d in dirs) == [1, 2]
