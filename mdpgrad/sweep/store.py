"""Results storage: one checksummed file per finished cell, written atomically.

Layout of a results directory::

    DIR/cells/<key>.json       one finished cell (header line + JSON payload)
    DIR/errors/<key>.json      the last failure of a cell (removed once it succeeds)
    DIR/sweeps/<name>.<hash>.json  manifest of each sweep run into DIR (spec + cell keys)
    DIR/quarantine/            corrupt cell files moved aside (kept as evidence)
    DIR/index.json             derived index, rebuilt from the cell files under a lock

**Atomicity.** A cell file is written to a unique temporary name in the same directory
(``.<key>.<host>.<pid>.<random>.tmp``), flushed to the device (``fsync``; for a batch of
cells one ``syncfs`` on Linux) and moved into place with ``os.replace`` (atomic on POSIX and Windows). A reader therefore sees either no file or a
complete one; a process killed mid-write leaves only a temporary file, never a partial
cell. Two sweeps writing the same directory use distinct temporary names; if both compute
the same cell (same key, same deterministic result) the last rename wins with identical
content.

**Integrity.** The first line of a cell file is ``mdpgrad-cell 1 sha256=<hex> size=<n>``
and the payload's bytes must match both; a file that is truncated, edited or otherwise
damaged fails the check, is reported as corrupt, moved to ``quarantine/`` by the next run
and recomputed -- never silently used.

**Index.** ``index.json`` is a convenience listing (key -> params, seed, checksum) rebuilt
from the cell files, under an exclusive ``fcntl`` lock where available, and replaced
atomically; the cell files are the source of truth, so a stale or missing index (e.g.
after a kill) is harmless and rebuilt by the next run or ``mdpgrad sweep status``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import socket
import sys
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

__all__ = [
    "Store",
    "encode_cell",
    "decode_cell",
    "CorruptCell",
    "atomic_write",
    "load",
    "status",
    "StoreStatus",
    "SweepStatus",
]

_MAGIC = b"mdpgrad-cell 1"
_HOST = socket.gethostname().replace(".", "-") or "host"


class CorruptCell(Exception):
    """A stored cell file failed its integrity check (``args[0]`` says why)."""


def encode_cell(record: Mapping[str, Any]) -> bytes:
    """Header line with the payload's sha256 and size, then the JSON payload."""
    payload = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    head = _MAGIC + b" sha256=" + hashlib.sha256(payload).hexdigest().encode() + b" size=%d\n" % len(payload)
    return head + payload


def decode_cell(data: bytes, key: str | None = None) -> dict:
    """The record stored in ``data``; raises :class:`CorruptCell` saying what is wrong."""
    head, nl, payload = data.partition(b"\n")
    if not nl:
        raise CorruptCell(f"no header line ({len(data)} bytes)")
    parts = head.split(b" ")
    if len(parts) != 4 or b" ".join(parts[:2]) != _MAGIC or not parts[2].startswith(b"sha256=") \
            or not parts[3].startswith(b"size="):
        raise CorruptCell(f"bad header {head[:80]!r}")
    try:
        size = int(parts[3][5:])
    except ValueError:
        raise CorruptCell(f"bad size field {parts[3]!r}") from None
    if len(payload) != size:
        raise CorruptCell(f"payload is {len(payload)} bytes, header says {size} (truncated?)")
    digest = hashlib.sha256(payload).hexdigest().encode()
    if digest != parts[2][7:]:
        raise CorruptCell("sha256 mismatch (file modified or damaged)")
    try:
        rec = json.loads(payload)
    except ValueError as exc:
        raise CorruptCell(f"payload is not JSON ({exc})") from None
    if not isinstance(rec, dict) or "key" not in rec or "result" not in rec:
        raise CorruptCell("payload lacks 'key' or 'result'")
    if key is not None and rec["key"] != key:
        raise CorruptCell(f"payload key {rec['key']!r} does not match file name {key!r}")
    return rec


