"""Rollout videos: headless render, mp4 in the run dir, animated GIF read back from TensorBoard."""
from __future__ import annotations

import importlib.util
import io

import imageio.v2 as imageio
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from actors import ZerosActor
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.logger import Logger
from cs285.envs.video import VideoRecorder, frame_skip_for, make_render_env, video_fps
from cs285.infrastructure.media import encode_mp4

import mujoco  # noqa: E402,F401  (imported after envs.py has set MUJOCO_GL; see test_no_gl_backend)


def hopper_rollout(env, steps: int, frame_skip: int, seed: int) -> np.ndarray:
    """Frames of ``steps`` random-action steps, one every ``frame_skip`` steps (falling is fine)."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    frames = []
    for t in range(steps):
        if t % frame_skip == 0:
            frames.append(env.render())
        env.step(rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32))
    return np.stack(frames)


def read_mp4(path: str) -> np.ndarray:
    with imageio.get_reader(path, "ffmpeg") as reader:
        return np.stack([frame for frame in reader.iter_data()])


def gif_frames(gif: bytes) -> tuple[list[np.ndarray], list[int]]:
    im = Image.open(io.BytesIO(gif))
    frames, durations = [], []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB")))
        durations.append(im.info["duration"])
    return frames, durations


def test_hopper_video_goes_to_mp4_and_tensorboard(tmp_path):
    env = make_render_env("Hopper-v4", 128, 128)
    skip = frame_skip_for(env, fps=30)
    assert skip == 4  # dt = 0.008 s: round(1 / (0.008 * 30)) = round(4.17)
    fps = video_fps(env, skip)
    assert fps == pytest.approx(31.25)
    videos = [hopper_rollout(env, 60, skip, seed=0), hopper_rollout(env, 40, skip, seed=1)]
    env.close()
    assert [v.shape for v in videos] == [(15, 128, 128, 3), (10, 128, 128, 3)]
    assert videos[0].mean() > 20  # not a black frame

    with Logger(str(tmp_path)) as logger:
        path = logger.log_video(videos, "eval/rollouts", step=3, fps=fps)

    # mp4: rollouts side by side, the shorter one holding its last frame.
    assert path == str(tmp_path / "videos" / "eval_rollouts_step3.mp4")
    mp4 = read_mp4(path)
    assert mp4.shape == (15, 128, 256, 3)
    assert np.abs(mp4[0].astype(int) - np.concatenate([videos[0][0], videos[1][0]], 1)).mean() < 10  # lossy

    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={event_accumulator.IMAGES: 0})
    acc.Reload()
    assert "eval/rollouts" in acc.Tags()["images"]
    (event,) = acc.Images("eval/rollouts")
    assert event.step == 3
    assert (event.width, event.height) == (256, 128)  # 2 x 128 px: no downscale needed at <= 128 px high
    frames, durations = gif_frames(event.encoded_image_string)
    # GIF keeps every round(31.25 / 15) = 2nd frame: frames 0, 2, ..., 14 -> 8 frames of 2 / 31.25 s = 64 ms,
    # stored in GIF's 10 ms units.
    assert len(frames) == 8
    assert frames[0].shape == (128, 256, 3)
    assert sum(durations) == pytest.approx(8 * 64, abs=8 * 5)


def test_log_paths_as_videos_uses_first_rendered_paths(tmp_path):
    rng = np.random.default_rng(0)
    paths = [{"observation": np.zeros((3, 1))}] + [
        {"image_obs": rng.integers(0, 256, (n, 32, 48, 3), dtype=np.uint8)} for n in (6, 4, 5)]
    with Logger(str(tmp_path)) as logger:
        path = logger.log_paths_as_videos(paths, step=7, max_videos_to_save=2, fps=10, video_title="eval")
        assert logger.log_paths_as_videos(paths[:1], step=8) is None
    assert read_mp4(path).shape == (6, 32, 96, 3)  # the first two rendered paths, side by side


def test_encode_mp4_pads_odd_sizes(tmp_path):
    frames = np.full((5, 33, 47, 3), 200, dtype=np.uint8)
    encode_mp4(frames, str(tmp_path / "odd.mp4"), fps=10)
    assert read_mp4(str(tmp_path / "odd.mp4")).shape == (5, 34, 48, 3)


def test_two_render_envs_do_not_wipe_each_other():
    first = make_render_env("Hopper-v4", 64, 64)
    second = make_render_env("Hopper-v4", 64, 64)
    assert first.render().mean() > 20  # rendered in its own GL context, not the second's
    del first  # collecting it used to delete GL objects from the second env's context
    assert second.render().mean() > 20
    second.close()


# gymnasium's half-made viewer complains from __del__ that it has no GL context, which is the point.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_gl_backend_is_a_user_error(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "no-such-backend")
    with pytest.raises(UserError, match="MUJOCO_GL='no-such-backend'.*libegl1"):
        make_render_env("Hopper-v4", 64, 64)


def test_video_recorder_logs_eval_rollouts(tmp_path):
    recorder = VideoRecorder("Hopper-v4", ep_len=20, seed=0, width=64, height=64)
    with Logger(str(tmp_path)) as logger:
        path = recorder.log(logger, ZerosActor(3), step=4)
    recorder.close()
    # 20 steps, a frame at reset and every 4th step: 1 + 20 / 4 = 6 frames; 2 rollouts side by side.
    assert read_mp4(path).shape == (6, 64, 128, 3)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_video_recorder_turns_itself_off_without_gl(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MUJOCO_GL", "no-such-backend")
    recorder = VideoRecorder("Hopper-v4", ep_len=20)
    assert not recorder.enabled
    assert "warning: videos off" in capsys.readouterr().err
    with Logger(str(tmp_path)) as logger:
        assert recorder.log(logger, ZerosActor(3), step=0) is None


def test_cartpole_renders_or_says_what_to_install():
    if importlib.util.find_spec("pygame") is None:
        with pytest.raises(UserError, match="pygame"):
            make_render_env("CartPole-v1")
        return
    env = make_render_env("CartPole-v1")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (400, 600, 3)
    assert frame_skip_for(env, fps=30) == 2  # 50 steps/s: round(50 / 30)
    env.close()


def test_camera_tracks_the_robot_over_a_long_floor():
    import mujoco

    from cs285.envs.video import FLOOR_DRAWN_M, make_render_env

    env = make_render_env("HalfCheetah-v4", 64, 64)
    try:
        renderer = env.unwrapped.mujoco_renderer
        assert renderer.camera_id is None  # gymnasium's -1 would reset the camera to free every frame
        assert renderer.viewer.cam.type == mujoco.mjtCamera.mjCAMERA_TRACKING
        model = env.unwrapped.model
        planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
        assert (model.geom_size[planes, :2] >= FLOOR_DRAWN_M).all()
    finally:
        env.close()
