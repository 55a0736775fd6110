"""hw5's datasets: a saved dataset reloads identically; a changed, foreign or hostile file is refused in one
line without running anything; the course's pickled ReplayBuffer is read through the safe unpickler."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from cs285.infrastructure.datasets import find_dataset, load_dataset, save_dataset
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.rollouts import Batch


def transitions(n=50, seed=0) -> Batch:
    rng = np.random.default_rng(seed)
    obs = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    terminated = np.zeros(n, bool)
    terminated[17] = True
    truncated = np.zeros(n, bool)
    truncated[n - 10] = True
    return Batch(obs, rng.integers(0, 5, n), -np.ones(n, np.float32), np.roll(obs, -1, 0), terminated, truncated)


def one_line_error(call) -> str:
    with pytest.raises(UserError) as e:
        call()
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_saved_dataset_reloads_identically(tmp_path):
    batch = transitions()
    path = save_dataset(str(tmp_path / "sets" / "pointmass_easy_rnd"), batch, env_id="PointmassEasy-v0", seed=3,
                        config={"total_steps": 50, "rnd_weight": 1.0})
    assert path.endswith("pointmass_easy_rnd.npz") and find_dataset(str(tmp_path / "sets"), "pointmass_easy_rnd") == path
    loaded, header = load_dataset(path)
    for name, a, b in zip(Batch._fields, batch, loaded):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert loaded.actions.dtype == np.int64 and loaded.terminated.dtype == bool
    assert (header["env_id"], header["steps"], header["seed"], header["config"]["rnd_weight"]) == \
        ("PointmassEasy-v0", 50, 3, 1.0)
    assert os.listdir(tmp_path / "sets") == ["pointmass_easy_rnd.npz"]  # no temp file left


def rewrite(path, **changes):
    """The npz at ``path`` with some members replaced, as someone editing the file would."""
    with np.load(path, allow_pickle=False) as f:
        members = {name: f[name] for name in f.files}
    members.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **members)


def test_a_changed_or_foreign_file_is_refused(tmp_path):
    path = save_dataset(str(tmp_path / "d"), transitions(), env_id="PointmassEasy-v0", seed=1)
    rewrite(path, rewards=np.zeros(50, np.float32))
    assert "'rewards' does not match the checksum" in one_line_error(lambda: load_dataset(path))

    path = save_dataset(str(tmp_path / "e"), transitions(), env_id="PointmassEasy-v0", seed=1)
    rewrite(path, observations=np.array([{"a": 1}] * 50, dtype=object))  # np.savez pickles object arrays
    assert "not a cs285 dataset" in one_line_error(lambda: load_dataset(path))

    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    assert "not a cs285 dataset" in one_line_error(lambda: load_dataset(str(tmp_path / "junk.npz")))
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    assert "lacks header" in one_line_error(lambda: load_dataset(str(tmp_path / "plain.npz")))
    assert "dataset not found" in one_line_error(lambda: load_dataset(str(tmp_path / "missing.npz")))
    assert "no dataset nothing.npz" in one_line_error(lambda: find_dataset(str(tmp_path), "nothing"))


class Hostile:
    """Unpickling this calls os.system (a plain pickle.load would run it)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_hostile_pickle_is_refused_without_running(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    path = tmp_path / "hostile.pkl"
    path.write_bytes(pickle.dumps(Hostile(marker)))
    assert "refused to load global" in one_line_error(lambda: load_dataset(str(path)))
    assert not marker.exists()
    # the course buffer's class name on top, the hostile global in its state: still refused
    path.write_bytes(course_pickle(monkeypatch, {"size": 1, "observations": Hostile(marker)}))
    assert "refused to load global" in one_line_error(lambda: load_dataset(str(path)))
    assert not marker.exists()


def course_pickle(monkeypatch, state) -> bytes:
    """The bytes of the course's ``pickle.dump(replay_buffer)``: an object of a class named
    ``cs285.infrastructure.replay_buffer.ReplayBuffer`` with ``state`` as its attributes, which pickle
    writes as the class's global, then ``__new__`` and its ``__dict__``."""
    import cs285.infrastructure.replay_buffer as module

    course_class = type("ReplayBuffer", (), {"__module__": module.__name__})
    monkeypatch.setattr(module, "ReplayBuffer", course_class)  # pickle checks that the name finds the class
    obj = course_class()
    obj.__dict__.update(state)
    data = pickle.dumps(obj, protocol=4)
    monkeypatch.undo()
    assert b"cs285.infrastructure.replay_buffer" in data and b"ReplayBuffer" in data
    return data


def test_the_courses_pickled_buffer_is_read_safely(tmp_path, monkeypatch):
    batch = transitions(30)
    capacity = 40  # the course preallocates capacity rows; size of them are filled
    pad = lambda x: np.concatenate([x, np.zeros((capacity - len(x), *x.shape[1:]), x.dtype)])  # noqa: E731
    state = {"max_size": capacity, "size": 30, "observations": pad(batch.observations), "actions": pad(batch.actions),
             "rewards": pad(batch.rewards), "next_observations": pad(batch.next_observations),
             "dones": pad(batch.terminated | batch.truncated)}
    path = tmp_path / "pointmass_hard_rnd.pkl"
    path.write_bytes(course_pickle(monkeypatch, state))
    assert find_dataset(str(tmp_path), "pointmass_hard_rnd") == str(path)
    loaded, header = load_dataset(str(path))
    assert len(loaded.rewards) == 30 and header["format"] == "course-pickle"
    np.testing.assert_array_equal(loaded.observations, batch.observations)
    np.testing.assert_array_equal(loaded.terminated, batch.terminated | batch.truncated)  # the course's dones
    assert not loaded.truncated.any()

    buf = io.BytesIO()
    pickle.dump({"observations": np.zeros(3)}, buf)
    (tmp_path / "dict.pkl").write_bytes(buf.getvalue())
    assert "not a dataset saved by the course" in one_line_error(lambda: load_dataset(str(tmp_path / "dict.pkl")))


def test_the_npz_holds_no_pickled_member(tmp_path):
    path = save_dataset(str(tmp_path / "d"), transitions(), env_id="PointmassEasy-v0", seed=1)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as member:
                np.lib.format.read_magic(member)
                header = np.lib.format.read_array_header_1_0(member)
                assert header[2] != np.dtype(object), name
