"""Run the generation protocol with one backend, locally or on a Ray cluster.

A run is a list of work items, one per (intent, index), each with its prompt and seeds
fixed by :mod:`emoconvey.generate.protocol`. Items already in the manifest with matching
settings and file hashes are skipped, so a rerun with the same arguments resumes an
interrupted run. Workers (the local process, or one Ray actor per GPU or CPU) load the
model once and generate batches; the driver alone crops, writes files and appends to the
manifest, so a Ray run gives the same files and manifest as a local one (up to the
``wall_seconds`` column).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import Backend, GeneratedAudio, GenerationRequest
from emoconvey.generate.backends.registry import get_backend
from emoconvey.generate.oom import GenerationOOMError, is_oom
from emoconvey.generate.output import (
    MANIFEST_NAME,
    append_rows,
    files_match,
    finish_clip,
    read_manifest,
    remove_temp_files,
    to_json,
    typed_manifest,
    write_manifest,
)
from emoconvey.generate.progress import ProgressBar
from emoconvey.generate.protocol import (
    DEFAULT_PROMPT_TEMPLATE,
    SERVICE_PROMPT_TEMPLATE,
    build_prompt,
    check_crop_fits,
    check_system_name,
    derive_seed,
)

__all__ = ["WorkItem", "load_intents", "resolve_device", "run_generation", "work_items"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkItem:
    """One clip to make: where it goes and everything that fixes its content."""

    intent: str
    index: int
    prompt: str
    seed: int
    crop_seed: int
    instrumental: bool

    def request(self, seconds: float) -> GenerationRequest:
        return GenerationRequest(prompt=self.prompt, seconds=seconds, seed=self.seed,
                                 instrumental=self.instrumental)


def load_intents(intents: str | Path | pd.DataFrame = "aimoclips") -> pd.DataFrame:
    """``"aimoclips"``, an intents file or a DataFrame, validated by
    :func:`emoconvey.intents.validate_intents`.

    A file is either the release's ``emotion_intents_metadata.csv`` (``quadrant``,
    ``emotion``, ``gt_valence``, ``gt_arousal``; what ``intents select``, ``intents
    from-words`` and ``intents from-text`` write) or the internal table (``intent``,
    ``norm_valence``, ``norm_arousal``, ``quadrant``); extra columns are fine.
    """
    from emoconvey.intents import aimoclips_intents, validate_intents

    if isinstance(intents, pd.DataFrame):
        return validate_intents(intents)
    if str(intents) == "aimoclips":
        return aimoclips_intents()
    from emoconvey.data.dataset import read_intents
    from emoconvey.data.formats import read_csv

    raw = read_csv(intents, what="--intents")
    if "emotion" in raw.columns and "intent" not in raw.columns:
        return read_intents(intents)
    return validate_intents(raw, name=str(intents))


def resolve_device(device: str, requires: Sequence[str] = ("torch",)) -> str:
    """``"auto"`` becomes ``"cuda"``, ``"mps"`` or ``"cpu"``; other values are checked.

    Backends that do not need torch always run on ``"cpu"`` under ``"auto"``.
    """
    if device not in ("auto", "cpu", "mps") and not device.startswith("cuda"):
        raise EmoconveyError(f"--device: expected auto, cpu, cuda, cuda:N or mps, got {device!r}")
    if device == "cpu" or (device == "auto" and "torch" not in requires):
        return "cpu"
    try:
        import torch
    except ImportError:
        if device == "auto":
            return "cpu"
        raise EmoconveyError(
            f"--device {device}: needs torch; install it with pip install \"emoconvey[generate]\""
        ) from None
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EmoconveyError(
            f"--device {device}: no CUDA device is available here; use --device cpu"
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise EmoconveyError("--device mps: MPS is not available here; use --device cpu")
    return device


def work_items(intents: pd.DataFrame, *, system: str, clips_per_intent: int, seed: int,
               template: str, instrumental: bool) -> list[WorkItem]:
    """The run's items in intents-table order, index 1..N."""
    return [
        WorkItem(
            intent=word,
            index=n,
            prompt=build_prompt(word, template=template),
            seed=derive_seed(seed, system, word, n),
            crop_seed=derive_seed(seed, system, word, n, purpose="crop"),
            instrumental=instrumental,
        )
        for word in intents["intent"]
        for n in range(1, clips_per_intent + 1)
    ]


