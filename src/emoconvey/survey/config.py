"""Study configuration: clips per participant, rating scales, texts and quality control.

A study config is a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file whose keys are the
fields of :class:`StudyConfig`; every key is optional. Example::

    title: Emotion in generated music
    clips_per_participant: 56
    completion_code: C1A2B3
    extra_scales: [overall_impression, text_alignment]
    texts:
      consent_title: 연구 참여 안내
    eligibility: {min_age: 18}
    quality: {repeats: 2, repeat_tolerance: 3}

Unknown keys are errors (a typo should not silently change a study).
"""

from __future__ import annotations

import dataclasses
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emoconvey.errors import EmoconveyError

__all__ = [
    "ASSIGNMENT_MODES",
    "DEFAULT_TEXTS",
    "EXTRA_SCALE_PRESETS",
    "LANGUAGE_TEXTS",
    "AttentionClip",
    "Eligibility",
    "Quality",
    "Scale",
    "StudyConfig",
    "load_config",
]

ASSIGNMENT_MODES: tuple[str, ...] = ("just_in_time", "upfront")
"""Values of :attr:`StudyConfig.assignment`."""

DEFAULT_TEXTS: dict[str, str] = {
    "consent_title": "Information and consent",
    "consent_body": (
        "You are invited to take part in a study on how people perceive emotion in "
        "music. You will listen to short music clips and rate how pleasant and how "
        "aroused (energetic) each one sounds. It takes about 30 minutes. Your answers "
        "are stored without your name. You may stop at any time."
    ),
    "consent_checkbox": "I have read the information above and agree to take part.",
    "consent_button": "Start",
    "demographics_title": "About you",
    "gender_label": "Gender",
    "gender_options": "Female|Male|Non-binary|Prefer not to say",
    "age_label": "Age (years)",
    "fluency_label": "I can read and understand English fluently.",
    "continue_button": "Continue",
    "ineligible_title": "Thank you for your interest",
    "ineligible_body": (
        "Unfortunately you do not meet the requirements of this study (participants "
        "must be at least {min_age} years old and fluent in the study's language). "
        "Thank you for your time; you may close this page."
    ),
    "sample_title": "A sample clip",
    "sample_body": (
        "Please listen to this sample clip and try the rating scales. This answer is "
        "for practice only and is not recorded."
    ),
    "instructions_title": "Instructions",
    "instructions_body": (
        "On each page you will hear one music clip. Listen to the whole clip, then rate "
        "the emotion the music expresses: valence (from very unpleasant to very "
        "pleasant) and arousal (from very relaxed to very aroused). There are no right "
        "or wrong answers."
    ),
    "start_ratings_button": "Begin the ratings",
    "progress": "Clip {n} of {total}",
    "play_hint": "Play the clip to the end before answering.",
    "submit_button": "Next",
    "done_title": "Thank you!",
    "done_body": "You have finished the study. Your completion code is:",
    "contact_label": (
        "Optional: an e-mail address for the reward. It is stored separately from "
        "your ratings and never exported with them."
    ),
    "contact_button": "Save contact",
    "contact_saved": "Thank you, your contact was saved.",
    "error_title": "Something went wrong",
    "error_404": "This page does not exist. Please check the link you were given.",
    "error_405": "This page cannot be used like that. Please go back and use the buttons "
                 "on the page.",
    "error_4xx": "Your answer could not be saved. Please go back, check it and try again.",
    "error_5xx": "The server had a problem. Please wait a moment and reload the page.",
    "error_detail": "Details:",
    "screenout_body": "If you came from a recruitment platform, return there with this code:",
    "ineligible_fix": "I made a mistake in my answers",
    "fluency_yes": "Yes",
    "fluency_no": "No",
    "played_through": "Played to the end",
    "not_played_yet": "Not yet played to the end",
    "steps": "Consent|About you|Practice|Instructions|Ratings|Done",
    "step_label": "Step {n} of {total}: {name}",
    "pid_in_use_title": "This ID has already started the study",
    "pid_in_use_body": (
        "The participant ID in your link has already started this study in another "
        "browser or on another device. To continue, please open the study link in the "
        "browser you started in. If that is not possible, please contact the researcher "
        "and give them your participant ID; they can release it so that you can continue "
        "here."
    ),
    "contact_researcher": "Contact the researcher: {contact}",
    "required_missing": "Please answer every scale before continuing.",
    "demographics_missing": "Please answer every question.",
    "completion_link": "Return to the recruitment platform to finish",
    "screenout_link": "Return to the recruitment platform",
}
"""Every participant-facing text, in English; override any of them in ``texts``."""

