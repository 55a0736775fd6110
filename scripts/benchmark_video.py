"""Cost of one video log: render rollouts headless, encode, write mp4 + TensorBoard GIF.

    python scripts/benchmark_video.py [--env Hopper-v4] [--n_videos 2] [--steps 1000]

Each rollout is ``--steps`` env steps with random actions; an episode that ends
early is reset and continued, so every rollout renders a full ``--steps`` worth
of frames (one every ``frame_skip_for(env, --fps)`` steps). Prints render
ms/frame for the cheap scene and, on a short run, for gymnasium's default
scene; then encode time, total wall time and bytes on disk of one video log
(render + ``Logger.log_video``) into a temporary run dir.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from cs285.envs.make import random_actions
from cs285.infrastructure.logger import Logger
from cs285.trainers.script_util import run_main
from cs285.envs.video import frame_skip_for, make_render_env, video_fps


def render_rollout(env, steps: int, frame_skip: int, rng: np.random.Generator) -> np.ndarray:
    """(ceil(steps / frame_skip), H, W, 3) frames of ``steps`` random-action steps."""
    frames = []
    for t, action in enumerate(random_actions(env.action_space, (steps,), rng)):
        if t % frame_skip == 0:
            frames.append(env.render())
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return np.stack(frames)


def render_ms_per_frame(env_name: str, cheap_scene: bool, frames: int = 40, size: int = 256) -> float:
    env = make_render_env(env_name, size, size, cheap_scene=cheap_scene)
    start = time.perf_counter()
    for _ in range(frames):
        env.step(env.action_space.sample())
        env.render()
    ms = 1000 * (time.perf_counter() - start) / frames
    env.close()
    return ms


def time_video_log(env_name: str = "Hopper-v4", n_videos: int = 2, steps: int = 1000, fps: float = 30,
                   size: int = 256, seed: int = 0) -> dict[str, float]:
    """Seconds and bytes of one full video log (render + encode + write).

    ``make_env_s``, making the render env (once per run), is not in ``total_s``.
    """
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as log_dir:
        made = time.perf_counter()
        env = make_render_env(env_name, size, size, seed=seed)  # once per run, so not part of a video log
        skip = frame_skip_for(env, fps)
        start, cpu_start = time.perf_counter(), time.process_time()
        videos = [render_rollout(env, steps, skip, rng) for _ in range(n_videos)]
        rendered, render_cpu = time.perf_counter(), time.process_time() - cpu_start
        with Logger(log_dir) as logger:
            logger.log_video(videos, "eval_rollouts", step=0, fps=video_fps(env, skip))
        end = time.perf_counter()
        env.close()
        sizes = {f.name: f.stat().st_size for f in Path(log_dir).rglob("*") if f.is_file()}
    n_frames = sum(len(v) for v in videos)
    return {
        "make_env_s": start - made,
        "frame_skip": skip,
        "frames": n_frames,
        "render_s": rendered - start,
        "render_cpu_s": render_cpu,
        "render_ms_per_frame": 1000 * (rendered - start) / n_frames,
        "encode_write_s": end - rendered,
        "total_s": end - start,
        "mp4_bytes": sum(b for f, b in sizes.items() if f.endswith(".mp4")),
        "event_bytes": sum(b for f, b in sizes.items() if f.startswith("events.")),
        "total_bytes": sum(sizes.values()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Hopper-v4")
    p.add_argument("--n_videos", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000, help="env steps per rollout")
    p.add_argument("--fps", type=float, default=30)
    p.add_argument("--size", type=int, default=256, help="rendered frame width and height (MuJoCo)")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other processes slow the wall times)")
    default_ms = render_ms_per_frame(args.env, cheap_scene=False, size=args.size)
    cheap_ms = render_ms_per_frame(args.env, cheap_scene=True, size=args.size)
    print(f"render ms/frame at {args.size}px (step + render): default scene {default_ms:.1f}, cheap scene {cheap_ms:.1f}")
    r = time_video_log(args.env, args.n_videos, args.steps, args.fps, args.size)
    print(f"one video log: {args.n_videos} x {args.steps} steps, frame_skip {r['frame_skip']}, {r['frames']} frames")
    print(f"  render  {r['render_s']:.2f} s ({r['render_ms_per_frame']:.1f} ms/frame incl. env steps; "
          f"{r['render_cpu_s']:.2f} s CPU, all threads)")
    print(f"  encode + write mp4 and GIF  {r['encode_write_s']:.2f} s")
    print(f"  total   {r['total_s']:.2f} s wall (making the render env, once per run: {r['make_env_s']:.2f} s)")
    print(f"  on disk {r['total_bytes'] / 1e6:.2f} MB (mp4 {r['mp4_bytes'] / 1e6:.2f} MB, "
          f"event file {r['event_bytes'] / 1e6:.2f} MB)")


if __name__ == "__main__":
    run_main(main)