def _write_temp(path: Path, data: bytes, *, fsync: bool) -> Path:
    """Write ``data`` to a fresh uniquely named temp file next to ``path``; returns its path."""
    tmp = path.parent / f".{path.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def _libc_syncfs():
    """``syncfs(2)`` from the C library (Linux), or ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).syncfs
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError):
        return None


def _sync_files(paths: list[Path]) -> None:
    """Make the data of ``paths`` durable: one ``syncfs`` for a batch on Linux, else ``fsync`` each.

    Each ``fsync`` costs a device cache flush (~4 ms on a virtual disk); ``syncfs`` flushes the
    whole file system holding the files once, which amortizes that over the batch.
    """
    if len(paths) > 1:
        syncfs = _libc_syncfs()
        if syncfs is not None:
            fd = os.open(paths[0], os.O_RDONLY)
            try:
                if syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
    for p in paths:
        _fsync_path(p)


def atomic_write(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: unique temp file in the same dir, fsync, ``os.replace``."""
    atomic_write_many([(Path(path), data)], fsync=fsync)


def atomic_write_many(items: Iterable[tuple[Path, bytes]], *, fsync: bool = True) -> None:
    """:func:`atomic_write` for several files, with the fsyncs grouped.

    All temp files are written first, then each is fsync-ed, then each is renamed into
    place. Grouping lets one journal commit cover many files (on ext4/xfs the first fsync
    commits the others' data too), which makes small cells cheap to store durably.
    Each file is still atomic on its own; a crash leaves every target either old or new.
    """
    tmps: list[tuple[Path, Path]] = []
    try:
        for path, data in items:
            path = Path(path)
            tmps.append((_write_temp(path, data, fsync=False), path))
        if fsync and tmps:
            _sync_files([tmp for tmp, _ in tmps])
        while tmps:
            tmp, path = tmps[0]
            os.replace(tmp, path)
            tmps.pop(0)
    except BaseException:
        for tmp, _ in tmps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def fsync_dir(path: Path) -> None:
    """Make renames inside ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(path: Path):
    """Exclusive advisory lock on ``path`` (``fcntl.flock``; no-op where unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """A results directory (see the module docstring for the layout)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.errors_dir = self.root / "errors"
        self.sweeps_dir = self.root / "sweeps"
        self.quarantine_dir = self.root / "quarantine"

    def ensure(self) -> Store:
        for d in (self.cells_dir, self.errors_dir, self.sweeps_dir, self.quarantine_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    # ---------------------------------------------------------------- cells
    def cell_path(self, key: str) -> Path:
        return self.cells_dir / f"{key}.json"

    def write_cell(self, record: Mapping[str, Any], *, fsync: bool = True) -> None:
        self.write_cells([record], fsync=fsync)

    def write_cells(self, records: Iterable[Mapping[str, Any]], *, fsync: bool = True) -> None:
        """Store finished cells (each atomic, fsyncs grouped); clears their error files."""
        records = list(records)
        for r in records:  # a directory (or other non-file) where the cell file goes: move it aside first
            p = self.cell_path(r["key"])
            if p.exists() and not p.is_file():
                self.quarantine(r["key"], "a directory (not a cell file) stood at the cell path")
        atomic_write_many([(self.cell_path(r["key"]), encode_cell(r)) for r in records], fsync=fsync)
        for r in records:
            err = self.errors_dir / f"{r['key']}.json"
            if err.exists():
                with contextlib.suppress(FileNotFoundError):
                    err.unlink()

    def read_cell(self, key: str) -> dict:
        """The stored record; ``FileNotFoundError`` if absent, :class:`CorruptCell` if damaged."""
        return decode_cell(self.cell_path(key).read_bytes(), key)

    def stored_keys(self) -> list[str]:
        """Keys with a cell file (not yet verified), sorted."""
        if not self.cells_dir.is_dir():
            return []
        return sorted(p.name[:-5] for p in self.cells_dir.iterdir()
                      if p.name.endswith(".json") and not p.name.startswith("."))

    def quarantine(self, key: str, reason: str) -> Path | None:
        """Move a corrupt cell file aside (returns the new path; None if it vanished meanwhile)."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        dst = self.quarantine_dir / f"{key}.{uuid.uuid4().hex[:8]}.json"
        try:
            os.replace(self.cell_path(key), dst)
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            (dst.with_suffix(".reason.txt")).write_text(reason + "\n")
        return dst

    def write_error(self, key: str, info: Mapping[str, Any]) -> None:
        self.errors_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.errors_dir / f"{key}.json", json.dumps(dict(info), indent=1, default=str).encode(),
                     fsync=False)

    def error_keys(self) -> list[str]:
        if not self.errors_dir.is_dir():
            return []
        return sorted(p.stem for p in self.errors_dir.glob("*.json") if not p.name.startswith("."))

    def scan(self, keys: Iterable[str] | None = None) -> tuple[dict[str, dict], dict[str, str]]:
        """``(valid records by key, corrupt reasons by key)`` for ``keys`` (default: every stored key)."""
        wanted = self.stored_keys() if keys is None else list(keys)
        ok, bad = {}, {}
        for k in wanted:
            try:
                ok[k] = self.read_cell(k)
            except FileNotFoundError:
                continue
            except CorruptCell as exc:
                bad[k] = str(exc)
            except IsADirectoryError:
                bad[k] = "a directory stands where the cell file should be"
            except PermissionError as exc:
                bad[k] = f"unreadable ({exc.strerror})"
        return ok, bad

    # ---------------------------------------------------------------- claims (concurrent runs share the work)
    def claim_path(self, key: str) -> Path:
        return self.root / "claims" / f"{key}.claim"

    def claim(self, key: str) -> bool:
        """Claim ``key`` for this process (atomic ``O_CREAT | O_EXCL``); False if another live run holds it.

        A claim whose owner is dead (same host, pid gone) or older than ``MDPGRAD_CLAIM_TTL`` seconds
        (default 6 hours; other hosts) has expired: it is moved aside atomically (only one stealer's
        rename succeeds) and claimed afresh.
        """
        path = self.claim_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"host": _HOST, "pid": os.getpid(), "when": utc_now()}).encode()
        for _ in range(2):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if not self._claim_expired(path):
                    return self._claim_is_mine(path)
                aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.expired")
                try:
                    os.rename(path, aside)  # atomic: one stealer wins, the others find nothing to move
                except FileNotFoundError:
                    continue
                if not self._claim_expired(aside):  # raced: we moved a fresh claim; put it back, yield
                    with contextlib.suppress(OSError):
                        os.link(aside, path)
                    with contextlib.suppress(OSError):
                        aside.unlink()
                    return False
                with contextlib.suppress(OSError):
                    aside.unlink()
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            return True
        return False

    def _claim_owner(self, path: Path) -> dict | None:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None

    def _claim_is_mine(self, path: Path) -> bool:
        o = self._claim_owner(path)
        return bool(o) and o.get("host") == _HOST and o.get("pid") == os.getpid()

    def _claim_expired(self, path: Path) -> bool:
        o = self._claim_owner(path)
        try:
            age = _dt.datetime.now().timestamp() - path.stat().st_mtime
        except FileNotFoundError:
            return False
        if o is None:  # unreadable / half-written claim: give its writer a moment
            return age > 5.0
        if o.get("host") == _HOST:
            pid = o.get("pid")
            return not (isinstance(pid, int) and _pid_alive(pid))
        return age > float(os.environ.get("MDPGRAD_CLAIM_TTL", 6 * 3600))

    def claimed_by_other(self, key: str) -> bool:
        """True while another live run holds the claim on ``key``."""
        path = self.claim_path(key)
        return path.exists() and not self._claim_is_mine(path) and not self._claim_expired(path)

    def release(self, keys: Iterable[str]) -> None:
        for k in keys:
            path = self.claim_path(k)
            if self._claim_is_mine(path):
                with contextlib.suppress(OSError):
                    path.unlink()

    # ---------------------------------------------------------------- temp files
    def stale_temps(self) -> list[Path]:
        """Temporary files left by dead processes of this host (safe to delete)."""
        out = []
        for d in (self.cells_dir, self.errors_dir, self.sweeps_dir, self.root):
            if not d.is_dir():
                continue
            for p in d.glob(".*.tmp"):
                bits = p.name.split(".")
                # .<name>.<ext>.<host>.<pid>.<rand>.tmp
                if len(bits) < 5 or bits[-4] != _HOST:
                    continue
                try:
                    pid = int(bits[-3])
                except ValueError:
                    continue
                if not _pid_alive(pid):
                    out.append(p)
        return out

    def clean_stale_temps(self) -> int:
        n = 0
        for p in self.stale_temps():
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
        return n

    # ---------------------------------------------------------------- manifests and index
    def write_manifest(self, sweep, keys: list[str]) -> Path:
        self.sweeps_dir.mkdir(parents=True, exist_ok=True)
        path = self.sweeps_dir / f"{sweep.name}.{sweep.spec_hash}.json"
        if path.exists() and not path.is_file():
            self.quarantine_dir.mkdir(parents=True, exist_ok=True)
            os.replace(path, self.quarantine_dir / f"{path.name}.{uuid.uuid4().hex[:8]}.manifest")
        if self._manifest_problem(path, sweep.spec_hash, keys) is not None:  # missing or damaged: (re)write
            doc = {"format": 1, "spec": sweep.to_dict(), "spec_hash": sweep.spec_hash, "created": utc_now(),
                   "keys": list(keys)}
            atomic_write(path, json.dumps(doc, indent=1).encode(), fsync=True)
        return path

    @staticmethod
    def _manifest_problem(path: Path, spec_hash: str | None = None, keys=None) -> str | None:
        """Why the manifest at ``path`` is unusable (None if it is fine)."""
        if not path.exists():
            return "missing"
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable ({exc})"
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not isinstance(doc.get("spec"), dict):
            return "lacks 'spec' or 'keys'"
        if spec_hash is not None and doc.get("spec_hash") != spec_hash:
            return "spec hash differs from its file name"
        if keys is not None and doc["keys"] != list(keys):
            return "cell keys differ from the spec's"
        return None

    def corrupt_manifests(self) -> list[str]:
        """File names of manifests that cannot be used (repaired by the next run of their sweep)."""
        if not self.sweeps_dir.is_dir():
            return []
        return [p.name for p in sorted(self.sweeps_dir.glob("*.json"))
                if not p.name.startswith(".") and self._manifest_problem(p) is not None]

    def manifests(self) -> list[dict]:
        if not self.sweeps_dir.is_dir():
            return []
        out = []
        for p in sorted(self.sweeps_dir.glob("*.json")):
            if p.name.startswith("."):
                continue
            try:
                doc = json.loads(p.read_text())
                if not isinstance(doc, dict):
                    continue
                doc["path"] = str(p)
                out.append(doc)
            except (OSError, ValueError):
                continue
        return out

    def rebuild_index(self) -> int:
        """Rewrite ``index.json`` from the valid cell files (under the directory lock); returns #cells."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root / ".lock"):
            ok, bad = self.scan()
            index = {
                "format": 1,
                "updated": utc_now(),
                "n_cells": len(ok),
                "corrupt": sorted(bad),
                "cells": {k: {"function": r.get("function"), "params": r.get("params"),
                              "replicate": r.get("replicate"), "seed": r.get("seed")} for k, r in ok.items()},
            }
            atomic_write(self.root / "index.json", json.dumps(index, indent=0, sort_keys=True).encode(), fsync=True)
        return len(ok)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# ----------------------------------------------------------------------------- status
@dataclass(frozen=True)
class SweepStatus:
    """Progress of one sweep (manifest) in a results directory."""

    name: str
    spec_hash: str
    function: str
    description: str
    n_cells: int
    n_done: int
    n_corrupt: int
    n_failed: int

    @property
    def n_missing(self) -> int:
        return self.n_cells - self.n_done

    @property
    def complete(self) -> bool:
        return self.n_done == self.n_cells


@dataclass(frozen=True)
class StoreStatus:
    """Everything ``mdpgrad sweep status DIR`` prints."""

    root: str
    sweeps: tuple[SweepStatus, ...]
    n_stored: int
    corrupt: tuple[str, ...]
    failed: tuple[str, ...]
    n_stale_temps: int
    corrupt_manifests: tuple[str, ...] = ()
    index_note: str = ""

    @property
    def healthy(self) -> bool:
        """No corrupt cell files and no damaged manifests."""
        return not self.corrupt and not self.corrupt_manifests


def status(root: str | Path, *, reindex: bool = True) -> StoreStatus:
    """Verify every cell file of ``root`` and count done / missing / corrupt / failed per sweep."""
    store = Store(root)
    if not store.root.is_dir():
        raise InvalidInputError(f"results directory {str(root)!r} does not exist")
    ok, bad = store.scan()
    failed = set(store.error_keys())
    sweeps = []
    for m in store.manifests():
        keys = m.get("keys", [])
        spec = m.get("spec", {})
        sweeps.append(SweepStatus(
            name=spec.get("name", "?"), spec_hash=m.get("spec_hash", "?"), function=spec.get("function", "?"),
            description=spec.get("description", ""), n_cells=len(keys), n_done=sum(k in ok for k in keys),
            n_corrupt=sum(k in bad for k in keys), n_failed=sum(k in failed and k not in ok for k in keys)))
    note = ""
    if reindex and store.cells_dir.is_dir():
        if not os.access(store.root, os.W_OK):
            note = "read-only directory: index.json not rebuilt"
        else:
            try:
                store.rebuild_index()
            except OSError as exc:
                note = f"index.json not rebuilt ({exc.strerror or exc})"
    return StoreStatus(root=str(root), sweeps=tuple(sweeps), n_stored=len(ok), corrupt=tuple(sorted(bad)),
                       failed=tuple(sorted(failed - set(ok))), n_stale_temps=len(store.stale_temps()),
                       corrupt_manifests=tuple(store.corrupt_manifests()), index_note=note)


# ----------------------------------------------------------------------------- load
def load(root: str | Path, sweep: str | None = None, *, on_corrupt: str = "warn"):
    """The verified results of ``root`` as a ``pandas.DataFrame``, one row per finished cell.

    Columns: ``key``, ``function``, every parameter, ``replicate``, ``seed``, every result
    field (prefixed ``result.`` where it collides with a parameter or column name), ``seconds`` (wall)
    and ``cpu_seconds`` (CPU time of the worker process) spent in the cell function.
    Rows follow the sweep order of the manifests (then key order for cells of no manifest).
    ``sweep`` restricts to the cells of the sweep(s) with that name. Corrupt cell files are
    never used: ``on_corrupt="warn"`` (default) warns and skips them, ``"raise"`` raises
    :class:`CorruptCell`, ``"skip"`` skips silently.
    """
    import pandas as pd

    if on_corrupt not in ("warn", "raise", "skip"):
        raise InvalidInputError(f"on_corrupt = {on_corrupt!r}: choose 'warn', 'raise' or 'skip'")
    store = Store(root)
    if not store.root.is_dir():
        raise InvalidInputError(f"results directory {str(root)!r} does not exist")
    order: list[str] = []
    seen: set[str] = set()
    manifests = store.manifests()
    if sweep is not None:
        manifests = [m for m in manifests if m.get("spec", {}).get("name") == sweep]
        if not manifests:
            names = sorted({m.get("spec", {}).get("name") for m in store.manifests()})
            raise InvalidInputError(f"sweep = {sweep!r} has no manifest in {str(root)!r}; sweeps there: {names}")
    for m in manifests:
        for k in m.get("keys", []):
            if k not in seen:
                seen.add(k)
                order.append(k)
    if sweep is None:
        order += [k for k in store.stored_keys() if k not in seen]
    ok, bad = store.scan(order)
    if bad:
        msg = f"{len(bad)} corrupt cell file(s) in {root} ignored (rerun the sweep to recompute): " \
              + ", ".join(f"{k}: {why}" for k, why in list(bad.items())[:3])
        if on_corrupt == "raise":
            raise CorruptCell(msg)
        if on_corrupt == "warn":
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
    rows = []
    for k in order:
        rec = ok.get(k)
        if rec is None:
            continue
        params = rec.get("params", {})
        row = {"key": k, "function": rec.get("function")}
        row.update(params)
        row["replicate"] = rec.get("replicate")
        row["seed"] = rec.get("seed")
        for name, val in rec["result"].items():
            row[f"result.{name}" if name in row or name in ("seconds", "cpu_seconds") else name] = val
        row["seconds"] = rec.get("seconds")
        row["cpu_seconds"] = rec.get("cpu_seconds")
        rows.append(row)
    return pd.DataFrame(rows)
