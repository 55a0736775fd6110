"""Build a homework's report (reports/<hw>/report.md), running what it still needs.

    python scripts/report.py hw1                 # 120 short runs (seeds 1-3) after 28 expert-data files
    python scripts/report.py hw2                 # 96 runs (seeds 1-3; 1-5 where the handout asks for 5; 1-10 solved)
    python scripts/report.py hw3                 # 53 runs (seeds 1-3; seed 1 for the one-run checks; 1-10 for solved LunarLander), ~31 h
    python scripts/report.py hw5                 # 39 runs (seeds 1-3 for CQL against DQN and fine-tuning), ~1 h
    python scripts/report.py hw3 --only dqn_cartpole sac_hopper   # some sections: reports/hw3/report_<keys>.md
    python scripts/report.py hw1 --dry-run       # the commands still to run, each pasteable (hw3: its wall time)
    python scripts/report.py hw1 --seeds 1 2 3 4 5 --jobs 2
    python scripts/report.py hw1 --launcher ray --address HOST:6379
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys

from cs285.trainers.script_util import run_main
from cs285.reporting import report, report_hw1, report_hw2, report_hw3, report_hw5
from cs285.reporting.sweep import LAUNCHERS

HOMEWORKS = {"hw1": ("CS285 hw1: imitation learning", report_hw1.experiments),
             "hw2": ("CS285 hw2: policy gradients", report_hw2.experiments),
             "hw3": ("CS285 hw3: Q-learning and actor-critic", report_hw3.experiments),
             "hw5": ("CS285 hw5: exploration and offline RL", report_hw5.experiments)}


def main() -> None:
    p = argparse.ArgumentParser(description=f"{__doc__}\n{report.__doc__}", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("homework", choices=sorted(HOMEWORKS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="one run per seed of every experiment")
    p.add_argument("--out", help="default: reports/<homework>")
    p.add_argument("--jobs", type=int, help="runs at once (local default: the number of cores; ray: no cap)")
    p.add_argument("--launcher", choices=LAUNCHERS, default="local")
    p.add_argument("--address", help="with --launcher ray: the cluster (default: start a local instance)")
    p.add_argument("--dry_run", "--dry-run", action="store_true", help="print the commands left to run and stop")
    p.add_argument("--only", nargs="+", default=[], metavar="SECTION",
                   help="these sections only (their keys: a wrong one lists them), written to report_<keys>.md")
    args = p.parse_args()
    title, experiments = HOMEWORKS[args.homework]
    out = args.out or os.path.join(report.REPORTS_DIR, args.homework)
    command = "python scripts/report.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path = report.build_report(args.homework, title, experiments(args.seeds), command, out, args.jobs,
                               args.launcher, args.address, args.dry_run, args.only)
    if path:
        print(f"wrote {path}")


if __name__ == "__main__":
    run_main(main)
