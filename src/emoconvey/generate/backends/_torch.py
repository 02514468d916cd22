"""Helpers shared by the torch-based backends (MusicGen, AudioLDM 2, Stable Audio, ...).

Everything here imports torch and the Hugging Face libraries lazily, inside functions.
It covers what every model backend does the same way:

* checking that the ``generate`` extra is installed (:func:`require_modules`);
* resolving a checkpoint (a local folder or a hub id) with a clear message when it
  cannot be loaded offline (:func:`resolve_checkpoint`, :func:`load_or_explain`);
* choosing the dtype (fp16 on CUDA where safe, float32 elsewhere: :func:`torch_dtype`);
* seeding each item on its own (:func:`item_generators`, :func:`seeded`);
* turning CUDA out-of-memory into :class:`GenerationOOMError`, which names the batch
  size to try next (:func:`oom_guard`);
* the manifest's ``info()`` (revision and library versions: :func:`library_versions`).

Reproducibility contract of the torch backends
----------------------------------------------
Each request's random draws come from its own stream seeded with ``request.seed``
(per-item ``torch.Generator`` objects; for MusicGen a per-item Gumbel-max sampler; for
pipelines without generator support, one item at a time under :func:`seeded`). So:

* the same batch (same requests, same order) gives bit-identical audio on every run with
  the same software and hardware;
* a request generated in a different batch (another batch size or other neighbours)
  differs only by floating-point rounding of batched matrix products (about 1e-7 on CPU),
  because the numerics of a batched product depend on the batch shape;
* with the option ``sequential=True`` a backend generates one request per call, so the
  audio is bit-identical whatever the batch size.

A runner that needs identical files across a resumed or distributed run either cuts the
work list into the same fixed batches every time (regenerating a whole batch when any of
its clips is missing) or sets ``sequential=True``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import Backend, BackendUnavailableError
from emoconvey.generate.oom import GenerationOOMError

__all__ = [
    "GenerationOOMError",
    "ResolvedCheckpoint",
    "TorchBackend",
    "as_channels_first",
    "dtype_kwargs",
    "hf_cache_dir",
    "item_generators",
    "library_versions",
    "load_or_explain",
    "oom_guard",
    "require_modules",
    "resolve_checkpoint",
    "seeded",
    "torch_device",
    "torch_dtype",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

INSTALL_HINT = 'pip install "emoconvey[generate]"'


def require_modules(modules: Sequence[str], *, backend: str) -> None:
    """Import each module or raise :class:`BackendUnavailableError` naming the extra.

    Parameters
    ----------
    modules : sequence of str
        Importable module names (``"torch"``, ``"diffusers"``...).
    backend : str
        The backend's registry name, for the message.
    """
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a broken install counts as missing too
            missing.append(f"{name} ({exc.__class__.__name__}: {exc})")
    if missing:
        raise BackendUnavailableError(
            f"backend {backend!r} needs {', '.join(missing)}; install it with: {INSTALL_HINT}"
        )


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder (honours ``HF_HUB_CACHE`` / ``HF_HOME``)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        home = os.environ.get("HF_HOME", os.path.join(Path.home(), ".cache", "huggingface"))
        return os.environ.get("HF_HUB_CACHE", os.path.join(home, "hub"))


def _offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """Where a checkpoint will be loaded from.

    Attributes
    ----------
    source : str
        What to give ``from_pretrained``: a local folder or the hub id.
    is_local : bool
        Whether ``source`` is a folder on disk.
    revision : str
        The commit hash when known (a hub cache snapshot), else ``""``.
    from_cache : bool
        Whether ``source`` is a hub cache snapshot found for a hub id.
    """

    source: str
    is_local: bool
    revision: str
    from_cache: bool = False


def _looks_like_path(checkpoint: str) -> bool:
    return (
        checkpoint.startswith(("/", "./", "../", "~", "\\"))
        or checkpoint.count("/") > 1
        or (os.sep in checkpoint and os.sep != "/")
        or (len(checkpoint) > 1 and checkpoint[1] == ":")
    )


def _snapshot_revision(folder: Path) -> str:
    """The commit hash when ``folder`` is a hub cache snapshot (``.../snapshots/<hash>``)."""
    parts = folder.resolve().parts
    if len(parts) >= 2 and parts[-2] == "snapshots" and len(parts[-1]) == 40:
        return parts[-1]
    return ""


def resolve_checkpoint(checkpoint: str | None, *, backend: str) -> ResolvedCheckpoint:
    """Decide where ``checkpoint`` is loaded from, failing early with a clear message.

    A folder that exists is used as is. Anything else is a hub id: when it is already
    in the hub cache its snapshot folder is used (and its commit hash recorded); when it
    is not and ``HF_HUB_OFFLINE`` is set, :class:`BackendUnavailableError` says where it
    was looked for and how to download it ahead of time. Online, an uncached hub id is
    left to ``from_pretrained`` to download.

    Raises
    ------
    BackendUnavailableError
        No checkpoint given, a path-like checkpoint that is not a folder, or an uncached
        hub id while offline.
    """
    if not checkpoint:
        raise BackendUnavailableError(
            f"backend {backend!r}: no checkpoint given and the backend has no default"
        )
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        return ResolvedCheckpoint(str(folder), True, _snapshot_revision(folder))
    if _looks_like_path(checkpoint) or folder.exists():
        raise BackendUnavailableError(
            f"backend {backend!r}: checkpoint folder {checkpoint!r} does not exist or is not "
            "a folder (expected a folder written by save_pretrained, or a hub id such as "
            "'facebook/musicgen-medium')"
        )
    snapshot = ""
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(checkpoint, local_files_only=True)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        snapshot = ""
    except Exception as exc:  # not in the cache (LocalEntryNotFoundError and friends)
        logger.debug("%s not in the hub cache: %s", checkpoint, exc)
        snapshot = ""
    if snapshot:
        path = Path(snapshot)
        return ResolvedCheckpoint(str(path), True, _snapshot_revision(path), from_cache=True)
    if _offline():
        raise BackendUnavailableError(offline_message(checkpoint, backend=backend))
    return ResolvedCheckpoint(checkpoint, False, "")


def offline_message(checkpoint: str, *, backend: str) -> str:
    """The one-line explanation for a hub checkpoint that cannot be loaded offline."""
    return (
        f"backend {backend!r}: checkpoint {checkpoint!r} is not in the Hugging Face cache "
        f"({hf_cache_dir()}) and HF_HUB_OFFLINE is set; download it ahead of time with "
        f"`huggingface-cli download {checkpoint}` (or `hf download {checkpoint}`), "
        "or pass --checkpoint with a local folder"
    )


def load_or_explain(
    loader: Callable[[], T], resolved: ResolvedCheckpoint, *, checkpoint: str, backend: str
) -> T:
    """Call ``loader`` and turn a missing or unreadable checkpoint into a clear error."""
    try:
        return loader()
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        if resolved.from_cache:
            raise BackendUnavailableError(
                f"backend {backend!r}: {checkpoint!r} is in the Hugging Face cache "
                f"({resolved.source}) but cannot be loaded: {first}; the download may be "
                f"incomplete: run `huggingface-cli download {checkpoint}` again"
            ) from exc
        if resolved.is_local:
            raise BackendUnavailableError(
                f"backend {backend!r}: cannot load the checkpoint in {resolved.source!r}: {first}"
            ) from exc
        raise BackendUnavailableError(
            f"backend {backend!r}: cannot load {checkpoint!r} from the hub or its cache "
            f"({hf_cache_dir()}): {first}; download it ahead of time with "
            f"`huggingface-cli download {checkpoint}`, or pass a local folder"
        ) from exc


def torch_device(device: str) -> Any:
    """``torch.device`` for ``device``, with a clear error for an unavailable accelerator."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise EmoconveyError(
            f"device {device!r} is not a torch device (expected cpu, cuda, cuda:N or mps)"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"device {device!r} asked for but torch {torch.__version__} sees no CUDA device"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise BackendUnavailableError(f"device {device!r} asked for but MPS is not available")
    return dev


