"""How common English words are, for ranking rhymes: the wordfreq list when the ``words`` extra is installed.

wordfreq (code Apache-2.0, data CC BY-SA 4.0; about 57 MB with every language) is an optional extra,
never in the core: ``pip install 'cadenza[words]'``. It ships its lists in the wheel and reads them from
there; nothing is downloaded at run time. Without it :func:`load_word_frequencies` returns None and the
rhyme index falls back to the pronouncing dictionary's word families
(:func:`cadenza.songwriting.lyrics.family_sizes`). See docs/songs.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cadenza.errors import ParameterError


@dataclass(frozen=True)
class WordFrequencies:
    """Zipf values (log10 of a word's count per billion words: "the" 7.7, "day" 6.0, "Cathay" 2.8) and
    where they come from."""

    zipf: dict[str, float]
    source: str


def load_word_frequencies(words: Iterable[str] | None = None, *, language: str = "en") -> WordFrequencies | None:
    """wordfreq's "best" list for ``language`` as Zipf values (only ``words``, when given), or None when
    wordfreq is not installed."""
    if not isinstance(language, str) or not language.isalpha() or len(language) > 8:
        raise ParameterError(f"language must be a language code such as 'en', got {language!r}")
    try:
        import wordfreq
    except ImportError:
        return None
    try:
        frequencies = wordfreq.get_frequency_dict(language, wordlist="best")
    except (LookupError, OSError, ValueError) as exc:  # no list for that language, or a damaged install
        raise ParameterError(f"wordfreq has no readable list for language {language!r}: {exc}") from exc
    wanted = frequencies if words is None else {w: frequencies[w] for w in set(words) if w in frequencies}
    zipf = {w: round(math.log10(f * 1e9), 2) for w, f in wanted.items() if f > 0}
    version = getattr(wordfreq, "__version__", "") or _version()
    return WordFrequencies(zipf, f"wordfreq {version} ({language}, best list)".replace("  ", " "))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return ""
