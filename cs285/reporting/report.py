"""A homework's report in one command: plan the runs its deliverables need, run the missing ones, write
``reports/<hw>/report.md`` with every figure (PNG + PDF), table, rollout GIF, a grade line per experiment
and the commands behind them. Redrawing a report costs no training.

A report is a list of ``Experiment``: what the handout asks, the files to make first
(``Prep``: e.g. expert data with more trajectories, written by a script of scripts/),
the sweeps that hold its runs (``sweep.SweepSpec``) and ``write``, which turns the
finished runs into the section's Markdown through a ``Section`` (figures, tables, GIFs).
Every sweep of every experiment goes into one queue on one pool of workers
(``sweep.run_sweeps``), so the cores stay busy across experiments, and a run two
experiments share runs once. Resuming is the sweep's: a run whose dir has the DONE
marker is never run again, so a second call after a kill redoes nothing finished; a
``Prep`` whose file exists is skipped (the scripts write atomically).

Runs go to data/ (or ``$CS285_DATA_DIR``) like any other run, where ``grade.py`` and
``plot.py`` see them too; prepared files go to its hidden ``.report_inputs/``.
"""
from __future__ import annotations

import datetime
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.files import atomic_path
from cs285.trainers.run_config import data_dir, git_commit
from cs285.reporting.grading import Run, load_run
from cs285.reporting.sweep import LOG_DIR, SweepResult, SweepSpec, _launch_local, resolve_script, run_sweeps

REPORTS_DIR = "reports"
FIGURES = "figures"
INPUTS_DIR = ".report_inputs"  # hidden: grading a data folder does not list it
GIF_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Prep:
    """A file a script of scripts/ writes with ``--out``: ``script args --out out``; skipped when ``out`` exists."""

    script: str
    args: tuple[str, ...]
    out: str

    def command(self) -> str:
        script = f"scripts/{self.script}" if os.sep not in self.script else rel(self.script)
        return " ".join(["python", script, *self.args, "--out", self.out])


@dataclass
class Experiment:
    key: str  # anchor and file-name stem: "bc_table"
    title: str
    asks: str  # the deliverable, in the handout's words where it has them
    sweeps: list[SweepSpec]
    write: Callable[["Section"], None]
    prepare: list[Prep] = field(default_factory=list)


def rel(path: str) -> str:
    """``path`` relative to the working directory when inside it (how commands and config.json name it)."""
    path = os.path.abspath(path)
    return os.path.relpath(path) if path.startswith(os.getcwd() + os.sep) else path


def inputs_dir(root: Optional[str] = None) -> str:
    return rel(os.path.join(root or data_dir(), INPUTS_DIR))


class Section:
    """What ``Experiment.write`` builds on: the experiment's finished runs, and Markdown parts."""

    def __init__(self, experiment: Experiment, results: list[SweepResult], out_dir: str):
        self.experiment, self.results, self.out_dir = experiment, results, out_dir
        self.parts: list[str] = []
        self.drawn_unfinished: dict[str, Run] = {}  # path -> an unfinished run the section drew
        os.makedirs(os.path.join(out_dir, FIGURES), exist_ok=True)

    def runs(self, index: int = 0, unfinished: bool = False) -> list[Run]:
        """The finished runs of sweep ``index``, in plan order (a missing one is named in the section);
        with ``unfinished``, a planned run without a finished dir but with an unfinished one (killed, or
        still running) is there too, as far as it got: its ``status`` says ``incomplete N/M steps``,
        and the section lists it."""
        result, out = self.results[index], []
        for run in result.planned:
            if run in result.dirs:
                out.append(load_run(result.dirs[run]))
            elif unfinished and run in result.unfinished:
                out.append(load_run(result.unfinished[run]))
                self.drawn_unfinished[out[-1].path] = out[-1]
        return out

    def missing(self) -> int:
        return sum(len(r.planned) - len(r.dirs) for r in self.results)

    def text(self, markdown: str) -> None:
        self.parts.append(markdown.strip())

    def figure(self, name: str, caption: str, draw: Callable[[str], str]) -> None:
        """``draw(path)`` writes the figure at ``path``; called for ``figures/<name>.png`` and ``.pdf``."""
        stem = os.path.join(FIGURES, name)
        try:
            for suffix in (".png", ".pdf"):
                draw(os.path.join(self.out_dir, stem + suffix))
        except UserError as e:
            self.text(f"*Figure {name} not drawn: {e}*")
            return
        self.text(f"![{caption}]({stem}.png)\n\n*{caption}* ([PDF]({stem}.pdf))")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.text("\n".join(lines))

    def gif(self, name: str, caption: str, make: Callable[[str], None]) -> None:
        """``make(path)`` writes a GIF at ``figures/<name>.gif``, kept if it exists already (GIF_MAX_BYTES at most)."""
        path = os.path.join(self.out_dir, FIGURES, name + ".gif")
        if not os.path.exists(path):
            try:
                make(path)
            except UserError as e:
                self.text(f"*GIF {name} not made: {e}*")
                return
        size = os.path.getsize(path)
        if size > GIF_MAX_BYTES:
            print(f"note: {path} is {size / 1e6:.1f} MB, over the {GIF_MAX_BYTES / 1e6:.0f} MB a report GIF may take",
                  file=sys.stderr)
        self.text(f"![{caption}]({FIGURES}/{name}.gif)\n\n*{caption}* ({size / 1e6:.2f} MB)")

    def markdown(self) -> str:
        e = self.experiment
        out = [f"## {e.title}", f"*The handout asks:* {e.asks}"]
        if self.missing():
            drawn = "; ".join(f"`{rel(r.path)}` (seed {r.flags.get('seed')}): {r.status}"
                              for r in self.drawn_unfinished.values())
            out.append(f"**{self.missing()} planned run(s) did not finish; what follows uses the rest"
                       + (f", and draws these unfinished ones as far as they got: {drawn}" if drawn else "")
                       + ". Run the same report command again to run them (a run with a checkpoint resumes from it).**")
        out += self.parts
        commands = [p.command() for p in e.prepare] + [s.command() for s in e.sweeps]
        out.append("<details><summary>Commands</summary>\n\n" + "\n".join(f"    {c}" for c in commands)
                   + "\n\nFigures and tables: drawn by `scripts/report.py` from these runs.\n</details>")
        return "\n\n".join(out)


