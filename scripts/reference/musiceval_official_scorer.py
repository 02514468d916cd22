"""Reference values for ``emoconvey predict score`` on a release in the official layout.

Computed **independently of the emoconvey package** with numpy and scipy only, following
the AudioMOS 2025 track-1 baseline's scoring rules (read as facts, not copied):

* truth per clip: ``sets/test_mos_list.txt`` lines ``<wav name>,MI,TA``;
* predictions: ``answer.txt`` lines ``<wav id>,MI,TA`` (id = name without ``.wav``);
* system of a clip: strip the literal ``audiomos2025-track1-``, take the text before the
  first ``_``;
* system truth: the rows of ``system_mos/system_mos_phase1.csv`` (``system,MI,TA``);
  system prediction: the mean of the system's predicted clips; systems sorted;
* MSE ``numpy.mean((t - p) ** 2)``, LCC ``numpy.corrcoef``, SRCC
  ``scipy.stats.spearmanr``, KTAU ``scipy.stats.kendalltau`` (tau-b).

The miniature release and its predictions come from ``tests/musiceval_helpers.py``
(deterministic tables). Run from the repository root::

    PYTHONPATH=tests /work/main/.venv/bin/python scripts/reference/musiceval_official_scorer.py

and it writes ``tests/reference/musiceval_official_scorer.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import stats

from musiceval_helpers import official_answer, official_files

PREFIX = "audiomos2025-track1-"


def _rows(text: str) -> list[list[str]]:
    return [ln.strip().split(",") for ln in text.splitlines() if ln.strip()]


def _four(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "MSE": float(np.mean((t - p) ** 2)),
        "LCC": float(np.corrcoef(t, p)[0][1]),
        "SRCC": float(stats.spearmanr(t, p)[0]),
        "KTAU": float(stats.kendalltau(t, p)[0]),
    }


def main() -> None:
    files = official_files()
    truth = {r[0]: (float(r[1]), float(r[2])) for r in _rows(files["sets/test_mos_list.txt"])}
    pred = {r[0] + ".wav": (float(r[1]), float(r[2])) for r in _rows(official_answer())}
    sys_truth = {
        r[0]: (float(r[1]), float(r[2]))
        for r in _rows(files["system_mos/system_mos_phase1.csv"])
    }
    ids = sorted(pred)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for k, target in enumerate(("MI", "TA")):
        t = np.array([truth[i][k] for i in ids])
        p = np.array([pred[i][k] for i in ids])
        by_sys: dict[str, list[float]] = {}
        clip_truth: dict[str, list[float]] = {}
        for i in ids:
            s = i.replace(PREFIX, "").split("_")[0]
            by_sys.setdefault(s, []).append(pred[i][k])
            clip_truth.setdefault(s, []).append(truth[i][k])
        systems = sorted(by_sys)
        sp = np.array([sum(by_sys[s]) / len(by_sys[s]) for s in systems])
        st = np.array([sys_truth[s][k] for s in systems])
        sc = np.array([sum(clip_truth[s]) / len(clip_truth[s]) for s in systems])
        out[target] = {
            "utterance": _four(t, p),
            "system_file": _four(st, sp),
            "system_clip_mean": _four(sc, sp),
        }
    dst = Path("tests/reference/musiceval_official_scorer.json")
    dst.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