def _chunks(items: Sequence[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _make_backend(cls: type[Backend], checkpoint: str | None, device: str,
                  options: Mapping[str, Any]) -> Backend:
    backend = cls(checkpoint, device=device, **dict(options))
    backend.load()
    return backend


def _generate(backend: Backend, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
    results = backend.generate(requests)
    if len(results) != len(requests):
        raise EmoconveyError(
            f"backend {type(backend).__name__} returned {len(results)} clip(s) for "
            f"{len(requests)} request(s)"
        )
    return results


def run_generation(
    *,
    backend: str | type[Backend],
    system: str,
    out: str | Path,
    intents: str | Path | pd.DataFrame = "aimoclips",
    clips_per_intent: int = 14,
    checkpoint: str | None = None,
    seconds: float = 30.0,
    crop: float = 10.0,
    seed: int = 0,
    batch_size: int = 1,
    device: str = "auto",
    prompt_template: str | None = None,
    options: Mapping[str, Any] | None = None,
    ray: bool | str | None = None,
    workers: int | None = None,
    progress: bool = False,
    whole_clip: bool = False,
) -> pd.DataFrame:
    """Generate ``clips_per_intent`` clips per intent with one backend.

    Parameters
    ----------
    backend : str or Backend subclass
        Registry name (``"musicgen"``, ``"cues"``, ...), ``"module:Class"`` or a class.
    system : str
        System name: folder and file prefix (a valid path segment).
    out : path
        Output folder (created); may already hold other systems or a partial run.
    intents : "aimoclips", path or DataFrame
        The intents table; extra columns are ignored.
    clips_per_intent : int
        N clips per intent (AImoclips: 14).
    checkpoint : str, optional
        Hub id or local folder; default the backend's.
    seconds, crop : float
        Length generated and length of the crop (30 and 10 in AImoclips).
    seed : int
        Base seed; every clip's seeds derive from (seed, system, intent, index).
    batch_size : int
        Requests per backend call.
    device : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    prompt_template : str, optional
        Default ``"{word}, instrumental"`` (``"{word}"`` for instrumental-switch backends).
    options : mapping, optional
        Backend options (JSON-serialisable; recorded in the parameters).
    ray : bool or str, optional
        ``None``/``False``: run here; ``True`` or ``"local"``: a local Ray cluster;
        an address (``"ray://host:10001"``, ``"auto"``): that cluster.
    workers : int, optional
        Ray actors; default one per GPU (cuda) or per CPU of the cluster.
    progress : bool
        Show a progress bar with clips/s and ETA.
    whole_clip : bool
        Keep each clip whole instead of cropping it (flagged ``uncropped``): for models
        whose native length is too short for the crop window, such as Mustango's 10 s.

    Returns
    -------
    DataFrame
        This system's manifest rows (:data:`~emoconvey.generate.output.MANIFEST_COLUMNS`),
        sorted by intent and index; ``attrs["made"]`` and ``attrs["skipped"]`` count the
        clips made by this call and those already present (a resumed or repeated run).

    Raises
    ------
    EmoconveyError
        Bad arguments, a backend that cannot load or fails. A run that fails before
        finishing any clip removes the folders it created (or the empty manifest it wrote).
    """
    run = _plan(backend=backend, system=system, out=out, intents=intents,
                clips_per_intent=clips_per_intent, checkpoint=checkpoint, seconds=seconds,
                crop=crop, seed=seed, batch_size=batch_size, device=device,
                prompt_template=prompt_template, options=options, workers=workers,
                whole_clip=whole_clip)
    out = run.out
    created = _first_missing(out)
    manifest_existed = (out / MANIFEST_NAME).is_file()
    out.mkdir(parents=True, exist_ok=True)
    remove_temp_files(out, system)
    manifest = read_manifest(out)
    write_manifest(out, manifest)  # a clean, de-duplicated file to append to
    todo = _todo(out, manifest, system, run.items, run.settings)
    skipped = len(run.items) - len(todo)
    if skipped:
        log.info("%s: %d of %d clips already done, %d to make", system, skipped,
                 len(run.items), len(todo))
    bar = ProgressBar(len(todo), f"{system} ({run.backend_name})", progress)
    failed = True
    try:
        if todo:
            _execute(run, todo, bar, ray=ray, workers=workers)
        failed = False
    finally:
        bar.close(failed=failed)
        if failed and not bar.done:
            _remove_what_it_made(out, created, manifest_existed)
    result = _collect(run)
    result.attrs.update(made=len(todo), skipped=skipped)
    return result


@dataclass(frozen=True)
class _Run:
    """The checked arguments of a run: everything fixed before the first clip."""

    cls: type[Backend]
    backend_name: str
    system: str
    out: Path
    checkpoint: str | None
    device: str
    options: dict[str, Any]
    intents: tuple[str, ...]
    items: list[WorkItem]
    seconds: float
    crop: float
    seed: int
    batch_size: int
    whole_clip: bool

    @property
    def settings(self) -> dict[str, Any]:
        """What a manifest row must match to count as done (see :func:`_todo`)."""
        return {"backend": self.backend_name,
                "checkpoint": self.checkpoint or self.cls.default_checkpoint or "",
                "requested_seconds": self.seconds, "crop_seconds": self.crop,
                "base_seed": self.seed}

    def finish(self, item: WorkItem, gen: GeneratedAudio, info: Mapping[str, Any],
               wall: float) -> dict[str, Any]:
        """Crop and write one generated clip; return its manifest row."""
        extra = list(gen.flags)
        if self.cls.max_seconds is not None and self.seconds > self.cls.max_seconds:
            extra.append(f"native_length_{self.cls.max_seconds:g}s")
        fields = finish_clip(
            self.out, system=self.system, intent=item.intent, index=item.index,
            audio=gen.audio, sample_rate=int(gen.sample_rate), crop=self.crop,
            crop_seed=item.crop_seed, requested_seconds=self.seconds, extra_flags=extra,
            whole=self.whole_clip,
        )
        params = {k: v for k, v in self.options.items() if k != "norms"}
        params.update(gen.params)
        return {
            "system": self.system, "backend": self.backend_name,
            "checkpoint": info.get("checkpoint") or self.settings["checkpoint"],
            "revision": info.get("revision", ""), "intent": item.intent, "index": item.index,
            "prompt": item.prompt, "instrumental": item.instrumental, "base_seed": self.seed,
            "seed": item.seed, "crop_seed": item.crop_seed, "requested_seconds": self.seconds,
            **fields, "params": to_json(params), "versions": to_json(info.get("versions", {})),
            "device": info.get("device", self.device), "wall_seconds": wall,
        }


def _plan(*, backend: str | type[Backend], system: str, out: str | Path,
          intents: str | Path | pd.DataFrame, clips_per_intent: int, checkpoint: str | None,
          seconds: float, crop: float, seed: int, batch_size: int, device: str,
          prompt_template: str | None, options: Mapping[str, Any] | None,
          workers: int | None, whole_clip: bool) -> _Run:
    """Check every argument of :func:`run_generation` (nothing is written yet)."""
    check_system_name(system)
    seconds, crop = float(seconds), float(crop)
    check_crop_fits(seconds, crop)
    for name, value in (("--clips-per-intent", clips_per_intent), ("--batch-size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise EmoconveyError(f"{name}: expected a positive integer, got {value!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise EmoconveyError(f"--workers: expected a positive integer, got {workers!r}")
    cls = get_backend(backend) if isinstance(backend, str) else backend
    backend_name = backend if isinstance(backend, str) else (cls.name or cls.__name__)
    table = load_intents(intents)
    device = resolve_device(device, tuple(cls.requires))
    opts = dict(options or {})
    if getattr(cls, "uses_norms", False) and "norms" not in opts:
        opts["norms"] = {r.intent: [r.norm_valence, r.norm_arousal] for r in table.itertuples()}
    native = min(seconds, cls.max_seconds or seconds)
    if not whole_clip and crop > 0.7 * native + 1e-9:
        raise EmoconveyError(
            f"--crop: {backend_name} makes at most {native:g} s per clip, too short for a "
            f"{crop:g} s crop between the 15 % and 85 % marks; use --crop "
            f"{0.7 * native:g} or less, or --whole-clip to keep each clip uncropped (flagged)"
        )
    if cls.max_seconds is not None and seconds > cls.max_seconds:
        log.warning("%s makes at most %g s per clip; asked for %g s (flagged in the manifest)",
                    backend_name, cls.max_seconds, seconds)
    template = prompt_template or (
        SERVICE_PROMPT_TEMPLATE if cls.instrumental_switch else DEFAULT_PROMPT_TEMPLATE
    )
    items = work_items(table, system=system, clips_per_intent=clips_per_intent, seed=seed,
                       template=template, instrumental=cls.instrumental_switch)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EmoconveyError(f"--out: {str(out)!r} is a file; expected a folder")
    return _Run(cls=cls, backend_name=backend_name, system=system, out=out,
                checkpoint=checkpoint, device=device, options=opts,
                intents=tuple(table["intent"]), items=items, seconds=seconds, crop=crop,
                seed=seed, batch_size=batch_size, whole_clip=whole_clip)


def _execute(run: _Run, todo: Sequence[WorkItem], bar: ProgressBar, *,
             ray: bool | str | None, workers: int | None) -> None:
    """Generate ``todo`` here or on Ray, appending each finished batch to the manifest."""
    # Batches are cut from the whole item list, not from what is left to do, so that a
    # resumed run gives every clip the same batch neighbours as an uninterrupted one
    # (batched sampling can differ in the last bit with other neighbours). Clips of a
    # batch that are already done are generated again but not rewritten.
    keep = set(todo)
    batches = [b for b in _chunks(run.items, run.batch_size) if any(it in keep for it in b)]

    def on_done(rows: list[dict[str, Any]]) -> None:
        append_rows(run.out, rows)
        bar.advance(len(rows))

    if ray not in (None, False):
        from emoconvey.generate.ray_runner import run_on_ray

        run_on_ray(
            cls=run.cls, backend_name=run.backend_name, checkpoint=run.checkpoint,
            device=run.device, options=run.options, batches=batches, keep=keep,
            seconds=run.seconds, batch_size=run.batch_size,
            address=None if ray in (True, "local") else str(ray), workers=workers,
            finish=run.finish, on_done=on_done,
        )
    else:
        _run_local(run.cls, run.backend_name, run.checkpoint, run.device, run.options,
                   batches, keep, run.seconds, run.batch_size, run.finish, on_done)


def _collect(run: _Run) -> pd.DataFrame:
    """The final manifest, rewritten sorted; this run's rows in intents-table order."""
    final = read_manifest(run.out)
    write_manifest(run.out, final)
    mine = final[final["system"] == run.system]
    keys = {(i.intent, str(i.index)) for i in run.items}
    mine = mine[[(r.intent, str(r.index)) in keys for r in mine.itertuples()]]
    _summarise_flags(run.system, mine)
    order = {w: i for i, w in enumerate(run.intents)}
    mine = mine.assign(_o=mine["intent"].map(order), _i=pd.to_numeric(mine["index"]))
    mine = mine.sort_values(["_o", "_i"]).drop(columns=["_o", "_i"]).reset_index(drop=True)
    return typed_manifest(mine)


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (``None`` if it does)."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            break
        missing = p
    return missing


def _remove_what_it_made(out: Path, created: Path | None, manifest_existed: bool) -> None:
    """After a run that failed before finishing any clip: remove the folders it created,
    or the header-only manifest it wrote into an existing folder."""
    import shutil

    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
    elif not manifest_existed:
        (out / MANIFEST_NAME).unlink(missing_ok=True)


def _todo(out: Path, manifest: pd.DataFrame, system: str, items: Sequence[WorkItem],
          settings: Mapping[str, Any]) -> list[WorkItem]:
    rows = {(r["intent"], r["index"]): r for r in
            manifest[manifest["system"] == system].to_dict("records")}
    todo = []
    redo = 0
    for item in items:
        row = rows.get((item.intent, str(item.index)))
        same = row is not None and all(
            str(row.get(k)) == str(v) for k, v in {
                "prompt": item.prompt, "seed": item.seed, "crop_seed": item.crop_seed,
                "backend": settings["backend"], "requested_seconds": repr(
                    round(float(settings["requested_seconds"]), 6)),
                "crop_seconds": repr(round(float(settings["crop_seconds"]), 6)),
                "base_seed": settings["base_seed"],
            }.items()
        ) and (not settings["checkpoint"] or row.get("checkpoint") == settings["checkpoint"])
        if same and files_match(out, row):
            continue
        redo += row is not None
        todo.append(item)
    if redo:
        log.warning("%s: redoing %d clip(s) whose files or settings differ from the manifest",
                    system, redo)
    return todo


def _run_local(cls: type[Backend], backend_name: str, checkpoint: str | None, device: str,
               options: Mapping[str, Any], batches: Sequence[list[WorkItem]],
               keep: set[WorkItem], seconds: float, batch_size: int,
               finish: Callable[..., dict[str, Any]],
               on_done: Callable[[list[dict[str, Any]]], Any]) -> None:
    backend = _make_backend(cls, checkpoint, device, options)
    info = backend.info()
    for batch in batches:
        t0 = time.perf_counter()
        try:
            results = _generate(backend, [it.request(seconds) for it in batch])
        except EmoconveyError:
            raise
        except Exception as exc:
            if is_oom(exc):
                raise GenerationOOMError(batch_size=batch_size, device=device,
                                         backend=backend_name, seconds=seconds) from None
            raise
        wall = (time.perf_counter() - t0) / len(batch)
        on_done([finish(it, gen, info, wall) for it, gen in zip(batch, results, strict=True)
                 if it in keep])


def _summarise_flags(system: str, rows: pd.DataFrame) -> Counter[str]:
    counts: Counter[str] = Counter()
    for cell in rows["flags"]:
        counts.update(f for f in str(cell).split(";") if f)
    worrying = {k: v for k, v in counts.items() if k in ("nan", "near_silent", "clipped",
                                                           "shorter_than_asked")}
    if worrying:
        log.warning("%s: flagged clips: %s (see the manifest's flags column)", system,
                    ", ".join(f"{k} {v}" for k, v in sorted(worrying.items())))
    return counts
