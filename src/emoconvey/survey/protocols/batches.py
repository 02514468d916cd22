"""Prompt-grouped, balanced batches for MusicEval-style MOS studies (pure Python).

MusicEval (Liu et al., ICASSP 2025) had 14 music experts rate 2,748 clips (31 systems,
384 prompts) so that every clip got exactly 5 ratings of overall musical impression (MI)
and textual alignment (TA). A rater works through *batches* over several visits; in a
batch they read a prompt and rate, back to back, the clips different systems made for it,
then the next prompt.

:class:`MosAssigner` decides the batches. It keeps no database: the survey server (or a
simulation) calls :meth:`~MosAssigner.next_batch`, :meth:`~MosAssigner.record` and
:meth:`~MosAssigner.release` and can rebuild the state from stored batches with
:meth:`~MosAssigner.restore`. The rules:

* **Load.** A clip's load is its recorded ratings plus the unanswered items of batches
  still open. A clip whose load has reached ``ratings_per_clip`` (k) is never served, so
  no clip ever gets more than k ratings; when a batch is abandoned
  (:meth:`~MosAssigner.release`), its unanswered clips are served again to others, so
  with enough raters every clip ends with exactly k.
* **No clip twice.** A rater is never served a clip they were presented before (even
  one they left unanswered), except the batch's planned repeat. Clips of an abandoned
  batch that the rater never reached may be served to them later.
* **Prompt groups.** Candidates are grouped by prompt. Prompts are taken in order of the
  smallest load among their open clips, then the largest total deficit
  (:math:`\\sum_c k - \\text{load}_c`), then at random; each taken prompt contributes all
  its open clips the rater has not seen (lowest load first), until ``batch_size`` main
  clips are chosen (the last group may be cut short). The prompts of a batch are shown
  in random order, and the systems within a prompt in random order.
* **Quality probes** (MusicEval's): ``anchors_per_batch`` real-music anchor clips, each
  shown as a group of its own between two prompt groups, and ``repeats_per_batch``
  repeated clips: a main clip of the first half of the batch shown once more after a
  later prompt group. Probes do not count towards a clip's load. See
  :func:`anchor_failures`, :func:`repeat_failures` and :func:`invalid_raters` for the
  rules that judge a rater by them.

Every random choice uses ``random.Random(seed)`` of the assigner, so a run is
reproducible.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "Batch",
    "BatchItem",
    "MosAssigner",
    "SimulationResult",
    "anchor_failures",
    "invalid_raters",
    "repeat_failures",
    "simulate_mos_study",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchItem:
    """One showing in a batch.

    Attributes
    ----------
    clip_id : str
    prompt_id : str or None
        The prompt whose text is shown with the clip (None for an anchor without one).
    role : {"main", "anchor", "repeat"}
    repeat_of : int or None
        For a repeat, the position (in the batch) of the first showing.
    """

    clip_id: str
    prompt_id: str | None
    role: str = "main"
    repeat_of: int | None = None


@dataclass
class Batch:
    """A batch served to a rater; ``answered`` holds the positions answered so far."""

    batch_id: int
    rater: str
    items: list[BatchItem]
    answered: set[int] = field(default_factory=set)
    open: bool = True
    reached: int | None = None
    """Set when released: how many items were presented."""

    def presented(self, position: int) -> bool:
        """Whether the item at ``position`` was (or, in an open batch, will be) shown."""
        return self.reached is None or position < self.reached or position in self.answered

    @property
    def main_clips(self) -> list[str]:
        """Clip ids of the main items, in presentation order."""
        return [it.clip_id for it in self.items if it.role == "main"]


class MosAssigner:
    """Serve prompt-grouped batches that give every clip exactly ``ratings_per_clip``.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with ``clip_id``, ``system`` and ``prompt_id``.
    ratings_per_clip : int, default 5
        k: the number of ratings every clip gets (MusicEval: 5).
    batch_size : int, default 50
        Main clips in a batch (a batch is smaller when fewer clips are open for the
        rater). Probes come on top.
    anchors : sequence of str, optional
        Anchor clip ids (real music; not in ``clips``).
    anchor_prompts : mapping of str to str, optional
        Prompt id shown with each anchor.
    anchors_per_batch : int, default 1
        Anchors shown in each batch (when ``anchors`` is not empty).
    repeats_per_batch : int, default 1
    seed : int, default 0
    """

    def __init__(
        self,
        clips: pd.DataFrame,
        *,
        ratings_per_clip: int = 5,
        batch_size: int = 50,
        anchors: Sequence[str] = (),
        anchor_prompts: dict[str, str] | None = None,
        anchors_per_batch: int = 1,
        repeats_per_batch: int = 1,
        seed: int = 0,
    ) -> None:
        if not isinstance(clips, pd.DataFrame):
            raise EmoconveyError(f"clips: expected a DataFrame, got {type(clips).__name__}")
        missing = [c for c in ("clip_id", "system", "prompt_id") if c not in clips.columns]
        if missing:
            raise DataValidationError(f"missing column(s) {missing}", file="clips")
        if clips.empty:
            raise DataValidationError("expected at least one clip", file="clips")
        dup = clips["clip_id"].duplicated()
        if dup.any():
            raise DataValidationError(
                f"duplicated clip id {clips['clip_id'][dup].iloc[0]!r}",
                file="clips",
                column="clip_id",
            )
        for name, value, low in (
            ("ratings_per_clip", ratings_per_clip, 1),
            ("batch_size", batch_size, 1),
            ("anchors_per_batch", anchors_per_batch, 0),
            ("repeats_per_batch", repeats_per_batch, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise EmoconveyError(f"{name}: expected an integer >= {low}, got {value!r}")
        overlap = set(anchors) & set(clips["clip_id"])
        if overlap:
            raise EmoconveyError(f"anchors: {sorted(overlap)[:3]} are also study clips")
        self.k = ratings_per_clip
        self.batch_size = batch_size
        self.anchors = list(dict.fromkeys(anchors))
        self.anchor_prompts = dict(anchor_prompts or {})
        self.anchors_per_batch = anchors_per_batch if self.anchors else 0
        self.repeats_per_batch = repeats_per_batch
        self.rng = random.Random(seed)
        self.prompt_of: dict[str, str] = dict(
            zip(clips["clip_id"].astype(str), clips["prompt_id"].astype(str), strict=True)
        )
        self.system_of: dict[str, str] = dict(
            zip(clips["clip_id"].astype(str), clips["system"].astype(str), strict=True)
        )
        self.by_prompt: dict[str, list[str]] = defaultdict(list)
        for cid, pid in self.prompt_of.items():
            self.by_prompt[pid].append(cid)
        self.done: dict[str, int] = dict.fromkeys(self.prompt_of, 0)
        self.held: dict[str, int] = dict.fromkeys(self.prompt_of, 0)
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.batches: dict[int, Batch] = {}
        self._open_prompts: set[str] = set(self.by_prompt)

    # ------------------------------------------------------------------ state

    def load(self, clip_id: str) -> int:
        """Recorded ratings plus unanswered items of open batches."""
        return self.done[clip_id] + self.held[clip_id]

    @property
    def complete(self) -> bool:
        """Whether every clip has ``ratings_per_clip`` recorded ratings."""
        return all(v >= self.k for v in self.done.values())

    def progress(self) -> pd.DataFrame:
        """Per clip: ``clip_id``, ``system``, ``prompt_id``, ``done``, ``held``,
        ``remaining`` (k - done), in input order (for the admin page)."""
        ids = list(self.prompt_of)
        return pd.DataFrame(
            {
                "clip_id": ids,
                "system": [self.system_of[c] for c in ids],
                "prompt_id": [self.prompt_of[c] for c in ids],
                "done": [self.done[c] for c in ids],
                "held": [self.held[c] for c in ids],
                "remaining": [self.k - self.done[c] for c in ids],
            }
        )

    # ------------------------------------------------------------------ serving

    def _choose(self, rater: str) -> list[list[str]]:
        seen = self.seen[rater]
        ranked = []
        closed = []
        for pid in self._open_prompts:
            open_clips = [c for c in self.by_prompt[pid] if self.load(c) < self.k]
            if not open_clips:
                closed.append(pid)
                continue
            mine = [c for c in open_clips if c not in seen]
            if not mine:
                continue
            loads = [self.load(c) for c in mine]
            deficit = sum(self.k - x for x in loads)
            ranked.append((min(loads), -deficit, self.rng.random(), pid, mine))
        for pid in closed:
            if all(self.done[c] >= self.k for c in self.by_prompt[pid]):
                self._open_prompts.discard(pid)
        ranked.sort()
        groups: list[list[str]] = []
        room = self.batch_size
        for *_, mine in ranked:
            if room == 0:
                break
            mine = sorted(mine, key=lambda c: (self.load(c), self.rng.random()))[:room]
            groups.append(mine)
            room -= len(mine)
        return groups

    def next_batch(self, rater: str) -> Batch | None:
        """Serve ``rater`` a new batch, or None when no clip is open for them.

        A rater may hold one open batch at a time: an open batch of theirs is returned
        unchanged.
        """
        rater = str(rater)
        for b in self.batches.values():
            if b.open and b.rater == rater:
                return b
        groups = self._choose(rater)
        if not groups:
            return None
        self.rng.shuffle(groups)
        for g in groups:
            self.rng.shuffle(g)
        blocks: list[list[BatchItem]] = [
            [BatchItem(c, self.prompt_of[c]) for c in g] for g in groups
        ]
        # anchors: a block of their own, between prompt groups
        if self.anchors_per_batch:
            fresh = [a for a in self.anchors if a not in self.seen[rater]]
            pool = fresh if len(fresh) >= self.anchors_per_batch else self.anchors
            for a in self.rng.sample(pool, min(self.anchors_per_batch, len(pool))):
                pos = self.rng.randint(0, len(blocks))
                blocks.insert(pos, [BatchItem(a, self.anchor_prompts.get(a), "anchor")])
        items = [it for blk in blocks for it in blk]
        # repeats: a main clip of the first half, again after a later group
        n_main = sum(it.role == "main" for it in items)
        if self.repeats_per_batch and n_main >= 2:
            mains = [i for i, it in enumerate(items) if it.role == "main"]
            first_half = mains[: max(1, len(mains) // 2)]
            picks = self.rng.sample(first_half, min(self.repeats_per_batch, len(first_half)))
            for src in sorted(picks, reverse=True):
                # group boundaries after src (or the end)
                bounds = [
                    i
                    for i in range(src + 1, len(items) + 1)
                    if i == len(items) or items[i].prompt_id != items[i - 1].prompt_id
                ]
                later = [b for b in bounds if b - src >= 3] or bounds
                at = self.rng.choice(later)
                it = items[src]
                items.insert(at, BatchItem(it.clip_id, it.prompt_id, "repeat", src))
            # positions of first showings shift when repeats are inserted before them
            fixed = []
            for i, it in enumerate(items):
                if it.role == "repeat":
                    first = next(
                        j
                        for j in range(i)
                        if items[j].clip_id == it.clip_id and items[j].role == "main"
                    )
                    it = BatchItem(it.clip_id, it.prompt_id, "repeat", first)
                fixed.append(it)
            items = fixed
        batch = Batch(len(self.batches) + 1, rater, items)
        self.batches[batch.batch_id] = batch
        for it in items:
            self.seen[rater].add(it.clip_id)
            if it.role == "main":
                self.held[it.clip_id] += 1
        return batch

    def record(self, batch_id: int, position: int) -> bool:
        """Record the answer to item ``position`` of a batch.

        Returns
        -------
        bool
            True when it counts (a main item of an open batch, answered for the first
            time); False for probes. An answer to a released batch raises: its clip was
            given to someone else.
        """
        batch = self._batch(batch_id)
        if not isinstance(position, int) or not 0 <= position < len(batch.items):
            raise EmoconveyError(f"position: expected 0..{len(batch.items) - 1}, got {position!r}")
        if position in batch.answered:
            raise EmoconveyError(f"batch {batch_id}: position {position} already answered")
        if not batch.open:
            raise EmoconveyError(f"batch {batch_id}: it was released; the answer is not kept")
        batch.answered.add(position)
        item = batch.items[position]
        counted = item.role == "main"
        if counted:
            self.held[item.clip_id] -= 1
            self.done[item.clip_id] += 1
        if len(batch.answered) == len(batch.items):
            batch.open = False
        return counted

    def release(self, batch_id: int, *, reached: int | None = None) -> int:
        """Close a batch that will not be finished (the rater left or it expired).

        Its unanswered main clips are open again for other raters. Clips the rater had
        reached count as seen and are never served to them again; the ones after were
        never presented and may be.

        Parameters
        ----------
        batch_id : int
        reached : int, optional
            Number of items the rater got to (positions ``0 .. reached-1`` were
            presented). Default: one past the last answered position (the item in
            progress is taken as heard).

        Returns
        -------
        int
            Main clips released.
        """
        batch = self._batch(batch_id)
        if not batch.open:
            return 0
        if reached is None:
            reached = max(batch.answered) + 2 if batch.answered else 1
        heard = {
            it.clip_id for i, it in enumerate(batch.items) if i < reached or i in batch.answered
        }
        n = 0
        for i, it in enumerate(batch.items):
            if it.clip_id not in heard:
                self.seen[batch.rater].discard(it.clip_id)
            if it.role == "main" and i not in batch.answered:
                self.held[it.clip_id] -= 1
                self._open_prompts.add(it.prompt_id)
                n += 1
        batch.reached = min(reached, len(batch.items))
        batch.open = False
        return n

    def restore(self, batches: Iterable[Batch]) -> None:
        """Rebuild the counts from stored batches (e.g. after a server restart)."""
        for b in batches:
            self.batches[b.batch_id] = b
            for i, it in enumerate(b.items):
                if b.open or b.reached is None or i < b.reached or i in b.answered:
                    self.seen[b.rater].add(it.clip_id)
                if it.role != "main":
                    continue
                if i in b.answered:
                    self.done[it.clip_id] += 1
                elif b.open:
                    self.held[it.clip_id] += 1

    def _batch(self, batch_id: int) -> Batch:
        try:
            return self.batches[batch_id]
        except KeyError:
            raise EmoconveyError(f"batch {batch_id!r}: no such batch") from None


# ----------------------------------------------------------------------------- probes


def _check_probe_ratings(ratings: pd.DataFrame) -> None:
    if not isinstance(ratings, pd.DataFrame):
        raise EmoconveyError(f"ratings: expected a DataFrame, got {type(ratings).__name__}")
    missing = [
        c for c in ("rater", "clip_id", "scale", "score", "role") if c not in ratings.columns
    ]
    if missing:
        raise DataValidationError(f"missing column(s) {missing}", file="ratings")


def anchor_failures(
    ratings: pd.DataFrame, *, threshold: float = 3, scales: Sequence[str] | None = None
) -> pd.DataFrame:
    """Anchor scores below ``threshold`` (MusicEval: a rater who scores real music below
    3 is not listening carefully).

    Parameters
    ----------
    ratings : DataFrame
        ``rater``, ``clip_id``, ``scale``, ``score``, ``role`` (``main``/``anchor``/
        ``repeat``).
    threshold : float, default 3
    scales : sequence of str, optional
        Scales the rule applies to (default: every scale).

    Returns
    -------
    DataFrame
        ``rater``, ``clip_id``, ``scale``, ``score``: one row per failed anchor score.
    """
    _check_probe_ratings(ratings)
    a = ratings[ratings["role"] == "anchor"]
    if scales is not None:
        a = a[a["scale"].isin(list(scales))]
    bad = a[pd.to_numeric(a["score"]) < threshold]
    return bad.loc[:, ["rater", "clip_id", "scale", "score"]].reset_index(drop=True)


def repeat_failures(ratings: pd.DataFrame, *, max_difference: float = 1) -> pd.DataFrame:
    """Repeated clips whose two scores differ by more than ``max_difference``.

    Returns
    -------
    DataFrame
        ``rater``, ``clip_id``, ``scale``, ``first``, ``second``, ``difference``
        (absolute).
    """
    _check_probe_ratings(ratings)
    rep = ratings[ratings["role"] == "repeat"]
    first = ratings[ratings["role"] == "main"]
    both = rep.merge(first, on=["rater", "clip_id", "scale"], suffixes=("_r", "_m"))
    diff = (pd.to_numeric(both["score_r"]) - pd.to_numeric(both["score_m"])).abs()
    out = pd.DataFrame(
        {
            "rater": both["rater"],
            "clip_id": both["clip_id"],
            "scale": both["scale"],
            "first": both["score_m"],
            "second": both["score_r"],
            "difference": diff,
        }
    )
    return out[out["difference"] > max_difference].reset_index(drop=True)


def invalid_raters(
    ratings: pd.DataFrame,
    *,
    anchor_threshold: float = 3,
    anchor_scales: Sequence[str] | None = None,
    max_repeat_difference: float = 1,
) -> pd.DataFrame:
    """Raters judged invalid by the anchor or the repeat rule, with the reasons.

    Returns
    -------
    DataFrame
        ``rater``, ``rule`` (``anchor`` or ``repeat``), ``detail`` (a sentence), one row
        per failure.
    """
    rows = []
    for r in anchor_failures(
        ratings, threshold=anchor_threshold, scales=anchor_scales
    ).itertuples():
        rows.append(
            {
                "rater": r.rater,
                "rule": "anchor",
                "detail": f"scored anchor {r.clip_id} {r.score} on {r.scale} "
                f"(below {anchor_threshold})",
            }
        )
    for r in repeat_failures(ratings, max_difference=max_repeat_difference).itertuples():
        rows.append(
            {
                "rater": r.rater,
                "rule": "repeat",
                "detail": f"scored {r.clip_id} {r.first} then {r.second} on {r.scale} "
                f"(differ by more than {max_repeat_difference})",
            }
        )
    return pd.DataFrame(rows, columns=["rater", "rule", "detail"])


# ----------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate_mos_study` observed.

    Attributes
    ----------
    progress : DataFrame
        :meth:`MosAssigner.progress` at the end.
    batches : list of Batch
    ratings_per_clip : Series
        Count of clips by final number of ratings.
    max_batch_main : int
        Largest number of main clips in a batch.
    duplicates : int
        Clips some rater was presented twice outside a planned repeat (should be 0).
    complete : bool
    """

    progress: pd.DataFrame
    batches: list[Batch]
    ratings_per_clip: pd.Series
    max_batch_main: int
    duplicates: int
    complete: bool


