"""Songwriting: lyrics as stressed syllables, rhymes, a melody that carries them, scaffolds, notation.

``lyrics`` (lines -> syllables with stress from the pronouncing dictionary MIT uses; syllable counts;
rhymes by CMU phones) -> ``song`` (the client's choices: key, mode, tempo, metre, chord progression,
theme; the syllable-to-note fit and its check) and ``scaffolds`` (public-domain tunes for parody and
fill-in-the-blank) -> ``notation`` (MIDI and MusicXML with lyrics, and reading them back). Everything
here is pure: the dictionary is loaded by :func:`cadenza.io.speech.load_lexicon`. See docs/songs.md.

>>> from cadenza.mit import Lexicon
>>> from cadenza.songwriting import SongSpec, check_fit, compose_song
>>> lexicon = Lexicon({"good": (("G", "UH1", "D"),), "morning": (("M", "AO1", "R", "N", "IH0", "NG"),)})
>>> song = compose_song(["good morning"], spec=SongSpec(key="F", beats_per_bar=3), lexicon=lexicon)
>>> len(song.notes), check_fit(song)
(3, ())
"""

from cadenza._lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
