"""worker_pool: forked env workers end with their parent, however it ends, and obey SIGTERM."""
import os
import signal
import subprocess
import sys
import time

import pytest

from cs285.envs.collector import Collector
from cs285.envs.make import RandomActor
from cs285.trainers.checkpointing import RunCheckpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork (Linux)")

# A run's parent: whole-episode workers (Collector, env_procs=2) and a lock-step env worker (ProcessVecEnv),
# forked inside RunCheckpoint's signal handlers if asked (as in hw3's loop); prints the workers' pids, then waits.
PARENT = """
import sys, time
from cs285.envs import worker_pool
from cs285.envs.collector import Collector
from cs285.envs.make import RandomActor
from cs285.trainers.checkpointing import RunCheckpoint

out_dir, handlers, pdeathsig = sys.argv[1], sys.argv[2] == "handlers", sys.argv[3] == "pdeathsig"
if not pdeathsig:
    worker_pool.PR_SET_PDEATHSIG = 0  # not a prctl option: prctl fails, the pipes' EOF is all that is left
if handlers:
    RunCheckpoint(out_dir, {}, every_minutes=1e9).__enter__()
episodes = Collector("CartPole-v1", env_procs=2)
episodes.episodes(RandomActor(episodes.action_space), n_episodes=2)
segments = Collector("CartPole-v1", num_envs=2, env_procs=2)
segments.segments(RandomActor(segments.action_space), 4)
pids = [p.pid for p in episodes._pool.procs] + [p.pid for p in segments._lockstep("train")._pool.procs]
print(*pids, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (an orphan's reaper may be slow, or absent in a container)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.parametrize("handlers, sig, pdeathsig", [
    ("handlers", signal.SIGKILL, "pdeathsig"),  # hw3 killed: the workers had its SIGTERM handler
    ("plain", signal.SIGTERM, "pdeathsig"),  # hw2 stopped with SIGTERM: the parent dies at once
    ("handlers", signal.SIGKILL, "eof"),  # without PR_SET_PDEATHSIG: the workers see their pipes end
])
def test_workers_die_with_their_parent(tmp_path, handlers, sig, pdeathsig):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path), handlers, pdeathsig],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    pids = []
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(_alive(p) for p in pids), pids
        parent.send_signal(sig)
        assert parent.wait(timeout=10) == -sig
        assert _wait_gone(pids) == []
    finally:
        parent.kill()
        parent.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_forked_inside_runcheckpoint_obeys_sigterm(tmp_path):
    with RunCheckpoint(str(tmp_path), {}, every_minutes=1e9) as ckpt:  # its handler only sets a flag
        collector = Collector("CartPole-v1", env_procs=2)
        try:
            collector.episodes(RandomActor(collector.action_space), n_episodes=2)
            procs = collector._pool.procs
            os.kill(procs[0].pid, signal.SIGTERM)
            procs[0].join(timeout=5)
            assert procs[0].exitcode == -signal.SIGTERM
            os.kill(procs[1].pid, signal.SIGINT)  # Ctrl-C is the parent's to handle
            time.sleep(0.2)
            assert procs[1].is_alive() and not ckpt.stop_requested
        finally:
            collector.close()
