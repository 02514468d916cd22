"""``emoconvey survey``: create, run and export a listening study.

Usage::

    emoconvey survey init mystudy --clips clips/ [--manifest clips.csv] [--config study.yaml]
    emoconvey survey init demo --demo
    emoconvey survey serve mystudy [--host 127.0.0.1] [--port 8000]
    emoconvey survey export mystudy --out results/ [--drop-flagged]

A study folder holds ``study.db`` (SQLite) and ``admin_token``; give ``--db URL`` (or
set ``EMOCONVEY_SURVEY_DB``) to keep the data in PostgreSQL instead. The admin token
comes from ``--admin-token``, ``EMOCONVEY_ADMIN_TOKEN`` or the study folder's
``admin_token`` file (created by ``init`` with owner-only permissions).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Annotated

import typer

from emoconvey.errors import EmoconveyError

__all__ = ["app"]

log = logging.getLogger(__name__)

app = typer.Typer(
    name="survey",
    help="Run an AImoclips-style valence/arousal listening study.",
    no_args_is_help=True,
    add_completion=False,
)

DB_ENV = "EMOCONVEY_SURVEY_DB"
ADMIN_ENV = "EMOCONVEY_ADMIN_TOKEN"
TOKEN_FILE = "admin_token"

StudyDir = Annotated[Path, typer.Argument(help="Study folder (holds study.db, admin_token).")]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar=DB_ENV,
                 help="Database file or URL (postgresql://...); default STUDY_DIR/study.db."),
]


def _db(study_dir: Path, db: str | None) -> str:
    return db if db else str(study_dir / "study.db")


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _admin_token(study_dir: Path, given: str | None) -> str | None:
    if given:
        return given
    if os.environ.get(ADMIN_ENV):
        return os.environ[ADMIN_ENV]
    path = study_dir / TOKEN_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


@app.command()
def init(
    study_dir: StudyDir,
    clips: Annotated[Path | None, typer.Option(help="Folder of clips.")] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Manifest CSV (system, intent, file); default: scan "
                          "music_clips/<Model>/<Model>_<emotion>_<n>.wav."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Study config (YAML or TOML).")] = None,
    intents: Annotated[
        Path | None, typer.Option(help="emotion_intents_metadata.csv; default AImoclips.")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Build a small synthetic study.")] = False,
    db: DbOpt = None,
) -> None:
    """Create a study from clips, a manifest and a config."""
    from emoconvey.data import read_intents
    from emoconvey.survey.config import load_config
    from emoconvey.survey.study import init_study

    created = not study_dir.exists()
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
        if demo:
            from emoconvey.survey.demo import make_demo_files

            if clips or manifest:
                raise EmoconveyError("--demo: builds its own clips; leave out --clips/--manifest")
            clips, demo_config = make_demo_files(study_dir)
            config = config or demo_config
        if clips is None:
            raise EmoconveyError("--clips: give the folder of clips (or use --demo)")
        cfg = load_config(config)
        intents_df = read_intents(intents) if intents else None
        study = init_study(_db(study_dir, db), clips, manifest=manifest, config=cfg,
                           intents=intents_df)
        study.store.engine.dispose()
    except EmoconveyError as exc:
        if created:  # leave nothing behind from a failed init
            shutil.rmtree(study_dir, ignore_errors=True)
        raise _fail(exc) from None
    token_path = study_dir / TOKEN_FILE
    if not os.environ.get(ADMIN_ENV) and not token_path.exists():
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    typer.echo(f"study created: {_db(study_dir, db)}")
    typer.echo(f"completion code: {cfg.completion_code}")
    typer.echo(f"admin token: in {token_path} (or ${ADMIN_ENV})")
    typer.echo(f"next: emoconvey survey serve {study_dir}")


@app.command()
def serve(
    study_dir: StudyDir,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    admin_token: Annotated[
        str | None, typer.Option(help=f"Admin secret (default ${ADMIN_ENV} or file).")
    ] = None,
    root_path: Annotated[str, typer.Option(help="URL prefix behind a proxy.")] = "",
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure (when served over HTTPS).")
    ] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    db: DbOpt = None,
) -> None:
    """Serve the study with uvicorn."""
    import uvicorn

    from emoconvey.survey.app import create_app
    from emoconvey.survey.study import open_study

    try:
        target = _db(study_dir, db)
        if "://" not in target and not Path(target).is_file():
            raise EmoconveyError(f"db: {target} does not exist; run 'emoconvey survey init'")
        study = open_study(target)
        token = _admin_token(study_dir, admin_token)
        application = create_app(study, admin_token=token, secure_cookies=secure_cookies)
    except EmoconveyError as exc:
        raise _fail(exc) from None
    if token is None:
        typer.echo("warning: no admin token; the admin page is disabled", err=True)
    typer.echo(f"participants: http://{host}:{port}/   admin: http://{host}:{port}/admin")
    uvicorn.run(application, host=host, port=port, root_path=root_path,
                access_log=access_log, log_level="info")


@app.command()
def export(
    study_dir: StudyDir,
    out: Annotated[Path, typer.Option(help="Output folder.")],
    drop_flagged: Annotated[
        bool, typer.Option("--drop-flagged", help="Leave out listeners with QC flags.")
    ] = False,
    contacts: Annotated[
        Path | None,
        typer.Option(help="Also write reward contacts to this separate file."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Write ratings/clips/intents CSVs (AImoclips format), demographics and QC report."""
    from emoconvey.survey.export import export_contacts, export_study
    from emoconvey.survey.study import open_study

    try:
        target = _db(study_dir, db)
        if "://" not in target and not Path(target).is_file():
            raise EmoconveyError(f"db: {target} does not exist")
        study = open_study(target)
        min_ratings = study.config.min_ratings
        paths = export_study(study, out, drop_flagged=drop_flagged)
        if contacts is not None:
            if contacts.resolve().parent == out.resolve():
                raise EmoconveyError("--contacts: keep contacts outside the export folder")
            paths["contacts"] = export_contacts(study, contacts)
        study.store.engine.dispose()
    except EmoconveyError as exc:
        raise _fail(exc) from None
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
    typer.echo(
        f"analyse with: emoconvey report --ratings {paths['ratings']} --clips {paths['clips']} "
        f"--intents {paths['intents']} --min-ratings {min_ratings}"
    )
