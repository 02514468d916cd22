"""``emoconvey survey``: create, run and export a listening study.

Usage::

    emoconvey survey init mystudy --clips clips/ [--manifest clips.csv] [--config study.yaml]
    emoconvey survey init demo --demo
    emoconvey survey serve mystudy [--host 127.0.0.1] [--port 8000]
    emoconvey survey export mystudy --out results/ [--drop-flagged]
    emoconvey survey release mystudy --pid PLATFORM_ID

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
from typing import TYPE_CHECKING, Annotated

import typer

from emoconvey.console import friendly_errors, print_warning
from emoconvey.errors import EmoconveyError

if TYPE_CHECKING:
    from emoconvey.survey.study import OpenStudy

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


def _make_study_folder(study_dir: Path) -> bool:
    """Create ``study_dir``; ``True`` when it did not exist before (ours to remove)."""
    if study_dir.exists() and not study_dir.is_dir():
        raise EmoconveyError(
            f"STUDY: {str(study_dir)!r} is a file, not a folder; give a new folder name"
        )
    new = not study_dir.exists()
    study_dir.mkdir(parents=True, exist_ok=True)
    return new


def _remove_failed_folder(study_dir: Path, new_folder: bool) -> None:
    """After a failed init, remove the study folder if init created it (never the user's)."""
    if new_folder:
        shutil.rmtree(study_dir, ignore_errors=True)


def _write_admin_token(study_dir: Path) -> Path:
    """Write a new admin token (mode 0600) unless one exists or ``$EMOCONVEY_ADMIN_TOKEN``
    is set; return where it is kept."""
    token_path = study_dir / TOKEN_FILE
    if not os.environ.get(ADMIN_ENV) and not token_path.exists():
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return token_path


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
        typer.Option(help="Manifest CSV (system, intent, file), paths relative to --clips "
                          "(default: the manifest's folder); without it: scan "
                          "music_clips/<Model>/<Model>_<emotion>_<n>.wav."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Study config (YAML or TOML).")] = None,
    intents: Annotated[
        Path | None, typer.Option(help="emotion_intents_metadata.csv; default AImoclips.")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Build a small synthetic study.")] = False,
    db: DbOpt = None,
    prompts: Annotated[
        Path | None,
        typer.Option(help="protocol: musiceval: prompt_info.txt (id<TAB>text[<TAB>source])."),
    ] = None,
) -> None:
    """Create a study from clips, a manifest and a config."""
    from emoconvey.data import read_intents
    from emoconvey.survey.config import load_config
    from emoconvey.survey.study import init_study

    if config is not None and _init_mos(study_dir, clips, manifest, config, prompts, db):
        return
    new_folder = False
    with friendly_errors():
        try:
            new_folder = _make_study_folder(study_dir)
            if demo:
                from emoconvey.survey.demo import make_demo_files

                if clips or manifest:
                    raise EmoconveyError(
                        "--demo: builds its own clips; leave out --clips/--manifest"
                    )
                clips, demo_config = make_demo_files(study_dir)
                config = config or demo_config
            if clips is None and manifest is not None:  # paths in the manifest are relative to it
                clips = manifest.resolve().parent
            if clips is None:
                raise EmoconveyError("--clips: give the folder of clips, a --manifest, or --demo")
            cfg = load_config(config)
            intents_df = read_intents(intents) if intents else None
            study = init_study(_db(study_dir, db), clips, manifest=manifest, config=cfg,
                               intents=intents_df)
            study.store.engine.dispose()
        except EmoconveyError:
            _remove_failed_folder(study_dir, new_folder)
            raise
    token_path = _write_admin_token(study_dir)
    typer.echo(f"study created: {_db(study_dir, db)}")
    typer.echo(f"clips per participant: {study.config.clips_per_participant}")
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
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes (they share the database: best on PostgreSQL).")] = 1,
) -> None:
    """Serve the study with uvicorn."""
    import uvicorn

    from emoconvey.survey.app import create_app

    if _serve_mos(study_dir, host, port, admin_token, root_path, access_log, db, workers):
        return
    with friendly_errors():
        study = _open_existing(study_dir, db, hint="; run 'emoconvey survey init'")
        token = _admin_token(study_dir, admin_token)
        application = create_app(study, admin_token=token, secure_cookies=secure_cookies)
    if token is None:
        print_warning("no admin token; the admin page is disabled")
    typer.echo(f"participants: http://{host}:{port}/   admin: http://{host}:{port}/admin")
    if workers > 1:
        study.store.engine.dispose()
        _run_workers("aimoclips", _db(study_dir, db), token, secure_cookies, workers, host=host,
                     port=port, root_path=root_path, access_log=access_log)
        return
    uvicorn.run(application, host=host, port=port, root_path=root_path,
                access_log=access_log, log_level="info")


def _run_workers(protocol: str, db: str, token: str | None, secure_cookies: bool,
                 workers: int, **kw: object) -> None:
    """Serve with ``workers`` uvicorn processes, each building the app from the environment."""
    import os

    import uvicorn

    from emoconvey.survey.server import FACTORY, SERVE_ENV, serve_settings

    os.environ[SERVE_ENV] = serve_settings(protocol=protocol, db=db, admin_token=token,
                                           secure_cookies=secure_cookies)
    typer.echo(f"serving with {workers} worker processes")
    uvicorn.run(FACTORY, factory=True, workers=workers, log_level="info", **kw)  # type: ignore[arg-type]


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
    fmt: Annotated[
        str,
        typer.Option("--format", help="aimoclips (default) or musiceval (MOS scales, "
                     "MusicEval layout)."),
    ] = "aimoclips",
    split: Annotated[
        str | None,
        typer.Option(help="musiceval: seeded split by prompt, e.g. train=0.8,dev=0.1,test=0.1"),
    ] = None,
    seed: Annotated[int, typer.Option(help="musiceval: seed of --split.")] = 0,
    ids: Annotated[
        str, typer.Option(help="musiceval: keep (emoconvey ids) or audiomos (S002/P001 ids "
                          "the official MusicEval tools read; map in sets/systems.csv).")
    ] = "keep",
) -> None:
    """Write ratings/clips/intents CSVs (AImoclips format), demographics and QC report."""
    from emoconvey.survey.export import export_contacts, export_study

    if fmt == "musiceval":
        _export_musiceval(study_dir, out, drop_flagged, db, split, seed, ids)
        return
    with friendly_errors():
        if fmt != "aimoclips":
            raise EmoconveyError(f"--format: expected aimoclips or musiceval, got {fmt!r}")
        study = _open_existing(study_dir, db)
        min_ratings = study.config.min_ratings
        paths = export_study(study, out, drop_flagged=drop_flagged)
        if contacts is not None:
            if contacts.resolve().parent == out.resolve():
                raise EmoconveyError("--contacts: keep contacts outside the export folder")
            paths["contacts"] = export_contacts(study, contacts)
        study.store.engine.dispose()
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
    typer.echo(
        f"analyse with: emoconvey report --ratings {paths['ratings']} --clips {paths['clips']} "
        f"--intents {paths['intents']} --min-ratings {min_ratings} --with-reference"
    )


