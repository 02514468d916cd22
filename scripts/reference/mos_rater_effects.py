"""Reference values for emoconvey.analysis.mos.rater_effects.

Computed **independently of the emoconvey package** with plain Python loops and scipy:
for every rating, the deviation from the mean of the other raters of the same clip and
scale (clips with a single rater skipped); per rater and scale the mean deviation and
the Student-t interval ``scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=sem)``.
The data are the person_mos files of the miniature official release of
``tests/musiceval_helpers.py``. Run from the repository root::

    PYTHONPATH=tests /work/main/.venv/bin/python scripts/reference/mos_rater_effects.py

and it writes ``tests/reference/mos_rater_effects.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from scipy import stats

from musiceval_helpers import official_files


def main() -> None:
    ratings = []
    for name, text in official_files().items():
        if name.startswith("person_mos/"):
            for line in text.splitlines():
                clip, rater, mi, ta = line.split(",")
                ratings.append((clip, rater, "MI", float(mi)))
                ratings.append((clip, rater, "TA", float(ta)))
    out = {}
    for scale in ("MI", "TA"):
        by_clip: dict[str, list[tuple[str, float]]] = {}
        for clip, rater, sc, score in ratings:
            if sc == scale:
                by_clip.setdefault(clip, []).append((rater, score))
        devs: dict[str, list[float]] = {}
        for rows in by_clip.values():
            if len(rows) < 2:
                continue
            for i, (rater, score) in enumerate(rows):
                others = [s for j, (_, s) in enumerate(rows) if j != i]
                devs.setdefault(rater, []).append(score - sum(others) / len(others))
        for rater in sorted(devs):
            d = devs[rater]
            mean = sum(d) / len(d)
            sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))
            lo, hi = stats.t.interval(0.95, len(d) - 1, loc=mean, scale=sd / math.sqrt(len(d)))
            out[f"{scale}|{rater}"] = {"n": len(d), "effect": mean, "low": lo, "high": hi}
    dst = Path("tests/reference/mos_rater_effects.json")
    dst.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
