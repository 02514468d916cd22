"""The extractor registry: built-in, registered in code, and entry points.

Kept apart from :mod:`emoconvey.predict.extractors.base` (the :class:`Extractor` base
class the built-in extractors import), so that no two modules import each other.
"""

from __future__ import annotations

from collections.abc import Callable

from emoconvey._registry import Registry
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

_BUILTIN: dict[str, str] = {
    "handcrafted": "emoconvey.predict.extractors.handcrafted:HandcraftedExtractor",
    "clap": "emoconvey.predict.extractors.clap:ClapExtractor",
    "mel-frames": "emoconvey.predict.extractors.frames:MelFramesExtractor",
    "clap-frames": "emoconvey.predict.extractors.pretrained_frames:ClapFramesExtractor",
    "mert": "emoconvey.predict.extractors.pretrained_frames:MertExtractor",
    "muq": "emoconvey.predict.extractors.pretrained_frames:MuqExtractor",
}
"""Built-in extractors, imported when first asked for."""

REGISTRY: Registry[Callable[..., Extractor]] = Registry(
    "extractor", ENTRY_POINT_GROUP, _BUILTIN,
    unknown="--extractor: unknown extractor {name!r}; available: {choices}")
"""Built-in, registered and entry-point extractors (:class:`emoconvey._registry.Registry`)."""


def register_extractor(name: str, factory: Callable[..., Extractor]) -> None:
    """Make ``get_extractor(name, **options)`` call ``factory(**options)``."""
    REGISTRY.register(name, factory)


def available_extractors() -> list[str]:
    """Names of the built-in, registered and entry-point extractors."""
    return sorted(REGISTRY.names())


def get_extractor(name: str, **options: object) -> Extractor:
    """The extractor registered as ``name``, built with ``options``."""
    factory = REGISTRY.get(name)
    extractor = factory(**options)
    if not isinstance(extractor, Extractor):
        raise EmoconveyError(f"extractor {name!r}: the factory did not return an Extractor")
    return extractor
