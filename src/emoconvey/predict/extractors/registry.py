"""The extractor registry: built-in, registered in code, and entry points.

Kept apart from :mod:`emoconvey.predict.extractors.base` (the :class:`Extractor` base
class the built-in extractors import), so that no two modules import each other.
"""

from __future__ import annotations

from collections.abc import Callable

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors.base import Extractor

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_extractors",
    "get_extractor",
    "register_extractor",
]

ENTRY_POINT_GROUP = "emoconvey.extractors"
"""Entry-point group under which third-party packages register extractors."""

_REGISTRY: dict[str, Callable[..., Extractor]] = {}


def register_extractor(name: str, factory: Callable[..., Extractor]) -> None:
    """Make ``get_extractor(name, **options)`` call ``factory(**options)``."""
    if not name or not isinstance(name, str):
        raise EmoconveyError(f"extractor name: expected a non-empty string, got {name!r}")
    _REGISTRY[name] = factory


def _builtin() -> None:
    from emoconvey.predict.extractors import clap, handcrafted

    _REGISTRY.setdefault("handcrafted", handcrafted.HandcraftedExtractor)
    _REGISTRY.setdefault("clap", clap.ClapExtractor)


_LAZY: dict[str, str] = {
    "mel-frames": "emoconvey.predict.extractors.frames:MelFramesExtractor",
    "clap-frames": "emoconvey.predict.extractors.pretrained_frames:ClapFramesExtractor",
    "mert": "emoconvey.predict.extractors.pretrained_frames:MertExtractor",
    "muq": "emoconvey.predict.extractors.pretrained_frames:MuqExtractor",
}
"""Built-in frame-level extractors, imported when first asked for."""


def _entry_points() -> dict[str, object]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_extractors() -> list[str]:
    """Names of the built-in, registered and entry-point extractors."""
    _builtin()
    return sorted(set(_REGISTRY) | set(_LAZY) | set(_entry_points()))


def get_extractor(name: str, **options: object) -> Extractor:
    """The extractor registered as ``name``, built with ``options``."""
    _builtin()
    factory = _REGISTRY.get(name)
    if factory is None and name in _LAZY:
        import importlib

        module, _, attr = _LAZY[name].partition(":")
        factory = _REGISTRY[name] = getattr(importlib.import_module(module), attr)
    if factory is None:
        ep = _entry_points().get(name)
        if ep is None:
            raise EmoconveyError(
                f"--extractor: unknown extractor {name!r}; available: "
                + ", ".join(available_extractors())
            )
        factory = ep.load()  # type: ignore[attr-defined]
    extractor = factory(**options)
    if not isinstance(extractor, Extractor):
        raise EmoconveyError(f"extractor {name!r}: the factory did not return an Extractor")
    return extractor
