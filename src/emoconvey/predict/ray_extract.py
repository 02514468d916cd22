"""Feature extraction spread over a Ray cluster (``predict train/run --ray``).

:class:`RayExtractor` wraps an extractor: it has the same ``id``, ``version``, options and
cache key, so :func:`~emoconvey.predict.extractors.extract_features` reads and fills the
same feature cache on the driver (the cache is shared with local runs, and only files
missing from it travel to the cluster). Its :meth:`~RayExtractor.extract` sends batches
of file paths to Ray actors, each holding its own copy of the extractor (one CPU each,
loaded once), and puts the rows back in file order, so the features, and everything
computed from them, are those of a local run. The audio files must be readable at the
same paths on every node (a shared file system). Text embeddings stay on the driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emoconvey._ray import import_ray, start_ray
from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors import Extractor, get_extractor

__all__ = ["RayExtractor"]

log = logging.getLogger(__name__)


class _Worker:
    """The body of a Ray actor: one extractor, built once."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.error = ""
        try:
            self.extractor = get_extractor(name, **options)
        except Exception as exc:  # reported by extract(): a dead actor says nothing
            self.error = f"{type(exc).__name__}: {exc}"

    def extract(self, batch_id: int, paths: list[str]) -> tuple[int, np.ndarray | str]:
        if self.error:
            return batch_id, self.error
        return batch_id, np.asarray(self.extractor.extract(paths), dtype=np.float32)


class RayExtractor(Extractor):
    """``inner``'s features computed by Ray actors (see the module docstring).

    Parameters
    ----------
    inner : Extractor
        A registered extractor (rebuilt on each actor from its id and options).
    address : str, optional
        ``ray://host:10001`` or ``auto``; default a local Ray started for the call.
    workers : int, optional
        Actors (default: the cluster's CPUs, at most one per batch).
    batch_size : int, default 8
        Files per task.
    """

    def __init__(self, inner: Extractor, *, address: str | None = None,
                 workers: int | None = None, batch_size: int = 8) -> None:
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise EmoconveyError(f"batch_size: expected a positive integer, got {batch_size!r}")
        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise EmoconveyError(f"--workers: expected a positive integer, got {workers!r}")
        self.inner = inner
        self.id, self.version = inner.id, inner.version
        self.supports_text = inner.supports_text
        self.address, self.workers, self.batch_size = address, workers, int(batch_size)

    def options(self) -> dict[str, object]:
        return self.inner.options()

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_texts(texts)

    def _actor_options(self) -> dict[str, Any]:
        opts = dict(self.inner.options())
        if hasattr(self.inner, "workers"):
            opts["workers"] = 1  # one CPU per actor: no process pool inside it
        return opts

    def extract(self, paths: Sequence[str], *, progress: Callable[[int], None] | None = None
                ) -> np.ndarray:
        ray = import_ray()
        paths = [str(p) for p in paths]
        batches = [paths[i:i + self.batch_size] for i in range(0, len(paths), self.batch_size)]
        if not batches:
            return np.zeros((0, 0), np.float32)
        started = start_ray(ray, self.address, self.workers)
        try:
            return self._run(ray, batches, progress)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, batches: list[list[str]],
             progress: Callable[[int], None] | None) -> np.ndarray:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            raise EmoconveyError("--ray: the cluster has no CPU")
        n = min(self.workers or cpus, cpus, len(batches))
        actor_cls = ray.remote(num_cpus=1)(_Worker)
        actors = [actor_cls.remote(self.id, self._actor_options()) for _ in range(n)]
        log.info("ray: %d actor(s) extracting %s features", n, self.id)
        results: dict[int, np.ndarray] = {}
        pending = {actors[i % n].extract.remote(i, b): i for i, b in enumerate(batches)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    pending.pop(ref)
                    bid, rows = ray.get(ref)
                    if isinstance(rows, str):
                        raise EmoconveyError(f"a Ray worker could not build extractor "
                                             f"{self.id!r}: {rows}")
                    results[bid] = rows
                    if progress is not None:
                        progress(len(batches[bid]))
        finally:
            for a in actors:
                ray.kill(a)
        return np.vstack([results[i] for i in range(len(batches))])
