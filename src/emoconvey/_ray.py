"""Starting or joining a Ray cluster, shared by generation and prediction (``--ray``)."""

from __future__ import annotations

from typing import Any

from emoconvey.errors import EmoconveyError

__all__ = ["import_ray", "start_ray"]


def import_ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise EmoconveyError(
            "--ray: needs ray; install it with pip install \"emoconvey[ray]\""
        ) from None
    return ray


def start_ray(ray: Any, address: str | None, workers: int | None) -> bool:
    """Start a local Ray (``address`` None, ``workers`` CPUs) or join ``address``, unless
    Ray is already running; returns whether this call started it (the caller then shuts
    it down)."""
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False,
                     **({"num_cpus": workers} if workers else {}))
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EmoconveyError(f"--ray {address or ''}: cannot start or reach the Ray "
                             f"cluster ({exc})".replace(" )", ")")) from None
    return True
