"""Expert policies and expert data: safe unpickling, the course schema, hand-computed actions."""
import builtins
import os
import pickle
import warnings

import numpy as np
import pytest

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.expert_data import load_expert_data, save_expert_data
from cs285.infrastructure.safe_pickle import UnsafePickleError, safe_dump, safe_load
from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy, save_expert_policy


def affine(W, b):
    return {"AffineLayer": {"W": np.array(W, dtype=np.float64), "b": np.array([b], dtype=np.float64)}}


def policy_dict(nonlin, mean, meansq, hidden, out, squash=None):
    """A course-schema dict; ``hidden`` maps layer names to (W, b)."""
    A = len(out[1])
    gp = {
        "obsnorm": {
            "Standardizer": {
                "mean_1_D": np.array([mean], dtype=np.float64),
                "meansq_1_D": np.array([meansq], dtype=np.float64),
                "count": np.array(10.0),
            }
        },
        "hidden": {"FeedforwardNet": {name: affine(W, b) for name, (W, b) in hidden.items()}},
        "out": affine(*out),
        "logstdevs_1_Da": np.zeros((1, A)),
    }
    if squash is not None:
        gp["squash"] = {"Tanh": {"low": np.array([squash[0]], float), "high": np.array([squash[1]], float)}}
    return {"nonlin_type": nonlin, "GaussianPolicy": gp}


def write_pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)
    return str(path)


# D=2, H=2, A=1.  mean = [1, -1], meansq = [5, 2] -> std = sqrt([5-1, 2-1]) = [2, 1].
# obs = [3, 0] -> normalised ((3-1)/2, (0+1)/1) = [1, 1]   (the +1e-6 is within rtol).
# Hidden: [1, 1] @ [[1, -1], [0.5, -2]] + [0.5, 1] = [1.5, -3] + [0.5, 1] = [2, -2].
# Out: W = [[1], [2]], b = [0.5]:
#   tanh:  tanh(2) + 2 tanh(-2) + 0.5 = -tanh(2) + 0.5 = -0.4640276
#   lrelu: 2 + 2 * (-0.02) + 0.5 = 2.46
#   relu:  2 + 2 * 0 + 0.5 = 2.5
TINY = dict(
    mean=[1.0, -1.0],
    meansq=[5.0, 2.0],
    hidden={"layer_0": ([[1.0, -1.0], [0.5, -2.0]], [0.5, 1.0])},
    out=([[1.0], [2.0]], [0.5]),
)


@pytest.mark.parametrize(
    "nonlin, expected",
    [("tanh", 0.5 - np.tanh(2.0)), ("lrelu", 2.46), ("relu", 2.5)],
)
def test_hand_computed_action(tmp_path, nonlin, expected):
    path = write_pickle(tmp_path / "expert.pkl", policy_dict(nonlin, **TINY))
    policy = LoadedGaussianPolicy(path)
    assert (policy.obs_dim, policy.ac_dim) == (2, 1)
    single = policy.get_action(np.array([3.0, 0.0]))
    assert single.shape == (1,) and single.dtype == np.float32
    np.testing.assert_allclose(single, [expected], rtol=1e-5)
    batch = policy.get_action(np.array([[3.0, 0.0], [3.0, 0.0], [1.0, -1.0]]))
    assert batch.shape == (3, 1) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[:2, 0], [expected, expected], rtol=1e-5)


def test_layers_ordered_by_number(tmp_path):
    # D=1, mean 0, meansq 1 -> std 1, x = obs.  relu throughout.
    # layer_2 (W=2, b=0) then layer_10 (W=1, b=3): relu(2*1) = 2 -> relu(2+3) = 5.
    # The wrong order (string sort, or this dict's insertion order) would give relu(1+3)=4 -> relu(8)=8.
    hidden = {"layer_10": ([[1.0]], [3.0]), "layer_2": ([[2.0]], [0.0])}
    data = policy_dict("relu", [0.0], [1.0], hidden, ([[1.0]], [0.0]))
    policy = LoadedGaussianPolicy(write_pickle(tmp_path / "p.pkl", data))
    np.testing.assert_allclose(policy.get_action(np.array([1.0])), [5.0], rtol=1e-5)


def test_obs_padding_and_truncation(tmp_path, capsys):
    # D=3, identity normalisation, no hidden layers, out W = [1, 10, 100]^T:
    # [1, 2] -> padded [1, 2, 0] -> 1 + 20 = 21;  [1, 2, 3, 4] -> truncated [1, 2, 3] -> 321.
    data = policy_dict("tanh", [0.0] * 3, [1.0] * 3, {}, ([[1.0], [10.0], [100.0]], [0.0]))
    policy = LoadedGaussianPolicy(data)
    policy.check_fits(2, 1, "Tiny-v0")
    policy.check_fits(2, 1, "Tiny-v0")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "zero-padded" in err and "Tiny-v0" in err
    padded = policy.get_action(np.array([[1.0, 2.0], [0.0, 1.0]]))
    np.testing.assert_allclose(padded[:, 0], [21.0, 10.0], rtol=1e-5)
    np.testing.assert_allclose(policy.get_action(np.array([1.0, 2.0, 3.0, 4.0])), [321.0], rtol=1e-5)
    with pytest.raises(UserError, match=r"actions 1.*Tiny-v0.*actions 4"):
        policy.check_fits(3, 4, "Tiny-v0")


