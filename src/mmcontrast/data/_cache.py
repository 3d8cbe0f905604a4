"""On-disk cache of parsed `Recordings`, invalidated when the source files change.

Location: the ``cache_dir`` argument, else ``$MMCONTRAST_CACHE_DIR``, else
``$XDG_CACHE_HOME/mmcontrast``, else ``~/.cache/mmcontrast``. One ``.npz`` file per source
folder (and per loader configuration), written atomically; it stores a fingerprint of the
source files (relative names, sizes and modification times, or a SHA-256 of their contents
with ``verify="content"``) and is re-parsed whenever the fingerprint differs. A cache that
cannot be read is rebuilt; one that cannot be written only costs a warning.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mmcontrast.data.recordings import Recordings

__all__ = ["CACHE_ENV", "VERIFY", "Verify", "cached", "default_cache_dir"]

CACHE_ENV = "MMCONTRAST_CACHE_DIR"
_FORMAT = 1
Verify = Literal["stat", "content"]
VERIFY: tuple[str, ...] = ("stat", "content")


def default_cache_dir() -> Path:
    """``$MMCONTRAST_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmcontrast``, else ``~/.cache/...``."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "mmcontrast"


def cached(
    *,
    loader: str,
    root: Path,
    files: Sequence[Path],
    salt: str,
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
    verify: Verify,
    parse: Callable[[], Recordings],
) -> Recordings:
    """Return the cached recordings of ``root`` if ``files`` are unchanged, else ``parse()``.

    ``salt`` names the loader and its configuration, so two configurations of one folder
    get two cache files; ``loader`` (e.g. ``"UTD-MHAD"``) names the file and the warning. The
    public loaders check ``cache`` and ``verify``.
    """
    if not cache:
        return parse()
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = hashlib.sha256(f"{root.resolve()}\n{salt}".encode()).hexdigest()[:20]
    path = folder / f"{loader.lower().replace('-', '_')}-{key}.npz"
    stamp = _fingerprint(root, files, verify=verify, salt=salt)
    hit = _load(path, stamp)
    if hit is not None:
        return hit
    recordings = parse()
    try:
        _save(path, stamp, recordings)
    except OSError as error:
        warnings.warn(
            f"{loader}: could not write the cache {path} ({error}); the data was parsed but "
            f"will be parsed again next time. Pass cache_dir=... or set ${CACHE_ENV}.",
            stacklevel=3,
        )
    return recordings


def _fingerprint(root: Path, files: Sequence[Path], *, verify: Verify, salt: str) -> str:
    digest = hashlib.sha256(f"format={_FORMAT}\n{salt}\n".encode())
    for file in sorted(files):
        status = file.stat()
        digest.update(f"{file.relative_to(root).as_posix()}\0{status.st_size}\0".encode())
        if verify == "stat":
            digest.update(f"{status.st_mtime_ns}\n".encode())
        else:
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _load(path: Path, stamp: str) -> Recordings | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != stamp:
                return None
            arrays = {key: stored[key] for key in stored.files}
        return _unpack(arrays)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # unreadable or from another version: parse again and overwrite


def _save(path: Path, stamp: str, recordings: Recordings) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            arrays = _pack(recordings)
            arrays["fingerprint"] = np.array(stamp)
            np.savez(stream, **arrays)  # type: ignore[arg-type]
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _pack(recordings: Recordings) -> dict[str, NDArray[np.generic]]:
    arrays: dict[str, NDArray[np.generic]] = {
        "inertial": np.concatenate(recordings.inertial),
        "inertial_lengths": recordings.inertial_lengths,
        "skeleton": np.concatenate(recordings.skeleton),
        "skeleton_lengths": recordings.skeleton_lengths,
        "label": recordings.label,
        "subject": recordings.subject,
        "trial": recordings.trial,
        "names": np.array(recordings.names, dtype=str),
        "classes": np.array(recordings.classes, dtype=str),
        "missing_names": np.array(list(recordings.missing), dtype=str),
        "missing_reasons": np.array(list(recordings.missing.values()), dtype=str),
    }
    arrays.update({f"extra_{key}": value for key, value in recordings.extras.items()})
    return arrays


def _unpack(arrays: dict[str, NDArray[np.generic]]) -> Recordings:
    def split(
        values: NDArray[np.generic], lengths: NDArray[np.generic]
    ) -> tuple[NDArray[np.float64], ...]:
        parts = np.split(np.asarray(values, dtype=np.float64), np.cumsum(lengths)[:-1])
        return tuple(parts)

    return Recordings(
        inertial=split(arrays["inertial"], arrays["inertial_lengths"]),
        skeleton=split(arrays["skeleton"], arrays["skeleton_lengths"]),
        label=arrays["label"].astype(np.int64),
        subject=arrays["subject"].astype(np.int64),
        trial=arrays["trial"].astype(np.int64),
        names=tuple(str(name) for name in arrays["names"]),
        classes=tuple(str(name) for name in arrays["classes"]),
        missing=dict(
            zip(
                (str(n) for n in arrays["missing_names"]),
                (str(r) for r in arrays["missing_reasons"]),
                strict=True,
            )
        ),
        extras={
            key[len("extra_") :]: value.astype(np.int64)
            for key, value in arrays.items()
            if key.startswith("extra_")
        },
    )
