"""Reading title/artist/album/year/genre/duration tags from audio files (tinytag, MIT licence).

Tags are whatever the files say: text is decoded leniently (a tag that is not valid UTF-8 keeps its
readable characters and marks the rest with U+FFFD, and the reading carries a warning), a missing
year is ``None``, and an unreadable tag block is a :class:`DataQualityError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.errors import DataQualityError
from cadenza.io.audio import existing_audio_file

TAG_EXTENSIONS = (".mp3", ".flac", ".ogg", ".opus", ".wav", ".m4a")
_YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})")


@dataclass(frozen=True)
class TrackTags:
    """What a music file says about itself (title, artist, album, year, genre) and its stream (duration,
    sampling rate, channels), read without decoding; ``warnings`` name tags that could not be read."""

    title: str = ""
    artist: str = ""
    album: str = ""
    year: int | None = None
    genre: str = ""
    duration_s: float | None = None
    sampling_rate_hz: int | None = None
    channels: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def display_name(self, path: Path | str) -> str:
        """"Artist - Title", or the file name when tags are empty."""
        if self.title:
            return f"{self.artist} - {self.title}" if self.artist else self.title
        return Path(path).stem


def _text(value: object, name: str, warnings: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    else:
        text = str(value)
    # Lone surrogates (from surrogateescape decoding) cannot be stored or printed.
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    repaired = _repair_mojibake(text)
    if repaired != text:
        warnings.append(f"tag {name!r} was UTF-8 stored as Latin-1 (common in ID3 tags); repaired")
        text = repaired
    if "\ufffd" in text:
        warnings.append(f"tag {name!r} is not valid text in its declared encoding; "
                        "unreadable bytes were replaced with U+FFFD")
    return text.replace("\x00", "").strip()


def _repair_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that a tagger declared as Latin-1 ("CafÃ©" -> "Café").

    Only when the Latin-1 bytes form valid UTF-8 *and* contain a multi-byte sequence, which
    ordinary Latin-1 text almost never does.

    >>> _repair_mojibake("CafÃ© Ã\x84rtist"), _repair_mojibake("Café")
    ('Café Ärtist', 'Café')
    """
    if not any("\x80" <= ch <= "\xff" for ch in text):
        return text
    try:
        fixed = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed


def parse_year(value: object) -> int | None:
    """The first plausible 4-digit year in a tag value ("1969", "1969-05-01", "(p) 1969").

    >>> parse_year("1969-05-01"), parse_year("unknown"), parse_year(None)
    (1969, None, None)
    """
    if value is None:
        return None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def read_tags(path: str | Path) -> TrackTags:
    """Tags and stream facts of one audio file.

    Raises :class:`ParameterError` if ``path`` is not a file and :class:`DataQualityError` if the
    file is empty or its tag/stream headers cannot be parsed; messages name the file.
    """
    from tinytag import TinyTag, TinyTagException

    path = existing_audio_file(path)
    try:
        tag = TinyTag.get(str(path), tags=True, duration=True, image=False)
    except TinyTagException as exc:
        raise DataQualityError(f"cannot read tags of {str(path)!r}: {exc}") from exc
    except (OSError, ValueError, KeyError, IndexError, UnicodeError, EOFError) as exc:
        raise DataQualityError(f"cannot read tags of {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    warnings: list[str] = []
    duration = float(tag.duration) if tag.duration else None
    return TrackTags(
        title=_text(tag.title, "title", warnings),
        artist=_text(tag.artist, "artist", warnings),
        album=_text(tag.album, "album", warnings),
        year=parse_year(tag.year),
        genre=_text(tag.genre, "genre", warnings),
        duration_s=duration,
        sampling_rate_hz=int(tag.samplerate) if tag.samplerate else None,
        channels=int(tag.channels) if tag.channels else None,
        warnings=tuple(warnings),
    )
