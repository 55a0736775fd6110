"""hw5's report: exploration (random against RND), offline RL on the exploration data (DQN, CQL and its α,
AWAC, IQL, the data-size ablation) and offline-to-online fine-tuning, each section with its commands,
figures against steps with the shortest-path oracle's mean return as a line, and a table per seed.

Every run is one of the three hw5 scripts with a config of experiments/ and ``--dataset_dir datasets``;
the configs name the runs. The exploration runs write the datasets the others read, so they run first
(stage 0), then every offline and fine-tuning run (stage 1), on one pool of workers a stage.
Seeds: the report's ``--seeds`` where the handout compares settings (CQL against DQN, fine-tuning); its
first seed for the rest (the exploration runs, whose datasets every seed's offline run reads).

The ablation configs beyond the course's (the handout asks the learner to write them) are in
experiments/: ``offline/pointmass_medium_cql_alpha{0,1,10}.yaml`` (the course's Medium CQL has α 0.1),
``exploration/pointmass_medium_rnd_{1,5,20}k.yaml`` and ``offline/pointmass_medium_cql_{1,5,20}k.yaml``
(the course's RND dataset has 10k steps).

Two reference policies, measured by the report on the same noisy env (ORACLE_EPISODES episodes from reset
seed 0) and drawn as lines on each figure (envs/pointmass_oracle.py): the shortest-path oracle the issue
asks for (breadth-first search over cells, blind to the noise), and the plan under noise (value iteration
over quarter-unit cells with the env's own noisy step), which is the better ceiling: on Hard it averages
about −33 where the shortest path averages about −40. Wall times: a run's
``Done in`` line (its stdout.log), else its DONE time less its start.
"""
from __future__ import annotations

import datetime
import functools
import json
import os
import re
from typing import Optional, Sequence

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.reporting import plotting
from cs285.reporting.grading import HW3_RETURN_KEY, Run
from cs285.reporting.report import Experiment, Section
from cs285.reporting.sweep import RUN_LOG, SweepSpec, hours

EXPLORE, OFFLINE, FINETUNE = "run_hw5_explore.py", "run_hw5_offline.py", "run_hw5_finetune.py"
DATASETS = "datasets"
DATASET_ARGS = ("--dataset_dir", DATASETS)
Q_KEY, LAST = "q_values", 5
ORACLE_EPISODES = 100
ENVS = {"easy": "PointmassEasy-v0", "medium": "PointmassMedium-v0", "hard": "PointmassHard-v0"}
EXPLORATION = [f"pointmass_{maze}_{agent}" for maze in ENVS for agent in ("random", "rnd")]
OFFLINE_COURSE = ["pointmass_easy_dqn", "pointmass_easy_cql", "pointmass_medium_dqn", "pointmass_medium_cql",
                  "pointmass_medium_iql", "pointmass_hard_dqn", "pointmass_hard_cql", "pointmass_hard_awac",
                  "pointmass_hard_iql"]
CQL_DQN = ["pointmass_medium_dqn", "pointmass_medium_cql", "pointmass_hard_dqn", "pointmass_hard_cql"]
ALPHAS = {"pointmass_medium_cql_alpha0": 0.0, "pointmass_medium_cql": 0.1, "pointmass_medium_cql_alpha1": 1.0,
          "pointmass_medium_cql_alpha10": 10.0}
POLICY_CONSTRAINT = ["pointmass_hard_awac", "pointmass_hard_awac_temp1", "pointmass_hard_iql", "pointmass_hard_cql",
                     "pointmass_hard_dqn", "pointmass_medium_iql"]
SIZES = {"1k": 1_000, "5k": 5_000, "": 10_000, "20k": 20_000}  # config suffix -> RND total_steps
SIZE_EXPLORE = [f"pointmass_medium_rnd{'_' + k if k else ''}" for k in SIZES]
SIZE_OFFLINE = [f"pointmass_medium_cql{'_' + k if k else ''}" for k in SIZES]
FINETUNE_CONFIGS = ["pointmass_hard_cql_finetune", "pointmass_hard_cql_finetune_alpha0.1"]
FINETUNE_HANDOUT = "your policy should be able to (stably) reach high reward (at least -20) on PointmassHard-v0"

# config stem -> (wall seconds, what was measured): the projected wall time of a run (--dry-run); the 2-core
# VM, two runs at a time (the report's pool), this commit's code
MEASURED: dict[str, tuple[float, str]] = {}