def _open_existing(study_dir: Path, db: str | None, *, hint: str = "") -> OpenStudy:
    """Open the study's database; raise naming it (and ``hint``) when it does not exist."""
    from emoconvey.survey.study import open_study

    target = _db(study_dir, db)
    if "://" not in target and not Path(target).is_file():
        raise EmoconveyError(f"db: {target} does not exist{hint}")
    return open_study(target)


def _export_musiceval(
    study_dir: Path, out: Path, drop_flagged: bool, db: str | None, split: str | None, seed: int,
    ids: str = "keep",
) -> None:
    from emoconvey.survey.musiceval import export_musiceval, parse_split

    with friendly_errors():
        weights = parse_split(split)
        mos = _open_mos(study_dir, db)
        if mos is not None:
            from emoconvey.survey.protocols.musiceval import export_mos_study

            paths = export_mos_study(mos, out, drop_invalid=drop_flagged, split=weights,
                                     seed=seed, ids=ids)
            mos.engine.dispose()
            for kind, path in paths.items():
                typer.echo(f"{kind}: {path}")
            typer.echo(f"analyse with: emoconvey report --mos {out}")
            return
        study = _open_existing(study_dir, db)
        paths = export_musiceval(study, out, drop_flagged=drop_flagged, split=weights, seed=seed,
                                 ids=ids)
        study.store.engine.dispose()
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")
    typer.echo(f"analyse with: emoconvey report --mos {out}")


