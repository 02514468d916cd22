"""What a study protocol is, and the registry of protocols.

A protocol says what differs between kinds of listening test: the scales (points,
labels, pictorial anchors), how clips are grouped and assigned to what one participant
rates, which quality rules apply and how the study exports. Everything else is shared:
the storage (:mod:`emoconvey.survey.storage`: one schema under Alembic), the middleware,
error pages, static files and page layout, and the ``survey`` commands.

Built in: ``aimoclips`` (:mod:`.aimoclips`) and ``musiceval`` (:mod:`.musiceval`).
Third parties register more under the entry-point group ``emoconvey.survey_protocols``
(an object with the attributes of :class:`Protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoconvey._registry import Registry, import_target
from emoconvey.errors import EmoconveyError

__all__ = ["ENTRY_POINT_GROUP", "Protocol", "get_protocol", "protocol_names",
           "protocol_of_db"]

ENTRY_POINT_GROUP = "emoconvey.survey_protocols"
BUILTIN = {
    "aimoclips": "emoconvey.survey.protocols.aimoclips:PROTOCOL",
    "musiceval": "emoconvey.survey.protocols.musiceval:PROTOCOL",
}


@dataclass(frozen=True)
class Protocol:
    """A study protocol.

    Attributes
    ----------
    name : str
        As written in a study config (``protocol: <name>``).
    summary : str
        One line for listings.
    holds : callable
        ``holds(db) -> bool``: whether the database (file or URL) holds a study of this
        protocol.
    open : callable
        ``open(db) -> study``: open the study (upgrading the schema first).
    app_factory : str
        ``"module:function"`` of ``function(study, *, admin_token, secure_cookies) ->
        FastAPI`` (named, not imported: the web layer imports the protocol, not the
        other way round).
    """

    name: str
    summary: str
    holds: Callable[[str | Path], bool]
    open: Callable[[str | Path], Any]
    app_factory: str

    def create_app(self, study: Any, *, admin_token: str | None,
                   secure_cookies: bool = False) -> Any:
        """The FastAPI application serving ``study``."""
        factory = import_target(self.app_factory)
        return factory(study, admin_token=admin_token, secure_cookies=secure_cookies)


REGISTRY: Registry[Protocol] = Registry(
    "protocol", ENTRY_POINT_GROUP, BUILTIN,
    unknown="protocol: expected one of {names}, got {name!r}")
"""Built-in and entry-point protocols (:class:`emoconvey._registry.Registry`)."""


def protocol_names() -> list[str]:
    """Built-in protocols, then those registered through entry points."""
    return REGISTRY.names()


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``.

    Raises
    ------
    EmoconveyError
        When no protocol has that name.
    """
    return REGISTRY.get(name)


def protocol_of_db(db: str | Path) -> Protocol:
    """The protocol of the study in database ``db``.

    Raises
    ------
    EmoconveyError
        When the database holds no study.
    """
    for name in protocol_names():
        proto = get_protocol(name)
        if proto.holds(db):
            return proto
    raise EmoconveyError(f"db: {db} holds no study; create one with 'emoconvey survey init'")