LANGUAGE_TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "error_title": "문제가 발생했습니다",
        "error_404": "이 페이지는 존재하지 않습니다. 받으신 링크를 확인해 주세요.",
        "error_405": "이 페이지는 이렇게 사용할 수 없습니다. 이전 페이지로 돌아가 페이지의 "
                     "버튼을 사용해 주세요.",
        "error_4xx": "답변을 저장하지 못했습니다. 이전 페이지로 돌아가 확인한 뒤 다시 시도해 "
                     "주세요.",
        "error_5xx": "서버에 문제가 발생했습니다. 잠시 후 페이지를 새로 고쳐 주세요.",
        "error_detail": "상세 정보:",
    },
}
"""Built-in translations of the error-page texts (people rarely think to translate them),
by primary language subtag (``ko`` for ``ko-KR``); used where ``texts`` sets none."""


@dataclass(frozen=True)
class Scale:
    """One rating scale shown for every clip.

    Attributes
    ----------
    name : str
        Column name (``valence`` and ``arousal`` are exported in AImoclips format).
    question : str
        The question shown above the scale.
    points : int
        Number of points (1..points).
    low, high : str
        Verbal anchors of the two ends.
    manikin : str or None
        ``"valence"`` or ``"arousal"`` to draw pictorial manikin anchors.
    required : bool
        Whether an answer is required.
    """

    name: str
    question: str
    points: int = 9
    low: str = ""
    high: str = ""
    manikin: str | None = None
    required: bool = True


VALENCE = Scale(
    "valence",
    "How pleasant or unpleasant does the music sound?",
    9,
    "very unpleasant",
    "very pleasant",
    "valence",
)
AROUSAL = Scale(
    "arousal",
    "How relaxed or aroused (energetic) does the music sound?",
    9,
    "very relaxed",
    "very aroused",
    "arousal",
)
EXTRA_SCALE_PRESETS: dict[str, Scale] = {
    "overall_impression": Scale(
        "overall_impression",
        "Overall musical impression",
        5,
        "very poor",
        "excellent",
    ),
    "text_alignment": Scale(
        "text_alignment",
        "How well does the music match the intended emotion?",
        5,
        "not at all",
        "perfectly",
    ),
}
"""MusicEval-style 5-point scales that ``extra_scales`` may name."""


@dataclass(frozen=True)
class Eligibility:
    """Who may take part: a minimum age and a fluency statement they must confirm."""

    min_age: int = 18
    require_fluency: bool = True


@dataclass(frozen=True)
class AttentionClip:
    """A clip with an obvious answer; a listener whose rating falls outside is flagged.

    ``valence``/``arousal`` are inclusive ``[low, high]`` ranges of plausible ratings.
    """

    file: str
    valence: tuple[int, int] = (1, 9)
    arousal: tuple[int, int] = (1, 9)


