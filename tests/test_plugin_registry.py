"""The generic plug-in registry (emoconvey._registry)."""

from __future__ import annotations

import importlib.metadata
import logging

import pytest

from emoconvey._registry import Registry, import_target
from emoconvey.errors import EmoconveyError


def _check(name: str, obj: object) -> None:
    if not callable(obj):
        raise EmoconveyError(f"thing {name!r}: not callable")


def _eps(monkeypatch: pytest.MonkeyPatch, *pairs: tuple[str, str]) -> None:
    eps = importlib.metadata.EntryPoints(
        [importlib.metadata.EntryPoint(n, v, "test.group") for n, v in pairs])
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **kw: eps if kw == {"group": "test.group"} else ())


def test_lookup_order_names_and_unknown(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    _eps(monkeypatch, ("third", "os.path:basename"), ("dirname", "os.path:join"))
    reg: Registry[object] = Registry("thing", "test.group", {"dirname": "os.path:dirname"},
                                     check=_check)
    with caplog.at_level(logging.WARNING):
        assert reg.names() == ["dirname", "third"]
    assert "ignored: 'dirname' is a built-in thing" in caplog.text
    import os.path

    assert reg.get("dirname") is os.path.dirname  # built-in wins over the entry point
    assert reg.get("third") is os.path.basename
    assert set(reg.registered) == {"dirname", "third"}  # loaded once, then cached
    reg.register("mine", len)
    assert reg.get("mine") is len and reg.names() == ["dirname", "mine", "third"]
    assert reg.targets() == {"dirname": ("os.path:dirname", "built-in"),
                             "third": ("os.path:basename", "entry point")}
    with pytest.raises(EmoconveyError, match=r"^unknown thing 'nope'; expected one of "
                                             r"dirname, mine, third$"):
        reg.get("nope")
    with pytest.raises(EmoconveyError, match="thing 'bad': not callable"):
        reg.register("bad", 3)
    with pytest.raises(EmoconveyError, match="thing name: expected a non-empty string"):
        reg.register("", len)


def test_broken_entry_points_never_break_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kw: object) -> None:
        raise RuntimeError("bad metadata")

    monkeypatch.setattr(importlib.metadata, "entry_points", broken)
    reg: Registry[object] = Registry("thing", "test.group", {"a": "os:sep"},
                                     unknown="{name!r} not in {names}")
    assert reg.names() == ["a"]
    with pytest.raises(EmoconveyError, match=r"^'b' not in \['a'\]$"):
        reg.get("b")
    assert import_target("os:sep") == __import__("os").sep
