"""emoconvey: measure how well text-to-music systems convey an intended emotion.

Implements the AImoclips protocol (Go et al., 2025) for emotion intents, listening tests
and their analysis.
"""

from emoconvey.data import Dataset, load_aimoclips, load_dataset, write_dataset
from emoconvey.errors import (
    DataValidationError,
    DegenerateDataWarning,
    EmoconveyError,
    EmoconveyWarning,
)

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
