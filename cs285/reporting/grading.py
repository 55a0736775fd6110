"""From run dirs to a report: read each run once, then one graded row per run.

A run dir is ``data/<prefix><exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS>`` holding
``config.json`` and ``metrics.jsonl`` (see ``run_config`` and ``logger``). The
prefix names the homework: ``q1_`` BC, ``q2_`` DAgger (hw1), ``q2_pg_`` policy
gradients (hw2); ``hw3_dqn_`` / ``hw3_sac_`` (hw3) are followed by the course's log
name (``dqn_LunarLander-v2_s64_l2_d0.99_doubleq``), which holds the env. hw1/hw2 rows
have one row per iteration and ``Eval_AverageReturn`` / ``Eval_StdReturn`` against
``Train_EnvstepsSoFar``; hw3 rows are keyed by env step (``step``) and log
``eval_return`` / ``eval/return_std``, and the config.json of a hw3 run holds the
resolved YAML config under ``experiment`` beside the script's ``flags``.
Anything else (an empty dir, a run killed before its first row, a half-written
last line, a folder that is no run at all) still gets a row, with a ``status``
that says so; only a path that does not exist is an error.

The expert's return is, for hw1, the run's own ``Initial_DataCollection_AverageReturn``
(the mean return of the expert data it cloned); otherwise the mean return of the
shipped ``experts/expert_data_<env>.pkl`` if there is one.
"""
from __future__ import annotations

import functools
import glob
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import METRICS_JSONL, read_metrics
from cs285.trainers.run_config import CONFIG_FILE, is_finished, load_config
from cs285.trainers.script_util import default_expert_data, env_family

# Longest prefix first: q2_pg_ runs are hw2, plain q2_ runs are DAgger.
RUN_PREFIXES = (("q2_pg_", "pg"), ("q1_", "bc"), ("q2_", "dagger"), ("hw3_dqn_", "dqn"), ("hw3_sac_", "sac"))
_TIME = r"\d\d-\d\d-\d{4}_\d\d-\d\d-\d\d(_\d+)?$"
RUN_NAME = re.compile(r"^(q2_pg_|q1_|q2_)(?P<exp>.+)_(?P<env>[\w-]+-v\d+)_" + _TIME)
HW3_RUN_NAME = re.compile(r"^(hw3_dqn_|hw3_sac_)(?P<log>.+)_" + _TIME)
ENV_TOKEN = re.compile(r"^[A-Za-z][\w-]*-v\d+$")  # one "_"-separated piece of a log name: LunarLander-v2
RETURN_KEY = "Eval_AverageReturn"
HW3_ALGORITHMS = ("dqn", "sac")
HW3_RETURN_KEY, HW3_STD_KEY = "eval_return", "eval/return_std"
HW3_BASE_CONFIGS = {"dqn_basic": "dqn", "dqn_atari": "dqn", "sac": "sac"}
HW4_ALGORITHMS = ("mpc", "mbpo")
HW5_ALGORITHMS = ("random", "rnd", "cql", "awac", "iql")  # and hw5's dqn; rows keyed by step, as hw3's  # hw4 logs hw3's eval keys, by iteration, with its env steps in total_envsteps
HW4_ENV_STEPS_KEY = "total_envsteps"


