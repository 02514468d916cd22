"""Create and open a study: its database, config, intents and clips.

A study lives in a database (a SQLite file by default, or PostgreSQL) that holds the
config, the intents table, the clip list and every participant's data; the audio stays
in the clips folder, whose path is stored too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from emoconvey.errors import EmoconveyError
from emoconvey.intents import aimoclips_intents
from emoconvey.survey.config import StudyConfig, config_from_stored
from emoconvey.survey.manifest import load_manifest, safe_relative
from emoconvey.survey.storage import Clip, Store, Study, make_engine, migrate, now

__all__ = ["OpenStudy", "check_audio_files", "init_study", "open_study"]

log = logging.getLogger(__name__)


@dataclass
class OpenStudy:
    """A study ready to serve or export.

    Attributes
    ----------
    store : Store
        Database access.
    config : StudyConfig
    intents : DataFrame
        ``intent``, ``quadrant``, ``norm_valence``, ``norm_arousal``.
    clips_root : Path
        Folder the clip paths are relative to.
    """

    store: Store
    config: StudyConfig
    intents: pd.DataFrame
    clips_root: Path


def check_audio_files(root: Path, paths: Iterable[str]) -> None:
    """Decode every clip once, so that a file participants could not play is refused at
    ``init``, by name.

    Raises
    ------
    EmoconveyError
        Naming the first file that cannot be decoded and why.
    """
    import soundfile as sf

    for rel in paths:
        try:
            data, _ = sf.read(str(root / rel), dtype="float32", always_2d=True)
        except Exception as exc:  # soundfile raises several types for broken files
            raise EmoconveyError(f"clip {str(rel)!r}: cannot be decoded as audio ({exc}); "
                                 "replace or remove it") from None
        if data.shape[0] == 0:
            raise EmoconveyError(f"clip {str(rel)!r}: holds no audio frames")


def init_study(
    db: str | Path,
    clips_dir: str | Path,
    *,
    manifest: str | Path | None = None,
    config: StudyConfig | None = None,
    intents: pd.DataFrame | None = None,
) -> OpenStudy:
    """Create a study database from a clips folder, a manifest and a config.

    Parameters
    ----------
    db : path or URL
        SQLite file path or database URL; must not hold a study yet.
    clips_dir : path
        Folder holding the audio.
    manifest : path, optional
        Manifest CSV (``system``, ``intent``, ``file``); default: scan the release layout.
    config : StudyConfig, optional
        Default: :class:`StudyConfig` defaults.
    intents : DataFrame, optional
        Default: the 12 AImoclips intents.

    Raises
    ------
    EmoconveyError
        When the database already holds a study, clips or settings are inconsistent
        (e.g. more clips per participant than distinct (system, intent) pairs).
    """
    config = config or StudyConfig.from_dict({})
    intents = aimoclips_intents() if intents is None else intents
    root = Path(clips_dir).resolve()
    clips = load_manifest(root, manifest, intents)
    config = _fit_clips_per_participant(config, clips.groupby(["system", "intent"]).ngroups)
    extra: list[tuple[str, str]] = []
    if config.sample_clip:
        extra.append((str(safe_relative(root, config.sample_clip, where="sample_clip")),
                      "sample"))
    else:  # the protocol always has a practice step: use the first clip (decoded below)
        first = str(clips["path"].iloc[0])
        log.warning("no sample_clip in the config: the practice step plays %s", first)
        extra.append((first, "sample"))
    for i, att in enumerate(config.quality.attention):
        extra.append(
            (str(safe_relative(root, att.file, where=f"quality.attention[{i}]")), "attention")
        )
    check_audio_files(root, [*clips["path"], *(path for path, _ in extra)])
    engine = make_engine(db)
    migrate(engine)
    store = Store(engine)
    with store.write() as s:
        if s.scalar(select(Study.id)) is not None:
            raise EmoconveyError(f"db: {db} already holds a study; use a new database")
        s.add(
            Study(
                id=1,
                config_json=json.dumps(config.to_dict()),
                intents_json=_intents_json(intents),
                clips_root=str(root),
                created_at=now(),
            )
        )
        s.add_all(
            Clip(name=r.clip, system=r.system, intent=r.intent, path=r.path, role="main")
            for r in clips.itertuples()
        )
        names = set(clips["clip"])
        for path, role in extra:
            name = f"{role}:{path}"
            if name in names:
                continue
            names.add(name)
            s.add(Clip(name=name, system="", intent="", path=path, role=role))
    log.info("study created in %s with %d clips", db, len(clips))
    return OpenStudy(store, config, intents.reset_index(drop=True), root)


def _fit_clips_per_participant(config: StudyConfig, pairs: int) -> StudyConfig:
    """The config with ``clips_per_participant`` at most ``pairs`` (each participant rates
    one clip per distinct (system, intent) pair at most).

    A default value (56, the AImoclips protocol) larger than ``pairs`` is lowered to
    ``pairs`` with a warning; a value the config sets is never changed.

    Raises
    ------
    EmoconveyError
        When the config asks for more clips than there are pairs.
    """
    wanted = config.clips_per_participant
    if wanted <= pairs:
        return config
    if wanted != StudyConfig.clips_per_participant:
        raise EmoconveyError(
            f"clips_per_participant: {wanted} requested but the clips form only {pairs} "
            f"distinct (system, intent) pairs; set clips_per_participant: {pairs} (or fewer) "
            "in the study config (--config), or add clips"
        )
    log.warning(
        "clips_per_participant: the clips form only %d distinct (system, intent) pairs, so "
        "each participant rates %d clips instead of the default %d; set "
        "clips_per_participant in the study config (--config) to choose fewer",
        pairs, pairs, wanted,
    )
    return dataclasses.replace(config, clips_per_participant=pairs)


def open_study(db: str | Path, *, pool_size: int = 20) -> OpenStudy:
    """Open an existing study database (upgrading its schema if needed)."""
    engine = make_engine(db, pool_size=pool_size)
    migrate(engine)
    store = Store(engine)
    with store.read() as s:
        study = s.get(Study, 1)
        if study is None:
            raise EmoconveyError(
                f"db: {db} holds no study; create one with 'emoconvey survey init'"
            )
        config = config_from_stored(json.loads(study.config_json))
        intents = _intents_from_json(study.intents_json)
        root = Path(study.clips_root)
    return OpenStudy(store, config, intents, root)


def _intents_json(intents: pd.DataFrame) -> str:
    """The intents table as JSON records; floats in Python's shortest exact form, so that
    reading them back gives the very same numbers (pandas' ``to_json`` rounds to 10
    digits and its reader adds noise such as ``2.5300000000000002``)."""
    records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
               for row in intents.to_dict(orient="records")]
    return json.dumps(records, ensure_ascii=False)


def _intents_from_json(text: str) -> pd.DataFrame:
    """Inverse of :func:`_intents_json` (also reads the pandas JSON of older studies:
    its at most 10 significant digits parse back exactly)."""
    return pd.DataFrame(json.loads(text))


def clip_table(study: OpenStudy) -> pd.DataFrame:
    """All clips of a study: ``id``, ``name``, ``system``, ``intent``, ``path``, ``role``."""
    with study.store.read() as s:
        rows = s.execute(
            select(Clip.id, Clip.name, Clip.system, Clip.intent, Clip.path, Clip.role)
        ).all()
    return pd.DataFrame(rows, columns=["id", "name", "system", "intent", "path", "role"])
