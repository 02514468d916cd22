from __future__ import annotations

import importlib.metadata
import sys
import types

import pytest
from generate_helpers import ToneBackend

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import registry
from emoconvey.generate.backends.base import Backend, BackendUnavailableError
from emoconvey.generate.backends.cues import CuesBackend


class NeedsMissing(ToneBackend):
    name = "needs-missing"
    requires = ("surely_not_installed_module_xyz",)
    extra = "generate"


@pytest.fixture
def fake_plugin(monkeypatch):
    """A third-party module and entry points (one clashing with a built-in)."""
    mod = types.ModuleType("fake_emoconvey_plugin")
    mod.ToneBackend = ToneBackend
    mod.NeedsMissing = NeedsMissing
    mod.NotABackend = int
    monkeypatch.setitem(sys.modules, "fake_emoconvey_plugin", mod)
    eps = importlib.metadata.EntryPoints([
        importlib.metadata.EntryPoint("tone", "fake_emoconvey_plugin:ToneBackend",
                                      registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("needs-missing", "fake_emoconvey_plugin:NeedsMissing",
                                      registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("broken", "fake_emoconvey_plugin:NotABackend",
                                      registry.ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("cues", "fake_emoconvey_plugin:ToneBackend",
                                      registry.ENTRY_POINT_GROUP),
    ])

    def entry_points(**kw):
        assert kw == {"group": registry.ENTRY_POINT_GROUP}
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_builtins_and_cues():
    assert set(registry.BUILTIN_BACKENDS) == {"musicgen", "audioldm2", "stable-audio",
                                              "mustango", "diffusers", "transformers", "cues"}
    assert registry.get_backend("cues") is CuesBackend


def test_unknown_backend_lists_known_names():
    with pytest.raises(EmoconveyError, match=r"--backend: unknown backend 'nope'; known: "
                       r"audioldm2, cues, diffusers, musicgen, mustango, stable-audio, "
                       r"transformers"):
        registry.get_backend("nope")


def test_listing_never_crashes_and_marks_missing_modules(monkeypatch):
    monkeypatch.setitem(registry.BUILTIN_BACKENDS, "ghost",
                        "emoconvey.generate.backends.ghost_does_not_exist:Ghost")
    specs = {s.name: s for s in registry.available_backends()}
    assert specs["ghost"].status == "not installed"
    assert specs["cues"].ready
    assert specs["cues"].defaults["checkpoint"] == "cues-2"
    with pytest.raises(BackendUnavailableError, match="backend 'ghost' is not installed: "
                       "module 'emoconvey.generate.backends.ghost_does_not_exist' not found"):
        registry.get_backend("ghost")


def test_entry_points_are_discovered(fake_plugin, caplog):
    specs = {s.name: s for s in registry.available_backends()}
    assert registry.get_backend("tone") is ToneBackend
    assert specs["tone"].ready and specs["tone"].source == "entry point"
    assert specs["needs-missing"].status == "missing surely_not_installed_module_xyz"
    assert specs["broken"].status.startswith("error: backend 'broken'")
    # a built-in name cannot be taken over
    assert specs["cues"].target == registry.BUILTIN_BACKENDS["cues"]
    assert "ignored: 'cues' is a built-in backend" in caplog.text


def test_missing_requirement_names_the_extra(fake_plugin):
    with pytest.raises(BackendUnavailableError, match=r"backend 'needs-missing' needs "
                       r"surely_not_installed_module_xyz: install it with pip install "
                       r"\"emoconvey\[generate\]\""):
        registry.get_backend("needs-missing")
    with pytest.raises(EmoconveyError, match="is not a subclass of"):
        registry.get_backend("broken")


def test_direct_import_path(monkeypatch):
    mod = types.ModuleType("fake_direct_backend")
    mod.ToneBackend = ToneBackend
    monkeypatch.setitem(sys.modules, "fake_direct_backend.sub", mod)
    monkeypatch.setitem(sys.modules, "fake_direct_backend", types.ModuleType("fake_direct_backend"))
    assert registry.get_backend("fake_direct_backend.sub:ToneBackend") is ToneBackend
    assert issubclass(registry.get_backend("fake_direct_backend.sub:ToneBackend"), Backend)


def test_a_backend_off_pypi_gives_its_own_install_instructions():
    from emoconvey.generate.backends.mustango import MUSTANGO_INSTALL, MustangoBackend

    spec = next(s for s in registry.available_backends() if s.name == "mustango")
    assert spec.install == MUSTANGO_INSTALL == MustangoBackend.install_command()
    assert "git clone https://github.com/AMAAI-Lab/mustango" in spec.install
    assert "emoconvey[generate]" in next(
        s.install for s in registry.available_backends() if s.name == "musicgen"
    )
    if "mustango" not in sys.modules:
        with pytest.raises(BackendUnavailableError, match=r"needs mustango: Mustango is not on"):
            registry.get_backend("mustango")
