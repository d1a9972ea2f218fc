"""A directory of checksummed JSON records, one per sweep point, written atomically.

A record is ``{"key", "meta", "result", "sha256"}``: ``meta`` holds what the key was made
from (configuration, seed index, base seed, function name, code version) so a reader can see
what a file is without the code; ``sha256`` covers the canonical JSON of the other fields.
A record that fails to parse, lacks a field, carries another key or fails its checksum is
treated as absent, so a torn write is recomputed and never read.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

#: The packages whose sources the default code version hashes: the simulation and the
#: argument checks it runs through (a change to either can change a result).
PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIRS = (PACKAGE_DIR, PACKAGE_DIR.parent / "common")


def _plain(obj):
    """JSON fallback: NumPy scalars and arrays as Python numbers and lists."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a sweep cache (JSON only)")


def canonical(obj) -> str:
    """Canonical JSON text: sorted keys, no spaces, NumPy types as plain numbers."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def normalise(obj):
    """``obj`` as it reads back from the cache (tuples become lists, NumPy types plain)."""
    return json.loads(canonical(obj))


def digest(obj) -> str:
    """SHA-256 hex digest of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def code_version(*package_dirs) -> str:
    """Hash of the ``*.py`` sources below the given package directories, subpackages
    included (16 hex digits); by default :data:`SOURCE_DIRS`."""
    h = hashlib.sha256()
    for root in map(Path, package_dirs or SOURCE_DIRS):
        for path in sorted(root.rglob("*.py")):
            name = f"{root.name}/{path.relative_to(root).as_posix()}"
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class Cache:
    """Records under ``directory/<key>.json`` (the directory is created on first write)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str):
        """The stored result for ``key``, or None when absent or not intact."""
        try:
            rec = json.loads(self.path(key).read_text())
            body = {k: rec[k] for k in ("key", "meta", "result")}
            if rec["key"] != key or rec["sha256"] != digest(body):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return rec["result"]

    def store(self, key: str, meta: dict, result) -> None:
        """Write a record atomically: a temporary file in the same directory, then rename."""
        self.directory.mkdir(parents=True, exist_ok=True)
        body = {"key": key, "meta": normalise(meta), "result": normalise(result)}
        text = json.dumps({**body, "sha256": digest(body)}, sort_keys=True, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(key))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

