"""Run small numeric work on one thread.

The heads and the per-file feature extraction multiply small matrices; spreading them
over BLAS or torch threads only adds synchronisation, and on a busy machine the waiting
dominates (a 10,000 x 60 Gram matrix: 1 s with two OpenBLAS threads on a loaded 2-core
machine, 1 ms with one). Parallelism comes from processes (extraction) instead.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["single_threaded"]


@contextlib.contextmanager
def single_threaded(*, torch_too: bool = False) -> Iterator[None]:
    """Limit BLAS (threadpoolctl, when installed) and optionally torch to one thread."""
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - comes with scikit-learn
            pass
        else:
            stack.enter_context(threadpool_limits(limits=1))
        if torch_too or "torch" in sys.modules:
            import torch

            before = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, before)
        yield
