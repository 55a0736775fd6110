"""Grade runs against the handout: one row per run dir.

    python scripts/grade.py data/
    python scripts/grade.py 'data/q2_pg_*LunarLander*' data/q1_bc_Ant-v4_* --json
    python scripts/grade.py 'data/hw3_dqn_*LunarLander*'

Each row: run, env, algorithm (bc, dagger, pg+rtg+na+baseline+gae, dqn+doubleq,
sac+reparametrize+min, ...), iterations, env steps, final return ± its std
(hw1/hw2: Eval_AverageReturn ± Eval_StdReturn; hw3: eval_return ± eval/return_std),
the expert's return, % of expert, and the handout's bar where one applies with
pass / FAIL. hw1/hw2: BC ≥ 30% of the expert; CartPole 200; HalfCheetah with
baseline, last-5 mean > 300; LunarLander, last-10 mean ≥ 180; InvertedPendulum
1000; Humanoid 600. hw3 (final eval_return; "around / close to X" read as ≥ 0.95 X):
DQN CartPole 475, double-DQN LunarLander 200, MsPacman 1425 (around 1500), SAC
InvertedPendulum 950 (close to 1000); "—" where the handout states no number.
A folder of runs stands for its sub-folders; a dir that is no run, has no
metrics or a half-written last line gets a row whose status says so.
"""
from __future__ import annotations

import argparse

from cs285.reporting.grading import format_table, grade, rows_as_json
from cs285.trainers.script_util import run_main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="run dirs, folders of runs (e.g. data/) or globs")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list instead of a table")
    args = p.parse_args()
    rows = grade(args.paths)
    print(rows_as_json(rows) if args.json else format_table(rows))


if __name__ == "__main__":
    run_main(main)