def simulate_mos_study(
    assigner: MosAssigner,
    raters: Sequence[str],
    *,
    dropout: float = 0.1,
    seed: int = 0,
    max_batches: int = 100_000,
) -> SimulationResult:
    """Run a study: raters (in random turns) take batches, and with probability
    ``dropout`` leave a batch at a random point (it is then released).

    A rater with nothing left to rate stops. The study stops when every clip is
    complete or no rater can be served.
    """
    if not 0 <= dropout < 1:
        raise EmoconveyError(f"dropout: expected 0 <= dropout < 1, got {dropout!r}")
    rng = random.Random(seed)
    active = list(dict.fromkeys(map(str, raters)))
    if not active:
        raise EmoconveyError("raters: expected at least one rater")
    served: list[Batch] = []
    while active and not assigner.complete and len(served) < max_batches:
        rater = rng.choice(active)
        batch = assigner.next_batch(rater)
        if batch is None:
            active.remove(rater)
            continue
        served.append(batch)
        stop = rng.randrange(len(batch.items)) if rng.random() < dropout else None
        for pos in range(len(batch.items)):
            if stop is not None and pos == stop:
                assigner.release(batch.batch_id)
                break
            assigner.record(batch.batch_id, pos)
    per_rater: dict[str, list[str]] = defaultdict(list)
    for b in served:
        per_rater[b.rater].extend(
            it.clip_id for i, it in enumerate(b.items) if it.role == "main" and b.presented(i)
        )
    duplicates = sum(len(v) - len(set(v)) for v in per_rater.values())
    prog = assigner.progress()
    return SimulationResult(
        progress=prog,
        batches=served,
        ratings_per_clip=prog["done"].value_counts().sort_index(),
        max_batch_main=max((len(b.main_clips) for b in served), default=0),
        duplicates=duplicates,
        complete=assigner.complete,
    )
