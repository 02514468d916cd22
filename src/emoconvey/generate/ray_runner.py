"""Generation on a Ray cluster: one backend per actor, files written by the driver.

Each actor loads the model once (one GPU per actor on CUDA, one CPU otherwise) and
returns the generated audio of a batch; the driver crops, writes and appends to the
manifest as batches come back, so the output is the same as a local run's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emoconvey._ray import import_ray, start_ray
from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import Backend, GeneratedAudio
from emoconvey.generate.oom import GenerationOOMError, is_oom

__all__ = ["run_on_ray"]

log = logging.getLogger(__name__)


class _Worker:
    """The body of a Ray actor: one loaded backend."""

    def __init__(self, target: str | type[Backend], checkpoint: str | None, device: str,
                 options: Mapping[str, Any]) -> None:
        from emoconvey.generate.backends.registry import get_backend

        # errors are kept and reported by info(): an actor that dies in its constructor
        # reaches the driver as an opaque ActorDiedError
        self.error: tuple[bool, str] | None = None
        try:
            cls = get_backend(target) if isinstance(target, str) else target
            self.backend = cls(checkpoint, device=device, **dict(options))
            self.backend.load()
        except Exception as exc:
            self.error = (isinstance(exc, EmoconveyError), f"{exc}" if isinstance(
                exc, EmoconveyError) else f"{type(exc).__name__}: {exc}")

    def info(self) -> dict[str, Any]:
        if self.error is not None:
            return {"__error__": self.error}
        return self.backend.info()

    def generate(self, batch_id: int, requests: Sequence[Any]
                 ) -> tuple[int, list[GeneratedAudio], float, str]:
        t0 = time.perf_counter()
        try:
            results = self.backend.generate(requests)
        except EmoconveyError:
            raise
        except Exception as exc:
            if is_oom(exc):
                return batch_id, [], 0.0, "oom"
            raise
        return batch_id, list(results), time.perf_counter() - t0, ""


def _unwrap(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


PIPELINE_DEPTH = 2
"""Batches queued per actor at a time (the driver writes files while actors generate)."""


def run_on_ray(*, cls: type[Backend], backend_name: str, checkpoint: str | None, device: str,
               options: Mapping[str, Any], batches: Sequence[list[Any]], keep: set[Any],
               seconds: float, batch_size: int, address: str | None, workers: int | None,
               finish: Callable[..., dict[str, Any]],
               on_done: Callable[[list[dict[str, Any]]], Any]) -> None:
    """Generate ``batches`` on Ray; ``finish``/``on_done`` run on the driver for the
    items in ``keep``."""
    ray = import_ray()

    started = start_ray(ray, address, workers)
    try:
        resources = ray.cluster_resources()
        gpu = device.startswith("cuda")
        available = int(resources.get("GPU" if gpu else "CPU", 0))
        if available < 1:
            raise EmoconveyError(
                f"--ray: the cluster has no {'GPU' if gpu else 'CPU'}; use --device cpu"
                if gpu else "--ray: the cluster has no CPU"
            )
        n = min(workers or available, available, len(batches))
        actor_cls = ray.remote(num_gpus=1 if gpu else 0, num_cpus=0 if gpu else 1)(_Worker)
        target: str | type[Backend] = backend_name if cls.__module__.startswith(
            "emoconvey.generate.backends") else cls
        actors = [actor_cls.remote(target, checkpoint, "cuda" if gpu else device, options)
                  for _ in range(n)]
        log.info("ray: %d worker(s) on %s", n, "GPU" if gpu else "CPU")
        try:
            infos = ray.get([a.info.remote() for a in actors])
        except Exception as exc:
            raise _unwrap(exc) from None
        for inf in infos:
            if "__error__" in inf:
                known, message = inf["__error__"]
                if known:
                    raise EmoconveyError(message)
                raise RuntimeError(f"a Ray worker could not load {backend_name}: {message}")
        info = infos[0]
        pending: dict[Any, Any] = {}
        queue = list(enumerate(batches))
        # two slots per actor: an actor runs its calls in order, so its next batch is
        # already queued while the driver writes the previous one's files
        idle = [a for a in actors for _ in range(PIPELINE_DEPTH)]
        while queue or pending:
            while queue and idle:
                actor = idle.pop()
                bid, batch = queue.pop(0)
                ref = actor.generate.remote(bid, [it.request(seconds) for it in batch])
                pending[ref] = actor
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                idle.append(pending.pop(ref))
                try:
                    bid, results, wall, status = ray.get(ref)
                except Exception as exc:
                    raise _unwrap(exc) from None
                if status == "oom":
                    raise GenerationOOMError(batch_size=batch_size, device=device,
                                             backend=backend_name, seconds=seconds)
                batch = batches[bid]
                if len(results) != len(batch):
                    raise EmoconveyError(f"backend {backend_name} returned {len(results)} "
                                         f"clip(s) for {len(batch)} request(s)")
                per = wall / len(batch)
                on_done([finish(it, gen, info, per) for it, gen in
                         zip(batch, results, strict=True) if it in keep])
        for a in actors:
            ray.kill(a)
    finally:
        if started:
            ray.shutdown()
