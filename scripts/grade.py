"""Grade runs against the handout: one row per run dir.

    python scripts/grade.py data/
    python scripts/grade.py 'data/q2_pg_*LunarLander*' data/q1_bc_Ant-v4_* --json

Each row: run, env, algorithm (bc, dagger, pg+rtg+na+baseline+gae, ...),
iterations, env steps, final Eval_AverageReturn ± Eval_StdReturn, the expert's
return, % of expert, and the handout's bar where one applies (BC ≥ 30% of the
expert; CartPole 200; HalfCheetah with baseline, last-5 mean > 300; LunarLander,
last-10 mean ≥ 180; InvertedPendulum 1000; Humanoid 600) with pass / FAIL.
A folder of runs stands for its sub-folders; a dir that is no run, has no
metrics or a half-written last line gets a row whose status says so.
"""
from __future__ import annotations

import argparse

from cs285.reporting.grading import format_table, grade, rows_as_json
from cs285.infrastructure.script_util import run_main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="run dirs, folders of runs (e.g. data/) or globs")
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list instead of a table")
    args = p.parse_args()
    rows = grade(args.paths)
    print(rows_as_json(rows) if args.json else format_table(rows))


if __name__ == "__main__":
    run_main(main)