@dataclass
class Run:
    """What one run dir holds, read once. ``status`` is "ok" for a run that got to its end."""

    path: str
    name: str
    flags: dict[str, Any] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    status: str = "ok"
    finished: bool = False  # has the DONE marker
    experiment: dict[str, Any] = field(default_factory=dict)  # hw3: the resolved YAML config

    @property
    def settings(self) -> dict[str, Any]:
        """What the run was asked to do: its flags, and for hw3/hw4 the YAML config's keys (those win; hw4's
        MBPO SAC config as ``sac_config.<key>``)."""
        if not self.experiment:
            return self.flags
        experiment = {k: v for k, v in self.experiment.items() if k != "sac_config"}
        experiment.update({f"sac_config.{k}": v for k, v in (self.experiment.get("sac_config") or {}).items()})
        return {**{k: v for k, v in self.flags.items() if k != "config"}, **experiment}

    @property
    def env_name(self) -> Optional[str]:
        if self.settings.get("env_name"):
            return str(self.settings["env_name"])
        if match := RUN_NAME.match(self.name):
            return match["env"]
        match = HW3_RUN_NAME.match(self.name)
        return next((t for t in match["log"].split("_") if ENV_TOKEN.match(t)), None) if match else None

    @property
    def algorithm(self) -> str:
        return algorithm(self.name, self.settings)

    @property
    def family(self) -> str:
        """The algorithm without its options: ``pg``, ``sac``, ..."""
        return self.algorithm.split("+")[0]

    @property
    def is_hw3(self) -> bool:
        """hw3's layout: rows keyed by step (env step or update), hw3's eval keys; hw5's runs share it."""
        return self.family in HW3_ALGORITHMS + HW5_ALGORITHMS

    @property
    def is_hw4(self) -> bool:
        return self.family in HW4_ALGORITHMS

    @property
    def return_key(self) -> str:
        return HW3_RETURN_KEY if self.is_hw3 or self.is_hw4 else RETURN_KEY

    @property
    def std_key(self) -> str:
        return HW3_STD_KEY if self.is_hw3 or self.is_hw4 else "Eval_StdReturn"

    @property
    def env_steps_key(self) -> str:
        """hw3 rows are keyed by env step; hw1/hw2/hw4 rows by iteration, with the env steps logged."""
        return "step" if self.is_hw3 else HW4_ENV_STEPS_KEY if self.is_hw4 else "Train_EnvstepsSoFar"

    @property
    def n_iter(self) -> Optional[int]:
        """The iterations the run was asked for (hw3: None, its rows are env steps)."""
        n = self.experiment.get("num_iters") if self.is_hw4 else None if self.is_hw3 else self.flags.get("n_iter")
        return n if isinstance(n, int) else None

    def series(self, key: str) -> list[tuple[int, float]]:
        """(step, value) of every row that logged ``key``."""
        return [(int(r["step"]), float(r[key])) for r in self.rows if key in r and r[key] is not None]

    def final(self, key: Optional[str] = None, last: int = 1) -> Optional[float]:
        """Mean of the last ``last`` logged values of ``key`` (default: the run's return key;
        fewer if the run logged fewer)."""
        values = [v for _, v in self.series(key or self.return_key)][-last:]
        return float(np.mean(values)) if values else None


def algorithm(name: str, flags: dict[str, Any]) -> str:
    """``bc``, ``dagger``, ``pg``, ``dqn``, ``sac``, ``mpc`` or ``mbpo`` plus its options, e.g.
    ``pg+rtg+na+baseline+gae``, ``dqn+doubleq``, ``sac+reparametrize+min``, ``mpc+cem``; ``?`` if unknown.
    ``flags``: ``Run.settings``."""
    if name.startswith("hw5_") and flags.get("base_config"):
        return str(flags["base_config"])  # dqn, random, rnd, cql, awac, iql
    if flags.get("base_config") == "mpc":
        return "mbpo" if flags.get("sac_config_file") else f"mpc+{flags.get('mpc_strategy', 'random')}"
    base = HW3_BASE_CONFIGS.get(str(flags.get("base_config")))
    if base == "dqn" or (base is None and name.startswith("hw3_dqn_")):
        return "dqn+doubleq" if flags.get("use_double_q") else "dqn"
    if base == "sac" or (base is None and name.startswith("hw3_sac_")):
        backup = flags.get("target_critic_backup_type")  # the default, mean, goes unnamed
        options = (flags.get("actor_gradient_type"), None if backup == "mean" else backup)
        return "+".join(["sac"] + [str(o) for o in options if o])
    if "use_reward_to_go" in flags or name.startswith("q2_pg_"):
        options = {"rtg": flags.get("use_reward_to_go"), "na": flags.get("normalize_advantages"),
                   "baseline": flags.get("use_baseline"), "gae": flags.get("gae_lambda") is not None}
        return "+".join(["pg"] + [o for o, on in options.items() if on])
    if "do_dagger" in flags:
        return "dagger" if flags["do_dagger"] else "bc"
    return next((algo for prefix, algo in RUN_PREFIXES if name.startswith(prefix)), "?")


