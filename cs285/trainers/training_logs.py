"""The per-iteration log block every training script shares: course keys, printing, loss checks."""
from __future__ import annotations

import math
import time
from typing import Mapping, Optional

from cs285.infrastructure.logger import Logger
from cs285.infrastructure.errors import TrainingError
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


class ConstantCriticWatch:
    """Notices a critic that predicts the same value for every state, and says so once.

    With raw return targets far from unit scale (LunarLander's discounted
    returns have a std of 35–65), a few Adam steps saturate every tanh unit of
    the critic's last hidden layer: V(s) becomes the batch mean, its explained
    variance stays near 0 (|EV| < ``tol``) and GAE with λ < 1 has nothing to
    work with. After ``patience`` such iterations in a row, ``update`` prints a
    one-line note ending with ``fix``.
    """

    def __init__(self, fix: str, patience: int = 10, tol: float = 1e-4):
        self.fix, self.patience, self.tol = fix, patience, tol
        self.streak = 0
        self.noted = False

    def update(self, train_log: Mapping[str, float], itr: int) -> bool:
        """Feed one iteration's logs; True when the note is printed (once per run)."""
        ev = train_log.get("Baseline Explained Variance")
        if ev is None or not math.isfinite(ev) or abs(ev) >= self.tol:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak < self.patience or self.noted:
            return False
        self.noted = True
        print(f"note: iteration {itr}: the baseline has predicted one value for every state for {self.streak} "
              f"iterations (explained variance ~0; its tanh units saturate on large return targets): {self.fix}")
        return True
