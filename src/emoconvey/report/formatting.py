"""Number formatting shared by the report's text, tables and JSON."""

from __future__ import annotations

import numpy as np

from emoconvey._json import json_records, json_value

__all__ = ["fmt_df", "fmt_num", "fmt_p", "json_records", "json_value"]


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


