"""Read and write pickles of numpy arrays without running code from the file.

``pickle.load`` calls whatever global a file names, so an expert policy or a
data set from elsewhere could run ``os.system`` the moment it is opened
(https://docs.python.org/3/library/pickle.html#restricting-globals). ``safe_load``
resolves only the globals needed to rebuild numpy arrays, numpy scalars, dtypes
and plain containers; dicts, lists, tuples, str, int, float, bool and None need
no global at all (they are pickle opcodes). Any other global is refused before
it is called, so nothing in a hostile file runs.

Files written by numpy 1.x name ``numpy.core.*``; numpy 2 moved those modules to
``numpy._core.*`` and keeps only a deprecated shim, so the names are remapped.
"""
from __future__ import annotations

import collections
import os
import pickle
from typing import Any, Callable, Mapping

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.files import atomic_path

PICKLE_PROTOCOL = 2  # what the course's expert files use; readable by any Python 3

try:  # numpy 2
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray, numeric as _numeric


class UnsafePickleError(UserError):
    """The file asks for a global outside the allow-list (it may try to run code)."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode``, which protocol 2 uses to store bytes.

    Only the latin-1 round trip pickle itself writes is accepted: an arbitrary
    codec name would let the file pick which ``encodings.*`` module gets imported.
    """
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# Module-name rewrites applied before the allow-list check:
# Python 2 names (pickle's own fix_imports) and numpy 1.x's ``numpy.core``.
_MODULE_RENAMES = {
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "numpy.core.multiarray": "numpy._core.multiarray",
    "numpy.core.numeric": "numpy._core.numeric",
    "numpy.core._multiarray_umath": "numpy._core._multiarray_umath",
}

# (module, name) -> the object handed to the unpickler.
_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core._multiarray_umath", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core._multiarray_umath", "scalar"): _multiarray.scalar,
    ("numpy._core.numeric", "_frombuffer"): _numeric._frombuffer,  # protocol 5 arrays
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytes"): bytes,  # protocol 2 writes b"" as bytes()
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _latin1_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path: str, records: Mapping[tuple[str, str], type]):
        # encoding="latin1" is numpy's advice for pickles written by Python 2.
        super().__init__(file, encoding="latin1")
        self._path = path
        self._records = records

    def find_class(self, module: str, name: str) -> Any:
        key = (_MODULE_RENAMES.get(module, module), name)
        if key in _ALLOWED:
            return _ALLOWED[key]
        if key in self._records:
            return self._records[key]
        raise UnsafePickleError(
            f"{self._path}: refused to load global '{key[0]}.{name}' "
            "(only numpy arrays and plain containers are allowed; the file may try to run code)"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not supported")


def safe_load(path: str | os.PathLike, records: Mapping[tuple[str, str], type] = {}) -> Any:
    """Unpickle ``path`` allowing only numpy arrays/scalars/dtypes and plain containers.

    records: (module, name) of a class the file may hold an instance of -> the class to rebuild it as
        instead, one with no code of its own (e.g. an empty class): pickle makes it with ``__new__`` and
        fills its ``__dict__`` (hw5 reads the course's pickled ReplayBuffer so).

    Raises:
        UnsafePickleError: the file names any other global (nothing from it has run).
        UserError: the file is missing, unreadable, or not a valid pickle.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            try:
                return _RestrictedUnpickler(f, path, records).load()
            except UnsafePickleError:
                raise
            except Exception as exc:  # any failure while decoding means a bad file
                hint = " (it is a zip archive, e.g. a torch.save checkpoint)" if head[:2] == b"PK" else ""
                raise UserError(f"{path} is not a valid pickle file{hint}: {type(exc).__name__}: {exc}") from exc
    except FileNotFoundError as exc:
        raise UserError(f"file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise UserError(f"expected a file but got a directory: {path}") from exc
    except PermissionError as exc:
        raise UserError(f"cannot read {path}: permission denied") from exc


def safe_dump(obj: Any, path: str | os.PathLike) -> None:
    """Pickle ``obj`` to ``path`` with protocol 2, atomically (``atomic_path``), on disk before it replaces
    any old file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=PICKLE_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
