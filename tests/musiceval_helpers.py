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
