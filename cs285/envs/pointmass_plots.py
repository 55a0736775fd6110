"""Figures of hw5's mazes (pointmass.py): where the visited states lie, and whole trajectories.

The course drew these with the env's ``plot_walls``, ``plot_keypoints`` and ``plot_trajectory`` and the
exploration script's ``visualize`` (a scatter of the visited observations); here they are functions of
the env's name and plain arrays, drawn on matplotlib Figures with the Agg canvas (no pyplot state).
Axes as the course's: x = observation[0] (s0 / H), y = observation[1] (s1 / W), both in [0, 1]; walls
grey, the start a red +, the goal a green * inside the circle of its radius.

Each ``draw_*`` takes ``ax_or_path``: an Axes to draw into, a file path (its suffix picks the format,
e.g. .png) to save a new figure to, or None for a new figure; each returns the Figure.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import numpy as np

from cs285.envs.pointmass import cells_of, coverage, maze_of

FIGSIZE = (5.0, 5.0)  # inches: the mazes are square
DPI = 120
WALL_COLOUR = "grey"


def draw_maze(ax, env_name: Union[str, int]) -> None:
    """The maze's walls, start and goal (with the circle of the goal radius) on ``ax``, [0, 1]² square."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Ellipse

    maze = maze_of(env_name)
    size = np.array(maze.walls.shape, dtype=np.float64)
    walls = np.ma.masked_where(~maze.walls.T, maze.walls.T)  # rows of the image: y = s1; free cells see through
    ax.imshow(walls, cmap=ListedColormap([WALL_COLOUR]), origin="lower", extent=(0, 1, 0, 1), interpolation="nearest")
    goal, start = np.array(maze.goal) / size, np.array(maze.start) / size
    ax.add_patch(Ellipse(tuple(goal), 2 * maze.radius / size[0], 2 * maze.radius / size[1], fill=False,
                         edgecolor="green", linestyle="--"))
    ax.scatter([start[0]], [start[1]], marker="+", color="red", s=200, label="start", zorder=3)
    ax.scatter([goal[0]], [goal[1]], marker="*", color="green", s=200, label="goal", zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")


def draw_visitation(ax_or_path, env_name: Union[str, int], observations: np.ndarray,
                    title: Optional[str] = None):
    """A heatmap of how many of ``observations`` (n, 2) fall in each free cell (log colour scale; a cell
    never visited stays white), over the maze; the title gives ``coverage`` (default: "State coverage")."""
    from matplotlib.colors import LogNorm

    fig, ax = _figure(ax_or_path)
    walls = maze_of(env_name).walls
    counts = np.zeros(walls.shape)
    cells = cells_of(walls, observations)
    np.add.at(counts, (cells[:, 0], cells[:, 1]), 1)
    if counts.any():
        image = ax.imshow(np.ma.masked_equal(counts.T, 0), cmap="viridis", norm=LogNorm(vmin=1, vmax=counts.max()),
                          origin="lower", extent=(0, 1, 0, 1), interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, label="visits")
    draw_maze(ax, env_name)
    ax.set_title(f"{title or 'State coverage'}: {coverage(env_name, observations):.0%} of free cells")
    return _finish(fig, ax_or_path)


def draw_trajectories(ax_or_path, env_name: Union[str, int], trajectories: Sequence[np.ndarray],
                      title: Optional[str] = None):
    """Each trajectory's observations (T, 2) joined in order (the course's ``plot_trajectory``), its last
    one marked ×, over the maze."""
    fig, ax = _figure(ax_or_path)
    draw_maze(ax, env_name)
    for observations in trajectories:
        observations = np.asarray(observations)
        if observations.ndim != 2 or observations.shape[1] != 2:
            raise ValueError(f"a trajectory is its observations (T, 2), got shape {observations.shape}")
        line, = ax.plot(observations[:, 0], observations[:, 1], "-o", markersize=2, alpha=0.5)
        ax.scatter(observations[-1:, 0], observations[-1:, 1], marker="x", color=line.get_color(), zorder=3)
    if title:
        ax.set_title(title)
    return _finish(fig, ax_or_path)


def _figure(ax_or_path):
    """(Figure, Axes): ``ax_or_path``'s own when it is an Axes, else a new FIGSIZE figure on the Agg canvas."""
    if ax_or_path is not None and not isinstance(ax_or_path, (str, os.PathLike)):
        return ax_or_path.figure, ax_or_path
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _finish(fig, ax_or_path):
    if isinstance(ax_or_path, (str, os.PathLike)):
        os.makedirs(os.path.dirname(os.path.abspath(ax_or_path)), exist_ok=True)
        fig.savefig(ax_or_path)
    return fig
