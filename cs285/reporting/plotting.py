"""Figures for the report, from run dirs only (``metrics.jsonl`` and ``config.json``).

Two kinds:
- learning curves (``plot_curves``): ``--key`` (default: the eval return, Eval_AverageReturn; hw3:
  eval_return; several --key share an axis) against ``--x``, env steps (``Train_EnvstepsSoFar``) or
  ``step`` (the iteration). hw3 rows are keyed by env step: their ``step`` is the env-step axis.
  Runs whose settings differ only by ``seed`` form one line: the mean over seeds with a shaded band
  (``--band`` std: ±1 std, minmax: min..max). Seeds are aligned on the iterations every one of them
  logged; x is the seeds' mean at each. A run's settings are its flags, and for hw3 its YAML config
  too (``Run.settings``), so ``use_double_q`` splits double DQN from DQN while the config file's name
  does not.
- a sweep (``plot_sweep``, ``--group-by FLAG``): the final value (mean of the last ``--last`` logged)
  of each run against one flag's value, mean over seeds with error bars.

Horizontal reference lines (``--hline``): ``expert`` (the runs' expert return, see
``grading.expert_return``), ``bc`` (the final Eval return of BC runs, ``q1_``, on the same env,
among the inputs or given with ``--bc``, mean over them), or a number, ``1234`` or ``1234:label``.

Figures are 6×4 in at 150 dpi, drawn with matplotlib's Agg canvas (no display, no pyplot state);
the file type follows the suffix of ``--out`` (.png, .pdf, .svg).
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.reporting.grading import Run, expert_return

FIGSIZE = (6.0, 4.0)  # inches: readable at a report's column width
DPI = 150
MAX_POINTS = 1000  # a curve logged at more steps (hw3/hw5 log every update) is drawn as this many bin means
FORMATS = (".png", ".pdf", ".svg")
BANDS = {"std": "mean ± std", "minmax": "mean, min..max"}  # --band: how the y label names it
ENV_STEPS = "Environment steps"
OFFLINE_STEPS = "Updates on the dataset"
FINETUNE_STEPS = "Steps (offline updates, then online env steps)"
HLINE_STYLES = (("black", "--"), ("dimgray", "-."), ("tab:red", ":"), ("tab:purple", "--"), ("tab:brown", "-."))
DEVICE_FLAGS = ("which_gpu", "no_gpu")  # flags that don't change what is learned
# config_file: hw3 runs group by the YAML config it held (Run.settings), not by the file's name
NOT_GROUPED = ("seed", "config_file", "sac_config_file", *DEVICE_FLAGS)  # the files' keys are in the settings


@dataclass
class Group:
    """Runs that differ only by seed (and device flags)."""

    flags: dict[str, Any]
    runs: list[Run]
    label: str = ""


def warn(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _one_per_seed(runs: list[Run]) -> list[Run]:
    """If the same flags and seed were run twice (a killed run redone), keep the finished / longer / newer."""
    best: dict[str, Run] = {}
    for run in runs:
        key = json.dumps({k: v for k, v in run.settings.items() if k not in DEVICE_FLAGS}, sort_keys=True,
                         default=str) if run.settings else run.path
        old = best.setdefault(key, run)
        if old is not run:
            keep, drop = sorted([old, run], key=lambda r: (r.finished, len(r.rows), os.path.getmtime(r.path)))[::-1]
            warn(f"seed {run.flags.get('seed')} of the same flags appears twice; using {keep.name}, not {drop.name}")
            best[key] = keep
    return list(best.values())


def group_runs(runs: list[Run], drop: Sequence[str] = NOT_GROUPED) -> list[Group]:
    """Groups of runs equal in every setting (flag, hw3 config key) but ``drop``, in order of first
    appearance, labelled.

    A flag that only some of the runs of one algorithm record (one added to the script after the
    older runs) does not split them: it is dropped too, with a note. Runs of different algorithms
    (hw2's PG beside hw3's SAC) never share a group, so their different flags need no note.
    """
    recorded: dict[str, list[set[str]]] = {}
    for run in runs:
        if run.settings:
            recorded.setdefault(run.family, []).append(set(run.settings))
    partial = {family: sorted(set().union(*sets) - set.intersection(*sets)) for family, sets in recorded.items()}
    for family, flags in partial.items():
        if flags:
            warn(f"not grouping by {', '.join(flags)}: only some of the {family} runs record them")
    groups: dict[str, Group] = {}
    for run in runs:
        flags = {k: v for k, v in run.settings.items() if k not in (*drop, *partial.get(run.family, ()))}
        key = json.dumps([run.family, flags], sort_keys=True, default=str)  # families never share a group
        groups.setdefault(key, Group(flags, [])).runs.append(run)
    out = list(groups.values())
    for g in out:
        g.runs = _one_per_seed(g.runs)
    _label(out)
    return out


def _label(groups: list[Group]) -> None:
    """exp_name (hw3 without one: the algorithm, ``dqn+doubleq``; and env when several), plus the
    flags that tell groups of the same name apart."""
    envs = {g.flags.get("env_name") for g in groups}

    def base(g: Group) -> Optional[str]:
        return g.flags.get("exp_name") or (g.runs[0].algorithm if g.runs[0].is_hw3 else None)

    for g in groups:
        name = str(base(g) or g.runs[0].name)
        if len(envs) > 1:
            name += f" {g.flags.get('env_name')}"
        twins = [h for h in groups if base(h) == base(g) and h.flags.get("env_name") == g.flags.get("env_name")]
        configs = {_config_stem(h) for h in twins}
        if len(twins) > 1 and None not in configs and len(configs) == len(twins):
            name = _config_stem(g)  # YAML configs sharing an exp_name (hw5's Hard AWAC says pointmass_hard_dqn)
        elif len(twins) > 1:
            name += " " + _differing(g, twins)
        g.label = name + (f" ({len(g.runs)} seeds)" if len(g.runs) > 1 else "")


def _config_stem(group: Group) -> Optional[str]:
    """The stem of the ``config_file`` flag (hw3/hw4/hw5's YAML) of the group's runs, or None."""
    config = group.runs[0].flags.get("config_file")
    return os.path.splitext(os.path.basename(config))[0] if isinstance(config, str) else None


def unfinished_apart(groups: list[Group]) -> list[Group]:
    """Each group's unfinished runs (no DONE) as a group of their own, labelled with the steps they reached,
    so a run cut short neither cuts its finished seeds' curve to its length nor hides in their band."""
    out = []
    for g in groups:
        done, cut = [r for r in g.runs if r.finished], [r for r in g.runs if not r.finished]
        if not done or not cut:
            out.append(g)
            continue
        base = re.sub(r" \(\d+ seeds\)$", "", g.label)
        reached = ", ".join(f"seed {r.flags.get('seed')} to step {int(r.rows[-1]['step'])}" for r in cut if r.rows)
        out += [Group(g.flags, done, base + (f" ({len(done)} seeds)" if len(done) > 1 else "")),
                Group(g.flags, cut, f"{base}, unfinished: {reached}")]
    return out


def _differing(group: Group, others: list[Group]) -> str:
    """``flag=value, ...`` of the flags in which ``group`` and some of ``others`` differ."""
    differing = sorted(k for k in group.flags if any(h.flags.get(k) != group.flags.get(k) for h in others))
    return ", ".join(f"{k}={group.flags.get(k)}" for k in differing)


def aligned_curves(runs: list[Run], key: str, x: str) -> tuple[np.ndarray, np.ndarray]:
    """x (n_steps,) and y (n_runs, n_steps) on the steps every run logged ``key`` (and ``x``) at."""
    per_run = [{int(r["step"]): r for r in run.rows if r.get(key) is not None and (x == "step" or x in r)}
               for run in runs]
    steps = sorted(set.intersection(*(set(rows) for rows in per_run)))
    if any(len(rows) > len(steps) for rows in per_run):
        warn(f"{runs[0].flags.get('exp_name', runs[0].name)}: seeds logged different iterations; "
             f"using the {len(steps)} they share")
    xs = np.array([[s if x == "step" else float(rows[s][x]) for s in steps] for rows in per_run])
    ys = np.array([[float(rows[s][key]) for s in steps] for rows in per_run])
    return xs.mean(axis=0), ys


def band_edges(ys: np.ndarray, band: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of the band over seeds (axis 0)."""
    if band == "minmax":
        return ys.min(axis=0), ys.max(axis=0)
    mean, std = ys.mean(axis=0), ys.std(axis=0)
    return mean - std, mean + std


def draw_mean(ax, xs: np.ndarray, ys: np.ndarray, band: str = "std", alpha: float = 0.2, **style: Any) -> None:
    """The mean of ``ys`` (n_seeds, n_steps) over seeds as a line, and the band around it if there are several."""
    (line,) = ax.plot(xs, ys.mean(axis=0), **style)
    if len(ys) > 1:
        ax.fill_between(xs, *band_edges(ys, band), color=line.get_color(), alpha=alpha, linewidth=0)


def bin_means(xs: np.ndarray, ys: np.ndarray, n: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``xs`` (steps,) and ``ys`` (runs, steps) as ``n`` means of consecutive, near-equal bins when there are
    more than ``n`` steps (a 200k-step per-update curve drew megabytes of PDF); unchanged otherwise."""
    if len(xs) <= n:
        return xs, ys
    bins = np.array_split(np.arange(len(xs)), n)
    return (np.array([xs[b].mean() for b in bins]), np.stack([ys[:, b].mean(axis=1) for b in bins], axis=1))


def parse_hline(spec: str) -> tuple[Any, str]:
    """``expert`` / ``bc`` / ``1234`` / ``1234:label`` -> (what, label)."""
    if spec in ("expert", "bc"):
        return spec, {"expert": "expert", "bc": "BC"}[spec]
    value, _, label = spec.partition(":")
    try:
        return float(value), label or value
    except ValueError:
        raise UserError(f"--hline {spec!r}: expected expert, bc, a number or NUMBER:label") from None


def resolve_hlines(specs: Sequence[str], runs: list[Run], bc_runs: list[Run]) -> list[tuple[float, str]]:
    """(y, label) of each requested line; one per env for expert and bc when the runs span several."""
    envs = sorted({r.env_name for r in runs if r.env_name})
    lines = []
    for spec in specs:
        what, label = parse_hline(spec)
        if isinstance(what, float):
            lines.append((what, label))
            continue
        for env in envs:
            if what == "expert":
                values = [v for v in (expert_return(r) for r in runs if r.env_name == env) if v is not None]
                missing = f"no expert return known for {env} (hw1 runs log it; else experts/expert_data_{env}.pkl)"
            else:
                values = [v for v in (r.final() for r in bc_runs if r.env_name == env) if v is not None]
                missing = f"--hline bc: no BC run (q1_) on {env} among the inputs or --bc"
            if not values:
                raise UserError(missing)
            lines.append((float(np.mean(values)), label + (f" ({env})" if len(envs) > 1 else "")))
    return lines


def new_figure(ncols: int = 1, nrows: int = 1):
    """A figure of ``nrows`` × ``ncols`` FIGSIZE panels on matplotlib's Agg canvas: (fig, [axes], row by row)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("plotting needs matplotlib: pip install -e '.[plot]'") from None
    fig = Figure(figsize=(FIGSIZE[0] * ncols, FIGSIZE[1] * nrows), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(nrows, ncols, i + 1) for i in range(nrows * ncols)]


def _check_out(out: str, band: str) -> None:
    if os.path.splitext(out)[1].lower() not in FORMATS:
        raise UserError(f"--out {out}: the file type follows the suffix, one of {', '.join(FORMATS)}")
    if band not in BANDS:
        raise UserError(f"--band must be one of {', '.join(BANDS)}")


def draw_hlines(ax, lines: list[tuple[float, str]]) -> None:
    for i, (y, label) in enumerate(lines):
        color, style = HLINE_STYLES[i % len(HLINE_STYLES)]
        ax.axhline(y, color=color, linestyle=style, linewidth=1.2, label=f"{label}: {y:.0f}")


def save_figure(fig, out: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out)
    return out


def _finish(fig, ax, lines: list[tuple[float, str]], out: str, title: Optional[str]) -> str:
    draw_hlines(ax, lines)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", frameon=False)
    return save_figure(fig, out)


def _title(runs: list[Run]) -> Optional[str]:
    envs = sorted({r.env_name for r in runs if r.env_name})
    return envs[0] if len(envs) == 1 else None


def _x_of(run: Run, x: Optional[str]) -> str:
    """The row key of the x axis: ``None`` means env steps (hw3: ``step``, hw4: ``total_envsteps``, hw1/hw2:
    ``Train_EnvstepsSoFar``); ``Train_EnvstepsSoFar`` means each run's own env-step key."""
    return run.env_steps_key if x in (None, "Train_EnvstepsSoFar") else x


def _x_label(runs: list[Run], x: Optional[str]) -> str:
    if x in (None, "step") and runs and all(r.name.startswith(("hw5_offline_", "hw5_finetune_")) for r in runs):
        # hw5's offline step is an update on the dataset; fine-tuning's steps are updates, then env steps
        return OFFLINE_STEPS if all(r.name.startswith("hw5_offline_") for r in runs) else FINETUNE_STEPS
    if x in (None, "Train_EnvstepsSoFar") or all(r.is_hw3 for r in runs):
        return ENV_STEPS  # hw3's step is the env step
    return "Iteration" if x == "step" else x


def plot_curves(runs: list[Run], out: str, key: Union[None, str, Sequence[str]] = None, x: Optional[str] = None,
                band: str = "std", hlines: Sequence[str] = (), bc_runs: Sequence[Run] = (),
                x_max: Optional[float] = None, apart: bool = False,
                vlines: Sequence[tuple[float, str]] = ()) -> str:
    """Learning curves of ``key`` (None: each run's return key, ``Eval_AverageReturn`` or hw3's
    ``eval_return``; several keys: a line for each, on one axis, as the handout's train_return
    beside eval_return) vs ``x`` (None: env steps), one line per group of seeds; returns ``out``.

    With an ``bc`` hline, BC runs (``q1_``) among ``runs`` give that line and are not
    drawn as curves (a BC run is a single iteration). ``x_max``: points past it are not drawn
    (a 500k-step run beside a 5M-step one). ``apart``: unfinished runs drawn apart from their finished
    seeds (``unfinished_apart``). ``vlines``: (x, label) of dashed vertical lines (hw5: where fine-tuning
    goes online).
    """
    _check_out(out, band)
    keys = [key] if key is None or isinstance(key, str) else list(key)
    uses_bc = any(parse_hline(s)[0] == "bc" for s in hlines)
    bc_runs = list(bc_runs) + ([r for r in runs if r.algorithm == "bc"] if uses_bc else [])
    curves = [r for r in runs if not (uses_bc and r.algorithm == "bc")]
    drawable = [r for r in curves if any(r.series(k or r.return_key) for k in keys)]
    for r in curves:
        for k in keys:
            if not r.series(k or r.return_key):
                warn(f"{r.name} logged no {k or r.return_key}" + ("" if r in drawable else "; left out"))
    if not drawable:
        raise UserError(f"none of the runs logged {' or '.join(k or 'an eval return' for k in keys)}")
    lines = resolve_hlines(hlines, drawable, bc_runs)
    fig, (ax,) = new_figure()
    groups = unfinished_apart(group_runs(drawable)) if apart else group_runs(drawable)
    for group in groups:
        run = group.runs[0]  # a group holds one algorithm: one return key, one x key
        for k in keys:
            group_key, group_x = k or run.return_key, _x_of(run, x)
            logged = [r for r in group.runs if r.series(group_key)]
            if not logged:
                continue
            xs, ys = aligned_curves(logged, group_key, group_x)
            if x_max is not None:
                xs, ys = xs[xs <= x_max], ys[:, xs <= x_max]
            xs, ys = bin_means(xs, ys)
            label = group.label + (f": {group_key}" if len(keys) > 1 else "")
            if len(xs) == 0:
                warn(f"{label}: no iteration logged both {group_key} and {group_x}; left out")
                continue
            draw_mean(ax, xs, ys, band, marker="o" if len(xs) <= 20 else None, markersize=3, label=label)
    for at, label in vlines:
        ax.axvline(at, color="0.3", linestyle="--", linewidth=1, label=label)
    ax.set_xlabel(_x_label(drawable, x))
    if ax.get_xlabel() == "Iteration":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    y_name = "/".join(dict.fromkeys(k or r.return_key for k in keys for r in drawable))
    ax.set_ylabel(y_name + (f" ({BANDS[band]} over seeds)" if any(len(g.runs) > 1 for g in groups) else ""),
                  fontsize="small")
    return _finish(fig, ax, lines, out, _title(drawable))


def _sweep_x(values: list[Any]) -> tuple[list[Any], bool]:
    """Sorted distinct values, and whether the axis is numeric (else categorical)."""
    distinct = list(dict.fromkeys(json.dumps(v, default=str) for v in values))
    parsed = [json.loads(v) for v in distinct]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in parsed)
    return (sorted(parsed) if numeric else sorted(parsed, key=str)), numeric


def plot_sweep(runs: list[Run], out: str, flag: str, key: Optional[str] = None, last: int = 1, band: str = "std",
               hlines: Sequence[str] = (), log_x: bool = False) -> str:
    """Final ``key`` (mean of the last ``last`` logged; None: each run's return key) vs the value of
    ``flag`` (a flag or, for hw3, a config key); mean over seeds, error bars ±std or min..max. Runs
    that also differ in other settings make separate series. ``log_x``: a log-scaled (numeric) x axis."""
    _check_out(out, band)
    if last < 1:
        raise UserError(f"--last must be at least 1 (got {last})")
    runs = [r for r in runs if r.final(key) is not None]
    if not runs:
        raise UserError(f"none of the runs logged {key or 'an eval return'}")
    for r in runs:
        if flag not in r.settings:
            raise UserError(f"{r.name} has no flag {flag} in its config.json")
    lines = resolve_hlines(hlines, runs, [])
    fig, (ax,) = new_figure()
    values, numeric = _sweep_x([r.settings[flag] for r in runs])
    series = group_runs(runs, drop=(*NOT_GROUPED, flag, "exp_name"))
    for s in series:
        xs, means, low, high = [], [], [], []
        for i, value in enumerate(values):
            finals = np.array([r.final(key, last) for r in s.runs if r.settings[flag] == value])
            if len(finals) == 0:
                continue
            lo, hi = band_edges(finals[:, None], band)  # (n_seeds, 1): one column
            xs.append(value if numeric else i)
            means.append(finals.mean())
            low.append(finals.mean() - lo[0])
            high.append(hi[0] - finals.mean())
        label = _differing(s, series) or s.flags.get("env_name") or "runs"
        ax.errorbar(xs, means, yerr=[low, high], marker="o", markersize=4, capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(values)), [str(v) for v in values])
    elif log_x:
        ax.set_xscale("log")
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()
    ax.set_xlabel(flag)
    y_name = key or "/".join(dict.fromkeys(r.return_key for r in runs))
    what = y_name if last == 1 else f"{y_name}, mean of last {last}"
    ax.set_ylabel(f"final {what}\n({BANDS[band]} over seeds)", fontsize="small")
    return _finish(fig, ax, lines, out, _title(runs))