@dataclass(frozen=True)
class Quality:
    """Quality-control settings.

    Attributes
    ----------
    repeats : int
        Number of a participant's clips presented a second time.
    repeat_tolerance : int
        A repeat differing by more than this on valence or arousal is inconsistent.
    max_inconsistent_repeats : int
        A listener with more inconsistent repeats than this is flagged.
    attention : list of AttentionClip
        Anchor clips inserted into every session.
    straightline_share : float
        Flag a listener when at least this share of answers are the same (valence,
        arousal) pair ...
    straightline_min : int
        ... and they gave at least this many ratings.
    min_seconds : float
        Flag a listener whose median time per clip is below this.
    """

    repeats: int = 0
    repeat_tolerance: int = 3
    max_inconsistent_repeats: int = 0
    attention: tuple[AttentionClip, ...] = ()
    straightline_share: float = 0.9
    straightline_min: int = 10
    min_seconds: float = 3.0


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a study besides its clips.

    Attributes
    ----------
    title : str
    language : str
        BCP-47 code written into ``<html lang>``.
    clips_per_participant : int
        Main clips per participant (AImoclips: 56); at most one per (system, intent).
    scales : tuple of Scale
        Valence and arousal (9-point) plus any extra scales.
    texts : dict
        Participant-facing texts (defaults in :data:`DEFAULT_TEXTS`).
    sample_clip : str or None
        Path of the practice clip, relative to the clips folder.
    eligibility : Eligibility
    completion_code : str
    completion_url : str or None
        Where to send a finished participant, ``{code}`` replaced (e.g. Prolific).
    platform_param : str
        URL query parameter carrying the platform's participant ID.
    min_ratings : int
        Clips with fewer ratings are excluded from analysis (AImoclips: 4).
    require_full_play : bool
        Whether the clip must be played to the end before answering.
    session_expiry_minutes : float
        An unfinished session idle this long no longer holds its clips.
    assignment : {"just_in_time", "upfront"}
        When main clips are chosen: each when the participant reaches it (default; keeps
        ratings per clip balanced when people leave early) or all at the start.
    collect_contact : bool
        Offer an optional contact field on the completion page.
    quality : Quality
    researcher_contact : str or None
        How participants reach the researcher (e.g. an e-mail address), shown on pages
        that ask them to get in touch.
    screenout_code : str or None
        Code shown to participants who are not eligible (recruitment platforms pay or
        release them with it).
    screenout_url : str or None
        Where to send a participant who is not eligible, ``{code}`` replaced by
        ``screenout_code`` (e.g. Prolific's screen-out link).
    logo : str or None
        Image shown in the page header, relative to the clips folder (PNG, JPEG, SVG
        or WebP; served at ``/logo``).
    header : str or None
        Line of text shown in the page header (e.g. the institution).
    """

    title: str = "Music emotion listening study"
    language: str = "en"
    clips_per_participant: int = 56
    scales: tuple[Scale, ...] = (VALENCE, AROUSAL)
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))
    sample_clip: str | None = None
    eligibility: Eligibility = Eligibility()
    completion_code: str = ""
    completion_url: str | None = None
    platform_param: str = "PROLIFIC_PID"
    min_ratings: int = 4
    require_full_play: bool = False
    session_expiry_minutes: float = 120.0
    assignment: str = "just_in_time"
    collect_contact: bool = True
    quality: Quality = Quality()
    researcher_contact: str | None = None
    screenout_code: str | None = None
    screenout_url: str | None = None
    logo: str | None = None
    header: str | None = None

    def text(self, key: str, **kwargs: Any) -> str:
        """A participant-facing text with ``{placeholders}`` filled in."""
        raw = self.texts.get(key, DEFAULT_TEXTS.get(key, key))
        try:
            return raw.format(**kwargs) if kwargs else raw
        except (KeyError, IndexError, ValueError):
            return raw

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_dict` reads back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> StudyConfig:
        """Build and validate a config from a dict (as read from YAML/TOML).

        Raises
        ------
        EmoconveyError
            Naming the source and the offending key.
        """
        if not isinstance(data, dict):
            raise EmoconveyError(f"{source}: expected a mapping of settings at the top level")
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)} | {"extra_scales"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EmoconveyError(
                f"{source}: unknown setting(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(sorted(known))}"
            )
        kw: dict[str, Any] = {}
        for key in ("title", "language", "completion_code", "platform_param"):
            if key in data:
                kw[key] = _str(data[key], f"{source}: {key}")
        for key in ("sample_clip", "completion_url", "researcher_contact", "screenout_code",
                    "screenout_url", "logo", "header"):
            if data.get(key) is not None:
                kw[key] = _str(data[key], f"{source}: {key}")
        for key in ("clips_per_participant", "min_ratings"):
            if key in data:
                kw[key] = _int(data[key], f"{source}: {key}", minimum=1)
        if "session_expiry_minutes" in data:
            kw["session_expiry_minutes"] = _num(
                data["session_expiry_minutes"], f"{source}: session_expiry_minutes"
            )
        if "assignment" in data:
            mode = _str(data["assignment"], f"{source}: assignment")
            if mode not in ASSIGNMENT_MODES:
                raise EmoconveyError(
                    f"{source}: assignment: expected one of {', '.join(ASSIGNMENT_MODES)}, "
                    f"got {mode!r}"
                )
            kw["assignment"] = mode
        for key in ("require_full_play", "collect_contact"):
            if key in data:
                kw[key] = _bool(data[key], f"{source}: {key}")
        texts = dict(DEFAULT_TEXTS)
        texts.update(LANGUAGE_TEXTS.get(kw.get("language", "en").split("-")[0].lower(), {}))
        if "texts" in data:
            given = data["texts"]
            if not isinstance(given, dict):
                raise EmoconveyError(f"{source}: texts: expected a mapping of text keys")
            bad = sorted(set(given) - set(DEFAULT_TEXTS))
            if bad:
                raise EmoconveyError(
                    f"{source}: texts: unknown key(s) {', '.join(map(repr, bad))}; expected "
                    f"some of {', '.join(sorted(DEFAULT_TEXTS))}"
                )
            texts.update({k: _str(v, f"{source}: texts.{k}") for k, v in given.items()})
        kw["texts"] = texts
        kw["scales"] = _scales(data, source)
        if "eligibility" in data:
            e = _mapping(data["eligibility"], f"{source}: eligibility", Eligibility)
            kw["eligibility"] = Eligibility(
                min_age=_int(e.get("min_age", 18), f"{source}: eligibility.min_age", minimum=0),
                require_fluency=_bool(
                    e.get("require_fluency", True), f"{source}: eligibility.require_fluency"
                ),
            )
        if "quality" in data:
            kw["quality"] = _quality(data["quality"], f"{source}: quality")
        if not kw.get("completion_code"):
            kw["completion_code"] = secrets.token_hex(4).upper()
        return cls(**kw)


def _mapping(value: Any, where: str, kind: type) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EmoconveyError(f"{where}: expected a mapping")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise EmoconveyError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; expected some of "
            f"{', '.join(sorted(known))}"
        )
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise EmoconveyError(f"{where}: expected text, got {value!r}")
    return str(value)


def _int(value: Any, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise EmoconveyError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _num(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise EmoconveyError(f"{where}: expected a positive number, got {value!r}")
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise EmoconveyError(f"{where}: expected true or false, got {value!r}")
    return value


def _range(value: Any, where: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or value[0] > value[1]
    ):
        raise EmoconveyError(f"{where}: expected [low, high] integers, got {value!r}")
    return int(value[0]), int(value[1])


def _scales(data: dict[str, Any], source: str) -> tuple[Scale, ...]:
    if "scales" in data:
        raw = data["scales"]
        if not isinstance(raw, list) or not raw:
            raise EmoconveyError(f"{source}: scales: expected a non-empty list of scales")
        scales = []
        for i, item in enumerate(raw):
            where = f"{source}: scales[{i}]"
            s = _mapping(item, where, Scale)
            if "name" not in s or "question" not in s:
                raise EmoconveyError(f"{where}: expected at least 'name' and 'question'")
            manikin = s.get("manikin")
            if manikin not in (None, "valence", "arousal"):
                raise EmoconveyError(f"{where}: manikin: expected valence, arousal or null")
            scales.append(
                Scale(
                    name=_str(s["name"], f"{where}.name"),
                    question=_str(s["question"], f"{where}.question"),
                    points=_int(s.get("points", 9), f"{where}.points", minimum=2),
                    low=_str(s.get("low", ""), f"{where}.low"),
                    high=_str(s.get("high", ""), f"{where}.high"),
                    manikin=manikin,
                    required=_bool(s.get("required", True), f"{where}.required"),
                )
            )
    else:
        scales = [VALENCE, AROUSAL]
    extra = data.get("extra_scales", [])
    if not isinstance(extra, list):
        raise EmoconveyError(f"{source}: extra_scales: expected a list of preset names")
    for name in extra:
        if name not in EXTRA_SCALE_PRESETS:
            raise EmoconveyError(
                f"{source}: extra_scales: unknown scale {name!r}; expected one of "
                f"{', '.join(EXTRA_SCALE_PRESETS)}"
            )
        scales.append(EXTRA_SCALE_PRESETS[name])
    names = [s.name for s in scales]
    for axis in ("valence", "arousal"):
        if axis not in names:
            raise EmoconveyError(f"{source}: scales: a {axis!r} scale is required")
        if next(s for s in scales if s.name == axis).points != 9:
            raise EmoconveyError(
                f"{source}: scales: the {axis!r} scale must have 9 points (AImoclips format)"
            )
    if len(set(names)) != len(names):
        raise EmoconveyError(f"{source}: scales: scale names must be unique, got {names}")
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise EmoconveyError(f"{source}: scales: names must be identifiers, got {bad}")
    return tuple(scales)


def _quality(value: Any, where: str) -> Quality:
    q = _mapping(value, where, Quality)
    attention = []
    for i, item in enumerate(q.get("attention", []) or []):
        w = f"{where}.attention[{i}]"
        a = _mapping(item, w, AttentionClip)
        if "file" not in a:
            raise EmoconveyError(f"{w}: expected a 'file'")
        attention.append(
            AttentionClip(
                file=_str(a["file"], f"{w}.file"),
                valence=_range(a.get("valence", [1, 9]), f"{w}.valence"),
                arousal=_range(a.get("arousal", [1, 9]), f"{w}.arousal"),
            )
        )
    share = q.get("straightline_share", 0.9)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise EmoconveyError(f"{where}.straightline_share: expected a number in (0, 1]")
    return Quality(
        repeats=_int(q.get("repeats", 0), f"{where}.repeats", minimum=0),
        repeat_tolerance=_int(q.get("repeat_tolerance", 3), f"{where}.repeat_tolerance",
                              minimum=0),
        max_inconsistent_repeats=_int(
            q.get("max_inconsistent_repeats", 0), f"{where}.max_inconsistent_repeats", minimum=0
        ),
        attention=tuple(attention),
        straightline_share=float(share),
        straightline_min=_int(q.get("straightline_min", 10), f"{where}.straightline_min",
                              minimum=2),
        min_seconds=float(q.get("min_seconds", 3.0)),
    )


def config_from_stored(data: dict[str, Any]) -> StudyConfig:
    """Rebuild a config from :meth:`StudyConfig.to_dict` output (as stored in the DB)."""
    scales = tuple(Scale(**s) for s in data["scales"])
    quality = dict(data["quality"])
    quality["attention"] = tuple(
        AttentionClip(a["file"], tuple(a["valence"]), tuple(a["arousal"]))
        for a in quality["attention"]
    )
    rest = {k: v for k, v in data.items() if k not in {"scales", "quality", "eligibility"}}
    return StudyConfig(
        scales=scales,
        quality=Quality(**quality),
        eligibility=Eligibility(**data["eligibility"]),
        **rest,
    )


def load_config(path: str | Path | None) -> StudyConfig:
    """Read a study config from a YAML or TOML file (``None`` gives the defaults).

    Raises
    ------
    EmoconveyError
        When the file is missing, unreadable, of an unknown type or has bad settings.
    """
    if path is None:
        return StudyConfig.from_dict({})
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"config: file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise EmoconveyError(
                f"config: {str(path)!r} has suffix {suffix!r}; expected .yaml, .yml or .toml"
            )
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, EmoconveyError):
            raise
        raise EmoconveyError(f"{path}: not a readable config file ({exc})") from exc
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise EmoconveyError(_yaml_error(path, exc)) from None
    return StudyConfig.from_dict(data, source=str(path))


def _yaml_error(path: Path, exc: Exception) -> str:
    """One line for a YAML parser error: the file, line and column (1-based) and the
    problem, instead of PyYAML's multi-line dump."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{path}: not valid YAML ({problem})"
    return f"{path}: line {mark.line + 1}, column {mark.column + 1}: not valid YAML ({problem})"
