"""Headless rollout videos: a cheap render env, frame skipping, mp4 and GIF encoding.

Rendering dominates the cost of a video log, so MuJoCo envs get a cheaper scene
than gymnasium's default; measured on 2 shared CPU cores with Mesa's software
renderer (llvmpipe), Hopper-v4 at 256x256 goes from 70-140 ms to 4-6 ms a frame
(``scripts/benchmark_video.py``):

- no shadows, reflections or skybox (scene render flags ``mjRND_*``);
- no multisample anti-aliasing (``model.vis.quality.offsamples = 0``);
- ground planes drawn as a grid of >= 1 m squares instead of e.g. Hopper's
  0.125 m (a plane's third size is "spacing between square grid lines for
  rendering" only, MuJoCo XML reference: 320x320 quads become 40x40).

gymnasium's ``visual_options`` argument cannot do the first item: it writes the
given flags into ``MjvOption.flags`` (the ``mjVIS_*`` visualisation flags), not
into the scene's ``mjRND_*`` render flags, so the flags are set on the viewer's
scene after the first render instead.

Videos play at about ``fps`` frames per second of simulated time: the sampler
keeps every ``frame_skip_for(env, fps)``-th frame (Hopper: dt = 8 ms, so every
4th frame gives 31.25 fps) and reports ``video_fps(env, frame_skip)``.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Optional

import numpy as np

from cs285.envs.make import VecEnv, make_env, quiet_env_warnings, resolve_env_id
from cs285.infrastructure import utils
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.media import encode_gif, encode_mp4
from cs285.infrastructure.files import atomic_path

import gymnasium as gym  # after make.py, which picks the MuJoCo GL backend
from gymnasium.envs.registration import load_env_creator

MAX_NVIDEO = 2  # eval rollouts per video log
VIDEO_TITLE = "eval_rollouts"
MIN_PLANE_GRID_M = 1.0  # coarsest ground grid spacing we draw, in metres
FLOOR_DRAWN_M = 1000.0  # half-extent of the drawn floor, in metres
GL_FIX = ("install Mesa's EGL (apt-get install libegl1 libgl1-mesa-dri) and set MUJOCO_GL=egl, "
          "or install OSMesa (apt-get install libosmesa6) and set MUJOCO_GL=osmesa")


def _is_mujoco(env_id: str) -> bool:
    """Whether ``env_id`` makes a MuJoCo env: its registered class subclasses gymnasium's ``MujocoEnv``
    (gymnasium's own and this project's, registry.py), learnt without making it, since a MuJoCo env
    takes its frame size when made. An entry point that is a function, not a class, counts as not."""
    entry = gym.spec(env_id).entry_point
    try:
        creator = load_env_creator(entry) if isinstance(entry, str) else entry
    except gym.error.DependencyNotInstalled as e:
        raise UserError(f"{env_id} needs an extra package: {e}") from None
    except Exception:
        quiet_env_warnings()  # `import mujoco` failed on MUJOCO_GL: a UserError that says what to do
        raise
    # a subclass's module imported MujocoEnv's, so a module not imported means no MuJoCo env (Atari, CartPole)
    mujoco_env = sys.modules.get("gymnasium.envs.mujoco.mujoco_env")
    return isinstance(creator, type) and mujoco_env is not None and issubclass(creator, mujoco_env.MujocoEnv)


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


def _cheapen_model(model) -> None:
    """Model settings read when the GL context is made, i.e. before the first render."""
    import mujoco  # not at the top: with a broken MUJOCO_GL, `import mujoco` itself fails

    model.vis.quality.offsamples = 0
    planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
    model.geom_size[planes, 2] = np.maximum(model.geom_size[planes, 2], MIN_PLANE_GRID_M)


def _extend_floor(model) -> None:
    """Draw floor planes over FLOOR_DRAWN_M (before the first render, like ``_cheapen_model``).

    A MuJoCo plane collides everywhere but is drawn only over its size: 40 m
    for the cheetah, which runs past that within an episode.
    """
    import mujoco

    for g in np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE):
        old = model.geom_size[g, :2].copy()
        model.geom_size[g, :2] = np.maximum(old, FLOOR_DRAWN_M)
        mat = model.geom_matid[g]
        if mat >= 0 and not model.mat_texuniform[mat]:  # texture repeats per plane: keep its squares' size
            model.mat_texrepeat[mat] *= model.geom_size[g, :2] / np.maximum(old, 1e-9)


def _cheapen_scene(scene) -> None:
    import mujoco

    for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX):
        scene.flags[flag] = 0


class OwnGLContext(gym.Wrapper):
    """A MuJoCo render env that renders in, and frees its GL objects from, its own GL context.

    gymnasium makes a viewer's context current only when it is created, and
    frees its ``MjrContext`` whenever Python collects it, in whatever context is
    current then: with two render envs in one process, the second renders
    black once the first is collected (its GL object ids are deleted from the
    second's context). So ``render`` first makes this env's context current
    (~10 us) and ``close`` (or collection) frees the ``MjrContext`` in it.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._gl_freed = False

    def _viewer(self):
        return self.env.unwrapped.mujoco_renderer.viewer

    def render(self):
        viewer = self._viewer()
        if viewer is not None and not self._gl_freed:
            viewer.make_context_current()
        return self.env.render()

    def _free_gl(self) -> None:
        viewer = self._viewer()
        if viewer is not None and not self._gl_freed:
            self._gl_freed = True
            viewer.make_context_current()
            viewer.con.free()

    def close(self) -> None:
        self._free_gl()
        super().close()

    def __del__(self):
        try:
            self._free_gl()
        except Exception:  # interpreter shutdown: GL may be gone already
            pass


def make_render_env(env_name: str, width: int = 256, height: int = 256, cheap_scene: bool = True,
                    **make_kwargs) -> gym.Env:
    """A gymnasium env whose ``render()`` returns (height, width, 3) uint8 frames.

    MuJoCo envs render headless at ``width`` x ``height`` with the cheap scene
    (module docstring) unless ``cheap_scene=False``; other envs (CartPole,
    LunarLander) render at their own size. ``make_kwargs`` go to ``make_env``
    (seed, ep_len, env kwargs). The env has been reset once and rendered once
    to check that rendering works.

    Raises ``UserError`` (one line, says how to fix it) when no frame can be
    rendered, e.g. no OpenGL backend, so a caller can turn videos off instead.
    """
    env_id = resolve_env_id(env_name)
    mujoco_env = _is_mujoco(env_id)
    if mujoco_env:
        make_kwargs.update(width=width, height=height)
    elif not os.environ.get("DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen
    gl = os.environ.get("MUJOCO_GL")
    try:
        env = make_env(env_id, render=True, **make_kwargs)
        if mujoco_env:
            _extend_floor(env.unwrapped.model)
        if mujoco_env and cheap_scene:
            _cheapen_model(env.unwrapped.model)
        env.reset()
        frame = env.render()
    except UserError:
        raise
    except gym.error.DependencyNotInstalled as e:
        raise UserError(f"cannot render {env_id}: {e}") from None
    except Exception as e:  # no GL backend fails at `import mujoco` or at the first render
        if not mujoco_env:
            raise UserError(f"cannot render {env_id}: {_first_line(e)}") from None
        raise UserError(f"cannot render {env_id} with MUJOCO_GL={gl!r} ({_first_line(e)}); "
                        f"to fix, {GL_FIX}; or turn videos off") from None
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3):
        raise UserError(f"cannot render {env_id}: render() gave {type(frame).__name__}, not an RGB array")
    if mujoco_env:
        viewer = env.unwrapped.mujoco_renderer.viewer
        if cheap_scene:
            _cheapen_scene(viewer.scn)
        _follow_the_robot(env.unwrapped.mujoco_renderer, viewer)
        env = OwnGLContext(env)
    return env


def _follow_the_robot(renderer, viewer) -> None:
    """Make the camera track the robot's root body.

    gymnasium's v4 envs name a ``trackbodyid`` but render with camera_id -1,
    which resets the camera to free mode at every frame, so a hopper or
    cheetah walks out of the picture within a second. With camera_id None the
    renderer leaves the camera alone. Body 0 is the world; body 1 is the
    robot's root (torso / cart) in every MuJoCo task here.
    """
    import mujoco

    renderer.camera_id = None
    viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    viewer.cam.trackbodyid = int((renderer.default_cam_config or {}).get("trackbodyid", 1))


def _env_dt(env: gym.Env) -> float:
    """Simulated seconds per env step (MuJoCo: ``dt``; others: 1 / render_fps)."""
    dt = getattr(env.unwrapped, "dt", None)
    return float(dt) if dt else 1.0 / float(env.metadata.get("render_fps") or 30)


def frame_skip_for(env: gym.Env, fps: float = 30) -> int:
    """Keep every k-th step's frame, k = round(1 / (dt * fps)) >= 1, for ~``fps`` video."""
    return max(1, round(1.0 / (_env_dt(env) * fps)))


def video_fps(env: gym.Env, frame_skip: int) -> float:
    """Real-time playback rate of frames kept every ``frame_skip`` steps: 1 / (dt * frame_skip)."""
    return 1.0 / (_env_dt(env) * frame_skip)


class VideoRecorder:
    """Every video log of a run: one render env, made once, and ``n_videos`` eval rollouts per log.

    If rendering does not work here (``make_render_env`` raised ``UserError``),
    it prints a one-line warning and ``log`` does nothing, so training goes on
    without videos.
    """

    def __init__(self, env_name: str, ep_len: Optional[int] = None, seed: Optional[int] = None,
                 n_videos: int = MAX_NVIDEO, fps: float = 30, width: int = 256, height: int = 256):
        self.n_videos = n_videos
        self.env: Optional[VecEnv] = None
        try:
            env = make_render_env(env_name, width, height, seed=seed, ep_len=ep_len)
        except UserError as e:
            print(f"warning: videos off: {e}", file=sys.stderr)
            return
        self.frame_skip = frame_skip_for(env, fps)
        self.fps = video_fps(env, self.frame_skip)
        self.env = VecEnv.from_envs([env], seed=seed)

    @property
    def enabled(self) -> bool:
        return self.env is not None

    def log(self, logger, policy, step: int, deterministic: bool = False) -> Optional[str]:
        """Render ``n_videos`` episodes of ``policy`` (an Actor or MLPPolicy) and log them
        (``Logger.log_paths_as_videos``). Returns the mp4's path, or None when videos are off.
        """
        if self.env is None:
            return None
        paths = utils.sample_n_trajectories(self.env, policy, self.n_videos, render=True,
                                            frame_skip=self.frame_skip, deterministic=deterministic)
        return logger.log_paths_as_videos(paths, step, max_videos_to_save=self.n_videos, fps=self.fps,
                                          video_title=VIDEO_TITLE)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


GIF_FILE_FPS = 10  # with 48 colours, a 1000-step Ant episode at 112 px: under 2 MB


def save_policy_video(env_name: str, policy, path: str, seed: int = 0,
                      ep_len: Optional[int] = None, fps: float = 30, size: int = 256) -> float:
    """Render one deterministic episode of ``policy`` (an Actor; reset with ``seed``) to ``path``: an mp4,
    or with the suffix .gif a small GIF (``encode_gif``, written atomically). Returns the episode's return."""
    env = make_render_env(env_name, size, size, seed=seed, ep_len=ep_len)
    frame_skip = frame_skip_for(env, fps)
    with contextlib.closing(VecEnv.from_envs([env], seed=seed)) as vec:
        (path_,) = utils.sample_n_trajectories(vec, policy, 1, render=True, frame_skip=frame_skip,
                                               deterministic=True)
    frames, fps = path_["image_obs"], video_fps(env, frame_skip)
    if path.lower().endswith(".gif"):
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(encode_gif(frames, fps, max_fps=GIF_FILE_FPS, colors=48))
    else:
        encode_mp4(frames, path, fps)
    return float(np.sum(path_["reward"]))
