"""What every ``scripts/run_*.py`` shares: common flags, expert lookup, the error boundary."""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Callable

import torch

from cs285.infrastructure.errors import UserError

EXPERTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "experts")


FLAG_RULES = {  # rule -> (test, what the message says a value must be); NaN fails every test
    "at_least_1": (lambda v: v >= 1, "at least 1"),
    "positive": (lambda v: v > 0 and math.isfinite(v), "a finite number > 0"),
    "non_negative": (lambda v: v >= 0 and math.isfinite(v), "a finite number >= 0"),
    "fraction": (lambda v: 0 <= v <= 1, "in [0, 1]"),
}


def check_flags(args: argparse.Namespace, **rules: tuple[str, ...]) -> None:
    """Refuse, in one line, the first flag of ``rules[rule]`` whose value (when not None) breaks ``rule``
    (a key of FLAG_RULES): ``check_flags(args, at_least_1=("n_iter",), positive=("learning_rate",))``."""
    for rule, names in rules.items():
        test, what = FLAG_RULES[rule]
        for name in names:
            value = getattr(args, name)
            if value is not None and not test(value):
                raise UserError(f"--{name} must be {what} (got {value})")


def add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no_gpu", "-ngpu", action="store_true", help="run on the CPU even if CUDA is available")
    parser.add_argument("--which_gpu", "-gpu_id", "-g", type=int, default=0, help="CUDA device index")


def env_family(env_name: str) -> str:
    """``Hopper-v4`` -> ``Hopper``."""
    return env_name.split("-v")[0]


def default_expert_policy(env_name: str) -> str:
    return os.path.join(EXPERTS_DIR, f"{env_family(env_name)}.pkl")


def default_expert_data(env_name: str) -> str:
    return os.path.join(EXPERTS_DIR, f"expert_data_{env_name}.pkl")


def require_file(path: str, what: str, flag: str) -> str:
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path} (pass {flag} PATH)")
    return path


def set_torch_threads() -> None:
    """One torch thread unless $CS285_TORCH_THREADS says otherwise.

    The homework networks are tiny (64-256 units): extra intra-op threads only
    add synchronisation, and on a busy 2-core machine they spin against other
    processes (a BC step went from ~1 ms to 30 ms that way).
    """
    torch.set_num_threads(int(os.environ.get("CS285_TORCH_THREADS", "1")))


def run_seeds(parse_args: Callable[[], argparse.Namespace],
              run: Callable[[argparse.Namespace, int], object]) -> None:
    """A training script's main: threads, flags, device, then one ``run(args, seed)`` per ``--seed``."""
    from cs285.infrastructure import pytorch_util as ptu

    set_torch_threads()
    args = parse_args()
    ptu.init_gpu(not args.no_gpu, args.which_gpu)
    from cs285.trainers.checkpointing import take_stop_signal

    take_stop_signal()  # only a stop during these runs counts
    for i, seed in enumerate(args.seed):
        run(args, seed)
        if take_stop_signal() and args.seed[i + 1:]:  # a stop ends the command, not just this seed's run
            print(f"Seeds {' '.join(map(str, args.seed[i + 1:]))} not started; the same command runs them after this "
                  "one", file=sys.stderr)
            break


def run_main(main: Callable[[], None]) -> None:
    """Run a script's main: user mistakes print one line and exit 2, Ctrl-C exits 130."""
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
