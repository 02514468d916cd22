"""``emoconvey generate``: make clips under the AImoclips protocol.

    emoconvey generate run --backend musicgen --system MusicGen --out clips/
    emoconvey generate run --backend cues --system Cues --out clips/ --ray
    emoconvey generate import --system Suno --from downloads/suno --out clips/
    emoconvey generate backends
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from emoconvey._validation import check_output_folder
from emoconvey.console import friendly_errors
from emoconvey.console import out as out_console
from emoconvey.errors import EmoconveyError

app = typer.Typer(
    help="Generate clips under the AImoclips protocol (or import a service's downloads).",
    no_args_is_help=True,
)
log = logging.getLogger(__name__)


def _options(values: list[str] | None) -> dict[str, object]:
    opts: dict[str, object] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise EmoconveyError(f"--option: expected KEY=VALUE, got {item!r}")
        try:
            opts[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            opts[key.strip()] = raw
    return opts


def _summary(df, out: Path, what: str, *, show: int = 10) -> None:
    """What the run did, every flagged clip (up to ``show``) with its flags, what next."""
    from rich.markup import escape

    made, skipped = df.attrs.get("made", len(df)), df.attrs.get("skipped", 0)
    system = df["system"].iloc[0] if len(df) else "-"
    out_console.print(escape(
        f"{made} {what}, {skipped} already present (skipped): {len(df)} clips of {system} "
        f"in {out / 'music_clips'} (manifest {out / 'manifest.csv'})"
    ))
    flagged = df[df["flags"].astype(str) != ""] if len(df) else df
    if len(flagged):
        out_console.print(f"flagged: {len(flagged)} of {len(df)} clips (flags column of the "
                          "manifest):")
        for row in flagged.head(show).itertuples():
            out_console.print(escape(f"  {Path(row.file).name}: {row.flags}"))
        if len(flagged) > show:
            out_console.print(f"  ... and {len(flagged) - show} more")
    out_console.print(escape(f"next: emoconvey survey init STUDY --clips {out}"))


@app.command("run")
def run_cmd(
    backend: Annotated[str, typer.Option(help="Backend name (see 'generate backends').")],
    system: Annotated[str, typer.Option(help="System name: folder and file prefix.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    checkpoint: Annotated[str | None, typer.Option(help="Hub id or local folder.")] = None,
    intents: Annotated[str, typer.Option(
        help="'aimoclips' or an emotion_intents_metadata.csv.")] = "aimoclips",
    clips_per_intent: Annotated[int, typer.Option(help="Clips per intent (AImoclips: 14).")] = 14,
    seconds: Annotated[float, typer.Option(help="Seconds generated per clip.")] = 30.0,
    crop: Annotated[float, typer.Option(help="Seconds of the crop.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Base seed.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Clips per model call.")] = 1,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    prompt_template: Annotated[str | None, typer.Option(
        help="Prompt template with {word}; default '{word}, instrumental'.")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-o", help="Backend option KEY=VALUE (JSON values), repeatable.")] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Run on Ray (a local cluster unless "
                                      "--ray-address is given).")] = False,
    ray_address: Annotated[str | None, typer.Option(
        help="Ray cluster address (ray://host:10001 or auto); implies --ray.")] = None,
    workers: Annotated[int | None, typer.Option(help="Ray workers (default: one per GPU "
                                                "or CPU).")] = None,
    whole_clip: Annotated[bool, typer.Option(
        help="Keep clips uncropped (models whose native length is too short, e.g. "
             "Mustango's 10 s); flagged in the manifest.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Generate clips with one backend (resumable: rerun to finish an interrupted run)."""
    from emoconvey.generate.run import run_generation

    with friendly_errors():
        check_output_folder(out, name="--out")
        df = run_generation(
            backend=backend, system=system, out=out, intents=intents,
            clips_per_intent=clips_per_intent, checkpoint=checkpoint, seconds=seconds,
            crop=crop, seed=seed, batch_size=batch_size, device=device,
            prompt_template=prompt_template, options=_options(option),
            ray=ray_address if ray_address else (True if ray else None), workers=workers,
            progress=progress, whole_clip=whole_clip,
        )
    _summary(df, out, "generated")


@app.command("import")
def import_cmd(
    system: Annotated[str, typer.Option(help="System name: folder and file prefix.")],
    source: Annotated[Path, typer.Option("--from", help="Folder of <intent>_<n>.<ext> files.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    seed: Annotated[int, typer.Option(help="Base seed of the crops.")] = 0,
    mapping: Annotated[Path | None, typer.Option(
        help="CSV with file, intent, index (for other file names).")] = None,
    intents: Annotated[str, typer.Option(
        help="'aimoclips' or an emotion_intents_metadata.csv.")] = "aimoclips",
    crop: Annotated[float, typer.Option(help="Seconds of the crop.")] = 10.0,
    prompt_template: Annotated[str, typer.Option(
        help="The prompt the service was given.")] = "{word}",
    instrumental: Annotated[bool, typer.Option(
        help="Whether the service's instrumental switch was on.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Import clips downloaded from a service (Suno, Udio, ...): same crop and layout."""
    from emoconvey.generate.importer import import_clips

    with friendly_errors():
        check_output_folder(out, name="--out")
        df = import_clips(system=system, source=source, out=out, seed=seed, mapping=mapping,
                          intents=intents, crop=crop, prompt_template=prompt_template,
                          instrumental=instrumental, progress=progress)
    _summary(df, out, "imported")


@app.command("backends")
def backends_cmd() -> None:
    """List the backends, what each needs installed, its defaults and options."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    from emoconvey.generate.backends.registry import available_backends

    for spec in available_backends():
        d = spec.defaults
        source = "" if spec.source == "built-in" else f"  (from {spec.source})"
        facts = [f"checkpoint {d['checkpoint']}" if d.get("checkpoint") else "",
                 f"{d['sample_rate']} Hz" if d.get("sample_rate") else "",
                 f"at most {d['max_seconds']:g} s per call" if d.get("max_seconds") else ""]
        out_console.print(f"[bold]{escape(spec.name)}[/bold]  {escape(spec.status)}"
                          f"{escape(source)}")
        lines = [spec.description, " · ".join(f for f in facts if f)]
        if spec.install:
            lines.append(f"install: {spec.install}")
        lines += [f"--option {k}={v}" for k, v in spec.options.items()]
        for line in filter(None, lines):  # wrapped lines keep the indent
            out_console.print(Padding(Text(line, overflow="fold"), (0, 0, 0, 2), expand=False))