_DTYPES = ("auto", "float32", "float16", "bfloat16")


def torch_dtype(option: Any, device: Any) -> Any:
    """The dtype for weights: ``"auto"`` is float16 on CUDA and float32 elsewhere.

    CPU half precision is slow and poorly supported, so ``"auto"`` never picks it.
    """
    import torch

    name = "auto" if option is None else str(option).removeprefix("torch.")
    if name not in _DTYPES:
        raise EmoconveyError(f"option dtype={option!r}: expected one of {', '.join(_DTYPES)}")
    if name == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return getattr(torch, name)


def dtype_kwargs(library: str, dtype: Any) -> dict[str, Any]:
    """The ``from_pretrained`` keyword for the dtype in this version of ``library``.

    transformers renamed ``torch_dtype`` to ``dtype`` in 4.56 (older versions silently
    ignore ``dtype``); diffusers accepts ``torch_dtype`` throughout (0.36+ also ``dtype``,
    with a deprecation warning for the old name), so it keeps ``torch_dtype``.
    """
    if library == "transformers":
        import transformers

        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}
    return {"torch_dtype": dtype}


def item_generators(seeds: Sequence[int], device: Any) -> list[Any]:
    """One ``torch.Generator`` per item, seeded with the item's own seed.

    Generators live on the CPU for CPU and MPS (MPS generators are not reproducible
    across machines) and on the CUDA device otherwise, as diffusers recommends.
    """
    import torch

    where = device if device.type == "cuda" else torch.device("cpu")
    return [torch.Generator(device=where).manual_seed(int(s)) for s in seeds]


