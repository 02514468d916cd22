"""Plain JSON values and records of tables (ground floor: any floor may write JSON).

One implementation for the report's ``results.json`` and the prediction metrics files.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_records", "json_value"]


def json_value(x: Any) -> Any:
    """A JSON-safe plain value: NaN/inf become None, numpy scalars become Python ones."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    return x


def json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``df`` as a list of dicts of plain JSON values (unrounded)."""
    cols = [str(c) for c in df.columns]
    return [
        {c: json_value(v) for c, v in zip(cols, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]
