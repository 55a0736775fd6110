"""Sweeps: a grid of flag values × seeds, one run of a training script each.

A sweep is ``script`` + its own arguments + ``grid`` + ``seeds``. Each grid point
gets ``--exp_name <base>_<flag><value>...`` (``base`` = the script's exp_name,
e.g. ``lunar_gae_lambda0.95``) and each seed one ``--seed``. A switch flag
(``store_true``) is swept with the values ``true``/``false``: ``--flag`` present
or not, ``_flag`` / ``_no_flag`` in the name. A script without ``--exp_name``
(hw3's ``run_hw3_dqn.py`` / ``run_hw3_sac.py``: the name is in the YAML config and
the run dir is the course's log name) gets none; the sweep names its runs (its log
files) after the config file, ``lunarlander_doubleq_seed1.log``; a path value in the
grid (``--grid config_file=a.yaml,b.yaml``) adds the file's stem, ``run_hw3_dqn_a``.

Resuming: before launching, every run dir under the data folder is matched to the
planned runs by script name + every flag of its ``config.json`` (the script's own
``parse_args`` fills in the defaults, so the flags compare exactly). A run whose dir
has the ``DONE`` marker (``run_config.mark_finished``) is complete and skipped; one
without (killed, crashed) is run again in a new dir, the old one is left as it was
(``plotting`` keeps the finished copy of a seed that appears twice).

Launchers: ``local`` runs ``jobs`` subprocesses at a time; ``ray`` sends the same
commands as Ray tasks (1 CPU each) to ``ray.init(address)``, which must see the
same repository path and data folder (a shared file system). Each worker gets
``CS285_TORCH_THREADS=1``, and ``CS285_SAMPLER_PROCS`` = its share of the cores
(1 on Ray), so parallel runs don't fight over cores. The output of a
run goes to ``<data>/.sweep_logs/`` while it runs and into its run dir as
``stdout.log`` once it finished (a failed run's stays in .sweep_logs).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

from tqdm import tqdm

from cs285.infrastructure.errors import UserError
from cs285.trainers.run_config import data_dir, is_finished, load_config

SCRIPTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "scripts")
LOG_DIR = ".sweep_logs"  # hidden, so grading a data folder does not list it
RUN_LOG = "stdout.log"
LAUNCHERS = ("local", "ray")
SWITCH_VALUES = {"true": True, "false": False}
POLL_SECONDS = 0.2
WORKER_ENV = {"CS285_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class PlannedRun:
    exp_name: str
    seed: int
    argv: tuple[str, ...]  # the script's arguments
    identity: str  # script name + flags as config.json will hold them, for matching run dirs

    @property
    def log_name(self) -> str:
        return f"{self.exp_name}_seed{self.seed}.log"


@dataclass
class SweepResult:
    planned: list[PlannedRun]
    skipped: list[PlannedRun] = field(default_factory=list)
    succeeded: list[PlannedRun] = field(default_factory=list)
    failed: list[tuple[PlannedRun, str]] = field(default_factory=list)  # (run, its log file)
    dirs: dict[PlannedRun, str] = field(default_factory=dict)  # the finished run dir of each planned run
    script: str = ""  # the script's path
    # the newest unfinished run dir (killed, stopped, still running) of each planned run without a finished one
    unfinished: dict[PlannedRun, str] = field(default_factory=dict)


def resolve_script(script: str) -> str:
    """A path, or a name in scripts/ (``run_hw2.py``)."""
    for path in (script, os.path.join(SCRIPTS_DIR, script)):
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise UserError(f"no such script: {script} (not a file, nor in {SCRIPTS_DIR})")


def load_script(path: str) -> ModuleType:
    """Import a training script as a module (its ``__main__`` block does not run)."""
    spec = importlib.util.spec_from_file_location(f"_sweep_{os.path.splitext(os.path.basename(path))[0]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "parse_args", None)):
        raise UserError(f"{path} has no parse_args(argv): a sweep needs it to know the runs' flags")
    return module


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["gae_lambda=0,0.95", "-lr=1e-3,1e-2"]`` -> ``[("gae_lambda", ["0", "0.95"]), ...]``."""
    grid = []
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.lstrip("-")
        if not sep or not name or not values:
            raise UserError(f"--grid {spec!r}: expected FLAG=V1,V2,...")
        if name in [n for n, _ in grid]:
            raise UserError(f"--grid: {name} given twice")
        grid.append((name, [v.strip() for v in values.split(",") if v.strip()]))
    return grid