def _kind(stem: str) -> str:
    return "exploration" if "_random" in stem or "_rnd" in stem else "finetuning" if "finetune" in stem else "offline"


def _config(stem: str) -> str:
    return f"experiments/{_kind(stem)}/{stem}.yaml"


def _spec(stems: Sequence[str], seeds: Sequence[int]) -> SweepSpec:
    """One sweep over the configs ``stems`` (one kind) × ``seeds``."""
    kind = _kind(stems[0])
    script = {"exploration": EXPLORE, "offline": OFFLINE, "finetuning": FINETUNE}[kind]
    known = [MEASURED[s][0] for s in stems if s in MEASURED]
    return SweepSpec(script, DATASET_ARGS, ("config_file=" + ",".join(_config(s) for s in stems),), tuple(seeds),
                     max(known) if known else None, stage=0 if kind == "exploration" else 1)


def _stem(run: Run) -> str:
    return os.path.splitext(os.path.basename(str(run.flags.get("config_file", ""))))[0]


def _by_config(section: Section, stems: Sequence[str], index: int = 0) -> dict[str, list[Run]]:
    """The runs of sweep ``index`` of the section, by config stem, in ``stems``' order (unfinished ones as far
    as they got)."""
    runs = section.runs(index, unfinished=True)
    return {s: [r for r in runs if _stem(r) == s] for s in stems}


@functools.lru_cache(maxsize=None)
def ceilings(env_name: str):
    """(the shortest-path oracle's returns, the plan under noise's), ORACLE_EPISODES episodes each."""
    from cs285.envs.pointmass_oracle import oracle_returns

    return tuple(oracle_returns(env_name, n_episodes=ORACLE_EPISODES, seed=0, policy=p) for p in ("shortest", "noisy"))


def _ceiling_lines(env_name: str) -> list[str]:
    shortest, planned = ceilings(env_name)
    return [f"{shortest.mean}:shortest-path oracle", f"{planned.mean}:plan under noise"]


def _ceiling_cells(run: Run) -> list[str]:
    return [_num(c.mean, 2) for c in ceilings(run.env_name)]


CEILING_HEADER = ["shortest-path oracle", "plan under noise"]


