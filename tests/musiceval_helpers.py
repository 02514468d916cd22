"""A miniature MusicEval release for tests (written file by file, byte for byte)."""

from __future__ import annotations

from pathlib import Path

P = "audiomos2025-track1-"

MINI = {
    "sets/dev_mos_list.txt": f"{P}S002_P001.wav,3.4,4.0\n{P}S003_P001.wav,2.2,1.8\n",
    "sets/train_mos_list.txt": (
        f"{P}S002_P002.wav,4.2,3.6\n{P}S003_P002.wav,1.0,5.0\n{P}S001_P007.wav,3.0,2.6\n"
    ),
    "prompt_info.txt": "id\ttext\tsource\nP001\tA calm piano piece\tmanual\n"
    "P002\tUpbeat rock, loud drums\tMusicCaps\n",
    "demo_prompt_info.txt": f"id\ttext\n{P}S001_P007.wav\tA demo prompt\n",
    "system_mos/system_mos_all.csv": "S002,3.8,3.8\nS003,1.6,3.4\nS001,3.0,2.6\n",
    "individual_ratings.csv": "rater,clip_id,scale,score\n"
    f"R01,{P}S002_P001,MI,3\nR01,{P}S002_P001,TA,4\nR02,{P}S002_P001,MI,4\n"
    f"R02,{P}S003_P002,TA,5\n",
}


def make_release(root: Path, files: dict[str, str] | None = None, **changes: str | None) -> Path:
    content = dict(MINI if files is None else files)
    for key, value in changes.items():
        name = key.replace("__", "/").replace("_DOT_", ".")
        if value is None:
            content.pop(name, None)
        else:
            content[name] = value
    for name, text in content.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root


# ---------------------------------------------------------------- the official layout

OFFICIAL_SYSTEMS = ("S001", "S002", "S003", "S004", "S005")
OFFICIAL_SPLITS = {"P001": "train", "P002": "train", "P003": "train", "P004": "dev",
                   "P005": "test", "P006": "test"}


def _person_scores(i: int, j: int, s: int) -> tuple[int, int]:
    return 1 + (i * 3 + j * 2 + s) % 5, 1 + (i + j * 3 + 2 * s) % 5


def official_files() -> dict[str, str]:
    """A miniature release in the full official layout (deterministic, no RNG).

    Five systems (S001 a demo system whose prompts are in ``demo_prompt_info.txt``) times
    six prompts; ``sets/{train,dev,test,total}_mos_list.txt`` with 6-decimal clip means
    of three raters each (``person_mos/<split>_person_mos.txt``), and
    ``system_mos/system_mos_phase1.csv`` holding the means over train and dev clips only,
    so that it differs from the means of the test clips.
    """
    lists: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    person: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    sys_scores: dict[str, list[tuple[float, float]]] = {}
    i = 0
    for s_i, system in enumerate(OFFICIAL_SYSTEMS):
        for prompt, split in OFFICIAL_SPLITS.items():
            name = f"{P}{system}_{prompt}.wav"
            scores = [_person_scores(i, j, s_i) for j in range(3)]
            for j, (mi, ta) in enumerate(scores):
                person[split].append(f"{name},R{(i + j) % 7 + 1:02d},{mi},{ta}\n")
            mi = sum(m for m, _ in scores) / 3
            ta = sum(t for _, t in scores) / 3
            lists[split].append(f"{name},{mi:.6f},{ta:.6f}\n")
            if split != "test":
                sys_scores.setdefault(system, []).append((float(f"{mi:.6f}"),
                                                          float(f"{ta:.6f}")))
            i += 1
    files = {f"sets/{k}_mos_list.txt": "".join(v) for k, v in lists.items()}
    files["sets/total_mos_list.txt"] = "".join(lists["train"] + lists["dev"] + lists["test"])
    files.update({f"person_mos/{k}_person_mos.txt": "".join(v) for k, v in person.items()})
    files["prompt_info.txt"] = "id\ttext\n" + "".join(
        f"{p}\tprompt number {p[1:]}, instrumental\n" for p in OFFICIAL_SPLITS
    )
    files["demo_prompt_info.txt"] = "id\ttext\n" + "".join(
        f"{P}S001_{p}.wav\tdemo page prompt {p[1:]}\n" for p in OFFICIAL_SPLITS
    )
    files["system_mos/system_mos_phase1.csv"] = "".join(
        f"{s},{sum(m for m, _ in v) / len(v):.6f},{sum(t for _, t in v) / len(v):.6f}\n"
        for s, v in sys_scores.items()
    )
    return files


def official_answer() -> str:
    """Predictions of the test clips (``answer.txt``: ``wavID,MI,TA``, no extension)."""
    lines = []
    for s_i, system in enumerate(OFFICIAL_SYSTEMS):
        for k, prompt in enumerate(("P005", "P006")):
            mi = 2.0 + 0.37 * s_i + 0.21 * k + 0.05 * ((s_i * 7 + k * 3) % 4)
            ta = 3.6 - 0.29 * s_i + 0.17 * k - 0.04 * ((s_i * 5 + k) % 3)
            lines.append(f"{P}{system}_{prompt},{mi:.6f},{ta:.6f}\n")
    return "".join(lines)


def make_official_release(root: Path, **changes: str | None) -> Path:
    """Write :func:`official_files` (with ``changes`` as in :func:`make_release`)."""
    return make_release(root, official_files(), **changes)