def _has_option(argv: Sequence[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv)


def _without_option(argv: Sequence[str], name: str) -> list[str]:
    """``argv`` less ``--name VALUE`` and ``--name=VALUE``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == f"--{name}":
            skip = True
        elif not a.startswith(f"--{name}="):
            out.append(a)
    return out


def shell_command(script: str, argv: Sequence[str]) -> str:
    """The line that runs ``script`` with ``argv`` from the repository root, pasteable into a shell:
    ``python scripts/run_hw1.py --env Hopper-v4 ...`` (a script outside the repository keeps its path)."""
    root = os.path.dirname(SCRIPTS_DIR)
    rel = os.path.relpath(script, root)
    shown = script if rel.startswith(os.pardir) else rel
    return " ".join(["python", shlex.quote(shown), *map(shlex.quote, argv)])


def _parse(module: ModuleType, argv: list[str], script: str) -> dict[str, Any]:
    """The script's flags for ``argv``; argparse's complaint (usage + message) becomes one line."""
    errors = io.StringIO()
    try:  # the script's notes on its flags are for its own run, not for every planned one
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            return vars(module.parse_args(argv))
    except SystemExit:
        message = (errors.getvalue().strip().splitlines() or ["invalid arguments"])[-1]
        raise UserError(f"{os.path.basename(script)}: {message.split(': error: ')[-1]}") from None


def _identity(script: str, flags: dict[str, Any]) -> str:
    # save_config writes json.dump(..., default=str): compare the same JSON round trip.
    flags = json.loads(json.dumps(flags, default=str))
    for name in ("config_file", "dataset_dir"):  # hw3/hw5: -cfg ./experiments/x.yaml is experiments/x.yaml
        if isinstance(flags.get(name), str):
            flags[name] = os.path.normpath(flags[name])
    return json.dumps([os.path.basename(script), flags], sort_keys=True)


def _path_stem(value: str) -> Optional[str]:
    """A path's file stem (``experiments/dqn/lunarlander.yaml`` -> ``lunarlander``), None for other values."""
    is_path = os.sep in value or value.endswith((".yaml", ".yml"))
    return os.path.splitext(os.path.basename(value))[0] if is_path else None


def plan(script: str, script_args: Sequence[str], grid: Sequence[tuple[str, list[str]]],
         seeds: Sequence[int]) -> list[PlannedRun]:
    """Every grid point × seed as a run of ``script``, with the flags it will save."""
    script_args = list(script_args)
    if _has_option(script_args, "seed"):
        raise UserError("give the seeds with the sweep's --seeds, not --seed")
    for name, _ in grid:
        if _has_option(script_args, name):
            raise UserError(f"--{name} is both in --grid and among the script's arguments")
    seeds = list(dict.fromkeys(seeds))
    if not seeds:
        raise UserError("--seeds needs at least one seed")
    module = load_script(script)
    try:
        base = _parse(module, script_args + ["--seed", str(seeds[0])], script)
    except UserError:  # a required flag (hw3's --config_file) may be the swept one: with the grid's first values
        first = [a for name, vals in grid if vals and vals[0].lower() not in SWITCH_VALUES
                 for a in (f"--{name}", vals[0])]
        if not first:
            raise
        base = _parse(module, script_args + first + ["--seed", str(seeds[0])], script)
    for name, _ in grid:
        if name not in base:
            raise UserError(f"{os.path.basename(script)} has no flag --{name}")
    runs = []
    for values in itertools.product(*(vals for _, vals in grid)):
        argv, suffix = list(script_args), []
        for (name, _), value in zip(grid, values):
            if isinstance(base[name], bool):
                if value.lower() not in SWITCH_VALUES:
                    raise UserError(f"--grid {name}: a switch takes the values true / false, not {value!r}")
                on = SWITCH_VALUES[value.lower()]
                argv += [f"--{name}"] if on else []
                suffix.append(name if on else f"no_{name}")
            else:
                argv += [f"--{name}", value]
                suffix.append(_path_stem(value) or f"{name}{value}".replace(os.sep, "-"))
        if "exp_name" in base:
            exp_name = "_".join([str(base["exp_name"])] + suffix)
            if suffix or not _has_option(argv, "exp_name"):  # no grid: the script's own --exp_name stays
                argv = _without_option(argv, "exp_name") + ["--exp_name", exp_name]  # each flag once
        else:  # hw3: the YAML config names the run; the sweep's name is only for its log files
            config = None if "config_file" in dict(grid) else base.get("config_file")  # a swept one is in suffix
            exp_name = "_".join([(_path_stem(str(config)) if config else None) or Path(script).stem] + suffix)
        for seed in seeds:
            run_argv = argv + ["--seed", str(seed)]
            flags = {**_parse(module, run_argv, script), "seed": seed}
            runs.append(PlannedRun(exp_name, seed, tuple(run_argv), _identity(script, flags)))
    return runs


def _script_of(command: str) -> str:
    """The script a run's saved command line ran (``python scripts/run_hw2.py ...`` -> run_hw2.py)."""
    return next((os.path.basename(t) for t in command.split() if t.endswith(".py")), "")


def _with_new_flags(module: ModuleType, command: str, saved: dict[str, Any]) -> dict[str, Any]:
    """A run's saved flags, completed with the flags ``module`` has gained since the run (their values
    for the run's own command line), so adding a flag to a script does not orphan its finished runs."""
    argv = command.split()
    start = next((i + 1 for i, token in enumerate(argv) if token.endswith(".py")), len(argv))
    try:
        return {**_parse(module, argv[start:], module.__file__), **saved}
    except UserError:
        return saved


def existing_runs(root: str, module: Optional[ModuleType] = None) -> dict[str, list[str]]:
    """identity -> run dirs under ``root`` (a dir whose config.json can't be read is passed over).

    With the sweep's script ``module``, the runs of that script are matched on their flags as the
    script's current version sees them (``_with_new_flags``)."""
    script_name = os.path.basename(module.__file__) if module is not None else None
    found: dict[str, list[str]] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name) if os.path.isdir(root) else []:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            config = load_config(entry.path)
            command, flags = config.get("command", ""), config["flags"]
            if module is not None and _script_of(command) == script_name:
                flags = _with_new_flags(module, command, flags)
            key = _identity(_script_of(command), flags)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        found.setdefault(key, []).append(entry.path)
    return found


