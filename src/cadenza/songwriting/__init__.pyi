"""Public names of cadenza.songwriting, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .lyrics import (LyricLine, RhymeIndex, build_rhyme_index, count_word_syllables, family_sizes, find_near_rhymes, find_rhymes,
                     rhymes, syllabify_line)
from .notation import (ChordMark, ReadSong, SungNote, expected_reading, midi_bytes, parse_midi, parse_musicxml, read_midi,
                       read_musicxml, song_to_midi, song_to_musicxml, sung_notes)
from .scaffolds import TUNES, Tune, blank_lines, fill_blanks, get_tune, tune_song
from .song import (METERS, PROGRESSIONS, THEMES, ChordChange, FitProblem, Song, SongNote, SongSpec, check_fit, chord_numeral,
                   compose_song, fit_line, parse_meter, parse_progression)
