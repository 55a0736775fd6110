"""hw5's ``PointmassEasy-v0``, ``PointmassMedium-v0``, ``PointmassHard-v0``: a noisy point in a grid maze.

The rules are the course's (hw5/cs285/envs/pointmass.py, Fall 2023), on gymnasium 1.x; registered in
registry.py with the course's kwargs ({"difficulty": 0, 1, 2}) and time limits. Pure NumPy (no
networkx, no matplotlib: the figures are in pointmass_plots.py). Not point_mass.py (a MuJoCo ball).

    maze: an (H, W) grid of cells, wall or free; the state s = (s0, s1) in maze units, s0 along the
          rows (H), s1 along the columns (W); s lies in cell (floor(s0), floor(s1)), a state on the
          far edge (s0 = H or s1 = W) in the last cell
    observation (2,) float64: s / (H, W), in [0, 1]²
    action: Discrete(5), the course's ACT_DICT: 0 stay, 1 s1 − 1, 2 s1 + 1, 3 s0 − 1, 4 s0 + 1
    move: a = ACTIONS[action] + N(0, ACTION_NOISE² I) (the stay action is noisy too), applied in
          NUM_SUBSTEPS substeps of a / NUM_SUBSTEPS; within each substep axis 0 then axis 1 moves
          alone, and a move that would leave [0, H] × [0, W] or enter a wall cell is refused for
          that axis and substep (``simulate_step``). So a unit action moves one cell, a point
          slides up to a wall, and a blocked axis never stops the other one.
    reward: 0 if ‖s' − goal‖ < radius, else −1 (dense_reward=True: −‖s' − goal‖)
    terminated: ‖s' − goal‖ < radius (the course's episodes end at the goal too)

    difficulty  id                  maze                  start       goal         radius  steps
    0           PointmassEasy-v0    Maze5x5 × 2: 10×10    (1, 1)      (9, 9)       2       50
    1           PointmassMedium-v0  Maze6x6: 6×6          (0.5, 0.5)  (1.5, 5.5)   1       150
    2           PointmassHard-v0    FourRooms × 2: 22×22  (2, 2)      (20, 20)     2       100
    3           (not registered)    Maze11x11: 11×11      (0.5, 0.5)  (0.5, 10.5)  1       200

The radius is the course's ``epsilon`` (its resize factor); difficulty 3 is the course's extra-credit
maze, made as ``Pointmass(difficulty=3)`` or ``gym.make("PointmassEasy-v0", difficulty=3,
max_episode_steps=200)``.

Time limit: the course counted steps inside the env and ended the episode with ``done=True`` at the
limit, so hw5's replay buffer stored the last step of a timed-out episode as a terminal (its
``truncated`` came from a TimeLimit wrapper the registry never added) and the Q-target did not
bootstrap there. Here the time limit is gymnasium's TimeLimit from the registry's
``max_episode_steps``: that step is ``truncated=True, terminated=False`` and the target bootstraps
with V(s'); only the goal terminates. The class alone, made without ``gym.make``, never truncates.
(The course's random-agent config wrapped the env in TimeLimit(100), so its Medium episodes were cut
at 100 steps, not 150; its DQN and RND configs ran the env's own limit.)

Other differences from the course, none of which moves the dynamics: seeding through gymnasium
(``reset(seed=...)`` seeds ``self.np_random``; the course seeded the global ``np.random``, and ignored
seed 0); the observation space is the observations' [0, 1]² (the course declared [0, H] × [0, W] and
returned normalized observations); rewards are floats; ``reset(options={"position": (s0, s1)})``
starts at a given free spot in maze units; ``render_mode="rgb_array"`` frames (the course had none).

The shortest-path oracle, its returns and the course's ``get_optimal_action``: pointmass_oracle.py.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional, Union

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cs285.infrastructure.errors import UserError

ACTION_NOISE = 0.5  # std of the Gaussian added to each component of the action
NUM_SUBSTEPS = 10
DT = 1.0 / NUM_SUBSTEPS
# the course's ACT_DICT: the move (along s0, along s1) of each discrete action
ACTIONS = np.array([[0.0, 0.0], [0.0, -1.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]])


def _grid(rows: tuple[str, ...], scale: int = 1) -> np.ndarray:
    """(H·scale, W·scale) bools, True for a wall ('#'); each cell repeated scale × scale (the course's resize_walls)."""
    walls = np.array([[c == "#" for c in row] for row in rows]).repeat(scale, axis=0).repeat(scale, axis=1)
    walls.flags.writeable = False  # shared by every env and figure
    return walls


class Maze(NamedTuple):
    """One difficulty's maze: walls (H, W) bools (row index along s0), start and goal in maze units."""

    env_id: Optional[str]
    walls: np.ndarray
    start: tuple[float, float]
    goal: tuple[float, float]
    radius: float
    max_episode_steps: int


MAZES: dict[int, Maze] = {
    0: Maze("PointmassEasy-v0", _grid((".....",
                                       "####.",
                                       "####.",
                                       "####.",
                                       "####."), scale=2), (1.0, 1.0), (9.0, 9.0), 2.0, 50),
    1: Maze("PointmassMedium-v0", _grid(("..#...",
                                         "#.#.#.",
                                         "..#.##",
                                         ".##..#",
                                         "..##.#",
                                         "#....#")), (0.5, 0.5), (1.5, 5.5), 1.0, 150),
    2: Maze("PointmassHard-v0", _grid((".....#.....",
                                       ".....#.....",
                                       "...........",
                                       ".....#.....",
                                       ".....#.....",
                                       "#.####.....",
                                       ".....###.##",
                                       ".....#.....",
                                       ".....#.....",
                                       "...........",
                                       ".....#....."), scale=2), (2.0, 2.0), (20.0, 20.0), 2.0, 100),
    3: Maze(None, _grid((".#...#...#.",
                         ".#.#.#.#.#.",
                         ".#.#.#.#.#.",
                         ".#.#.#.#.#.",
                         "...#...#.#.",
                         "########.#.",
                         "###...#..#.",
                         "###.#.#.##.",
                         "....#...##.",
                         ".#########.",
                         "...........")), (0.5, 0.5), (0.5, 10.5), 1.0, 200),
}


def difficulty_of(env: Union[str, int]) -> int:
    """The difficulty (0..3) of a registered id ("PointmassHard-v0") or of a difficulty; UserError if neither."""
    for difficulty, maze in MAZES.items():
        if env == maze.env_id or (isinstance(env, (int, np.integer)) and env == difficulty):
            return difficulty
    ids = ", ".join(m.env_id for m in MAZES.values() if m.env_id)
    raise UserError(f"no Pointmass maze {env!r}: give one of {ids} or a difficulty 0..{len(MAZES) - 1}")


def maze_of(env: Union[str, int]) -> Maze:
    """The maze of a registered id or a difficulty (``difficulty_of``)."""
    return MAZES[difficulty_of(env)]


def is_free(walls: np.ndarray, s0: float, s1: float) -> bool:
    """Whether the point may be at (s0, s1): inside [0, H] × [0, W] and not in a wall cell."""
    height, width = walls.shape
    if not (0.0 <= s0 <= height and 0.0 <= s1 <= width):
        return False
    return not walls[min(math.floor(s0), height - 1), min(math.floor(s1), width - 1)]


def simulate_step(walls: np.ndarray, state: np.ndarray, move: np.ndarray) -> np.ndarray:
    """Where ``move`` (2,) takes the point from ``state`` (2,), in maze units: NUM_SUBSTEPS substeps of
    DT·move, axis 0 then axis 1, each taken only if it lands on a free spot (``is_free``)."""
    s0, s1 = float(state[0]), float(state[1])
    d0, d1 = DT * float(move[0]), DT * float(move[1])
    for _ in range(NUM_SUBSTEPS):
        if is_free(walls, s0 + d0, s1):
            s0 += d0
        if is_free(walls, s0, s1 + d1):
            s1 += d1
    return np.array([s0, s1])


def simulate_steps(walls: np.ndarray, states: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """``simulate_step`` for a batch: ``states`` and ``moves`` (n, 2), the same rule and the same floats."""
    height, width = walls.shape

    def free(s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
        inside = (s0 >= 0.0) & (s0 <= height) & (s1 >= 0.0) & (s1 <= width)
        cell0 = np.minimum(np.floor(np.clip(s0, 0.0, height)), height - 1).astype(np.int64)
        cell1 = np.minimum(np.floor(np.clip(s1, 0.0, width)), width - 1).astype(np.int64)
        return inside & ~walls[cell0, cell1]

    s = np.array(states, dtype=np.float64)
    d = DT * np.asarray(moves, dtype=np.float64)
    for _ in range(NUM_SUBSTEPS):
        s0 = s[:, 0] + d[:, 0]
        s[:, 0] = np.where(free(s0, s[:, 1]), s0, s[:, 0])
        s1 = s[:, 1] + d[:, 1]
        s[:, 1] = np.where(free(s[:, 0], s1), s1, s[:, 1])
    return s


def cells_of(walls: np.ndarray, observations: np.ndarray) -> np.ndarray:
    """The (row, column) cells (n, 2) ints of normalized ``observations`` (n, 2): floor(obs · (H, W)),
    the far edge in the last cell."""
    obs = np.asarray(observations, dtype=np.float64)
    if obs.ndim != 2 or obs.shape[1] != 2:
        raise ValueError(f"observations are (n, 2), got shape {obs.shape}")
    shape = np.array(walls.shape)
    return np.clip(np.floor(obs * shape).astype(np.int64), 0, shape - 1)


def visit_counts(env_name: Union[str, int], observations: np.ndarray) -> np.ndarray:
    """How many of ``observations`` (n, 2) fall in each free cell: (number of free cells,) ints."""
    walls = maze_of(env_name).walls
    counts = np.zeros(walls.shape, dtype=np.int64)
    cells = cells_of(walls, observations)
    np.add.at(counts, (cells[:, 0], cells[:, 1]), 1)
    return counts[~walls]


def coverage(env_name: Union[str, int], observations: np.ndarray) -> float:
    """The fraction of the maze's free cells that hold at least one of ``observations`` (n, 2)."""
    return float(np.mean(visit_counts(env_name, observations) > 0))


def visitation_entropy(env_name: Union[str, int], observations: np.ndarray) -> float:
    """How evenly ``observations`` (n, 2) spread over the free cells: the entropy of their cell frequencies
    over log(number of free cells), 1 for equal visits to every cell, 0 for one cell. It tells two
    explorations apart where both reach every cell of a small maze."""
    counts = visit_counts(env_name, observations)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(counts))) if len(counts) > 1 else 0.0


# ---------------------------------------------------------------------- the env

BACKGROUND = (255, 255, 255)
WALL_COLOUR = (128, 128, 128)
GOAL_COLOUR = (190, 235, 190)  # the disc of the goal radius: where the episode ends
POINT_COLOUR = (30, 60, 220)
POINT_RADIUS_PX = 4


class Pointmass(gym.Env):
    """The module docstring's env. ``difficulty`` 0..3 picks the maze; ``action_noise`` the std of the
    action's noise (0: noise-free); ``width``, ``height``: the frame ``render`` draws, in pixels, with s0
    to the right and s1 up, as the figures of pointmass_plots.py draw it."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, difficulty: int = 0, dense_reward: bool = False, action_noise: float = ACTION_NOISE,
                 render_mode: Optional[str] = None, width: int = 256, height: int = 256):
        if difficulty not in MAZES:
            raise ValueError(f"difficulty must be one of {sorted(MAZES)}, got {difficulty!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if action_noise < 0:
            raise ValueError(f"action_noise is a standard deviation, at least 0, got {action_noise}")
        self.maze = MAZES[difficulty]
        self.walls, self.difficulty = self.maze.walls, difficulty
        self.dense_reward, self.action_noise = dense_reward, action_noise
        self.render_mode, self.width, self.height = render_mode, width, height
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float64)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._size = np.array(self.walls.shape, dtype=np.float64)
        self._goal = np.array(self.maze.goal)
        self._state = np.array(self.maze.start)
        self._background: Optional[np.ndarray] = None  # the static part of a frame, drawn on first render

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        """A new episode at the maze's start, or at ``options["position"]`` (s0, s1), a free spot in maze units."""
        super().reset(seed=seed)
        start = self.maze.start
        if options and options.get("position") is not None:
            start = np.asarray(options["position"], dtype=np.float64)
            if start.shape != (2,) or not is_free(self.walls, *start):
                raise ValueError(f"a start position is a free (s0, s1) in maze units, got {options['position']!r}")
        self._state = np.array(start, dtype=np.float64)
        return self._state / self._size, {}

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"an action is an integer in 0..{len(ACTIONS) - 1}, got {action!r}")
        move = self.np_random.normal(ACTIONS[int(action)], self.action_noise)
        self._state = simulate_step(self.walls, self._state, move)
        distance = float(np.linalg.norm(self._state - self._goal))
        reached = distance < self.maze.radius
        reward = -distance if self.dense_reward else (0.0 if reached else -1.0)
        return self._state / self._size, reward, reached, False, {}

    def render(self) -> Optional[np.ndarray]:
        """A (height, width, 3) uint8 frame: walls grey, the goal's disc green, the point blue."""
        if self.render_mode is None:
            gym.logger.warn("render() needs render_mode='rgb_array' when the env is made")
            return None
        s0, s1 = self._pixel_coordinates()
        if self._background is None:
            height, width = self.walls.shape
            frame = np.empty((self.height, self.width, 3), dtype=np.uint8)
            frame[:] = BACKGROUND
            near_goal = (s0[None, :] - self._goal[0]) ** 2 + (s1[:, None] - self._goal[1]) ** 2 < self.maze.radius ** 2
            frame[near_goal] = GOAL_COLOUR
            wall = self.walls[np.minimum(s0.astype(int), height - 1)[None, :], np.minimum(s1.astype(int), width - 1)[:, None]]
            frame[wall] = WALL_COLOUR
            self._background = frame
        frame = self._background.copy()
        col = self._state[0] / self._size[0] * self.width
        row = (1.0 - self._state[1] / self._size[1]) * self.height
        rows, cols = np.ogrid[:self.height, :self.width]
        frame[(rows + 0.5 - row) ** 2 + (cols + 0.5 - col) ** 2 <= POINT_RADIUS_PX ** 2] = POINT_COLOUR
        return frame

    def _pixel_coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """s0 at each pixel column's centre (width,), s1 at each pixel row's centre (height,), row 0 at the top."""
        s0 = (np.arange(self.width) + 0.5) / self.width * self._size[0]
        s1 = (1.0 - (np.arange(self.height) + 0.5) / self.height) * self._size[1]
        return s0, s1
