"""The per-iteration log block every training script shares: course keys, printing, loss checks."""
from __future__ import annotations

import math
import time
from typing import Mapping, Optional

from cs285.infrastructure.logger import Logger
from cs285.infrastructure.script_util import TrainingError
from cs285.infrastructure.utils import compute_metrics


def iteration_logs(train_paths: Optional[list[dict]], eval_paths: list[dict], train_log: Mapping[str, float],
                   envsteps_so_far: int, start_time: float, itr: int) -> dict[str, float]:
    """The course's row: Eval_* and Train_* statistics, the agent's losses, Train_EnvstepsSoFar,
    TimeSinceStart (seconds since ``start_time``, a ``time.time()``) and, at iteration 0,
    Initial_DataCollection_AverageReturn."""
    logs = compute_metrics(train_paths, eval_paths)
    logs.update(train_log)
    logs["Train_EnvstepsSoFar"] = envsteps_so_far
    logs["TimeSinceStart"] = time.time() - start_time
    if itr == 0 and "Train_AverageReturn" in logs:
        logs["Initial_DataCollection_AverageReturn"] = logs["Train_AverageReturn"]
    return logs


def print_and_log(logger: Logger, logs: Mapping[str, float], itr: int) -> None:
    """Print ``key : value`` lines (the course's format) and write the row to every log file."""
    for key, value in logs.items():
        print(f"{key} : {value}")
    logger.log_scalars(logs, itr)
    logger.dump()


def check_losses_finite(train_log: Mapping[str, float], itr: int, hint: str) -> None:
    """Raise TrainingError naming the iteration if any ``*Loss*`` entry is NaN or infinite."""
    bad = {k: v for k, v in train_log.items() if "Loss" in k and not math.isfinite(v)}
    if bad:
        raise TrainingError(f"non-finite loss at iteration {itr}: {bad}; {hint}")
