"""Forked worker processes that answer commands over pipes: the plumbing of process_env and of the collector's whole-episode workers.

A worker runs ``make_handler()`` once, then for each message ``(command, *args)``
calls the handler's method ``command(*args)`` and sends back ``("ok", reply)``, or
``("error", traceback)`` if it raised; a handler that returns ``NO_REPLY``
sends nothing. ``("close",)`` ends the worker, which then calls
``handler.close()``. Workers are forked (Linux): they inherit the modules
already imported and start in milliseconds.

A worker never outlives this process, however it ends (SIGKILL included):
- Linux kills it the moment its parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``,
  set first thing in the worker; a parent that died before that is caught by
  checking the parent's pid right after);
- otherwise its pipe ends (EOF, or a broken pipe on sending) and it returns. For
  the pipe to end, no other process may hold this side of it: each worker closes
  the parent's ends of every pool's pipes that it inherited, its own included.
It also has its own signal handlers, not those it was forked with (e.g.
``RunCheckpoint``'s, which only set a flag, so a forked worker ignored SIGTERM):
SIGTERM sent to it ends it; SIGINT is ignored. And it runs in a process group of
its own, so a signal sent to the run's group (Ctrl-C in a terminal, ``timeout``,
a batch scheduler's SIGTERM) reaches the parent alone, which decides what it means:
a graceful stop still needs the episodes in flight answered. When the parent
exits, its workers follow.
"""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import traceback
import weakref
from typing import Callable, Protocol

NO_REPLY = object()
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>: the signal this process gets when its parent dies

# This process's ends of every pool's pipes: a forked worker closes its copies (module docstring).
_parent_ends: "weakref.WeakSet" = weakref.WeakSet()


class Handler(Protocol):
    """Any object with a method per command it answers, and ``close``."""

    def close(self) -> None: ...


class WorkerPool:
    """``num_workers`` forked processes, each serving its own ``make_handler()``; ``what`` names them in errors."""

    def __init__(self, num_workers: int, make_handler: Callable[[], Handler], what: str):
        self.what = what
        if "fork" not in mp.get_all_start_methods():
            raise ValueError(f"{what} worker process needs the 'fork' start method (Linux)")
        ctx = mp.get_context("fork")
        self.conns, self.procs = [], []
        for _ in range(num_workers):
            parent, child = ctx.Pipe()
            _parent_ends.add(parent)
            proc = ctx.Process(target=_serve, args=(child, make_handler, os.getpid()), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def receive(self, conn) -> object:
        """A worker's reply; its exception, or its death, as a RuntimeError here."""
        try:
            status, value = conn.recv()
        except EOFError:
            raise RuntimeError(f"{self.what} worker process exited unexpectedly") from None
        if status == "error":
            raise RuntimeError(f"{self.what} worker process failed:\n{value}")
        return value

    def call(self, i: int, *message) -> object:
        """Send worker i a message and return its reply."""
        self.conns[i].send(message)
        return self.receive(self.conns[i])

    @property
    def alive(self) -> bool:
        return bool(self.procs)

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs):
            with contextlib.suppress(OSError):  # a worker already gone: its pipe is broken
                conn.send(("close",))
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
            conn.close()
        self.conns, self.procs = [], []


def _die_with_parent(parent_pid: int) -> None:
    """In a new worker: end with the parent (SIGKILL on its death, EOF on its pipes), and signal
    handlers of its own (module docstring)."""
    os.setpgid(0, 0)  # out of the run's process group: a signal to the group is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        # Linux sends the signal when the *thread* that forked us exits: pools are made in the main thread.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl: we were handed to another process
        os._exit(0)
    for conn in list(_parent_ends):
        conn.close()


def _serve(conn, make_handler: Callable[[], Handler], parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    handler = None
    try:
        handler = make_handler()
        while True:
            command, *args = conn.recv()
            if command == "close":
                return
            try:
                reply = getattr(handler, command)(*args)
            except Exception:
                conn.send(("error", traceback.format_exc()))
                continue
            if reply is not NO_REPLY:
                conn.send(("ok", reply))
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the main process went away
        pass
    finally:
        if handler is not None:
            handler.close()
        conn.close()
