"""Forked worker processes that answer commands over pipes: the plumbing of process_env and of the collector's whole-episode workers.

A worker runs ``make_handler()`` once, then for each message ``(command, *args)``
calls ``handler(command, *args)`` and sends back ``("ok", reply)``, or
``("error", traceback)`` if it raised; a handler that returns ``NO_REPLY``
sends nothing. ``("close",)`` ends the worker, which then calls
``handler.close()``. Workers are forked (Linux): they inherit the modules
already imported and start in milliseconds.
"""
from __future__ import annotations

import multiprocessing as mp
import traceback
from typing import Callable, Protocol

NO_REPLY = object()


class Handler(Protocol):
    def __call__(self, command: str, *args) -> object: ...

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
            proc = ctx.Process(target=_serve, args=(child, make_handler), daemon=True)
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
            try:
                conn.send(("close",))
            except (BrokenPipeError, OSError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
            conn.close()
        self.conns, self.procs = [], []


def _serve(conn, make_handler: Callable[[], Handler]) -> None:
    handler = None
    try:
        handler = make_handler()
        while True:
            command, *args = conn.recv()
            if command == "close":
                return
            try:
                reply = handler(command, *args)
            except Exception:
                conn.send(("error", traceback.format_exc()))
                continue
            if reply is not NO_REPLY:
                conn.send(("ok", reply))
    except (EOFError, KeyboardInterrupt):  # the main process went away, or Ctrl-C reached the group
        pass
    finally:
        if handler is not None:
            handler.close()
        conn.close()