def _worker_env(root: str, sampler_procs: int) -> dict[str, str]:
    return {**WORKER_ENV, "CS285_DATA_DIR": os.path.abspath(root), "CS285_SAMPLER_PROCS": str(sampler_procs)}


def run_command(command: list[str], env: dict[str, str], log_path: str, cwd: str) -> int:
    """Run one command to its end with its output in ``log_path``; the exit status (a Ray task's body)."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.run(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                              cwd=cwd).returncode


def _launch_local(commands: list[tuple[PlannedRun, list[str], str]], env: dict[str, str], jobs: int,
                  on_done: Callable[[PlannedRun, int, str], None]) -> None:
    """At most ``jobs`` subprocesses at once; on Ctrl-C the running ones are terminated."""
    queue, running = list(commands), {}  # running: Popen -> (run, log path)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                run, command, log_path = queue.pop(0)
                os.makedirs(os.path.dirname(log_path), exist_ok=True)
                with open(log_path, "w") as log:  # the child writes to its own copy of the file
                    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
                running[proc] = (run, log_path)
            time.sleep(POLL_SECONDS)
            for proc in [p for p in running if p.poll() is not None]:
                run, log_path = running.pop(proc)
                on_done(run, proc.returncode, log_path)
    finally:
        for proc in running:  # only after an interrupt or an error
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _launch_ray(commands: list[tuple[PlannedRun, list[str], str]], env: dict[str, str], jobs: Optional[int],
                address: Optional[str], on_done: Callable[[PlannedRun, int, str], None]) -> None:
    """The same commands as Ray tasks of 1 CPU; ``jobs`` (if given) caps how many are in flight."""
    try:
        import ray
    except ImportError:
        raise UserError("--launcher ray needs ray: pip install -e '.[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    task = ray.remote(num_cpus=1)(run_command)
    queue, pending = list(commands), {}
    try:
        while queue or pending:
            while queue and (jobs is None or len(pending) < jobs):
                run, command, log_path = queue.pop(0)
                pending[task.remote(command, env, log_path, os.getcwd())] = (run, log_path)
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            run, log_path = pending.pop(ref)
            try:
                code = ray.get(ref)
            except ray.exceptions.RayError as e:  # the task itself died (worker lost, ...)
                with open(log_path, "a") as log:
                    log.write(f"\nray task failed: {e}\n")
                code = -1
            on_done(run, code, log_path)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


@dataclass(frozen=True)
class SweepSpec:
    """One sweep: ``script`` (a name in scripts/ or a path) + its arguments, ``grid`` specs
    (``"gae_lambda=0,0.98"``) and seeds."""

    script: str
    args: tuple[str, ...] = ()
    grid: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (1,)
    # the projected wall seconds of one run (from a measured speed), shown by a dry run; None: unknown
    seconds: Optional[float] = field(default=None, compare=False)
    # a report runs its sweeps stage by stage: a later stage's runs read what an earlier one's write (hw5's
    # offline runs, the exploration runs' datasets)
    stage: int = field(default=0, compare=False)

    def planned(self) -> list[PlannedRun]:
        """The sweep's runs: its grid × seeds (``plan``)."""
        return plan(resolve_script(self.script), self.args, parse_grid(self.grid), self.seeds)

    def command(self) -> str:
        """The sweep.py command line that runs this sweep."""
        grid = f" --grid {' '.join(self.grid)}" if self.grid else ""
        return (f"python scripts/sweep.py {os.path.basename(self.script)} {' '.join(self.args)}{grid} "
                f"--seeds {' '.join(map(str, self.seeds))}").replace("  ", " ")


