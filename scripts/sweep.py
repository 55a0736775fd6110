"""Run a training script over a grid of flag values × seeds, skipping runs already complete.

    python scripts/sweep.py run_hw2.py --env_name LunarLander-v2 --ep_len 1000 --discount 0.99 -n 300 \\
        -l 3 -s 128 -b 2000 -lr 0.001 --use_reward_to_go --use_baseline --exp_name lunar_lander \\
        --grid gae_lambda=0,0.95,0.98,0.99,1 --seeds 1 2 3 --jobs 2
    python scripts/sweep.py run_hw2.py ... --launcher ray --address HOST:6379

Every argument the sweep does not know goes to the script. Runs land in data/ (or $CS285_DATA_DIR).
"""
from __future__ import annotations

import argparse
import sys

from cs285.trainers.script_util import run_main
from cs285.reporting import sweep
from cs285.reporting.sweep import LAUNCHERS, run_sweep


def main() -> None:
    p = argparse.ArgumentParser(description=f"{__doc__}\n{sweep.__doc__}", formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False, usage="%(prog)s SCRIPT [script args] [--grid FLAG=V1,V2 ...] "
                                "[--seeds S ...] [--jobs N] [--launcher local|ray] [--address ADDR] [--dry_run]")
    p.add_argument("script", help="a script in scripts/ (run_hw2.py) or a path")
    p.add_argument("--grid", nargs="+", action="extend", default=[], metavar="FLAG=V1,V2",
                   help="values of one flag; several --grid make the product")
    p.add_argument("--seeds", nargs="+", type=int, default=[1], help="one run per seed and grid point")
    p.add_argument("--jobs", type=int, help="runs at once (local default: the number of cores; ray: no cap)")
    p.add_argument("--launcher", choices=LAUNCHERS, default="local")
    p.add_argument("--address", help="with --launcher ray: the cluster (default: start a local instance)")
    p.add_argument("--dry_run", "--dry-run", action="store_true", help="print the commands left to run and stop")
    args, script_args = p.parse_known_args()
    result = run_sweep(args.script, script_args, args.grid, args.seeds, args.jobs, args.launcher, args.address,
                       dry_run=args.dry_run)
    if not args.dry_run:
        print(f"sweep: {len(result.succeeded)} ran, {len(result.skipped)} were complete, {len(result.failed)} failed")
    if result.failed:
        sys.exit(1)


if __name__ == "__main__":
    run_main(main)
