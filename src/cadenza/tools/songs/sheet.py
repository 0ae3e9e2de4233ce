"""The printable lyric and lead sheet: each line's syllables with the chord symbol over the syllable
where the chord changes, the song's key, metre, tempo and chords per bar, the tune's credit, and the
adjunct caveat. HTML, and PDF through WeasyPrint (the ``pdf`` extra) like the home programme's family report."""

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
    """Per line, its syllables with the chord symbols where the chord changes: over the first syllable
    sung at or after the change (chords changing with no syllable of their own are shown together, in
    order, on the next syllable; a chord equal to the one shown before is not repeated)."""
    changes = [(c.onset_beats, chord_name(c.numeral, key=song.spec.key, mode=song.spec.mode))
               for c in song.chord_changes()]
    shown, last = 0, ""
    out: list[list[SheetSyllable]] = [[] for _ in song.lines]
    for note in sorted(song.notes, key=lambda n: n.onset_beats):
        due: list[str] = []
        while shown < len(changes) and changes[shown][0] <= note.onset_beats + 1e-9:
            name = changes[shown][1]
            if name != (due[-1] if due else last):
                due.append(name)
            shown += 1
        if due:
            last = due[-1]
        hyphen = "-" if note.syllabic in ("begin", "middle") else ""
        if 0 <= note.line_index < len(out):
            out[note.line_index].append(SheetSyllable(" ".join(due), note.lyric + hyphen))
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
