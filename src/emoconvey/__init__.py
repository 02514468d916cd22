"""emoconvey: measure how well text-to-music systems convey an intended emotion.

Implements the AImoclips protocol (Go et al., 2025) for emotion intents, listening tests
and their analysis.

The dataset functions below are imported on first use (PEP 562), so that ``import
emoconvey`` (and the command line's start) does not load pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emoconvey.errors import (
    DataValidationError,
    DegenerateDataWarning,
    EmoconveyError,
    EmoconveyWarning,
)

if TYPE_CHECKING:
    from emoconvey.data import Dataset, load_aimoclips, load_dataset, write_dataset

__version__ = "0.1.0"

__all__ = [
    "DataValidationError",
    "Dataset",
    "DegenerateDataWarning",
    "EmoconveyError",
    "EmoconveyWarning",
    "__version__",
    "load_aimoclips",
    "load_dataset",
    "write_dataset",
]

_FROM_DATA = frozenset({"Dataset", "load_aimoclips", "load_dataset", "write_dataset"})


def __getattr__(name: str) -> Any:
    if name in _FROM_DATA:
        from emoconvey import data

        return getattr(data, name)
    raise AttributeError(f"module 'emoconvey' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_DATA)
