from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mmcontrast.data import Recordings, read_mmact, read_utd_mhad
from mmcontrast.data._cache import cached, default_cache_dir


def _recordings(value: float = 1.0) -> Recordings:
    return Recordings(
        inertial=(np.full((3, 6), value), np.arange(12.0).reshape(2, 6)),
        skeleton=(np.zeros((2, 20, 3)), np.ones((4, 20, 3))),
        label=np.array([0, 1]),
        subject=np.array([1, 2]),
        trial=np.array([1, 1]),
        names=("a1_s1_t1", "a2_s2_t1"),
        classes=("one", "two"),
        missing={"a8_s1_t4": "not in the official release"},
        extras={"session": np.array([3, 4])},
    )


class Parser:
    """Counts its calls and returns recordings built from the source file's first byte."""

    def __init__(self, source: Path) -> None:
        self.source, self.calls = source, 0

    def __call__(self) -> Recordings:
        self.calls += 1
        return _recordings(float(self.source.read_bytes()[0]))


def _read(parser: Parser, cache_dir: Path, **options: object) -> Recordings:
    root = parser.source.parent
    arguments: dict[str, object] = dict(cache=True, cache_dir=cache_dir, verify="stat")
    arguments.update(options)
    return cached(
        loader="Test", root=root, files=[parser.source], salt="s", parse=parser, **arguments
    )  # type: ignore[arg-type]


def _assert_same(first: Recordings, second: Recordings) -> None:
    for name in ("label", "subject", "trial"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    for a, b in zip(
        first.inertial + first.skeleton, second.inertial + second.skeleton, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert first.names == second.names and first.classes == second.classes
    assert dict(first.missing) == dict(second.missing)
    np.testing.assert_array_equal(first.extras["session"], second.extras["session"])


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "file.bin"
    path.parent.mkdir()
    path.write_bytes(b"\x05rest")
    return path


def test_second_call_hits_the_cache_and_round_trips(source: Path, tmp_path: Path) -> None:
    parser = Parser(source)
    first = _read(parser, tmp_path / "cache")
    assert parser.calls == 1 and len(list((tmp_path / "cache").glob("test-*.npz"))) == 1
    second = _read(parser, tmp_path / "cache")
    assert parser.calls == 1
    _assert_same(first, second)


def test_changed_files_invalidate(source: Path, tmp_path: Path) -> None:
    parser = Parser(source)
    _read(parser, tmp_path / "cache")
    source.write_bytes(b"\x07rest and more")  # new size and modification time
    assert _read(parser, tmp_path / "cache").inertial[0][0, 0] == 7.0
    assert parser.calls == 2
    (source.parent / "new.bin").write_bytes(b"x")  # a file list change is a change too
    files = [source, source.parent / "new.bin"]
    cached(loader="Test", root=source.parent, files=files, salt="s", cache=True,
           cache_dir=tmp_path / "cache", verify="stat", parse=parser)  # fmt: skip
    assert parser.calls == 3


def test_content_mode_sees_what_stat_mode_cannot(source: Path, tmp_path: Path) -> None:
    parser = Parser(source)
    before = source.stat().st_mtime_ns
    _read(parser, tmp_path / "stat", verify="stat")
    _read(parser, tmp_path / "content", verify="content")
    source.write_bytes(b"\x09rest")  # same size ...
    os.utime(source, ns=(before, before))  # ... and the old modification time restored
    assert _read(parser, tmp_path / "stat", verify="stat").inertial[0][0, 0] == 5.0  # stale
    assert _read(parser, tmp_path / "content", verify="content").inertial[0][0, 0] == 9.0
    assert parser.calls == 3


def test_touch_invalidates_stat_but_not_content(source: Path, tmp_path: Path) -> None:
    parser = Parser(source)
    _read(parser, tmp_path / "cache", verify="content")
    os.utime(source, ns=(10**18, 10**18))
    _read(parser, tmp_path / "cache", verify="content")
    assert parser.calls == 1
    _read(parser, tmp_path / "cache", verify="stat")
    assert parser.calls == 2


def test_corrupt_cache_is_rebuilt_and_disabled_cache_writes_nothing(
    source: Path, tmp_path: Path
) -> None:
    parser = Parser(source)
    _read(parser, tmp_path / "cache")
    (cache_file,) = (tmp_path / "cache").glob("*.npz")
    for damaged in (b"garbage", cache_file.read_bytes()[:200]):  # not a zip; a truncated zip
        cache_file.write_bytes(damaged)
        _read(parser, tmp_path / "cache")
    assert parser.calls == 3
    _read(parser, tmp_path / "other", cache=False)
    assert parser.calls == 4 and not (tmp_path / "other").exists()


def test_unwritable_cache_warns_and_still_returns(source: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="Test: could not write the cache"):
        recordings = _read(Parser(source), blocker / "cache")
    assert len(recordings) == 2


def test_bad_options(tmp_path: Path) -> None:
    # The public loaders check the cache options before they read anything.
    for read in (read_utd_mhad, read_mmact):
        name = read.__name__
        with pytest.raises(ValueError, match=f"^{name}: verify must be one of 'stat', 'content'"):
            read(tmp_path, verify="mtime")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=f"^{name}: cache must be a bool"):
            read(tmp_path, cache=1)  # type: ignore[arg-type]


def test_default_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MMCONTRAST_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("MMCONTRAST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "mmcontrast"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mmcontrast"