def test_squash_extension_and_save_round_trip(tmp_path):
    # D=1, A=1, x = obs, u = x.  low = -2, high = 4:
    # obs 0 -> -2 + (tanh 0 + 1)/2 * 6 = 1;  obs 100 -> -2 + (1 + 1)/2 * 6 = 4.
    path = tmp_path / "sac_expert.pkl"
    save_expert_policy(
        path, obs_mean=[0.0], obs_meansq=[1.0], hidden=[], out=(np.array([[1.0]]), np.array([0.0])),
        logstd=np.array([-1.0]), nonlin="relu", squash=(np.array([-2.0]), np.array([4.0])),
    )
    policy = LoadedGaussianPolicy(path)
    np.testing.assert_allclose(policy.get_action(np.array([[0.0], [100.0]]))[:, 0], [1.0, 4.0], rtol=1e-5)

    # The writer reproduces the schema: the tiny relu expert saved and reloaded acts the same.
    (W, b), = TINY["hidden"].values()
    save_expert_policy(
        tmp_path / "tiny.pkl", obs_mean=np.array(TINY["mean"]), obs_meansq=np.array(TINY["meansq"]),
        hidden=[(np.array(W), np.array(b))], out=tuple(map(np.array, TINY["out"])),
        logstd=np.zeros(1), nonlin="relu",
    )
    with open(tmp_path / "tiny.pkl", "rb") as f:
        raw = f.read()
    assert raw[:2] == b"\x80\x02"  # protocol 2
    data = pickle.loads(raw)
    assert data["GaussianPolicy"]["hidden"]["FeedforwardNet"]["layer_0"]["AffineLayer"]["b"].shape == (1, 2)
    assert data["GaussianPolicy"]["out"]["AffineLayer"]["W"].dtype == np.float64
    reloaded = LoadedGaussianPolicy(tmp_path / "tiny.pkl")
    np.testing.assert_allclose(reloaded.get_action(np.array([3.0, 0.0])), [2.5], rtol=1e-5)


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda d: d.pop("nonlin_type"), "nonlin_type"),
        (lambda d: d.update(nonlin_type="sigmoid"), "nonlin_type"),
        (lambda d: d["GaussianPolicy"].pop("out"), "GaussianPolicy/out"),
        (lambda d: d["GaussianPolicy"]["obsnorm"]["Standardizer"].pop("meansq_1_D"), "meansq_1_D"),
        (lambda d: d["GaussianPolicy"]["out"]["AffineLayer"].update(W=np.ones((3, 1))), "out/AffineLayer/W"),
        (lambda d: d["GaussianPolicy"]["hidden"]["FeedforwardNet"]["layer_0"]["AffineLayer"].update(
            b=np.ones((1, 5))), "layer_0/AffineLayer/b"),
        (lambda d: d["GaussianPolicy"]["hidden"]["FeedforwardNet"].update(first={}), "first"),
    ],
)
def test_malformed_policy_names_key(mutate, key):
    data = policy_dict("tanh", **TINY)
    mutate(data)
    with pytest.raises(UserError, match=key):
        LoadedGaussianPolicy(data)


class _SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvalCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("payload, name", [(_SystemCall, "system"), (_EvalCall, "builtins.eval")])
def test_hostile_pickle_refused(tmp_path, payload, name):
    marker = tmp_path / "pwned"
    # Hidden inside an otherwise valid expert policy, where the loader would first look.
    data = policy_dict("tanh", **TINY)
    data["GaussianPolicy"]["extra"] = payload(marker)
    path = write_pickle(tmp_path / "evil.pkl", data)
    for load in (safe_load, LoadedGaussianPolicy, load_expert_data):
        with pytest.raises(UnsafePickleError, match=name) as info:
            load(path)
        assert path in str(info.value)
        assert not marker.exists()


