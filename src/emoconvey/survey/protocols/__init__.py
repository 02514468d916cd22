"""Study protocols over the one storage layer (:mod:`emoconvey.survey.storage`).

``base``       :class:`Protocol` and the registry (:func:`get_protocol`)
``aimoclips``  9-point valence/arousal, one clip per (system, intent) pair, least-rated
               first, AImoclips export
``musiceval``  5-point MI/TA, prompt-grouped batches with exactly k ratings per clip,
               anchors and repeats, MusicEval export
``batches``    the batch assignment and quality-probe rules of ``musiceval``
"""

from emoconvey.survey.protocols.base import (
    ENTRY_POINT_GROUP,
    Protocol,
    get_protocol,
    protocol_names,
    protocol_of_db,
)

__all__ = ["ENTRY_POINT_GROUP", "Protocol", "get_protocol", "protocol_names",
           "protocol_of_db"]