def _num(value: Optional[float], digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def wall_seconds(run: Run) -> Optional[float]:
    """The run's training wall time: its ``Done in`` line, else its DONE time less its start (a run never
    resumed); None if neither is known."""
    log = os.path.join(run.path, RUN_LOG)
    if os.path.exists(log):
        with open(log, errors="replace") as f:
            if match := re.search(r"Done in ([0-9.]+)s", f.read()):
                return float(match[1])
    done = os.path.join(run.path, "DONE")
    try:
        with open(os.path.join(run.path, "config.json")) as f:
            config = json.load(f)
        with open(done) as f:
            end = f.read().strip()
    except (OSError, ValueError):
        return None
    if config.get("resumed") or "started" not in config:
        return None
    parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%d %H:%M:%S")  # noqa: E731
    return (parse(end) - parse(config["started"])).total_seconds()


def _wall(run: Run) -> str:
    seconds = wall_seconds(run)
    return "—" if seconds is None else f"{seconds:.0f}"


def _status(run: Run) -> str:
    return "finished" if run.finished else run.status


def _returns(run: Run) -> list[str]:
    best = max((v for _, v in run.series(HW3_RETURN_KEY)), default=None)
    return [_num(run.final()), _num(run.final(last=LAST)), _num(best)]


RETURN_HEADER = ["config", "seed", "final eval_return", f"mean of the last {LAST}", "best"]


def _return_table(section: Section, groups: dict[str, list[Run]], extra: Sequence[str] = (),
                  more=lambda r: []) -> None:
    section.table([*RETURN_HEADER, *extra, *CEILING_HEADER, "wall s", "status"],
                  [[stem, str(r.flags.get("seed")), *_returns(r), *more(r), *_ceiling_cells(r), _wall(r), _status(r)]
                   for stem, runs in groups.items() for r in runs])


def _curves(section: Section, name: str, caption: str, runs: list[Run], key=None, hlines: Sequence[str] = (),
            vlines: Sequence[tuple[float, str]] = ()) -> None:
    section.figure(name, caption, lambda out: plotting.plot_curves(runs, out, key=key, hlines=hlines, apart=True,
                                                                   vlines=vlines))


def _flat(groups: dict[str, list[Run]]) -> list[Run]:
    return [r for runs in groups.values() for r in runs]


# ---- sections ---------------------------------------------------------------------------------------
def visitation_figure(stems: Sequence[str], out: str) -> str:
    """Each config's dataset (``datasets/<dataset_name>``) as a visitation heatmap, a panel each, two a row."""
    from cs285.envs.pointmass_plots import draw_visitation
    from cs285.infrastructure.datasets import find_dataset, load_dataset
    from cs285.trainers.hw5_cli import visited_states

    if not stems:
        raise UserError("no exploration run has finished yet")
    cols = 2
    fig, axes = plotting.new_figure(cols, (len(stems) + cols - 1) // cols)
    for ax, stem in zip(axes, stems):
        steps, header = load_dataset(find_dataset(DATASETS, stem))
        draw_visitation(ax, header["env_id"], visited_states(steps), title=stem.replace("pointmass_", ""))
    for ax in axes[len(stems):]:
        ax.remove()
    return plotting.save_figure(fig, out)


def _exploration_rows(groups: dict[str, list[Run]]) -> list[list[str]]:
    """Per run: coverage and visitation entropy of the states its dataset visited (as logged at its end)."""
    rows = []
    for stem, runs in groups.items():
        for r in runs:
            rows.append([stem, r.env_name, f"{r.settings.get('total_steps'):,}",
                         _pct(r.final("coverage")), _num(r.final("visitation_entropy"), 3), _wall(r), _status(r)])
    return rows


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1%}"


def _write_exploration(section: Section) -> None:
    groups = _by_config(section, EXPLORATION)
    section.table(["config", "env", "steps", "coverage (free cells visited)", "visitation entropy", "wall s",
                   "status"], _exploration_rows(groups))
    done = [s for s, runs in groups.items() if any(r.finished for r in runs)]
    section.figure("exploration_visitation", "State visitation of each exploration dataset (log colour scale; "
                   "white: never visited), random against RND", lambda out: visitation_figure(done, out))
    rnd = {m: groups[f"pointmass_{m}_rnd"] for m in ENVS}
    random = {m: groups[f"pointmass_{m}_random"] for m in ENVS}
    better = [m for m in ENVS if rnd[m] and random[m] and
              (rnd[m][0].final("coverage") or 0) >= (random[m][0].final("coverage") or 0)]
    section.text(f"RND covers at least as much of the maze as random actions on {len(better)} of {len(ENVS)} "
                 "mazes (coverage: the fraction of free cells the run's states fall in; visitation entropy: the "
                 "entropy of the visit counts over free cells, divided by its maximum, 1 for an even spread). "
                 "The course's random config wraps the env in a 100-step time limit, so Medium's random "
                 "episodes end at 100 steps, not 150.")


def _write_cql_dqn(section: Section) -> None:
    groups = _by_config(section, CQL_DQN)
    for maze in ("medium", "hard"):
        runs = groups[f"pointmass_{maze}_dqn"] + groups[f"pointmass_{maze}_cql"]
        env = ENVS[maze]
        _curves(section, f"cql_dqn_{maze}", f"{env}: offline DQN against CQL on the RND dataset, eval_return "
                "against updates (mean ± std over seeds)", runs, hlines=_ceiling_lines(env))
        _curves(section, f"cql_dqn_{maze}_q_values", f"{env}: Q(s, a) of the dataset's pairs (q_values), "
                "DQN against CQL", runs, key=Q_KEY)
    _return_table(section, groups, ["last q_values"], lambda r: [_num(r.final(Q_KEY), 2)])
    section.text(_mean_line(groups) + " A return of −t is t steps to the goal (reward −1 a step outside it).")


def _mean_line(groups: dict[str, list[Run]]) -> str:
    parts = []
    for stem, runs in groups.items():
        finals = [r.final(last=LAST) for r in runs if r.finished and r.final() is not None]
        if len(finals) > 1:
            parts.append(f"{stem} {np.mean(finals):.1f} ± {np.std(finals):.1f} ({len(finals)} seeds)")
        elif finals:
            parts.append(f"{stem} {finals[0]:.1f} (1 seed)")
    if not parts:
        return ""
    return f"Mean of the last {LAST} evaluations (over seeds: mean ± std): " + ", ".join(parts) + "."


def _write_alpha(section: Section) -> None:
    groups = _by_config(section, list(ALPHAS))
    runs = _flat(groups)
    env = ENVS["medium"]
    _curves(section, "cql_alpha_returns", f"{env}: CQL with α = 0, 0.1, 1 and 10 on the RND dataset, "
            "eval_return against updates", runs, hlines=_ceiling_lines(env))
    _curves(section, "cql_alpha_q_values", f"{env}: CQL's Q(s, a) on the dataset's pairs (q_values) for each α",
            runs, key=Q_KEY)
    _return_table(section, groups, ["cql_alpha", "last q_values"],
                  lambda r: [f"{ALPHAS[_stem(r)]:g}", _num(r.final(Q_KEY), 2)])
    section.text("α = 0 is double DQN with CQL's config. The CQL term pushes Q down on every action and up on the "
                 "dataset's, so a larger α gives lower Q-values (the Q figure); the returns show what that "
                 "costs or buys on this dataset.")


def _write_policy_constraint(section: Section) -> None:
    groups = _by_config(section, POLICY_CONSTRAINT)
    hard = {s: r for s, r in groups.items() if "_hard_" in s}
    _curves(section, "awac_iql_hard", f"{ENVS['hard']}: AWAC and IQL beside CQL and DQN on the RND dataset, "
            "eval_return against updates", _flat(hard), hlines=_ceiling_lines(ENVS["hard"]))
    _curves(section, "iql_medium", f"{ENVS['medium']}: IQL on the RND dataset, eval_return against updates",
            groups["pointmass_medium_iql"], hlines=_ceiling_lines(ENVS["medium"]))
    _return_table(section, groups)
    section.text("AWAC and IQL act ε-greedily on their critic, as the course's agents (their actor shapes the "
                 "critic's targets). pointmass_hard_awac_temp1.yaml is the course's Hard AWAC with the temperature "
                 "of its awac default, 1, instead of 10: with λ = 10 the weights exp(A/λ) of Hard's small "
                 "advantages are all near 1, the actor clones the exploration data, and the critic learns the "
                 "values of that near-random walk. " + _mean_line(groups))


def _write_data_size(section: Section) -> None:
    explore = _by_config(section, SIZE_EXPLORE, 0)
    offline = _by_config(section, SIZE_OFFLINE, 1)
    section.table(["dataset config", "env", "steps", "coverage (free cells visited)", "visitation entropy",
                   "wall s", "status"], _exploration_rows(explore))
    env = ENVS["medium"]
    _curves(section, "data_size", f"{env}: CQL (α 0.1) on RND datasets of 1k, 5k, 10k and 20k steps, eval_return "
            "against updates", _flat(offline), hlines=_ceiling_lines(env))
    _return_table(section, offline, ["dataset steps"],
                  lambda r: [f"{SIZES[_stem(r).rpartition('cql')[2].lstrip('_')]:,}"])


def _write_finetune(section: Section) -> None:
    groups = _by_config(section, FINETUNE_CONFIGS)
    runs = _flat(groups)
    env = ENVS["hard"]
    offline_steps = int(runs[0].experiment.get("offline_steps") or 0) if runs else 0
    _curves(section, "finetune", f"{env}: CQL with the course's α 1 and with α 0.1, {offline_steps:,} offline "
            "updates, then online; eval_return against steps (mean ± std over seeds)", runs,
            hlines=[*_ceiling_lines(env), "-20:handout"], vlines=[(offline_steps, "online from here")] if runs else ())
    at = lambda r: next((v for s, v in reversed(r.series(HW3_RETURN_KEY)) if s < offline_steps), None)  # noqa: E731
    online = lambda r: [v for s, v in r.series(HW3_RETURN_KEY) if s >= offline_steps]  # noqa: E731
    shortest, planned = ceilings(env)
    section.table([*RETURN_HEADER, "at the end of the offline phase", "online evals ≥ shortest-path mean",
                   *CEILING_HEADER, "wall s", "status"],
                  [[stem, str(r.flags.get("seed")), *_returns(r), _num(at(r)),
                    f"{sum(v >= shortest.mean for v in online(r))} of {len(online(r))}", *_ceiling_cells(r),
                    _wall(r), _status(r)] for stem, group in groups.items() for r in group])
    section.text(f"The handout: \"{FINETUNE_HANDOUT}\". On the same env over {ORACLE_EPISODES} episodes (reset "
                 f"seeds 0-{ORACLE_EPISODES - 1}) the shortest-path oracle averages {shortest.mean:.2f} (best "
                 f"{shortest.best:.0f}) and the plan under noise {planned.mean:.2f} (best {planned.best:.0f}): the "
                 "start and the goal's disc are 33 moves apart without noise and every step outside it costs 1, so "
                 "−20 is out of reach as the env is written. The target here is the shortest-path oracle's mean "
                 "(the issue's); the plan under noise shows how much better a policy can do. The course's config "
                 "fine-tunes CQL with α 1, which holds the offline phase far below the α 0.1 of its "
                 "pointmass_hard_cql.yaml (this report's AWAC/IQL section); pointmass_hard_cql_finetune_alpha0.1.yaml "
                 "is that config with α 0.1. " + _mean_line(groups))


def _write_all(section: Section) -> None:
    groups = {**_by_config(section, EXPLORATION, 0), **_by_config(section, OFFLINE_COURSE, 1),
              "pointmass_hard_cql_finetune": section.runs(2, unfinished=True)}
    rows, total = [], 0.0
    for stem, runs in groups.items():
        for r in runs:
            seconds = wall_seconds(r)
            total += seconds or 0.0
            rows.append([stem, _num(r.final()), *_ceiling_cells(r), _wall(r), _status(r)])
    section.table(["config", "final eval_return", *CEILING_HEADER, "wall s", "status"], rows)
    section.text(f"Sum of the {len(rows)} runs' wall times: {hours(total)}; on two workers, at least "
                 f"{hours(total / 2)} of wall time. Each run used one torch thread beside one other run (the "
                 "report's pool on the 2-core VM).")


def experiments(seeds: Sequence[int]) -> list[Experiment]:
    seeds, one = tuple(seeds), tuple(seeds)[:1]
    over = f"over {len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    return [
        Experiment("exploration", "Exploration: random actions against RND",
                   "Run the random policy and RND on the three mazes (10k steps each) and compare the state "
                   "coverage; each run saves the dataset the offline sections read.",
                   [_spec(EXPLORATION, one)], _write_exploration),
        Experiment("cql_dqn", "Offline: CQL against DQN on Medium and Hard",
                   f"\"Run both a standard DQN agent and your new CQL agent in the offline setting with the datasets "
                   f"you collected earlier\" ({over}), the returns and the Q-values.",
                   [_spec(CQL_DQN, seeds)], _write_cql_dqn),
        Experiment("cql_alpha", "Offline: CQL's α on Medium",
                   "\"On the Medium environment, create several experiment variations in which the value of the α "
                   "parameter is varied, from α=0 (equivalent to DQN) to α=10. Show both resulting Q-values and "
                   "evaluation performances in a plot.\"", [_spec(list(ALPHAS), one)], _write_alpha),
        Experiment("awac_iql", "Offline: AWAC and IQL",
                   "\"Compare them using the IQL and AWAC configuration files in the experiments directory. Report "
                   "evaluation curves for both approaches.\"", [_spec(POLICY_CONSTRAINT, one)],
                   _write_policy_constraint),
        Experiment("data_size", "Offline: the size of the dataset",
                   "\"Run RND with total_steps 1000, 5000, 10000, and 20000 on either the Medium or Hard environment, "
                   "creating a new dataset for each variation ... Then, train a CQL agent on each dataset and report "
                   "its performance as well as evaluation curves.\"",
                   [_spec(SIZE_EXPLORE, one), _spec(SIZE_OFFLINE, one)], _write_data_size),
        Experiment("finetune", "Offline-to-online fine-tuning on Hard",
                   f"Fine-tune pointmass_hard_cql_finetune.yaml ({over}), the point where online steps begin "
                   f"marked; \"{FINETUNE_HANDOUT}\". Beside it, the same with CQL's α 0.1.",
                   [_spec(FINETUNE_CONFIGS, seeds)],
                   _write_finetune),
        Experiment("all_configs", "Every course config once, with its wall time",
                   "The homework's 16 configs (6 exploration, 9 offline, 1 fine-tuning), each run once: its "
                   "return beside the oracle's, and its wall time here.",
                   [_spec(EXPLORATION, one), _spec(OFFLINE_COURSE, one), _spec(["pointmass_hard_cql_finetune"], one)],
                   _write_all),
    ]
