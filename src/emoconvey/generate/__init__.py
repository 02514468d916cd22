"""Clip generation under the AImoclips protocol (Go et al., 2025, section 3.2).

``emoconvey.generate.backends`` holds the text-to-music backends behind one small
interface (:class:`~emoconvey.generate.backends.base.Backend`); the protocol itself
(prompts, seeds, the 15-85 % crop, the output layout and manifest) lives beside it.
Heavy libraries (torch, transformers, diffusers, ray) are imported lazily.
"""

from typing import Any

__all__ = ["import_clips", "run_generation"]


def __getattr__(name: str) -> Any:
    if name == "run_generation":
        from emoconvey.generate.run import run_generation

        return run_generation
    if name == "import_clips":
        from emoconvey.generate.importer import import_clips

        return import_clips
    raise AttributeError(f"module 'emoconvey.generate' has no attribute {name!r}")
