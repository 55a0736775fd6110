"""hw1's report: the BC table, a BC hyperparameter sweep, DAgger curves, and BC against the number
of expert trajectories (the experiment the course's two shipped trajectories could not support).

Every run is ``scripts/run_hw1.py`` with the shipped experts; the extra demonstrations come from
``scripts/collect_expert_data.py``, whose episode i starts from reset(seed=1000 + i), so the file
of N trajectories is the first N of the file of 2N: the data sets are nested.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from cs285.reporting import plotting
from cs285.reporting.grading import Run, expert_return
from cs285.reporting.report import Experiment, Prep, Section, inputs_dir, policy_gif
from cs285.reporting.sweep import SweepSpec

TASKS = ("Ant-v4", "HalfCheetah-v4", "Hopper-v4", "Walker2d-v4")
DAGGER_TASKS = ("Hopper-v4", "Walker2d-v4")
HYPER_TASK = "Hopper-v4"
LEARNING_RATES = ("1e-4", "3e-4", "1e-3", "5e-3", "2e-2", "5e-2")  # 5e-3: the course's default
N_DEMOS = (1, 2, 4, 8, 16, 32, 64)
DEMO_ITERS = 10  # BC iterations of 1000 steps each on the same data: the training-steps axis
FINAL_EVALS = 3  # the data-size panel averages the last 3 evaluations (3 × 2000 eval steps)
EVAL = ("--eval_batch_size", "5000", "--video_log_freq", "-1")  # ~5 episodes an evaluation, no videos
BAR = 0.30  # the handout: BC at least 30% of the expert on one task, and a task where it is not


def _mean_std(values: Sequence[float]) -> str:
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}" if len(values) else "—"


def _expert(runs: Sequence[Run]) -> float:
    values = [v for v in (expert_return(r) for r in runs) if v is not None]
    return float(np.mean(values)) if values else float("nan")


def _bc_spec(env: str, seeds: tuple[int, ...]) -> SweepSpec:
    return SweepSpec("run_hw1.py", ("--env", env, *EVAL, "--save_params"), (), seeds)


def _policy_gif(section: Section, run: Run, what: str) -> None:
    policy_gif(section, run, f"{what}_{run.env_name}", f"{'BC' if what == 'bc' else 'DAgger'} on {run.env_name}")


def _write_bc_table(section: Section) -> None:
    rows, passes = [], {}
    for i, env in enumerate(TASKS):
        runs = section.runs(i)
        finals = [r.final() for r in runs if r.final() is not None]
        expert = _expert(runs)
        per_seed = ", ".join(f"{r.final():.1f} ± {r.final('Eval_StdReturn'):.1f}" for r in runs)
        percent = 100 * np.mean(finals) / expert if finals else float("nan")
        passes[env] = bool(finals) and percent >= 100 * BAR
        rows.append([env, f"{expert:.1f}", per_seed or "—", _mean_std(finals), f"{percent:.1f}%",
                     "yes" if passes[env] else "no"])
    section.table(["task", "expert (its 2 demos)", "BC per seed: mean ± std over eval episodes",
                   "BC, mean ± std over seeds", "% of expert", f"≥ {BAR:.0%}"], rows)
    above = [e for e, ok in passes.items() if ok]
    below = [e for e, ok in passes.items() if not ok]
    verdict = "met" if above and below else "not met"
    section.text(f"**Grade:** the handout wants one task with BC ≥ {BAR:.0%} of the expert and one below: "
                 f"{verdict} (at or above: {', '.join(above) or 'none'}; below: {', '.join(below) or 'none'}). "
                 f"Each BC run trains 1000 steps on the shipped 2 expert trajectories, then evaluates the mean "
                 f"action for 5000 env steps.")
    for i, env in enumerate(TASKS):
        runs = section.runs(i)
        if runs:
            _policy_gif(section, runs[0], "bc")


def _write_hyper(section: Section) -> None:
    runs = section.runs()
    section.figure(f"bc_learning_rate_{HYPER_TASK}", f"BC on {HYPER_TASK}: final return against the learning rate",
                   lambda out: plotting.plot_sweep(runs, out, "learning_rate", hlines=["expert"], log_x=True))
    by_lr = _by(runs, lambda r: float(r.flags["learning_rate"]))
    finals = [(lr, [r.final() for r in by_lr[lr]]) for lr in sorted(by_lr)]
    section.table(["learning rate", "final Eval_AverageReturn, per seed", "mean ± std"],
                  [[f"{lr:g}", ", ".join(f"{v:.1f}" for v in vals), _mean_std(vals)] for lr, vals in finals])


def _write_dagger(section: Section) -> None:
    for i, env in enumerate(DAGGER_TASKS):
        dagger, bc = section.runs(2 * i), section.runs(2 * i + 1)
        section.figure(f"dagger_{env}", f"DAgger on {env}: eval return per iteration, expert and BC as lines",
                       lambda out: plotting.plot_curves(dagger, out, x="step", hlines=["expert", "bc"],
                                                        bc_runs=bc))
        finals = [r.final() for r in dagger if r.final() is not None]
        expert = _expert(dagger)
        bc_finals = [r.final() for r in bc if r.final() is not None]
        section.text(f"**{env}:** DAgger's final return {_mean_std(finals)} over {len(finals)} seeds "
                     f"({100 * np.mean(finals) / expert:.1f}% of the expert's {expert:.1f}); BC "
                     f"{_mean_std(bc_finals)}." if finals else f"**{env}:** no finished DAgger run.")
        if dagger:
            _policy_gif(section, dagger[0], "dagger")


def _demo_path(env: str, n: int) -> str:
    return os.path.join(inputs_dir(), f"expert_data_{env}_n{n}.pkl")


def _n_demos(run: Run) -> int:
    return int(os.path.splitext(str(run.flags["expert_data"]))[0].rsplit("_n", 1)[1])


def _by(runs: Sequence[Run], key: Callable[[Run], Any]) -> dict[Any, list[Run]]:
    """``runs`` grouped by ``key(run)``."""
    groups: dict[Any, list[Run]] = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    return groups


def plot_demos(runs: Sequence[Run], out: str, env: str) -> str:
    """Left: the final eval return against N expert trajectories (mean ± std over seeds, log2 axis);
    right: eval return against BC training steps, one line per N, seeds as bands."""
    from matplotlib import colormaps

    by_n = _by(runs, _n_demos)
    fig, (left, right) = plotting.new_figure(2)
    ns = sorted(by_n)
    finals = [np.array([r.final(last=FINAL_EVALS) for r in by_n[n]]) for n in ns]
    left.errorbar(ns, [f.mean() for f in finals], yerr=[f.std() for f in finals], marker="o", capsize=3,
                  label=f"BC, evaluations {DEMO_ITERS - FINAL_EVALS + 1}–{DEMO_ITERS}")
    left.set_xscale("log", base=2)
    left.set_xticks(ns, [str(n) for n in ns])
    left.minorticks_off()
    left.set_xlabel("expert trajectories (1000 steps each at most)")
    left.set_ylabel(f"Eval_AverageReturn, mean of the last {FINAL_EVALS}\n(mean ± std over seeds)", fontsize="small")
    expert = _expert(by_n[max(ns)])
    for n, color in zip(ns, colormaps["viridis"](np.linspace(0.0, 0.9, len(ns)))):
        xs, ys = plotting.aligned_curves(by_n[n], "Eval_AverageReturn", "step")
        steps_per_iter = int(by_n[n][0].flags["num_agent_train_steps_per_iter"])
        plotting.draw_mean(right, (xs + 1) * steps_per_iter, ys, alpha=0.15, color=color, label=f"{n} traj.")
    right.set_xlabel("BC gradient steps (batch 100)")
    right.set_ylabel("Eval_AverageReturn (mean ± std over seeds)", fontsize="small")
    for ax in (left, right):
        plotting.draw_hlines(ax, [(expert, "expert")])
        ax.grid(alpha=0.3)
    left.legend(fontsize="small", frameon=False)
    right.legend(fontsize="x-small", frameon=False, ncols=4, loc="lower right")
    fig.suptitle(f"{env}: behavioral cloning against the amount of expert data")
    return plotting.save_figure(fig, out)


def _write_demos(section: Section) -> None:
    rows = []
    for i, env in enumerate(TASKS):
        runs = section.runs(i)
        if not runs:
            continue
        section.figure(f"bc_demos_{env}", f"BC on {env} against the number of expert trajectories and the "
                       f"training steps", lambda out: plot_demos(runs, out, env))
        by_n = {n: [r.final(last=FINAL_EVALS) for r in n_runs] for n, n_runs in _by(runs, _n_demos).items()}
        expert = _expert(runs)
        rows.append([env] + [f"{np.mean(by_n[n]):.0f} ({100 * np.mean(by_n[n]) / expert:.0f}%)" if n in by_n
                             else "—" for n in N_DEMOS])
    section.text(f"Eval_AverageReturn of the last {FINAL_EVALS} evaluations (iterations {DEMO_ITERS - FINAL_EVALS}–"
                 f"{DEMO_ITERS - 1}), mean over seeds (% of the expert), by the number of expert trajectories:")
    section.table(["task"] + [str(n) for n in N_DEMOS], rows)


def experiments(seeds: Sequence[int]) -> list[Experiment]:
    seeds = tuple(seeds)
    demos = [Prep("collect_expert_data.py", ("--env", env, "--n_traj", str(n)), _demo_path(env, n))
             for env in TASKS for n in N_DEMOS]
    return [
        Experiment("bc_table", "Behavioral cloning on four tasks",
                   "BC on a task where it reaches at least 30% of the expert and one where it does not "
                   "(mean and std of the return over evaluation rollouts, the expert's beside it).",
                   [_bc_spec(env, seeds) for env in TASKS], _write_bc_table),
        Experiment("bc_hyper", "BC and one hyperparameter: the learning rate",
                   "One hyperparameter that affects BC, several values, a graph of the return against it.",
                   [SweepSpec("run_hw1.py", ("--env", HYPER_TASK, *EVAL, "--exp_name", "bc_lr"),
                              (f"learning_rate={','.join(LEARNING_RATES)}",), seeds)], _write_hyper),
        Experiment("dagger", "DAgger on Hopper and Walker2d",
                   "A learning curve: DAgger iterations against the policy's mean return with error bars, the "
                   "expert's and BC's returns as horizontal lines.",
                   [s for env in DAGGER_TASKS
                    for s in (SweepSpec("run_hw1.py", ("--env", env, "--do_dagger", *EVAL, "--save_params"), (),
                                        seeds), _bc_spec(env, seeds))], _write_dagger),
        Experiment("bc_demos", "BC against the number of expert trajectories",
                   "(Not in the handout, whose two shipped trajectories per task cannot support it.) BC's return "
                   "against the number of expert demonstrations, and against training steps.",
                   [SweepSpec("run_hw1.py", ("--env", env, "-n", str(DEMO_ITERS), "--eval_batch_size", "2000",
                                             "--video_log_freq", "-1", "--exp_name", "bc_demos"),
                              (f"expert_data={','.join(_demo_path(env, n) for n in N_DEMOS)}",), seeds)
                    for env in TASKS], _write_demos, prepare=demos),
    ]