def policy_gif(section: Section, run: Run, name: str, caption: str, size: int = 224) -> None:
    """``figures/<name>.gif``: one deterministic eval episode (reset seed 0) of ``run``'s last saved policy
    (``--save_params``), rendered at ``size`` px (the GIF: half that); loaded only when the GIF is missing."""
    from cs285.envs.video import save_policy_video
    from cs285.policies.load import load_policy

    policies = sorted((f for f in os.listdir(run.path) if f.startswith("policy_itr_")),
                      key=lambda f: int(f[len("policy_itr_"):].split(".")[0]))
    if not policies:
        section.text(f"*No saved policy in {run.path} for a GIF.*")
        return

    def make(path: str) -> None:
        policy, _ = load_policy(os.path.join(run.path, policies[-1]))
        save_policy_video(run.env_name, policy, path, ep_len=run.flags.get("ep_len"), size=size)

    section.gif(name, f"{caption}, seed {run.flags.get('seed')}, {policies[-1]}: one deterministic eval episode "
                f"(reset seed 0)", make)


def _prepare(preps: Sequence[Prep], jobs: int, dry_run: bool) -> None:
    todo = list({p.out: p for p in preps if not os.path.exists(p.out)}.values())
    if not todo:
        return
    print(f"report: {len(todo)} input file(s) to make first", flush=True)
    if dry_run:
        print("\n".join(p.command() for p in todo))
        return
    failed = []
    for p in todo:
        os.makedirs(os.path.dirname(os.path.abspath(p.out)), exist_ok=True)

    def on_done(prep: Prep, code: int, log_path: str) -> None:
        if code != 0:
            failed.append(f"{prep.command()} (exit {code}; see {log_path})")
        elif os.path.exists(log_path):
            os.remove(log_path)

    logs = os.path.join(data_dir(), LOG_DIR)
    commands = [(p, [sys.executable, resolve_script(p.script), *p.args, "--out", p.out],
                 os.path.join(logs, f"prep_{os.path.basename(p.out)}.log")) for p in todo]
    _launch_local(commands, {}, jobs, on_done)
    if failed:
        raise UserError("could not make the report's inputs: " + "; ".join(failed))


def pick(experiments: Sequence[Experiment], only: Sequence[str]) -> list[Experiment]:
    """The experiments whose key is in ``only`` (all when empty), in the report's order; an unknown key
    is a UserError that lists the keys."""
    keys = [e.key for e in experiments]
    unknown = [k for k in only if k not in keys]
    if unknown:
        raise UserError(f"--only {' '.join(unknown)}: no such section (the sections: {', '.join(keys)})")
    return [e for e in experiments if not only or e.key in only]


def report_name(experiments: Sequence[Experiment], only: Sequence[str]) -> str:
    """``report.md``; with ``--only``, ``report_<key>[_<key>].md``, so a partial report never replaces the whole."""
    return "report.md" if not only else "report_" + "_".join(e.key for e in pick(experiments, only)) + ".md"


def build_report(hw: str, title: str, experiments: Sequence[Experiment], command: str, out_dir: str,
                 jobs: Optional[int] = None, launcher: str = "local", address: Optional[str] = None,
                 dry_run: bool = False, only: Sequence[str] = ()) -> Optional[str]:
    """Run what is missing, then write ``out_dir/report.md`` (``only``: those sections, in
    ``report_name``); returns its path (None on a dry run)."""
    start = time.time()
    name = report_name(experiments, only)
    experiments = pick(experiments, only)
    _prepare([p for e in experiments for p in e.prepare], jobs or os.cpu_count() or 1, dry_run)
    specs = [s for e in experiments for s in e.sweeps]
    results: list[SweepResult] = [None] * len(specs)  # type: ignore[list-item]
    for stage in sorted({s.stage for s in specs}):  # one queue a stage: a stage reads what the ones before wrote
        picked = [i for i, s in enumerate(specs) if s.stage == stage]
        for i, result in zip(picked, run_sweeps([specs[i] for i in picked], jobs, launcher, address,
                                                dry_run=dry_run)):
            results[i] = result
    if dry_run:
        return None
    remaining = iter(results)  # the experiments' sweeps, in order
    sections = [Section(e, [next(remaining) for _ in e.sweeps], out_dir) for e in experiments]
    for section in sections:
        section.experiment.write(section)
    n_runs = len({run.identity for r in results for run in r.planned})
    ran = len({run.identity for r in results for run in r.succeeded})
    commit = git_commit(short=True) or "unknown"
    header = [f"# {title}", f"Written by `{command}` on {datetime.date.today().isoformat()} (commit {commit}): "
              f"{n_runs} runs, {ran} of them run by this call, in {time.time() - start:.0f} s. Every number "
              f"below comes from the run dirs in `{rel(data_dir())}/`; each section lists its commands.",
              "\n".join(f"- [{e.title}](#{_anchor(e.title)})" for e in experiments)]
    path = os.path.join(out_dir, name)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n\n".join(header + [s.markdown() for s in sections]) + "\n")
    return path


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, spaces to -, punctuation but - and _ dropped."""
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")
