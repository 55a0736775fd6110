"""hw4's ``obstacles-cs285-v0``: a point in the plane steered to a goal around five rectangles.

Pure NumPy, no MuJoCo, no matplotlib. The rules are the course's (hw4/cs285/envs/obstacles/obstacles_env.py,
Fall 2023), on gymnasium 1.x; registered in registry.py with the course's 500-step time limit.

    observation (4,) float32: the point's x, y, then the goal's x, y (the goal is fixed: GOAL)
    action (2,): a move of clip(a, −1, 1) / 10 along x and y
    move: all or nothing: the point goes to p + clip(a, −1, 1) / 10 if that spot is free (``is_free``),
          else it stays where it is
    reward: r = −‖p' − goal‖, at the position p' *after* the move (the action itself costs nothing)
    terminated: ‖p' − goal‖ < GOAL_RADIUS, or p' out of bounds (x or y < −BOUNDARY or > BOUNDARY)
    start: uniform in [START_LOW, START_HIGH), drawn again until free (``reset(seed=...)`` seeds it)

A spot is free when it is strictly inside the bounds, −BOUNDARY < x, y < BOUNDARY, and not strictly inside
any rectangle of OBSTACLES (their edges are free). Quirks kept from the course:

- Only the end of a move is checked, not the path: a diagonal move may cut an obstacle's corner. No move
  jumps a whole obstacle, though: a move is at most 0.1 along each axis and the thinnest one is 0.12 wide.
- A move that ends inside an obstacle or on/over the boundary is refused whole: the point neither slides
  along the wall nor stops at it. So the point never leaves the bounds, and in ``step`` only the goal ends
  an episode; the out-of-bounds done fires in ``get_reward`` for observations a learned model predicts
  (hw4's planner). The two bound tests differ on the line itself: x = ±BOUNDARY is not free, yet not
  out of bounds either.
- The action space is [−0.99, 0.99]² (the course's), but ``step`` clips to [−1, 1]: an action of 1 moves 0.1.

Differences from the course, none of which moves the numbers beyond float32 rounding: the position and
the goal are kept as float32 (a move is summed in float64, then rounded), so the observation (float32, as
the course's space declared; its arrays were float64) is the state itself and ``get_reward`` of a stored
observation gives ``step``'s reward bit for bit; the start comes from gymnasium's ``self.np_random``, not
the global ``np.random``; dones are bools, not 0./1.; ``step``'s info is empty (the course's held the
observation, the reward dict and an unused ``score``); ``reset(options={"position": (x, y)})`` starts at a
given free spot (the course's ``do_reset``, and its fixed start (−0.5, 0.75) of ``random_starts=False``);
``render`` draws the frame with NumPy (``render_mode="rgb_array"``): white, the boundary in black, the
rectangles in red, the goal's GOAL_RADIUS disc in green, the point in blue. The time limit (500 steps,
gymnasium's TimeLimit) truncates; the course's hw4 MPC config ran this env with ep_len 100.
"""
from __future__ import annotations

from typing import Any, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

BOUNDARY = 0.99  # the course's boundary_min = −0.99, boundary_max = 0.99
GOAL = (0.7, -0.8)
GOAL_RADIUS = 0.1  # the course's eps
ACTION_BOUND = 0.99  # the action space's bound; step clips to ±MAX_ACTION
MAX_ACTION = 1.0
MOVE_DIVISOR = 10.0  # a move is the clipped action / 10
START_LOW = (-BOUNDARY, -BOUNDARY + 1.25)  # = (−0.99, 0.26)
START_HIGH = (BOUNDARY - 0.4, BOUNDARY)  # = (0.59, 0.99)
# (x of the top-left corner, y of the top-left corner, width along x, height down y), the course's format:
# rectangle i covers left < x < left + width, top − height < y < top
OBSTACLES = (
    (-0.4, 0.8, 0.4, 0.3),
    (-0.9, 0.3, 0.2, 0.6),
    (0.6, -0.1, 0.12, 0.4),
    (-0.1, 0.2, 0.15, 0.4),
    (0.1, -0.7, 0.3, 0.15),
)

# render colours (RGB) and sizes
BACKGROUND = (255, 255, 255)
BOUNDARY_COLOUR = (0, 0, 0)
OBSTACLE_COLOUR = (210, 50, 50)
GOAL_COLOUR = (40, 170, 60)  # a disc of radius GOAL_RADIUS: where the episode ends
POINT_COLOUR = (30, 60, 220)
POINT_RADIUS_PX = 4