def run_sweep(script: str, script_args: Sequence[str], grid_specs: Sequence[str], seeds: Sequence[int],
              jobs: Optional[int] = None, launcher: str = "local", address: Optional[str] = None,
              root: Optional[str] = None, dry_run: bool = False) -> SweepResult:
    """Plan the sweep, skip the complete runs, launch the rest; see the module docstring."""
    spec = SweepSpec(script, tuple(script_args), tuple(grid_specs), tuple(seeds))
    return run_sweeps([spec], jobs, launcher, address, root, dry_run)[0]


def run_sweeps(specs: Sequence[SweepSpec], jobs: Optional[int] = None, launcher: str = "local",
               address: Optional[str] = None, root: Optional[str] = None,
               dry_run: bool = False) -> list[SweepResult]:
    """Several sweeps as one queue of runs on one pool of workers (a run planned twice runs once);
    one ``SweepResult`` per spec, its ``dirs`` holding the finished run dir of each planned run."""
    if launcher not in LAUNCHERS:
        raise UserError(f"--launcher must be one of {', '.join(LAUNCHERS)}")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1 (got {jobs})")
    if address and launcher != "ray":
        raise UserError("--address is for --launcher ray")
    root = os.path.abspath(root or data_dir())
    results, modules, todo = [], {}, {}  # todo: identity -> (run, script, module)
    seconds: dict[str, Optional[float]] = {}  # identity -> the projected wall seconds of its run
    for spec in specs:
        script = resolve_script(spec.script)
        planned = spec.planned()
        if script not in modules:
            modules[script] = load_script(script)
        finished, unfinished = _run_dirs(root, modules[script], planned)
        results.append(SweepResult(planned, [run for run in planned if run in finished], dirs=finished, script=script,
                                   unfinished=unfinished))
        for run in planned:
            if run not in finished:
                todo.setdefault(run.identity, (run, script, modules[script]))
                seconds.setdefault(run.identity, spec.seconds)
    n_planned = len({run.identity for r in results for run in r.planned})
    workers = jobs if launcher == "ray" else (jobs or os.cpu_count() or 1)
    where = f"{workers} local workers" if launcher == "local" else f"Ray at {address or 'a new local instance'}"
    print(f"sweep: {n_planned} runs, {n_planned - len(todo)} complete, {len(todo)} to run with {where}; "
          f"logs in {root}", flush=True)
    commands = [(run, [sys.executable, script, *run.argv], os.path.join(root, LOG_DIR, run.log_name))
                for run, script, _ in todo.values()]
    if dry_run:
        partial = {run.identity: d for r in results for run, d in r.unfinished.items()}
        for run, command, _ in commands:
            notes = ([f"~{hours(seconds[run.identity])}"] if seconds[run.identity] is not None else []) + \
                ([_resumes(partial[run.identity])] if run.identity in partial else [])
            print(shell_command(command[1], command[2:]) + (f"  # {'; '.join(notes)}" if notes else ""))
        known = [s for s in (seconds[i] for i in todo) if s is not None]
        if known:
            lanes = min(workers or len(known), len(known))  # Ray without --jobs: every run at once
            print(f"projected: {hours(sum(known))} of runs for the {len(known)} of {len(todo)} with a measured speed "
                  f"(from scratch), at least {hours(max(sum(known) / lanes, max(known)))} on {lanes} worker(s) "
                  f"(the longest run alone: {hours(max(known))})", flush=True)
        return results
    if not todo:
        return results

    bar = tqdm(total=n_planned, initial=n_planned - len(todo), desc="sweep", unit="run", disable=None)
    owners = {identity: [r for r in results if any(p.identity == identity for p in r.planned)]
              for identity in todo}
    failures = []

    def on_done(run: PlannedRun, code: int, log_path: str) -> None:
        if code == 0:
            _file_log(root, run, log_path, todo[run.identity][2])
        else:
            tqdm.write(f"failed (exit {code}): {run.exp_name} seed {run.seed}; see {log_path}")
            failures.append(run)
        for result in owners[run.identity]:
            if code == 0:
                result.succeeded.append(run)
            else:
                result.failed.append((run, log_path))
        bar.update(1)
        bar.set_postfix(failed=len(failures))

    try:
        if launcher == "local":
            # the cores shared out between the runs at once, for run_hw2's episode sampler
            sampler_procs = max(1, (os.cpu_count() or 1) // min(workers, len(todo)))
            _launch_local(commands, _worker_env(root, sampler_procs), workers, on_done)
        else:
            _launch_ray(commands, _worker_env(root, 1), workers, address, on_done)
    finally:
        bar.close()
        for result in results:
            result.dirs, result.unfinished = _run_dirs(root, modules[result.script], result.planned)
    return results


def _shown(path: str) -> str:
    """``path`` relative to the working directory when inside it, else as it is."""
    inside = os.path.abspath(path).startswith(os.getcwd() + os.sep)
    return os.path.relpath(path) if inside else path


def _resumes(path: str) -> str:
    """``resumes <dir> (incomplete N/M steps)`` for an unfinished run dir with a checkpoint, which the same
    command picks up again (``run.resumable_logdir``); without one, the run starts over in a new dir."""
    from cs285.reporting.grading import load_run  # grading reads run dirs; the sweep only plans them
    from cs285.trainers.checkpointing import resume_path

    what = "resumes" if resume_path(path) else "starts over (no checkpoint in)"
    return f"{what} {_shown(path)} ({load_run(path).status})"


def hours(seconds: float) -> str:
    """``13.3 h``; under an hour in minutes: ``12 min``."""
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def _run_dirs(root: str, module: ModuleType,
              planned: Sequence[PlannedRun]) -> tuple[dict[PlannedRun, str], dict[PlannedRun, str]]:
    """The newest finished run dir of each planned run that has one, and the newest unfinished dir of
    each of the others that has one."""
    found = existing_runs(root, module)
    finished, unfinished = {}, {}
    for run in planned:
        dirs = found.get(run.identity, [])
        done = [d for d in dirs if is_finished(d)]
        if done:
            finished[run] = max(done, key=os.path.getmtime)
        elif dirs:
            unfinished[run] = max(dirs, key=os.path.getmtime)
    return finished, unfinished


def _finished_dirs(root: str, module: ModuleType, planned: Sequence[PlannedRun]) -> dict[PlannedRun, str]:
    """The newest finished run dir of each planned run that has one."""
    return _run_dirs(root, module, planned)[0]


def _file_log(root: str, run: PlannedRun, log_path: str, module: ModuleType) -> None:
    """Move a finished run's output into its run dir (the newest finished dir with its flags)."""
    newest = _finished_dirs(root, module, [run]).get(run)
    if newest and os.path.exists(log_path):
        shutil.move(log_path, os.path.join(newest, RUN_LOG))