@pytest.mark.parametrize(
    "module, name",
    [("subprocess", "Popen"), ("posix", "system"), ("functools", "partial"),
     ("torch._utils", "_rebuild_tensor_v2"), ("builtins", "getattr"), ("numpy", "load")],
)
def test_other_globals_refused(tmp_path, module, name):
    path = tmp_path / "g.pkl"
    path.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"N\x85R.")
    with pytest.raises(UnsafePickleError, match=f"{module}.{name}"):
        safe_load(path)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(UserError, match="not found.*nowhere.pkl"):
        safe_load(tmp_path / "nowhere.pkl")
    good = pickle.dumps(policy_dict("tanh", **TINY), protocol=2)
    for name, content in [("cut.pkl", good[: len(good) // 2]), ("empty.pkl", b""), ("junk.pkl", b"hello world")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UserError, match="not a valid pickle"):
            LoadedGaussianPolicy(tmp_path / name)
    # _codecs.encode is allowed only for the latin-1 bytes pickle writes itself.
    codec = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R."  # encode('a', 'rot13')
    (tmp_path / "codec.pkl").write_bytes(codec)
    with pytest.raises(UserError, match="not a valid pickle"):
        safe_load(tmp_path / "codec.pkl")


def as_numpy1_pickle(obj):
    """Pickle bytes naming ``numpy.core.*`` as numpy 1.x writes them (protocol 2 GLOBALs are plain text)."""
    raw = pickle.dumps(obj, protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"numpy._core" not in raw and b"cnumpy.core.multiarray\n_reconstruct\n" in raw
    return raw


def test_numpy1_names_load_under_numpy2(tmp_path):
    data = policy_dict("lrelu", **TINY)
    data["GaussianPolicy"]["obsnorm"]["Standardizer"]["count"] = np.float64(10.0)  # a numpy scalar
    path = tmp_path / "old.pkl"
    path.write_bytes(as_numpy1_pickle(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy.core DeprecationWarning either
        loaded = safe_load(path)
    assert loaded["GaussianPolicy"]["obsnorm"]["Standardizer"]["count"] == 10.0
    np.testing.assert_allclose(LoadedGaussianPolicy(path).get_action(np.array([3.0, 0.0])), [2.46], rtol=1e-5)


def make_paths():
    rng = np.random.default_rng(0)
    paths = []
    for T, terminated_at_end in [(3, True), (2, False)]:
        obs = rng.normal(size=(T + 1, 4))
        terminated = np.zeros(T, bool)
        truncated = np.zeros(T, bool)
        (terminated if terminated_at_end else truncated)[-1] = True
        paths.append(dict(observation=obs[:-1], action=rng.normal(size=(T, 2)), reward=rng.normal(size=T),
                          next_observation=obs[1:], terminated=terminated, truncated=truncated))
    return paths


def test_expert_data_round_trip(tmp_path):
    paths = make_paths()
    path = tmp_path / "data.pkl"
    save_expert_data(path, paths)
    assert [f for f in os.listdir(tmp_path)] == ["data.pkl"]  # no temp file left behind
    with open(path, "rb") as f:
        raw = pickle.load(f)  # what the course's code sees
    np.testing.assert_array_equal(raw[0]["terminal"], [0, 0, 1])
    np.testing.assert_array_equal(raw[1]["terminal"], [0, 1])
    loaded = load_expert_data(path)
    for before, after in zip(paths, loaded):
        for key in ("observation", "action", "reward", "next_observation"):
            np.testing.assert_allclose(after[key], before[key], rtol=1e-6)
            assert after[key].dtype == np.float32
        np.testing.assert_array_equal(after["terminated"], before["terminated"])
        np.testing.assert_array_equal(after["truncated"], before["truncated"])


def test_course_format_data_and_numpy1_names(tmp_path):
    # The course's Path(): terminal as float32, image_obs = [] when nothing was rendered.
    course = [dict(observation=np.zeros((2, 3), np.float32), action=np.ones((2, 1), np.float32),
                   reward=np.array([1.0, 2.0], np.float32), next_observation=np.zeros((2, 3), np.float32),
                   terminal=np.array([0.0, 1.0], np.float32), image_obs=np.array([], np.uint8))]
    path = tmp_path / "course.pkl"
    path.write_bytes(as_numpy1_pickle(course))
    (p,) = load_expert_data(path)
    np.testing.assert_array_equal(p["terminated"], [False, True])
    np.testing.assert_array_equal(p["truncated"], [False, False])
    np.testing.assert_array_equal(p["terminal"], [False, True])
    assert "image_obs" not in p and p["reward"].shape == (2,)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ps: ps[1].pop("action"), "path 1 lacks key 'action'"),
        (lambda ps: ps[0].update(reward=np.zeros(5)), "path 0: 'reward' has 5 steps"),
        (lambda ps: [p.pop("terminated") for p in ps], "'terminal'"),
        (lambda ps: ps[0].update(observation=np.zeros((0, 4))), "path 0 is empty"),
    ],
)
def test_bad_expert_data(tmp_path, mutate, message):
    paths = make_paths()
    mutate(paths)
    write_pickle(tmp_path / "bad.pkl", paths)
    with pytest.raises(UserError, match=message):
        load_expert_data(tmp_path / "bad.pkl")
    write_pickle(tmp_path / "dict.pkl", {"observation": np.zeros(3)})
    with pytest.raises(UserError, match="expected a list of path dicts"):
        load_expert_data(tmp_path / "dict.pkl")


def test_safe_dump_overwrites_atomically(tmp_path):
    path = tmp_path / "sub" / "x.pkl"
    safe_dump({"a": np.arange(3)}, path)
    safe_dump({"a": np.arange(4)}, path)
    assert os.listdir(tmp_path / "sub") == ["x.pkl"]
    np.testing.assert_array_equal(safe_load(path)["a"], np.arange(4))