@app.command()
def invite(
    study_dir: StudyDir,
    n: Annotated[int | None, typer.Option("--n", help="Number of raters to invite.")] = None,
    names: Annotated[
        Path | None, typer.Option(help="File with one rater name per line (instead of R01...).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV of personal links (default STUDY_DIR/invites.csv).")
    ] = None,
    base_url: Annotated[
        str, typer.Option(help="Address raters reach the server at.")
    ] = "http://127.0.0.1:8000",
    db: DbOpt = None,
) -> None:
    """Create personal links for invited raters (experts), written to a private CSV."""
    from emoconvey.survey.musiceval import invite_raters

    with friendly_errors():
        listed = None
        if names is not None:
            if not names.is_file():
                raise EmoconveyError(f"--names: {str(names)!r} does not exist")
            listed = [ln for ln in names.read_text(encoding="utf-8").splitlines() if ln.strip()]
        elif n is None:
            raise EmoconveyError("give --n or --names")
        mos = _open_mos(study_dir, db)
        if mos is not None:
            from emoconvey.survey.protocols.musiceval import invite_mos_raters

            path = invite_mos_raters(mos, out or study_dir / "invites.csv", n=n, names=listed,
                                     base_url=base_url)
            mos.engine.dispose()
            typer.echo(f"personal links: {path} (keep it private; send each rater their own "
                       "link)")
            return
        study = _open_existing(study_dir, db)
        path = invite_raters(study, out or study_dir / "invites.csv", n=n, names=listed,
                             base_url=base_url)
        study.store.engine.dispose()
    typer.echo(f"personal links: {path} (keep it private; send each rater their own link)")


# ----------------------------------------------------------------------------- MOS studies


def _mos_target(study_dir: Path, db: str | None) -> str | None:
    """The database of the MOS study in ``study_dir`` (or at ``db``), None if none."""
    from emoconvey.survey.protocols.musiceval import MOS_DB_FILE, is_mos_db, is_mos_study

    if db is not None:
        return db if is_mos_db(db) else None
    return str(study_dir / MOS_DB_FILE) if is_mos_study(study_dir) else None


def _open_mos(study_dir: Path, db: str | None):
    from emoconvey.survey.protocols.musiceval import open_mos_study

    target = _mos_target(study_dir, db)
    return None if target is None else open_mos_study(target)


def _init_mos(
    study_dir: Path,
    clips: Path | None,
    manifest: Path | None,
    config: Path,
    prompts: Path | None,
    db: str | None,
) -> bool:
    from emoconvey.survey.protocols.musiceval import MOS_DB_FILE, init_mos_study, read_mos_config

    new_folder = False
    with friendly_errors():
        try:
            cfg = read_mos_config(config)
            if cfg is None:
                return False
            if clips is None or manifest is None or prompts is None:
                raise EmoconveyError(
                    "protocol: musiceval: give --clips, --manifest (system,prompt_id,file) and "
                    "--prompts (prompt_info.txt)"
                )
            new_folder = _make_study_folder(study_dir)
            target = db or study_dir / MOS_DB_FILE
            study = init_mos_study(target, clips, manifest=manifest, prompts=prompts, config=cfg)
            study.engine.dispose()
        except EmoconveyError:
            _remove_failed_folder(study_dir, new_folder)
            raise
    _write_admin_token(study_dir)
    n_main = int((study.clips["role"] == "main").sum())
    typer.echo(f"MOS study created: {target} ({n_main} clips)")
    typer.echo(f"next: emoconvey survey invite {study_dir} --n 14; "
               f"emoconvey survey serve {study_dir}")
    return True


def _serve_mos(
    study_dir: Path,
    host: str,
    port: int,
    admin_token: str | None,
    root_path: str,
    access_log: bool,
    db: str | None,
    workers: int = 1,
) -> bool:
    with friendly_errors():
        mos = _open_mos(study_dir, db)
        if mos is None:
            return False
        from emoconvey.survey.mos_app import create_mos_app

        token = _admin_token(study_dir, admin_token)
        application = create_mos_app(mos, admin_token=token)
    import uvicorn

    typer.echo(f"MOS study (invited raters' links: see invites.csv); admin: "
               f"http://{host}:{port}/admin")
    if workers > 1:
        mos.engine.dispose()
        _run_workers("musiceval", str(_mos_target(study_dir, db)), token, False, workers,
                     host=host, port=port, root_path=root_path, access_log=access_log)
        return True
    uvicorn.run(application, host=host, port=port, root_path=root_path,
                access_log=access_log, log_level="info", workers=1)
    return True
@app.command()
def release(
    study_dir: StudyDir,
    pid: Annotated[str, typer.Option("--pid", help="The participant's platform ID.")],
    db: DbOpt = None,
) -> None:
    """Let the next browser that opens the study with a platform ID continue its session.

    Returning through the platform ID works only in the browser that started the session;
    release it when a participant asks to continue elsewhere (same as the admin page).
    """
    from emoconvey.survey.admin import release_platform_id

    with friendly_errors():
        study = _open_existing(study_dir, db)
        n = release_platform_id(study, pid)
        study.store.engine.dispose()
        if n == 0:
            raise EmoconveyError(f"--pid: no session has the platform ID {pid!r}")
    typer.echo(f"released {n} session(s) with platform ID {pid!r}: the next browser that "
               "opens the study with it continues the session")
