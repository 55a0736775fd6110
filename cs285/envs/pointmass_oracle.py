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

The shortest path is blind to the noise, so it is no ceiling on Hard: ``plan_under_noise`` (value
iteration over quarter-unit cells, each action's 64 noisy moves stepped by the env's own rule) averages
−33.09 there over 200 episodes (reset seeds 0-199), where the shortest path averages −39.69; on Easy
(−13.56 against −13.54) and Medium (−20.89 against −21.12) the two agree within their spread. Offline
agents trained on RND data land between the two on Hard. ``oracle_returns(..., policy="noisy")``
measures it.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np

from cs285.envs.pointmass import ACTION_NOISE, ACTIONS, MAZES, Maze, cells_of, difficulty_of, simulate_steps


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


class NoisyPlan(NamedTuple):
    """``plan_under_noise``'s result: the fine grid (``resolution`` maze units a side, ``shape`` points), the
    index of each grid point among the free ones (−1: in a wall), and per free point its value and action."""
    resolution: float
    shape: tuple[int, int]
    index: np.ndarray  # (shape[0] * shape[1],) ints
    values: np.ndarray  # (free points,) the expected return from there
    actions: np.ndarray  # (free points,) the greedy action

    def lookup(self, states: np.ndarray) -> np.ndarray:
        """The free grid point (n,) of each state (n, 2) in maze units: the fine cell it lies in."""
        i = np.clip(np.floor(states[:, 0] / self.resolution).astype(np.int64), 0, self.shape[0] - 1)
        j = np.clip(np.floor(states[:, 1] / self.resolution).astype(np.int64), 0, self.shape[1] - 1)
        return self.index[i * self.shape[1] + j]


@functools.lru_cache(maxsize=8)
def plan_under_noise(difficulty: int, noise: float = ACTION_NOISE, resolution: float = 0.25, samples: int = 64,
                     seed: int = 0) -> NoisyPlan:
    """Value iteration on the maze cut into cells of ``resolution`` maze units: from the centre of each free
    one, each action's ``samples`` noisy moves (the same Gaussian draws for every point and action) are
    stepped by the env's own rule (``simulate_steps``); a move that ends inside the goal's disc ends the
    episode (reward 0), any other costs 1 and lands in the fine cell of its end. V(p) = max_a mean over
    draws; the greedy action of each cell is the policy. The shortest path ignores the noise; this plan
    weighs it (a move along a wall or through a door loses the part of it the wall refuses)."""
    maze = MAZES[difficulty]
    walls, goal = maze.walls, np.array(maze.goal)
    shape = (int(round(walls.shape[0] / resolution)), int(round(walls.shape[1] / resolution)))
    grid = np.stack(np.meshgrid((np.arange(shape[0]) + 0.5) * resolution, (np.arange(shape[1]) + 0.5) * resolution,
                                indexing="ij"), axis=-1).reshape(-1, 2)
    free = ~walls[np.floor(grid[:, 0]).astype(np.int64), np.floor(grid[:, 1]).astype(np.int64)]
    index = np.full(len(grid), -1, dtype=np.int64)
    index[free] = np.arange(free.sum())
    points = grid[free]
    draws = np.random.default_rng(seed).normal(0.0, noise, (samples, 2))
    plan = NoisyPlan(resolution, shape, index, np.zeros(len(points)), np.zeros(len(points), dtype=np.int64))
    ends, nexts = [], []
    for action in ACTIONS:  # (points, samples) each
        landed = simulate_steps(walls, np.repeat(points, samples, axis=0), np.tile(action + draws, (len(points), 1)))
        ends.append((np.linalg.norm(landed - goal, axis=1) < maze.radius).reshape(len(points), samples))
        nexts.append(plan.lookup(landed).reshape(len(points), samples))
    ended, following = np.stack(ends), np.stack(nexts)  # (actions, points, samples)
    values = plan.values
    for _ in range(100 * len(points)):  # a sweep a step of the longest expected path; it stops far sooner
        q = np.where(ended, 0.0, -1.0 + values[following]).mean(axis=2)
        new = q.max(axis=0)
        if np.abs(new - values).max() < 1e-9:
            break
        values = new
    return plan._replace(values=values, actions=q.argmax(axis=0))


class NoisyPlanActor:
    """``plan_under_noise``'s greedy action in the fine cell of each observation, as an Actor."""

    def __init__(self, env_name: Union[str, int], noise: float = ACTION_NOISE):
        difficulty = difficulty_of(env_name)
        self.plan, self.size = plan_under_noise(difficulty, noise), np.array(MAZES[difficulty].walls.shape, float)

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray:
        return self.plan.actions[self.plan.lookup(np.atleast_2d(obs) * self.size)]


class OracleReturns(NamedTuple):
    mean: float
    best: float
    returns: list[float]


def oracle_returns(env_name: str, n_episodes: int = 20, seed: int = 0, policy: str = "shortest") -> OracleReturns:
    """The returns of ``policy`` ("shortest": the shortest-path oracle; "noisy": ``plan_under_noise``) over
    ``n_episodes`` episodes of the registered, noisy env, collected by the project's Collector (episode k
    seeded by SeedSequence([seed, k]), one process): mean, best, each."""
    from cs285.envs.collector import Collector  # the collector imports torch: only when measuring

    difficulty_of(env_name)  # an unknown name: one line
    actors = {"shortest": OracleActor, "noisy": NoisyPlanActor}
    if policy not in actors:
        raise ValueError(f"policy is one of {', '.join(actors)}, got {policy!r}")
    with Collector(env_name, seed=seed, env_procs=1) as collector:
        paths = collector.episodes(actors[policy](env_name), n_episodes=n_episodes, seed=seed)
    returns = [float(np.sum(p["reward"])) for p in paths]
    return OracleReturns(float(np.mean(returns)), max(returns), returns)