def is_free(positions: np.ndarray) -> np.ndarray:
    """Whether each (x, y) of ``positions`` (n, 2) is a spot the point may move to: (n,) bools.

    Free: −BOUNDARY < x < BOUNDARY and −BOUNDARY < y < BOUNDARY, and for every rectangle not
    (left < x < left + width and top − height < y < top).
    """
    p = np.asarray(positions, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    free = np.all((p > -BOUNDARY) & (p < BOUNDARY), axis=1)
    for left, top, width, height in OBSTACLES:
        free &= ~((x > left) & (x < left + width) & (y > top - height) & (y < top))
    return free


def pixel_of(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """The (row, column) of world point (x, y) in a rendered frame: [−1, 1]² fills the frame, y up."""
    return int(round((1.0 - y) * (height - 1) / 2)), int(round((x + 1.0) * (width - 1) / 2))


class ObstaclesEnv(gym.Env):
    """The module docstring's env. ``width`` and ``height``: the frame ``render`` draws, in pixels."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # the course's videos fell back to 2 fps

    def __init__(self, render_mode: Optional[str] = None, width: int = 256, height: int = 256):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode, self.width, self.height = render_mode, width, height
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-ACTION_BOUND, ACTION_BOUND, shape=(2,), dtype=np.float32)
        self._goal = np.array(GOAL, dtype=np.float32)
        self._position = np.zeros(2, dtype=np.float32)  # set by reset
        self._background: Optional[np.ndarray] = None  # the static part of a frame, drawn on first render

    # ------------------------------------------------------------------ dynamics

    def get_reward(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and dones of observations (n, 4) reached by actions (n, 2), or of one, (4,) and (2,),
        giving 0-d arrays; ``step`` gives exactly these for its own transition.

            d = ‖(x, y) − (goal_x, goal_y)‖ = sqrt((x − goal_x)² + (y − goal_y)²)  (goal: observation[2:4])
            reward = −d
            done = d < GOAL_RADIUS  or  x, y < −BOUNDARY  or  x, y > BOUNDARY

        ``actions`` are not used (the reward depends on the position reached alone); they keep a
        planner's call the same for every env.
        """
        obs = np.asarray(observations, dtype=np.float64)
        dx, dy = obs[..., 0] - obs[..., 2], obs[..., 1] - obs[..., 3]
        distances = np.sqrt(dx * dx + dy * dy)  # elementwise: a batch row gives what the row alone gives
        out_of_bounds = np.any((obs[..., :2] < -BOUNDARY) | (obs[..., :2] > BOUNDARY), axis=-1)
        return -distances, (distances < GOAL_RADIUS) | out_of_bounds

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        move = np.clip(np.asarray(action, dtype=np.float64), -MAX_ACTION, MAX_ACTION) / MOVE_DIVISOR
        if move.shape != (2,):
            raise ValueError(f"an action is (2,), got shape {move.shape}")
        target = (self._position + move).astype(np.float32)
        if is_free(target[None])[0]:
            self._position = target
        obs = self._observation()
        reward, done = self.get_reward(obs, action)
        return obs, float(reward), bool(done), False, {}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        """A new episode at a random free start, or at ``options["position"]`` (x, y), which must be free."""
        super().reset(seed=seed)
        if options and options.get("position") is not None:
            start = np.asarray(options["position"], dtype=np.float32)
            if start.shape != (2,) or not is_free(start[None])[0]:
                raise ValueError(f"a start position is a free (x, y), got {options['position']!r}")
        else:
            while True:  # the course's rejection sampling: draw again until free
                start = self.np_random.uniform(START_LOW, START_HIGH).astype(np.float32)
                if is_free(start[None])[0]:
                    break
        self._position = start
        return self._observation(), {}

    def _observation(self) -> np.ndarray:
        return np.concatenate([self._position, self._goal])

    # ------------------------------------------------------------------ rendering

    def render(self) -> Optional[np.ndarray]:
        """A (height, width, 3) uint8 frame: the boundary, the rectangles, the goal's disc, the point."""
        if self.render_mode is None:
            gym.logger.warn("render() needs render_mode='rgb_array' when the env is made")
            return None
        if self._background is None:
            self._background = self._draw_background()
        frame = self._background.copy()
        self._disc(frame, float(self._position[0]), float(self._position[1]), POINT_RADIUS_PX, POINT_COLOUR)
        return frame

    def _draw_background(self) -> np.ndarray:
        frame = np.empty((self.height, self.width, 3), dtype=np.uint8)
        frame[:] = BACKGROUND
        for left, top, width, height in OBSTACLES:
            self._box(frame, left, top - height, left + width, top, OBSTACLE_COLOUR)
        b = BOUNDARY  # the boundary's four sides, one pixel wide
        self._box(frame, -b, -b, b, -b, BOUNDARY_COLOUR)
        self._box(frame, -b, b, b, b, BOUNDARY_COLOUR)
        self._box(frame, -b, -b, -b, b, BOUNDARY_COLOUR)
        self._box(frame, b, -b, b, b, BOUNDARY_COLOUR)
        radius_px = GOAL_RADIUS * (min(self.width, self.height) - 1) / 2
        self._disc(frame, GOAL[0], GOAL[1], radius_px, GOAL_COLOUR)
        return frame

    def _box(self, frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour) -> None:
        """Fill the world rectangle x0 <= x <= x1, y0 <= y <= y1 (a line when x0 = x1 or y0 = y1)."""
        top, left = pixel_of(x0, y1, self.width, self.height)
        bottom, right = pixel_of(x1, y0, self.width, self.height)
        frame[top:bottom + 1, left:right + 1] = colour

    def _disc(self, frame: np.ndarray, x: float, y: float, radius_px: float, colour) -> None:
        """Fill the pixels within ``radius_px`` of world point (x, y), clipped to the frame."""
        row, col = pixel_of(x, y, self.width, self.height)
        r = int(np.ceil(radius_px))
        r0, r1 = max(row - r, 0), min(row + r + 1, self.height)
        c0, c1 = max(col - r, 0), min(col + r + 1, self.width)
        rows, cols = np.ogrid[r0:r1, c0:c1]
        inside = (rows - row) ** 2 + (cols - col) ** 2 <= radius_px ** 2
        frame[r0:r1, c0:c1][inside] = colour