@contextlib.contextmanager
def seeded(seed: int, device: Any) -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` without leaking the global state.

    The caller's CPU (and CUDA, when used) random state is restored afterwards
    (``torch.random.fork_rng``).
    """
    import torch

    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def oom_guard(*, batch_size: int, device: Any, backend: str) -> Iterator[None]:
    """Turn ``torch.OutOfMemoryError`` into :class:`GenerationOOMError` (cache emptied)."""
    import torch

    oom_types: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError,)
    if hasattr(torch, "OutOfMemoryError"):
        oom_types = (*oom_types, torch.OutOfMemoryError)
    try:
        yield
    except oom_types as exc:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise GenerationOOMError(
            batch_size=batch_size, device=str(device), backend=backend, detail=str(exc)
        ) from exc


def as_channels_first(audio: Any, *, channels: int | None = None) -> np.ndarray:
    """float32 ``(channels, samples)`` from a tensor or array of shape (samples,) or (c, s)."""
    if hasattr(audio, "detach"):
        audio = audio.detach().float().cpu().numpy()
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise EmoconveyError(f"model returned audio of shape {arr.shape}; expected 1 or 2 axes")
    if channels is not None and arr.shape[0] != channels and arr.shape[1] == channels:
        arr = arr.T
    return np.ascontiguousarray(arr, dtype=np.float32)


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of ``torch`` and the given distributions (``""`` when absent)."""
    out: dict[str, str] = {}
    for name in ("torch", *names):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = ""
    return out


class TorchBackend(Backend):
    """Base class of the torch model backends: the shared start of ``load()``.

    :meth:`load` checks that :attr:`load_requires` import, resolves the checkpoint
    (:func:`resolve_checkpoint`), chooses the device (:func:`torch_device`) and the dtype
    (:func:`torch_dtype` of option ``dtype``), records the revision, then calls the
    subclass's :meth:`_load`. The constructor rejects options not in
    :attr:`allowed_options` (:meth:`Backend.check_options`); :meth:`info` records the
    versions of torch and :attr:`versioned`.
    """

    allowed_options: ClassVar[frozenset[str]] = frozenset()
    load_requires: ClassVar[tuple[str, ...] | None] = None  # default: ``requires``
    #: distributions whose versions :meth:`info` records (besides torch)
    versioned: ClassVar[tuple[str, ...]] = ("transformers",)

    def __init__(
        self, checkpoint: str | None = None, *, device: str = "cpu", **options: Any
    ) -> None:
        super().__init__(checkpoint, device=device, **options)
        self.check_options(self.allowed_options)
        self._revision = ""
        self._device: Any = None
        self._dtype: Any = None
        self._model: Any = None  # what _load made (a model or pipeline), or None

    def load(self) -> None:
        """Modules, checkpoint, device and dtype, then :meth:`_load` (see the class docs)."""
        modules = self.requires if self.load_requires is None else self.load_requires
        require_modules(modules, backend=self.name)
        self._before_resolve()
        resolved = resolve_checkpoint(self.checkpoint, backend=self.name)
        self._device = torch_device(self.device)
        self._dtype = torch_dtype(self.options.get("dtype"), self._device)
        self._revision = resolved.revision
        self._load(resolved)

    def _before_resolve(self) -> None:
        """Checks to make before the checkpoint is resolved (none by default)."""

    def _load(self, resolved: ResolvedCheckpoint) -> None:
        """Load the model from ``resolved`` (``self._device``, ``self._dtype`` are set)."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """Checkpoint, revision, versions of torch and :attr:`versioned`, device."""
        return {
            "checkpoint": self.checkpoint or "",
            "revision": self._revision,
            "versions": library_versions(*self.versioned),
            "device": self.device,
        }

    def _load_or_explain(self, loader: Callable[[], T], resolved: ResolvedCheckpoint) -> T:
        """:func:`load_or_explain` for this backend's checkpoint."""
        return load_or_explain(loader, resolved, checkpoint=str(self.checkpoint),
                               backend=self.name)
