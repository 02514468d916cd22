"""Audio representations behind a registry, with an on-disk feature cache.

Built in: ``handcrafted`` (librosa music-emotion cues, weight-free, the default) and
``clap`` (a CLAP audio encoder with its text tower); frame-level (one vector per time
step, :mod:`.frames`): ``mel-frames``, ``clap-frames``, ``mert`` and ``muq``. Third
parties register more through the entry-point group ``emoconvey.extractors``
(``name = "pkg.module:factory"``, the factory taking keyword options and returning an
:class:`Extractor`), or in code with :func:`register_extractor`.
"""

from emoconvey.predict.extractors.base import (
    Extractor,
    Features,
    extract_features,
    load_audio,
)
from emoconvey.predict.extractors.registry import (
    ENTRY_POINT_GROUP,
    available_extractors,
    get_extractor,
    register_extractor,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Extractor",
    "Features",
    "available_extractors",
    "extract_features",
    "get_extractor",
    "load_audio",
    "register_extractor",
]
