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

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from emoconvey.errors import EmoconveyError

__all__ = ["ENTRY_POINT_GROUP", "Protocol", "get_protocol", "protocol_names",
           "protocol_of_db"]

ENTRY_POINT_GROUP = "emoconvey.survey_protocols"
BUILTIN = {
    "aimoclips": "emoconvey.survey.protocols.aimoclips",
    "musiceval": "emoconvey.survey.protocols.musiceval",
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
        module, _, func = self.app_factory.partition(":")
        factory = getattr(importlib.import_module(module), func)
        return factory(study, admin_token=admin_token, secure_cookies=secure_cookies)


def protocol_names() -> list[str]:
    """Built-in protocols, then those registered through entry points."""
    extra = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN]
    return [*BUILTIN, *sorted(extra)]


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``.

    Raises
    ------
    EmoconveyError
        When no protocol has that name.
    """
    if name in BUILTIN:
        return importlib.import_module(BUILTIN[name]).PROTOCOL
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    raise EmoconveyError(f"protocol: expected one of {protocol_names()}, got {name!r}")


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