def _partial_last_line(path: str) -> bool:
    """True if the file's last line does not parse as JSON (a writer was cut off mid-line)."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))  # the last line is in the file's last 64 kB
        lines = f.read().splitlines()
    if not lines:
        return False
    try:
        json.loads(lines[-1])
    except ValueError:
        return True
    return False


def load_run(path: str) -> Run:
    """Read a run dir (never raises for a dir's contents; the status tells what is wrong)."""
    path = os.path.normpath(path)
    run = Run(path=path, name=os.path.basename(path))
    config_path, metrics_path = os.path.join(path, CONFIG_FILE), os.path.join(path, METRICS_JSONL)
    if not is_run_dir(path):
        run.status = "not a run"
        return run
    if os.path.exists(config_path):
        try:
            config = load_config(path)
            run.flags = dict(config.get("flags") or {})
            # run_hw3_dqn saves the YAML config as "experiment"; a run that keeps it in flags["config"] too
            experiment = config.get("experiment") or run.flags.get("config")
            run.experiment = dict(experiment) if isinstance(experiment, dict) else {}
        except (OSError, ValueError, AttributeError, TypeError):
            run.status = "bad config.json"
    run.finished = is_finished(path)
    run.rows = read_metrics(path)
    if not run.rows:
        run.status = "no metrics"
        return run
    notes = []
    last = int(run.rows[-1]["step"])
    if run.is_hw3:  # rows keyed by env step, from 0 to total_steps - 1
        # hw5's offline runs take training_steps updates; its other runs total_steps steps
        n_iter = run.experiment.get("training_steps") if run.name.startswith("hw5_offline_") else None
        n_iter, done, unit = n_iter or run.experiment.get("total_steps"), last, " steps"
        if isinstance(n_iter, int) and run.flags.get("max_env_steps"):  # a shortened run ends there
            n_iter = min(n_iter, int(run.flags["max_env_steps"]))
    else:  # rows keyed by iteration, from 0 to n_iter - 1
        n_iter, done, unit = run.n_iter, last + 1, ""
    if not run.finished and not (isinstance(n_iter, int) and last + 1 >= n_iter):
        notes.append(f"incomplete {done}/{n_iter}{unit}" if isinstance(n_iter, int) else "incomplete")
    if _partial_last_line(metrics_path):
        notes.append("last line partial")
    if notes:
        run.status = "; ".join(([] if run.status == "ok" else [run.status]) + notes)
    return run


def is_run_dir(path: str) -> bool:
    """A dir with a config.json or metrics.jsonl, or one named like a run (made, nothing written yet)."""
    name = os.path.basename(os.path.normpath(path))
    return os.path.isdir(path) and (any(os.path.exists(os.path.join(path, f)) for f in (CONFIG_FILE, METRICS_JSONL))
                                    or bool(RUN_NAME.match(name) or HW3_RUN_NAME.match(name)))


def expand_paths(patterns: list[str]) -> list[str]:
    """Run dirs named by ``patterns``: a run dir, a folder of runs (its sub-folders, hidden ones
    left out), or a glob. A path that matches nothing raises UserError."""
    unique: dict[str, str] = {}  # the same dir named twice (a link, data/ and data/run) is graded once
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches or not os.path.exists(matches[0]):
            raise UserError(f"no such run dir or folder: {pattern}")
        for path in matches:
            entries = os.scandir(path) if os.path.isdir(path) and not is_run_dir(path) else []  # a folder of runs
            subdirs = sorted(e.path for e in entries if e.is_dir() and not e.name.startswith("."))
            for run_dir in subdirs or [path]:
                unique.setdefault(os.path.realpath(run_dir), os.path.normpath(run_dir))
    return list(unique.values())


@functools.lru_cache(maxsize=None)
def _expert_data_return(path: str) -> Optional[float]:
    """Mean return of an expert-data file's trajectories; None if missing or unreadable."""
    from cs285.infrastructure.expert_data import load_expert_data
    from cs285.infrastructure.utils import path_returns

    try:
        return float(np.mean(path_returns(load_expert_data(path)))) if os.path.isfile(path) else None
    except (UserError, OSError, ValueError):
        return None


def expert_return(run: Run) -> Optional[float]:
    """hw1: the run's Initial_DataCollection_AverageReturn (its expert data); else the shipped data's."""
    if run.algorithm in ("bc", "dagger"):
        initial = run.final("Initial_DataCollection_AverageReturn")
        if initial is not None:
            return initial
        if run.flags.get("expert_data"):
            return _expert_data_return(str(run.flags["expert_data"]))
    return _expert_data_return(default_expert_data(run.env_name)) if run.env_name else None


@dataclass(frozen=True)
class Bar:
    """A handout target: mean of the last ``last`` Eval returns ≥ (or >) ``threshold``,
    or, with ``of_expert``, ≥ that fraction of the expert's return. ``threshold`` None: the
    handout asks for the experiment but states no number (the table shows "—", never pass/FAIL)."""

    family: Optional[str]  # env family (``Hopper``), None = any env
    algorithm: str  # ``bc``, ``pg``, ``dqn``, ``sac`` (matched against the start of Run.algorithm)
    threshold: Optional[float]
    short: str  # for the table
    text: str  # for --json and the table's notes
    last: int = 1
    strict: bool = False
    of_expert: bool = False
    needs_flag: Optional[str] = None  # a flag (or hw3 config key) that must be set, e.g. use_baseline
    exp_name: Optional[str] = None  # hw4: the config's exp_name (its configs share envs and algorithms)
    needs_value: Optional[tuple[str, Any]] = None  # a setting that must have this value
    loss_step: Optional[int] = None  # hw4 0-iter: the bar is the dynamics loss of this update, below threshold

    def applies(self, run: Run) -> bool:
        env, settings = run.env_name, run.settings
        return ((self.family is None or (env is not None and env_family(env) == self.family))
                and run.family == self.algorithm
                and (self.needs_flag is None or bool(settings.get(self.needs_flag)))
                and (self.exp_name is None or settings.get("exp_name") == self.exp_name)
                and (self.needs_value is None or settings.get(self.needs_value[0]) == self.needs_value[1]))


BARS = (
    Bar(None, "bc", 0.30, "≥30% of expert*", "BC reaches at least 30% of the expert's return: the course's bar "
        "(hw1 asks for one env where BC meets it, Ant in the handout, and one where it does not)", of_expert=True),
    Bar("CartPole", "pg", 200, "final ≥ 200", "CartPole: the final Eval return reaches the maximum, 200"),
    Bar("HalfCheetah", "pg", 300, "last-5 mean > 300", "HalfCheetah with a baseline: mean Eval return of the "
        "last 5 iterations above 300", last=5, strict=True, needs_flag="use_baseline"),
    Bar("LunarLander", "pg", 180, "last-10 mean ≥ 180", "LunarLander: mean Eval return of the last 10 "
        "iterations at least 180", last=10),
    Bar("InvertedPendulum", "pg", 1000, "final ≥ 1000", "InvertedPendulum: the final Eval return reaches 1000"),
    Bar("Humanoid", "pg", 600, "final ≥ 600", "Humanoid: the final Eval return reaches 600"),
    # hw3. The handout's words are quoted; "nearly / around / close to X" is read as ≥ 0.95 X, the
    # reading docs/results.md records for CartPole (the bar, 475 of 500). First match wins.
    Bar("CartPole", "dqn", 475, "final ≥ 475", "hw3 DQN CartPole-v1: the final eval_return at least 475 (the "
        "handout: \"nearly 500\"; the issue's bar, see docs/results.md)"),
    Bar("LunarLander", "dqn", 200, "final ≥ 200", "hw3 double DQN LunarLander: the final eval_return at least "
        "200 (the handout: \"You should expect a return of 200 by the end of training\")",
        needs_flag="use_double_q"),
    Bar("LunarLander", "dqn", None, "—", "hw3 DQN LunarLander without double-Q: no bar (the handout: \"Your "
        "code may not reach high return (200) on Lunar Lander yet; this is okay!\")"),
    Bar("MsPacmanNoFrameskip", "dqn", 1425, "final ≥ 1425", "hw3 DQN MsPacman: the final eval_return at "
        "least 1425 (the handout: \"a score of around 1500 by the end of training (1 million steps)\")"),
    Bar("InvertedPendulum", "sac", 950, "final ≥ 950", "hw3 SAC InvertedPendulum (the REINFORCE and "
        "reparametrize sanity checks): the final eval_return at least 950 (the handout: \"You should achieve "
        "reward close to 1000, which corresponds to staying upright for all time steps\")"),
    Bar(None, "sac", None, "—", "hw3 SAC HalfCheetah, Hopper, Humanoid, Pendulum: no bar (the handout asks "
        "for plots and comparisons, not a return)"),
    # hw4, by config (exp_name). A range "about A to B" is read as reaching its lower end A.
    Bar(None, "mpc", 0.2, "loss < 0.2 at update 500", "hw4 halfcheetah_0_iter: no eval; the dynamics loss "
        "of update 500 (itr_0_losses.csv, the numbers of itr_0_loss_curve.png) below 0.2, the handout's target "
        "for the loss curve", exp_name="cheetah_0iter", loss_step=500),
    Bar(None, "mpc", -70, "final > −70", "hw4 obstacles_1_iter: eval_return above −70 (the handout: \"greater "
        "than -70\")", strict=True, exp_name="obstacles_single"),
    Bar(None, "mpc", -25, "final ≥ −25", "hw4 obstacles_multi_iter: eval_return at least −25 (the handout: "
        "\"around -25 to -20\")", exp_name="obstacles_multi"),
    Bar(None, "mpc", -300, "final ≥ −300", "hw4 reacher_multi_iter: eval_return at least −300 (the handout: "
        "\"around -300 to -250\")", exp_name="reacher_multi"),
    Bar(None, "mpc", 250, "final ≥ 250", "hw4 halfcheetah_multi_iter: eval_return at least 250 (the handout: "
        "\"around 250-350\")", exp_name="cheetah_multi"),
    Bar(None, "mpc", 760, "final ≥ 760", "hw4 halfcheetah_cem: eval_return at least 760, 0.95 of the handout's "
        "\"about 800 or higher\" (hw3's reading of \"about\")", exp_name="cheetah_cem"),
    Bar(None, "mbpo", 665, "final ≥ 665", "hw4 MBPO with rollout length 10: eval_return at least 665, 0.95 of "
        "the handout's \"around 700 or higher\"", needs_value=("sac_config.mbpo_rollout_length", 10)),
    Bar(None, "mpc", None, "—", "hw4 reacher_ablation, MBPO with rollout length 0 or 1: no bar (the handout "
        "asks for plots and comparisons)"),
    Bar(None, "mbpo", None, "—", "hw4 MBPO with rollout length 0 (SAC) or 1 (Dyna): no bar (the handout asks "
        "for a comparison with length 10)"),
)


def find_bar(run: Run) -> Optional[Bar]:
    return next((bar for bar in BARS if bar.applies(run)), None)


@dataclass
class GradeRow:
    run: str
    path: str
    env: Optional[str]
    algorithm: str
    iterations: Optional[int]
    n_iter: Optional[int]
    env_steps: Optional[float]
    final_return: Optional[float]
    final_std: Optional[float]
    expert_return: Optional[float]
    percent_of_expert: Optional[float]
    bar: Optional[str]
    bar_value: Optional[float]  # what was compared with the bar
    passed: Optional[bool]
    status: str


def iteration0_loss(run_dir: str, step: int) -> Optional[float]:
    """The dynamics loss of update ``step`` of a hw4 run's iteration 0, from its ``itr_0_losses.csv``;
    None where the file is missing (a run from before it was written) or holds fewer updates."""
    from cs285.trainers.model_based import LOSSES_FILE  # here: only a hw4 0-iter grade pays for the import

    try:
        with open(os.path.join(run_dir, LOSSES_FILE)) as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    return float(rows[step - 1].split(",")[1]) if 0 < step <= len(rows) else None


def grade_run(run: Run) -> GradeRow:
    final, expert = run.final(), expert_return(run)
    percent = 100 * final / expert if final is not None and expert is not None and expert > 0 else None
    bar, value, passed = find_bar(run), None, None
    if bar is not None and bar.loss_step is not None:
        value = iteration0_loss(run.path, bar.loss_step)
        passed = None if value is None else value < bar.threshold
    elif bar is not None and bar.threshold is not None and final is not None:
        if bar.of_expert:
            value = percent
            passed = None if percent is None else percent >= 100 * bar.threshold
        else:
            value = run.final(last=bar.last)
            passed = value > bar.threshold if bar.strict else value >= bar.threshold
    n_iter = run.n_iter
    if run.is_hw3:  # hw3 rows are keyed by env step: no iterations, the last row's step is the env steps
        iterations, env_steps = None, (float(run.rows[-1]["step"]) if run.rows else None)
    else:
        iterations, env_steps = (int(run.rows[-1]["step"]) + 1 if run.rows else None), run.final(run.env_steps_key)
    return GradeRow(
        run=run.name, path=run.path, env=run.env_name,
        algorithm=run.algorithm if run.status != "not a run" else "-",
        iterations=iterations, n_iter=n_iter if isinstance(n_iter, int) else None,
        env_steps=env_steps, final_return=final, final_std=run.final(run.std_key),
        expert_return=expert, percent_of_expert=percent, bar=bar.text if bar else None, bar_value=value,
        passed=passed, status=run.status,
    )


def grade(patterns: list[str]) -> list[GradeRow]:
    return [grade_run(load_run(path)) for path in expand_paths(patterns)]


def rows_as_json(rows: list[GradeRow]) -> str:
    """The rows as a JSON list; NaN and infinities become null."""
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return json.dumps([{k: clean(v) for k, v in asdict(r).items()} for r in rows], indent=2)


def _num(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(rows: list[GradeRow]) -> str:
    """A plain-text table, one line per run, with the bars' notes under it."""
    header = ["run", "env", "algorithm", "iters", "env steps", "final return", "expert", "% expert", "bar",
              "pass", "status"]
    short = {bar.text: bar.short for bar in BARS}
    lines = []
    for r in rows:
        iters = "-" if r.iterations is None else (f"{r.iterations}/{r.n_iter}" if r.n_iter else str(r.iterations))
        ret = "-" if r.final_return is None else f"{r.final_return:.1f} ± {_num(r.final_std)}"
        lines.append([r.run, r.env or "-", r.algorithm, iters, _num(r.env_steps, 0), ret, _num(r.expert_return),
                      _num(r.percent_of_expert), short.get(r.bar, "-") if r.bar else "-",
                      {True: "pass", False: "FAIL", None: "-"}[r.passed], r.status])
    widths = [max(map(len, column)) for column in zip(header, *lines)]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header] + lines]
    notes = sorted({r.bar for r in rows if r.bar})
    if notes:
        text.append("")
        text += [f"{short[n]}: {n}" for n in notes]
    return "\n".join(text)
