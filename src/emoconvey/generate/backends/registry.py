"""The registry of generation backends.

Built-in backends are registered by import path (``"module:Class"``) so that listing
them imports nothing heavy; third-party packages add theirs through the entry-point
group ``emoconvey.backends``::

    [project.entry-points."emoconvey.backends"]
    mymodel = "my_package.backend:MyModelBackend"

A built-in name cannot be overridden by an entry point (a clash is logged and the
built-in kept). :func:`get_backend` also accepts a direct ``"package.module:Class"``.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from emoconvey._registry import Registry
from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import Backend, BackendUnavailableError

__all__ = [
    "BUILTIN_BACKENDS",
    "ENTRY_POINT_GROUP",
    "BackendSpec",
    "available_backends",
    "backend_targets",
    "get_backend",
]


ENTRY_POINT_GROUP = "emoconvey.backends"

BUILTIN_BACKENDS: dict[str, str] = {
    "musicgen": "emoconvey.generate.backends.musicgen:MusicGenBackend",
    "audioldm2": "emoconvey.generate.backends.audioldm2:AudioLDM2Backend",
    "stable-audio": "emoconvey.generate.backends.stable_audio:StableAudioBackend",
    "mustango": "emoconvey.generate.backends.mustango:MustangoBackend",
    "diffusers": "emoconvey.generate.backends.generic:DiffusersBackend",
    "transformers": "emoconvey.generate.backends.generic:TransformersBackend",
    "cues": "emoconvey.generate.backends.cues:CuesBackend",
}


@dataclass(frozen=True)
class BackendSpec:
    """What ``emoconvey generate backends`` shows about one backend.

    Attributes
    ----------
    name : str
        Registry name.
    target : str
        ``"module:Class"``.
    source : str
        ``"built-in"`` or the distribution that registered it.
    status : str
        ``"ready"``, ``"missing <modules>"`` or ``"not installed"``.
    extra : str
        The pip extra that installs its dependencies.
    requires : tuple of str
        Modules it needs.
    defaults : dict
        ``checkpoint``, ``sample_rate``, ``max_seconds``, ``instrumental_switch``.
    description : str
        One line.
    install : str
        What to run to install it (``pip install "emoconvey[generate]"`` or the
        backend's own instructions).
    options : dict of str to str
        Its documented ``--option`` keys and their help (:attr:`Backend.option_help`).
    """

    name: str
    target: str
    source: str
    status: str
    extra: str = ""
    requires: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    install: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.status == "ready"


REGISTRY: Registry[type[Backend]] = Registry("backend", ENTRY_POINT_GROUP, BUILTIN_BACKENDS)
"""Built-in and entry-point backends (:class:`emoconvey._registry.Registry`)."""


def backend_targets() -> dict[str, tuple[str, str]]:
    """Every registered backend: ``{name: (target, source)}``, built-ins first."""
    return REGISTRY.targets()


def _load_target(name: str, target: str) -> type[Backend]:
    module_name, _, attr = target.partition(":")
    if not attr:
        raise EmoconveyError(
            f"backend {name!r}: {target!r} is not of the form 'package.module:Class'"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise BackendUnavailableError(
                f"backend {name!r} is not installed: module {module_name!r} not found"
            ) from None
        raise BackendUnavailableError(
            f"backend {name!r} needs {exc.name!r}: install it with "
            "pip install \"emoconvey[generate]\""
        ) from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise EmoconveyError(
            f"backend {name!r}: {target!r} is not a subclass of "
            "emoconvey.generate.backends.base.Backend"
        )
    return cls


def _missing(requires: tuple[str, ...]) -> list[str]:
    missing = []
    for mod in requires:
        try:
            if importlib.util.find_spec(mod) is None:
                missing.append(mod)
        except (ImportError, ValueError):
            missing.append(mod)
    return missing


def get_backend(name: str, *, check_requires: bool = True) -> type[Backend]:
    """The backend class registered as ``name`` (or given as ``"module:Class"``).

    Raises
    ------
    EmoconveyError
        Unknown name (the message lists the known ones).
    BackendUnavailableError
        The backend's module or one of its required libraries is not installed (the
        message names the ``pip install "emoconvey[...]"`` to run).
    """
    targets = backend_targets()
    if name in targets:
        cls = _load_target(name, targets[name][0])
    elif ":" in name and "." in name.partition(":")[0]:
        cls = _load_target(name, name)
    else:
        raise EmoconveyError(
            f"--backend: unknown backend {name!r}; known: {', '.join(sorted(targets))} "
            "(or give 'package.module:Class')"
        )
    if check_requires:
        missing = _missing(tuple(cls.requires))
        if missing:
            raise BackendUnavailableError(
                f"backend {name!r} needs {', '.join(missing)}: "
                + (cls.install_hint
                   or f'install it with pip install "emoconvey[{cls.extra or "generate"}]"')
            )
    return cls


def _spec(name: str, target: str, source: str) -> BackendSpec:
    try:
        cls = _load_target(name, target)
    except EmoconveyError as exc:
        status = "not installed" if "is not installed" in str(exc) else f"error: {exc}"
        return BackendSpec(name=name, target=target, source=source, status=status)
    except Exception as exc:  # a third-party module that fails on import
        return BackendSpec(name=name, target=target, source=source,
                           status=f"error: {type(exc).__name__}: {exc}")
    missing = _missing(tuple(cls.requires))
    status = "ready" if not missing else f"missing {', '.join(missing)}"
    return BackendSpec(
        name=name,
        target=target,
        source=source,
        status=status,
        extra=cls.extra,
        requires=tuple(cls.requires),
        defaults={
            "checkpoint": cls.default_checkpoint,
            "sample_rate": cls.native_sample_rate,
            "max_seconds": cls.max_seconds,
            "instrumental_switch": cls.instrumental_switch,
        },
        description=cls.description,
        install=cls.install_command(),
        options=dict(cls.option_help),
    )


def available_backends() -> list[BackendSpec]:
    """Every registered backend and whether it can run here; never raises."""
    return [_spec(name, target, source) for name, (target, source) in backend_targets().items()]
