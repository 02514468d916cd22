"""One registry shape for plug-in kinds (ground floor, beside :mod:`emoconvey._validation`).

Heads, feature extractors, generation backends and survey protocols are each found the
same way: a built-in name maps to an import path ``"module:attr"`` (imported only when
first asked for, so listing names imports nothing heavy), code may :meth:`Registry.register`
more, and third-party packages declare theirs in an entry-point group::

    [project.entry-points."emoconvey.heads"]
    myhead = "my_package.heads:MyHead"

A name is looked up in that order: registered in this process, built in, entry point. A
built-in name cannot be taken over by an entry point (the clash is logged and the
built-in kept).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from emoconvey.errors import EmoconveyError

if TYPE_CHECKING:
    import importlib.metadata

__all__ = ["Registry", "import_target"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def import_target(target: str) -> Any:
    """The object an import path ``"package.module:attr"`` names (the module is imported).

    Raises
    ------
    ModuleNotFoundError
        When the module cannot be imported.
    AttributeError
        When the module has no such attribute.
    """
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    """Names of one plug-in kind: registered in code, built in (lazy) and entry points.

    Parameters
    ----------
    kind : str
        What is registered (``"head"``, ``"backend"``, ...), for messages.
    entry_point_group : str
        The entry-point group third-party packages declare theirs in.
    builtin : dict of str to str
        ``{name: "module:attr"}``, imported when first asked for. Kept by reference:
        changing the dict changes the registry.
    registered : dict, optional
        ``{name: object}`` registered in this process (kept by reference; objects loaded
        from ``builtin`` or entry points are cached here).
    check : callable, optional
        ``check(name, obj)`` raises :class:`~emoconvey.errors.EmoconveyError` when
        ``obj`` is not a valid ``kind`` (run on :meth:`register` and on every load).
    unknown : str
        Message for an unknown name, formatted with ``name``, ``choices`` (the names,
        sorted and comma-separated) and ``names`` (the list :meth:`names` returns).
    """

    def __init__(self, kind: str, entry_point_group: str, builtin: dict[str, str], *,
                 registered: dict[str, T] | None = None,
                 check: Callable[[str, Any], None] | None = None,
                 unknown: str = "unknown {kind} {name!r}; expected one of {choices}") -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.builtin = builtin
        self.registered: dict[str, T] = {} if registered is None else registered
        self._check = check
        self._unknown = unknown

    def register(self, name: str, obj: T) -> None:
        """Make :meth:`get` return ``obj`` for ``name`` (overrides a built-in)."""
        if not name or not isinstance(name, str):
            raise EmoconveyError(f"{self.kind} name: expected a non-empty string, got {name!r}")
        if self._check is not None:
            self._check(name, obj)
        self.registered[name] = obj

    def entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        """Third-party ``{name: entry point}``; never raises (a broken install is logged)."""
        import importlib.metadata  # only when plug-ins are looked up (start-up stays light)

        try:
            eps = importlib.metadata.entry_points(group=self.entry_point_group)
        except Exception as exc:  # a broken installed distribution must not break listing
            log.warning("cannot read entry points %s: %s", self.entry_point_group, exc)
            return {}
        found = {}
        for ep in eps:
            if ep.name in self.builtin:
                log.warning("entry point %s=%s ignored: %r is a built-in %s",
                            ep.name, ep.value, ep.name, self.kind)
                continue
            found[ep.name] = ep
        return found

    def targets(self) -> dict[str, tuple[str, str]]:
        """``{name: (target, source)}`` of built-ins (source ``"built-in"``), then entry
        points sorted by name (source: the distribution that declares it)."""
        out = {name: (target, "built-in") for name, target in self.builtin.items()}
        for name, ep in sorted(self.entry_points().items()):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "entry point"
            out[name] = (ep.value, dist)
        return out

    def names(self) -> list[str]:
        """Built-in names in their order, then registered and entry-point names sorted."""
        extra = (set(self.registered) | set(self.entry_points())) - set(self.builtin)
        return [*self.builtin, *sorted(extra)]

    def unknown_error(self, name: str) -> EmoconveyError:
        """The error for an unknown ``name``, naming the choices."""
        names = self.names()
        return EmoconveyError(self._unknown.format(
            kind=self.kind, name=name, choices=", ".join(sorted(names)), names=names))

    def get(self, name: str) -> T:
        """The object registered, built in or declared as ``name`` (loaded and cached).

        Raises
        ------
        EmoconveyError
            Unknown name (the message names the choices), or ``check`` refuses it.
        """
        if name in self.registered:
            return self.registered[name]
        if name in self.builtin:
            obj = import_target(self.builtin[name])
        else:
            ep = self.entry_points().get(name)
            if ep is None:
                raise self.unknown_error(name)
            obj = ep.load()
        self.register(name, obj)
        return obj
