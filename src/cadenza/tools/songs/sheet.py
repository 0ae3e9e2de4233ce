"""The printable lyric and lead sheet: each line's syllables with the chord symbol over the syllable
where its bar starts, the song's key, metre and tempo, the tune's credit, and the adjunct caveat. HTML,
and PDF through WeasyPrint (the ``pdf`` extra) like the home programme's family report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cadenza.errors import ParameterError
from cadenza.songwriting.song import Song, chord_name
from cadenza.tools.songs import actions

STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class SheetSyllable:
    chord: str  # the chord symbol when a bar starts on this syllable's note, else ""
    text: str  # with a trailing hyphen when the word goes on


def sheet_lines(song: Song) -> list[list[SheetSyllable]]:
    """Per line, its syllables with the chords where bars start (a bar with no syllable of its own
    shows its chord on the next syllable)."""
    bar_beats = song.spec.beats_per_bar
    shown_bar = -1
    out: list[list[SheetSyllable]] = [[] for _ in song.lines]
    for note in sorted(song.notes, key=lambda n: n.onset_beats):
        bar = int(note.onset_beats // bar_beats)
        chord = ""
        if bar > shown_bar and bar < len(song.chords):
            skipped = [chord_name(c, key=song.spec.key, mode=song.spec.mode) for c in song.chords[shown_bar + 1:bar + 1]]
            chord = " ".join(dict.fromkeys(skipped)) if len(skipped) > 1 and len(set(skipped)) > 1 else skipped[-1]
            shown_bar = bar
        hyphen = "-" if note.syllabic in ("begin", "middle") else ""
        if 0 <= note.line_index < len(out):
            out[note.line_index].append(SheetSyllable(chord, note.lyric + hyphen))
    return out


def render_html(song: Song) -> str:
    from cadenza.web.templating import templates

    name, note = actions.evidence_note()
    return templates.env.get_template("songs/lead_sheet.html").render(
        song=song, lines=sheet_lines(song), evidence_name=name, evidence_note=note)


def render_pdf(song: Song) -> bytes:
    """The lead sheet as a PDF (WeasyPrint, the ``pdf`` extra: ``pip install cadenza[pdf]``)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint installed without Pango
        raise ParameterError(f"the PDF needs WeasyPrint and Pango (pip install 'cadenza[pdf]'): {exc}") from None
    return weasyprint.HTML(string=render_html(song), base_url=str(STATIC) + "/").write_pdf()
