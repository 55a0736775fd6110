"""Plot learning curves or a sweep from run dirs, for the report.

    python scripts/plot.py data/q2_dagger_Ant-v4_* --hline expert --hline bc --bc data/q1_bc_Ant-v4_* --out dagger.png
    python scripts/plot.py 'data/q2_pg_*CartPole*' --x step --out cartpole.pdf
    python scripts/plot.py 'data/q2_pg_*lambda*' --group-by gae_lambda --last 10 --out gae.png
    python scripts/plot.py 'data/hw3_dqn_*LunarLander*' --hline 200:handout --out ll.png
    python scripts/plot.py 'data/hw3_dqn_*LunarLander*' --key q_values --out ll_q.png
    python scripts/plot.py 'data/hw3_dqn_*MsPacman*' --key train_return --key eval_return --out pacman.png
"""
from __future__ import annotations

import argparse

from cs285.infrastructure.errors import UserError
from cs285.reporting import plotting
from cs285.reporting.grading import HW3_RETURN_KEY, RETURN_KEY, expand_paths, load_run
from cs285.reporting.plotting import BANDS, plot_curves, plot_sweep, warn
from cs285.trainers.script_util import run_main


def load_runs(patterns: list[str]) -> list:
    runs = []
    for path in expand_paths(patterns):
        run = load_run(path)
        if run.status in ("not a run", "no metrics"):
            warn(f"{path}: {run.status}; left out")
        else:
            runs.append(run)
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=f"{__doc__}\n{plotting.__doc__}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run dirs, folders of runs or globs")
    p.add_argument("--out", required=True, help="figure file: .png, .pdf or .svg")
    p.add_argument("--key", action="append", default=[],
                   help=f"the logged value on the y axis (default: {RETURN_KEY}; hw3: {HW3_RETURN_KEY}); "
                        "repeat it for several on one axis, e.g. --key train_return --key eval_return")
    p.add_argument("--x", choices=("Train_EnvstepsSoFar", "step"),
                   help="default: env steps (Train_EnvstepsSoFar; hw3: step, its rows' env step)")
    p.add_argument("--x_max", type=float, help="draw no point past this x (env steps or iteration)")
    p.add_argument("--band", default="std", choices=BANDS, help="spread over seeds: ±1 std or min..max")
    p.add_argument("--hline", action="append", default=[], metavar="expert|bc|NUMBER[:label]")
    p.add_argument("--bc", nargs="+", default=[], metavar="RUN_DIR", help="BC runs for --hline bc")
    p.add_argument("--group-by", dest="group_by", metavar="FLAG", help="sweep plot: final value vs this flag")
    p.add_argument("--last", type=int, default=1, help="with --group-by: average the last LAST logged values")
    args = p.parse_args()
    runs = load_runs(args.runs)
    if not runs:
        raise UserError("no run with metrics among the inputs")
    if args.group_by:
        if len(args.key) > 1:
            raise UserError("--group-by plots one value: give one --key")
        out = plot_sweep(runs, args.out, args.group_by, (args.key or [None])[0], args.last, args.band, args.hline)
    else:
        out = plot_curves(runs, args.out, args.key or None, args.x, args.band, args.hline, load_runs(args.bc),
                          args.x_max)
    print(f"wrote {out}")


if __name__ == "__main__":
    run_main(main)
