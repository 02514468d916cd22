"""Number formatting shared by the report's text, tables and JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def fmt_p(p: float) -> str:
    """APA-style p value: ``p < .001`` or ``p = .023``."""
    if p is None or not np.isfinite(p):
        return "p = n/a"
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1)


def fmt_num(x: float, digits: int = 2) -> str:
    """Fixed-point number, ``n/a`` when missing, minus sign as U+2212."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:.{digits}f}".replace("-", "\u2212")


def fmt_df(df: float) -> str:
    """Degrees of freedom: integer when whole."""
    if df is None or not np.isfinite(df):
        return "n/a"
    return str(int(df)) if float(df).is_integer() else f"{df:.1f}"


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
