"""Fixed-seed runs of the training scripts give the numbers recorded in pinned_numbers.json.

A refactor of sampling or of the agents must not change a stream by accident:
every logged metric of every iteration (wall times aside) is compared. The
file was written by ``python tests/test_pinned_numbers.py --write`` on the
commit that introduced it; rewrite it only when a change of stream is meant,
and say which and why in the commit.

The numbers are kept per CPU: MKL, oneDNN and OpenBLAS pick their kernels by the
CPU's instruction set and maker, their sums round differently, and the chaotic
MuJoCo episodes turn a last-bit difference into another episode within a few
iterations (Hopper's third DAgger evaluation, 1076.5 on the AVX2 machine that wrote
the first pins, 1317.6 on an AVX512 one, from the same code; an AMD EPYC AVX512
machine differs from that one in PPO's Approx KL at the sixth digit). An entry is
keyed by torch's ``get_cpu_capability()`` and, for entries written since, the CPU's
vendor, family and model (``AVX512 AuthenticAMD 25/17``); the most specific entry a
CPU has is used. ``--write`` writes this CPU's specific entry; a CPU with no entry
skips the test, saying so.
"""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
PINNED = os.path.join(HERE, "pinned_numbers.json")
TIME_KEYS = ("TimeSinceStart",)

RUNS = {
    "hw1_dagger_hopper": ("run_hw1", ["--env", "Hopper-v4", "--do_dagger", "-n", "3", "--video_log_freq", "-1",
                                      "--num_agent_train_steps_per_iter", "200"]),
    "hw2_vanilla_cartpole": ("run_hw2", ["--env_name", "CartPole-v0", "-n", "3", "-b", "1000", "-rtg"]),
    "hw2_baseline_halfcheetah": ("run_hw2", ["--env_name", "HalfCheetah-v4", "-n", "2", "-b", "2000", "-eb", "1000",
                                             "-rtg", "--use_baseline", "--discount", "0.95", "-lr", "0.01"]),
    "hw2_ppo_segments_invertedpendulum": ("run_hw2", ["--env_name", "InvertedPendulum-v4", "--pg_method", "ppo",
                                                      "-n", "3", "-b", "1000", "-eb", "500"]),
}


def run_metrics(name: str) -> list[dict]:
    """Every logged row of one short fixed-seed run (seed 1), wall times left out."""
    import importlib

    from cs285.infrastructure.logger import read_metrics

    script, argv = RUNS[name]
    module = importlib.import_module(script)
    args = module.parse_args(argv)
    module.run(args, 1)
    data = os.environ["CS285_DATA_DIR"]
    (run_dir,) = [os.path.join(data, d) for d in os.listdir(data)]
    return [{k: v for k, v in row.items() if k not in TIME_KEYS} for row in read_metrics(run_dir)]


def cpu_capability() -> str:
    import torch

    return torch.backends.cpu.get_cpu_capability()


def cpu_key() -> str:
    """'<capability> <vendor> <family>/<model>' from /proc/cpuinfo; the capability alone where it has none."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "vendor_id" not in fields:
        return cpu_capability()
    return f"{cpu_capability()} {fields['vendor_id']} {fields.get('cpu family', '?')}/{fields.get('model', '?')}"


def pinned_entry(pinned: dict) -> str | None:
    """The most specific key of ``pinned`` that this CPU matches, or None."""
    return next((k for k in (cpu_key(), cpu_capability()) if k in pinned), None)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_fixed_seed_runs_give_the_pinned_numbers(name, data_dir):
    with open(PINNED) as f:
        pinned = json.load(f)
    entry = pinned_entry(pinned)
    if entry is None:
        pytest.skip(f"no pinned numbers for a {cpu_key()} CPU (have {', '.join(sorted(pinned))}): "
                    f"python tests/test_pinned_numbers.py --write adds them")
    expected = pinned[entry][name]
    rows = run_metrics(name)
    assert [sorted(r) for r in rows] == [sorted(r) for r in expected]
    for row, want in zip(rows, expected):
        for key in want:
            assert row[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), (name, key)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    import torch

    torch.set_num_threads(1)
    with open(PINNED) as f:
        pinned = json.load(f)
    out = pinned[cpu_key()] = {}
    for run_name in sorted(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["CS285_DATA_DIR"] = tmp
            out[run_name] = run_metrics(run_name)
    with open(PINNED, "w") as f:
        json.dump(pinned, f, indent=1, sort_keys=True)
    print(f"wrote the {cpu_key()} entry of {PINNED}")
