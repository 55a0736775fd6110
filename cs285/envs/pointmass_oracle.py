"""The shortest-path oracle of hw5's Pointmass mazes (pointmass.py): the line an exploration or offline
RL plot compares against.

Shortest paths (``shortest_path_lengths``): breadth-first search over free cells joined to their four
neighbours, the moves the dynamics allow (a diagonal step through a corner is blocked axis by axis), to
the nearest of ``goal_cells``, the cells wholly inside the goal's disc. The oracle (``oracle_actions``)
moves from its cell to a neighbouring one a step nearer. Noise-free it takes 15, 20 and 34 steps from
the starts (returns −14, −19, −33; Medium's and Hard's are the fewest possible, Easy's one more, as a
noise-free point sits on cell edges and float rounding puts it one cell short). With the noise, 20
episodes (``oracle_returns``, seeds 0, 1, 2) average −13.6, −13.3, −13.7 on Easy (best −8), −20.5,
−21.5, −20.5 on Medium (best −14), −38.6, −39.6, −41.4 on Hard (best −29). The course's
``get_optimal_action`` used all-pairs lengths over eight neighbours (networkx) and took the noise-free
action whose next cell is nearest, ties to the lowest action: staying ties with any move that does not
shorten an eight-neighbour length, so noise-free it stalls on all three mazes, and on the course's env
with noise (np.random.seed(1..20)) it averaged −17.1, −60.6, −57.2 over 20 episodes where this oracle
averaged −13.5, −20.5, −39.6 on the same seeds.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np

from cs285.envs.pointmass import ACTIONS, MAZES, Maze, cells_of, difficulty_of


def shortest_path_lengths(walls: np.ndarray, targets: Sequence[tuple[int, int]]) -> np.ndarray:
    """d (H, W): the fewest moves between four-neighbouring free cells from each cell to the nearest of
    ``targets``; inf for walls and cells that reach none. Breadth-first search: d = 0 at the targets, and
    each cell first reached from a cell at distance k gets k + 1."""
    height, width = walls.shape
    lengths = np.full(walls.shape, np.inf)
    for target in targets:
        if walls[target]:
            raise ValueError(f"the target cell {target} is a wall")
        lengths[target] = 0
    frontier = list(targets)
    while frontier:
        reached = []
        for i, j in frontier:
            for di, dj in ((0, -1), (0, 1), (-1, 0), (1, 0)):
                n = (i + di, j + dj)
                if 0 <= n[0] < height and 0 <= n[1] < width and not walls[n] and lengths[n] == np.inf:
                    lengths[n] = lengths[i, j] + 1
                    reached.append(n)
        frontier = reached
    return lengths


def shortest_path_actions(lengths: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """One step down ``lengths`` (H, W) (``shortest_path_lengths``) from each of ``cells`` (n, 2): the
    lowest action (1..4) whose neighbouring cell is at d − 1 from a cell at d > 0 (BFS lengths of
    neighbours differ by at most 1, so "nearer" is d − 1); 0 (stay) at d = 0 or where no path is. (n,) ints."""
    padded = np.pad(lengths, 1, constant_values=np.inf)  # a neighbour off the grid: never nearer
    here = lengths[cells[:, 0], cells[:, 1]]
    actions = np.zeros(len(cells), dtype=np.int64)
    for a in range(len(ACTIONS) - 1, 0, -1):  # the highest first, so the lowest nearer one is kept
        d0, d1 = ACTIONS[a].astype(np.int64)
        actions[padded[cells[:, 0] + 1 + d0, cells[:, 1] + 1 + d1] < here] = a
    return actions


def oracle_actions(env_name: Union[str, int], observations: np.ndarray) -> np.ndarray:
    """The shortest-path oracle's actions (n,) for normalized ``observations`` (n, 2): one step along a
    shortest path from each one's cell to the nearest of ``goal_cells`` (``shortest_path_actions``)."""
    difficulty = difficulty_of(env_name)
    return shortest_path_actions(goal_lengths(difficulty), cells_of(MAZES[difficulty].walls, observations))


def goal_cells(maze: Maze) -> list[tuple[int, int]]:
    """The free cells wholly inside the goal's disc: all four corners nearer the goal than the radius, so
    entering one ends the episode. The goal's own cell is one (its corners are at most √2 from the goal,
    radius 2, on Easy and Hard; √0.5, radius 1, on Medium and 11×11, the goal at its centre)."""
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    cells = np.argwhere(~maze.walls)  # (n, 2)
    inside = np.all(np.linalg.norm(cells[:, None, :] + corners - np.array(maze.goal), axis=2) < maze.radius, axis=1)
    return [(int(i), int(j)) for i, j in cells[inside]]


@functools.cache
def goal_lengths(difficulty: int) -> np.ndarray:
    """``shortest_path_lengths`` to the ``goal_cells`` of a difficulty's maze (computed once, read-only)."""
    lengths = shortest_path_lengths(MAZES[difficulty].walls, goal_cells(MAZES[difficulty]))
    lengths.flags.writeable = False
    return lengths


class OracleActor:
    """``oracle_actions`` as an Actor (rollouts.Actor) for the collector; it draws no random numbers."""

    def __init__(self, env_name: Union[str, int]):
        self.env_name = env_name

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        return oracle_actions(self.env_name, obs)


class OracleReturns(NamedTuple):
    mean: float
    best: float
    returns: list[float]


def oracle_returns(env_name: str, n_episodes: int = 20, seed: int = 0) -> OracleReturns:
    """The oracle's returns over ``n_episodes`` episodes of the registered, noisy env, collected by the
    project's Collector (episode k seeded by SeedSequence([seed, k]), one process): mean, best, each."""
    from cs285.envs.collector import Collector  # the collector imports torch: only when measuring

    difficulty_of(env_name)  # an unknown name: one line
    with Collector(env_name, seed=seed, env_procs=1) as collector:
        paths = collector.episodes(OracleActor(env_name), n_episodes=n_episodes, seed=seed)
    returns = [float(np.sum(p["reward"])) for p in paths]
    return OracleReturns(float(np.mean(returns)), max(returns), returns)
