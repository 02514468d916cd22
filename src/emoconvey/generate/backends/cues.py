"""``cues``: a weight-free reference generator driven by music-psychology cues.

The backend maps a point of the valence-arousal plane (1-9 norms, e.g. Warriner et al.
2013) to the structural and performance cues that listeners use to recognise emotion in
music (Gabrielsson & Lindström, 2010; Juslin & Laukka, 2003) as Livingstone et al.'s
(2010) computational music emotion rule system (CMERS) applies them. With
:math:`x = (v - 5)/4` and :math:`y = (a - 5)/4` in :math:`[-1, 1]`, and with the
quadrant weights :math:`n = \\min(\\max(-2.5 x, 0), 1)` (negative valence) and
:math:`h = \\min(\\max(2.5 y, 0), 1)` (high arousal), whose product :math:`r = n h` is
the harshness of the anger/fear quadrant:

========================  ===============================================  ==================
cue                       rule                                             main axis
========================  ===============================================  ==================
tempo (BPM)               :math:`60 + 55 (y + 1) + 8 x`                    arousal
mode                      major if :math:`x \\ge 0`, else harmonic minor    valence
register (melody centre)  MIDI :math:`62 + 7 x + 5 y`                      valence, arousal
loudness (velocity)       :math:`64 + 36 y + 6 x + 16 r`                   arousal, anger
articulation (duty)       :math:`0.95 - 0.25 (y + 1) - 0.1 \\max(x, 0)`     arousal (staccato)
brightness (timbre)       :math:`0.35 (y + 1) + 0.15 (x + 1)`              arousal, valence
note density              1/2, 1 or 2 notes per beat as :math:`y` rises    arousal
melodic range (step)      :math:`2 + \\mathrm{round}(1.5 (y + 1))` degrees  arousal
dissonance                :math:`0.8 r`                                    anger/fear quadrant
roughness (timbre)        :math:`r`                                        anger/fear quadrant
========================  ===============================================  ==================

Mode is made unmistakable, as tonal music marks it (Krumhansl, 1990): positive valence
uses only the consonant major triads I, IV and V (I-IV-V-I and reorderings); negative
valence the harmonic minor scale and its triads i, iv and V (i-iv-V-i and the same
reorderings), whose raised leading tone keeps the music from being heard in the
relative major. Every progression starts on the tonic chord, chords are in root
position with the root doubled (the minor tonic chord doubles its third, the tone that
tells minor from major), the bass plays the root, and the melody starts and ends every
bar of the tonic chord on the tonic. Dissonance adds, with probability
:math:`0.8 r` per chord, a cluster tone a minor second or a tritone above the chord
root, and chromatic neighbour notes to the melody. Roughness gives the numpy
synthesiser a saw-like spectrum, a second oscillator detuned by :math:`12 r` cents
(beating) and a :math:`\\tanh` drive of :math:`1 + 5 r` per note; positive valence stays
clean, and brighter (more harmonics) as valence and arousal rise; with FluidSynth,
roughness opens the filter (MIDI CC 74) further.

The score is rendered with FluidSynth and a General MIDI soundfont when both are
present (Debian ``fluidsynth`` and ``fluid-soundfont-gm``: 44.1 kHz stereo), otherwise by
a small additive numpy synthesiser (22.05 kHz mono); ``params["renderer"]`` in the
manifest says which.

Where the valence and arousal come from
---------------------------------------
:class:`~emoconvey.generate.backends.base.GenerationRequest` carries only the prompt, so
the backend finds the intent word in the prompt (whole word, case-insensitive, longest
known word first) and looks its norms up in ``norms``: a ``{word: (valence, arousal)}``
mapping or an intents table (``intent``, ``norm_valence``, ``norm_arousal``); the default
is the 12 AImoclips intents. A prompt may instead name the point directly,
``"valence=7.2 arousal=3.1"``.

References
----------
Gabrielsson, A., & Lindström, E. (2010). The role of structure in the musical expression
of emotions. In P. N. Juslin & J. A. Sloboda (Eds.), *Handbook of Music and Emotion*
(pp. 367-400). Oxford University Press.

Juslin, P. N., & Laukka, P. (2003). Communication of emotions in vocal expression and
music performance. *Psychological Bulletin*, 129(5), 770-814.

Krumhansl, C. L. (1990). *Cognitive Foundations of Musical Pitch*. Oxford University
Press.

Livingstone, S. R., Muhlberger, R., Brown, A. R., & Thompson, W. F. (2010). Changing
musical emotion: A computational rule system for modifying score and performance.
*Computer Music Journal*, 34(1), 41-64.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import (
    Backend,
    BackendUnavailableError,
    GeneratedAudio,
    GenerationRequest,
)

__all__ = [
    "DEFAULT_SOUNDFONT",
    "CueParameters",
    "CuesBackend",
    "Note",
    "check_renderer",
    "compose",
    "cue_parameters",
    "fluidsynth_available",
    "render_cues",
]

log = logging.getLogger(__name__)

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RULES_VERSION = "cues-2"
FLUID_RATE = 44_100
NUMPY_RATE = 22_050

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)  # raised leading tone
# Chord roots as scale degrees, the same for both modes: I/i, IV/iv and V (a major triad
# in both, thanks to the raised leading tone); every progression starts on the tonic.
_PROGRESSIONS = ((0, 3, 4, 0), (0, 3, 0, 4), (0, 0, 3, 4), (0, 4, 0, 3))
# General MIDI programs (0-based) per quadrant: melody, accompaniment, bass.
_PROGRAMS = {
    "hv_ha": (1, 0, 33),  # bright piano, grand piano, finger bass
    "lv_ha": (61, 48, 33),  # brass section, strings, finger bass
    "lv_la": (42, 48, 43),  # cello, strings, contrabass
    "hv_la": (73, 0, 32),  # flute, grand piano, acoustic bass
}
_VA_RE = re.compile(r"valence\s*[=:]\s*([0-9.]+)\D+arousal\s*[=:]\s*([0-9.]+)", re.I)


@dataclass(frozen=True)
class CueParameters:
    """The musical cues of one point of the valence-arousal plane (see module docs)."""

    valence: float
    arousal: float
    tempo_bpm: float
    mode: str
    register: float
    velocity: float
    articulation: float
    brightness: float
    notes_per_beat: float
    max_step: int
    dissonance: float
    roughness: float
    reverb: float
    quadrant: str
    programs: tuple[int, int, int]


@dataclass(frozen=True)
class Note:
    """One note of a score: onset and duration in seconds, MIDI pitch and velocity."""

    start: float
    duration: float
    pitch: int
    velocity: int
    part: int  # 0 melody, 1 accompaniment, 2 bass


def cue_parameters(valence: float, arousal: float) -> CueParameters:
    """Map valence and arousal (1-9) to musical cues (formulas in the module docs)."""
    for name, value in (("valence", valence), ("arousal", arousal)):
        if not (isinstance(value, int | float) and math.isfinite(value) and 1 <= value <= 9):
            raise EmoconveyError(f"cues: {name} must be a number in [1, 9], got {value!r}")
    x = (float(valence) - 5.0) / 4.0
    y = (float(arousal) - 5.0) / 4.0
    quadrant = ("hv" if x >= 0 else "lv") + "_" + ("ha" if y >= 0 else "la")
    harsh = min(max(-2.5 * x, 0.0), 1.0) * min(max(2.5 * y, 0.0), 1.0)
    if y < -0.5:
        density = 0.5
    elif y < 0.2:
        density = 1.0
    else:
        density = 2.0
    return CueParameters(
        valence=float(valence),
        arousal=float(arousal),
        tempo_bpm=60.0 + 55.0 * (y + 1.0) + 8.0 * x,
        mode="major" if x >= 0 else "minor",
        register=62.0 + 7.0 * x + 5.0 * y,
        velocity=float(np.clip(64.0 + 36.0 * y + 6.0 * x + 16.0 * harsh, 24, 118)),
        articulation=0.95 - 0.25 * (y + 1.0) - 0.1 * max(x, 0.0),
        brightness=0.35 * (y + 1.0) + 0.15 * (x + 1.0),
        notes_per_beat=density,
        max_step=2 + round(1.5 * (y + 1.0)),
        dissonance=0.8 * harsh,
        roughness=harsh,
        reverb=0.25 + 0.35 * (1.0 - (y + 1.0) / 2.0),
        quadrant=quadrant,
        programs=_PROGRAMS[quadrant],
    )


@dataclass(frozen=True)
class _Key:
    """A key of the score: tonic MIDI pitch near the register centre and its scale."""

    tonic: int
    scale: tuple[int, ...]

    def pitch(self, degree: int, octave_shift: int = 0) -> int:
        octave, step = divmod(degree, 7)
        return self.tonic + 12 * (octave + octave_shift) + self.scale[step]


def _chord_notes(cues: CueParameters, key: _Key, root: int, t0: float, bar: float,
                 rng: np.random.Generator) -> list[Note]:
    """Accompaniment and bass of one bar on the chord of scale degree ``root``."""
    vel = cues.velocity
    # root position, the root in MIDI 48-59 (C3-B3), with the root doubled; the minor
    # tonic chord doubles its third instead, the tone that tells minor from major
    shift = -12 * math.floor((key.pitch(root) - 48) / 12)
    double = root + 9 if root == 0 and key.scale == _HARMONIC_MINOR else root + 7
    chord = [key.pitch(d) + shift for d in (root, root + 2, root + 4, double)]
    if rng.random() < cues.dissonance:  # a cluster tone: minor second or tritone
        chord.append(chord[0] + int(rng.choice([1, 6])))
    notes: list[Note] = []
    # sustained for low arousal, repeated stabs for high arousal
    if cues.notes_per_beat <= 1.0 and cues.articulation > 0.7:
        notes += [Note(t0, bar * 0.98, p, int(vel * 0.7), 1) for p in chord]
    else:
        n_hits = 4 if cues.notes_per_beat <= 1.0 else 8
        for k in range(n_hits):
            accent = 1.0 if k % (n_hits // 4 * 2) == 0 else 0.85
            notes += [Note(t0 + k * bar / n_hits, bar / n_hits * cues.articulation, p,
                           int(vel * 0.65 * accent), 1) for p in chord]
    # bass: the chord root (the tonic on tonic bars) on beats 1 (and 3 when aroused)
    bass = key.pitch(root)
    bass -= 12 * math.ceil((bass - 51) / 12)  # into MIDI 40-51 (E2-Eb3)
    hits = (0.0, 0.5) if cues.notes_per_beat >= 1.0 else (0.0,)
    notes += [Note(t0 + h * bar, bar / 2 * cues.articulation, bass, int(vel * 0.8), 2)
              for h in hits]
    return notes


def _melody_bar(cues: CueParameters, key: _Key, root: int, t0: float, bar: float,
                degree: int, rng: np.random.Generator) -> tuple[list[Note], int]:
    """One bar of melody: a bounded random walk on the scale, a chord tone on the downbeat
    and, on the tonic chord, the tonic on the first and last note. Returns the notes and
    the last scale degree."""
    ioi = 60.0 / cues.tempo_bpm / cues.notes_per_beat
    n_slots = max(round(bar / ioi), 1)
    ioi = bar / n_slots
    notes: list[Note] = []
    for k in range(n_slots):
        if k == 0 or (root == 0 and k == n_slots - 1):
            targets = (0, 7) if root == 0 else (root, root + 2, root + 4)
            target = min(targets, key=lambda c: abs(c - degree))
            degree = target + 7 * round((degree - target) / 7)
        else:
            step = int(rng.integers(-cues.max_step, cues.max_step + 1))
            degree = int(np.clip(degree + step, -5, 9))
        if k not in (0, n_slots - 1) and rng.random() < 0.08:  # occasional rests
            continue
        pitch = key.pitch(degree)
        if k % 2 and rng.random() < cues.dissonance * 0.5:  # chromatic neighbour
            pitch += int(rng.choice([-1, 1]))
        accent = 1.08 if k == 0 else 1.0
        v = int(np.clip(cues.velocity * accent + rng.normal(0, 4), 1, 127))
        start = max(t0 + k * ioi + float(rng.normal(0, 0.006)), 0.0)
        notes.append(Note(start, ioi * cues.articulation, pitch, v, 0))
    return notes, degree


def compose(cues: CueParameters, *, seconds: float, seed: int) -> list[Note]:
    """A seeded score (melody, chords, bass) realising ``cues`` for ``seconds``.

    The seed chooses the tonic pitch class, the progression, a tempo jitter of
    :math:`\\pm 3\\%` and the melody (see the module docs for the harmony).
    """
    rng = np.random.default_rng(seed)
    scale = _MAJOR if cues.mode == "major" else _HARMONIC_MINOR
    tonic_pc = int(rng.integers(0, 12))
    progression = _PROGRESSIONS[int(rng.integers(0, len(_PROGRESSIONS)))]
    tempo = cues.tempo_bpm * float(rng.uniform(0.97, 1.03))
    jittered = CueParameters(**{**asdict(cues), "tempo_bpm": tempo,
                                "programs": cues.programs})
    # tonic: the pitch of class tonic_pc nearest below the register centre
    centre = math.floor(cues.register)
    key = _Key(centre - ((centre - tonic_pc) % 12), scale)
    bar = 4 * 60.0 / tempo
    notes: list[Note] = []
    degree = 0
    for b in range(math.ceil(seconds / bar)):
        root = progression[b % len(progression)]
        notes += _chord_notes(jittered, key, root, b * bar, bar, rng)
        melody, degree = _melody_bar(jittered, key, root, b * bar, bar, degree, rng)
        notes += melody
    return [
        Note(n.start, min(n.duration, seconds - n.start), int(np.clip(n.pitch, 21, 108)),
             int(np.clip(n.velocity, 1, 127)), n.part)
        for n in notes
        if n.start < seconds - 0.05
    ]


# ----------------------------------------------------------------------------- MIDI


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(notes: Sequence[Note], cues: CueParameters, seconds: float, path: Path) -> None:
    """Write ``notes`` as a format-0 Standard MIDI File (120 BPM, 960 ticks per second)."""
    tps = 960  # 480 ticks per quarter at 120 BPM
    events: list[tuple[int, int, bytes]] = [(0, 0, b"\xff\x51\x03" + (500_000).to_bytes(3, "big"))]
    cc74 = int(np.clip(30 + 90 * (cues.brightness + 0.4 * cues.roughness), 0, 127))
    for ch, prog in enumerate(cues.programs):
        events += [
            (0, 0, bytes([0xC0 | ch, prog])),
            (0, 0, bytes([0xB0 | ch, 7, 100])),
            (0, 0, bytes([0xB0 | ch, 91, int(127 * cues.reverb)])),
            (0, 0, bytes([0xB0 | ch, 74, cc74])),
            (0, 0, bytes([0xB0 | ch, 10, (64, 44, 84)[ch]])),
        ]
    for n in notes:
        on = round(n.start * tps)
        off = max(on + 1, round((n.start + n.duration) * tps))
        events.append((on, 2, bytes([0x90 | n.part, n.pitch, n.velocity])))
        events.append((off, 1, bytes([0x80 | n.part, n.pitch, 0])))
    end = round((seconds + 0.3) * tps)
    events.sort(key=lambda e: (e[0], e[1]))
    data = bytearray()
    last = 0
    for tick, _, ev in events:
        data += _vlq(tick - last) + ev
        last = tick
    data += _vlq(max(end - last, 0)) + b"\xff\x2f\x00"
    path.write_bytes(
        b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(data))
        + bytes(data)
    )


# ----------------------------------------------------------------------------- renderers


def fluidsynth_available(soundfont: str | Path = DEFAULT_SOUNDFONT) -> bool:
    """Whether the ``fluidsynth`` program, the soundfont and soundfile are all present."""
    try:
        import soundfile  # noqa: F401
    except ImportError:
        return False
    return shutil.which("fluidsynth") is not None and Path(soundfont).is_file()


@functools.cache
def _fluidsynth_version() -> str:
    try:
        res = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    m = re.search(r"version\s+([0-9.]+)", res.stdout)
    return m.group(1) if m else ""


def _render_fluidsynth(notes: Sequence[Note], cues: CueParameters, seconds: float,
                       soundfont: str, rate: int) -> np.ndarray:
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="emoconvey-cues-") as tmp:
        mid = Path(tmp) / "score.mid"
        wav = Path(tmp) / "out.wav"
        write_midi(notes, cues, seconds, mid)
        cmd = ["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(rate), "-O", "float",
               "-T", "wav", "-F", str(wav), "-o", "synth.cpu-cores=1",
               "-o", "synth.dynamic-sample-loading=1", soundfont, str(mid)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if res.returncode != 0 or not wav.is_file():
            raise BackendUnavailableError(
                f"cues: fluidsynth failed (exit {res.returncode}): "
                f"{(res.stderr or res.stdout).strip().splitlines()[-1:] or ''}"
            )
        audio, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    audio = audio.T
    n = round(seconds * rate)
    if audio.shape[1] < n:
        audio = np.pad(audio, ((0, 0), (0, n - audio.shape[1])))
    return np.ascontiguousarray(audio[:, :n])


def _render_numpy(notes: Sequence[Note], cues: CueParameters, seconds: float,
                  rate: int) -> np.ndarray:
    """Additive synthesis: harmonics rolling off as :math:`k^{-\\rho}` with
    :math:`\\rho = 2.2 - 1.4 b - 0.8 r` for brightness :math:`b` and roughness :math:`r`;
    percussive decay for pianos, sustained tones otherwise. Roughness also adds a second
    oscillator detuned by :math:`12 r` cents and a per-note drive
    :math:`\\tanh(d s) / \\tanh(d)` with :math:`d = 1 + 5 r`."""
    n_total = round(seconds * rate)
    out = np.zeros(n_total + rate, dtype=np.float64)
    rough = cues.roughness
    n_harm = 1 + round(min(cues.brightness, 1.0) * 7 + 4 * rough)
    rolloff = 2.2 - 1.4 * min(cues.brightness, 1.0) - 0.8 * rough
    k = np.arange(1, n_harm + 1)
    weights = k.astype(np.float64) ** -rolloff
    percussive = [p in (0, 1, 32, 33) for p in cues.programs]
    attack = 0.004 + 0.04 * max(cues.articulation - 0.6, 0.0)
    drive = 1.0 + 5.0 * rough
    detune = 2.0 ** (12.0 * rough / 1200.0)
    for note in notes:
        start = round(note.start * rate)
        length = max(round((note.duration + 0.08) * rate), 16)
        t = np.arange(length) / rate
        f0 = 440.0 * 2.0 ** ((note.pitch - 69) / 12.0)
        keep = k * f0 * detune < rate / 2 * 0.9
        wave = weights[keep] @ np.sin(2 * np.pi * f0 * np.outer(k[keep], t))
        if rough > 0:
            wave = 0.5 * (wave + weights[keep] @ np.sin(
                2 * np.pi * f0 * detune * np.outer(k[keep], t)))
            wave = np.tanh(drive * wave) / np.tanh(drive)
        env = np.minimum(t / attack, 1.0)
        if percussive[note.part]:
            env = env * np.exp(-t * (2.5 + 0.02 * note.pitch))
        release = np.clip((note.duration + 0.08 - t) / 0.08, 0.0, 1.0)
        amp = (note.velocity / 127.0) ** 2 * (0.12 if note.part else 0.2)
        out[start : start + length] += amp * wave * env * release
    audio = out[:n_total]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0.95:
        audio = audio * (0.95 / peak)
    return audio[None, :].astype(np.float32)


def check_renderer(renderer: str, soundfont: str | Path | None = None,
                   sample_rate: int | None = None) -> Path:
    """Validate the rendering options of :func:`render_cues`; return the soundfont path.

    Raises
    ------
    EmoconveyError
        An unknown ``renderer``, a ``soundfont`` given that is not a file, or a
        ``sample_rate`` that is not a positive integer.
    BackendUnavailableError
        ``renderer="fluidsynth"`` and the program, soundfile or the soundfont is missing.
    """
    if renderer not in ("auto", "fluidsynth", "numpy"):
        raise EmoconveyError(
            f"cues: renderer must be auto, fluidsynth or numpy, got {renderer!r}"
        )
    if sample_rate is not None and (
        isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 8000
    ):
        raise EmoconveyError(
            f"cues: sample_rate must be an integer of at least 8000 Hz, got {sample_rate!r}"
        )
    if soundfont is not None and not Path(soundfont).is_file():
        raise EmoconveyError(f"cues: soundfont {str(soundfont)!r} is not a file; expected a "
                             "General MIDI .sf2 (Debian: fluid-soundfont-gm)")
    path = Path(soundfont if soundfont is not None else DEFAULT_SOUNDFONT)
    if renderer == "fluidsynth" and not fluidsynth_available(path):
        raise BackendUnavailableError(
            f"cues: the fluidsynth renderer needs the fluidsynth program, soundfile and the "
            f"soundfont {str(path)!r} (Debian: apt-get install fluidsynth "
            "fluid-soundfont-gm); or use renderer=numpy"
        )
    return path


def render_cues(valence: float, arousal: float, *, seconds: float = 30.0, seed: int = 0,
                renderer: str = "auto", soundfont: str | Path | None = None,
                sample_rate: int | None = None) -> GeneratedAudio:
    """Render one clip for a point of the valence-arousal plane.

    Parameters
    ----------
    valence, arousal : float
        Norms on the 1-9 scales.
    seconds : float
        Length of the clip.
    seed : int
        Chooses key, progression and melody.
    renderer : {"auto", "fluidsynth", "numpy"}
        ``"auto"`` takes FluidSynth when :func:`fluidsynth_available`, else numpy.
    soundfont : path, optional
        General MIDI soundfont for FluidSynth; default :data:`DEFAULT_SOUNDFONT`. A
        soundfont given here must exist (:class:`EmoconveyError` naming it otherwise).
    sample_rate : int, optional
        Defaults to 44 100 Hz (FluidSynth, stereo) or 22 050 Hz (numpy, mono).

    Raises
    ------
    EmoconveyError
        A bad renderer, length or soundfont; :class:`BackendUnavailableError` when
        ``renderer="fluidsynth"`` cannot run here.

    Returns
    -------
    GeneratedAudio
        ``params`` holds the cues, the renderer and the soundfont.
    """
    if not (math.isfinite(seconds) and seconds > 0):
        raise EmoconveyError(f"cues: seconds must be positive, got {seconds!r}")
    cues = cue_parameters(valence, arousal)
    soundfont = check_renderer(renderer, soundfont, sample_rate)
    notes = compose(cues, seconds=seconds, seed=seed)
    use_fluid = renderer == "fluidsynth" or (
        renderer == "auto" and fluidsynth_available(soundfont)
    )
    params: dict[str, Any] = {k: v for k, v in asdict(cues).items() if k != "programs"}
    params["programs"] = list(cues.programs)
    params["rules"] = RULES_VERSION
    if use_fluid:
        rate = sample_rate or FLUID_RATE
        audio = _render_fluidsynth(notes, cues, seconds, str(soundfont), rate)
        params.update(renderer="fluidsynth", soundfont=Path(soundfont).name,
                      fluidsynth=_fluidsynth_version())
    else:
        rate = sample_rate or NUMPY_RATE
        audio = _render_numpy(notes, cues, seconds, rate)
        params.update(renderer="numpy")
    return GeneratedAudio(audio=audio, sample_rate=rate, params=params)


# ----------------------------------------------------------------------------- backend


def _norm_table(norms: Mapping[str, Sequence[float]] | pd.DataFrame | None
                ) -> dict[str, tuple[float, float]]:
    if norms is None:
        from emoconvey.intents import aimoclips_intents

        norms = aimoclips_intents()
    if isinstance(norms, pd.DataFrame):
        missing = [c for c in ("intent", "norm_valence", "norm_arousal") if c not in norms]
        if missing:
            raise EmoconveyError(
                f"cues: the norms table lacks {', '.join(missing)}; expected intent, "
                "norm_valence, norm_arousal"
            )
        return {str(r.intent).strip().lower(): (float(r.norm_valence), float(r.norm_arousal))
                for r in norms.itertuples()}
    table = {}
    for word, va in dict(norms).items():
        v, a = (float(z) for z in va)
        cue_parameters(v, a)  # validates the range
        table[str(word).strip().lower()] = (v, a)
    return table


class CuesBackend(Backend):
    """The weight-free ``cues`` reference generator (see the module docs).

    Options
    -------
    renderer : {"auto", "fluidsynth", "numpy"}
        Default ``"auto"``: FluidSynth when the program, soundfile and the soundfont are
        present, otherwise numpy (a warning says so, and the manifest's
        ``params.renderer``). ``"fluidsynth"`` fails when it cannot run here.
    soundfont : path
        A General MIDI ``.sf2`` for FluidSynth; default Debian's ``FluidR3_GM.sf2``. A
        soundfont named here must exist.
    sample_rate : int, optional
        Output rate (default 44 100 Hz with FluidSynth, 22 050 Hz with numpy).
    norms : mapping or DataFrame, optional
        ``{word: (valence, arousal)}`` or an intents table; the runner passes the run's
        intents (default: the AImoclips intents).

    Any other option is an error naming it and the valid ones.
    """

    name = "cues"
    uses_norms = True  # the runner passes {intent: (valence, arousal)} as option "norms"
    extra = "generate"
    requires = ()
    default_checkpoint = RULES_VERSION
    native_sample_rate = FLUID_RATE
    max_seconds = None
    description = "weight-free music-psychology cue baseline (FluidSynth GM or numpy synth)"
    option_help: ClassVar[dict[str, str]] = {
        "renderer": "auto|fluidsynth|numpy (auto: FluidSynth if installed, else numpy)",
        "soundfont": f"PATH, a General MIDI .sf2 (default {DEFAULT_SOUNDFONT})",
        "sample_rate": "HZ (default 44100 with FluidSynth, 22050 with numpy)",
        "norms": "{WORD: [VALENCE, AROUSAL]} (default: the run's intents)",
    }

    def __init__(self, checkpoint: str | None = None, *, device: str = "cpu",
                 **options: Any) -> None:
        super().__init__(checkpoint, device=device, **options)
        self._table: dict[str, tuple[float, float]] = {}
        self._pattern: re.Pattern[str] | None = None
        self._renderer = "auto"

    def load(self) -> None:
        """Check the options, build the intent-word table and choose the renderer."""
        self.check_options(self.option_help)
        self._table = _norm_table(self.options.get("norms"))
        words = sorted(self._table, key=len, reverse=True)
        self._pattern = re.compile(
            r"(?<![a-z])(" + "|".join(re.escape(w) for w in words) + r")(?![a-z])", re.I
        ) if words else None
        renderer = self.options.get("renderer", "auto")
        soundfont = check_renderer(renderer, self.options.get("soundfont"),
                                   self.options.get("sample_rate"))
        if renderer == "auto":
            renderer = "fluidsynth" if fluidsynth_available(soundfont) else "numpy"
            if renderer == "numpy":
                log.warning(
                    "cues: FluidSynth or the soundfont %s is not installed; rendering with "
                    "the numpy synthesiser (22.05 kHz mono). Install fluidsynth and "
                    "fluid-soundfont-gm, or pass --option renderer=numpy to silence this.",
                    soundfont,
                )
        self._renderer = renderer

    def point_of(self, prompt: str) -> tuple[float, float]:
        """The (valence, arousal) a prompt asks for."""
        m = _VA_RE.search(prompt)
        if m:
            return float(m.group(1)), float(m.group(2))
        if not self._table and self._pattern is None:
            self.load()
        hit = self._pattern.search(prompt) if self._pattern is not None else None
        if hit is None:
            raise EmoconveyError(
                f"cues: no known intent word in prompt {prompt!r}; expected one of "
                f"{', '.join(sorted(self._table))} or 'valence=V arousal=A'"
            )
        return self._table[hit.group(1).lower()]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        out = []
        for req in requests:
            v, a = self.point_of(req.prompt)
            out.append(render_cues(
                v, a, seconds=req.seconds, seed=req.seed, renderer=self._renderer,
                soundfont=self.options.get("soundfont"),
                sample_rate=self.options.get("sample_rate"),
            ))
        return out

    def info(self) -> dict[str, Any]:
        versions = {"numpy": np.__version__}
        if self._renderer == "fluidsynth":
            versions["fluidsynth"] = _fluidsynth_version()
        return {"checkpoint": self.checkpoint or RULES_VERSION, "revision": "",
                "versions": versions, "device": "cpu"}
