"""``cadenza songs``: fit lyric lines to a melody, find rhymes, export a song, keep its versions.

The commands parse their options and print; the workflow is :mod:`cadenza.tools.songs.actions`. The
dictionary and the science are imported inside the commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, domain_errors, fail, open_db

app = typer.Typer(help="Songwriting: lyrics fitted to a melody, rhymes, tunes, versions and exports.",
                  no_args_is_help=True)

LinesArg = Annotated[list[str] | None, typer.Argument(help="Lyric lines, one argument each (or use --lyrics FILE).")]
LyricsOpt = Annotated[Path | None, typer.Option("--lyrics", help="A text file of lyric lines, one per line.")]
KeyOpt = Annotated[str, typer.Option("--key", help="Key (C, G, D, F, Bb, A, ...).")]
ModeOpt = Annotated[str, typer.Option("--mode", help="major or minor.")]
TempoOpt = Annotated[float, typer.Option("--tempo-bpm", help="Tempo (beats per minute, 40..200).")]
MeterOpt = Annotated[str, typer.Option("--meter", help="Time signature: 2/4, 3/4, 4/4 or 6/8 (two dotted-quarter "
                                                       "beats a bar); a bare 2, 3 or 4 is x/4.")]
ProgOpt = Annotated[str, typer.Option("--progression", help="Roman numerals or chord symbols of the key, e.g. "
                                                           "'I-V-vi-IV' or 'C G | Am F' ('|' between bars); default: "
                                                           "the first of the mode's common progressions.")]
PerBarOpt = Annotated[int, typer.Option("--chords-per-bar", help="1, 2 or 4 chords of the progression a bar "
                                                                 "(changing on beats); bars typed with '|' say it "
                                                                 "themselves.")]
ThemeOpt = Annotated[str, typer.Option("--theme", help="free, hope, memory, gratitude, feelings or goodbye.")]
TuneOpt = Annotated[str | None, typer.Option("--tune", help="Sing the lines to a public-domain tune (twinkle, mary, "
                                                            "amazing_grace); each line keeps its syllable count.")]
TitleOpt = Annotated[str, typer.Option("--title", help="The song's title.")]


def _lines(lines: list[str] | None, lyrics: Path | None, tune: str | None) -> list[str]:
    from cadenza.songwriting.scaffolds import get_tune

    if lyrics is not None:
        try:
            text = lyrics.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--lyrics {str(lyrics)!r} cannot be read as UTF-8 text: {exc}", code=2)
        return [x for x in text.splitlines() if x.strip()] + list(lines or [])
    if not lines and tune:
        return [x.text for x in get_tune(tune).lines]
    if not lines:
        fail("give lyric lines (arguments or --lyrics FILE), or --tune NAME for the tune's own words", code=2)
    return list(lines)


def _song(lines, lyrics, key, mode, tempo_bpm, meter, progression, theme, tune, title, chords_per_bar=1):
    from cadenza.tools.songs import actions

    texts = _lines(lines, lyrics, tune)
    spec = actions.spec_from_values({"key": key, "mode": mode, "tempo_bpm": str(tempo_bpm), "meter": meter,
                                     "progression": progression, "theme": theme,
                                     "chords_per_bar": str(chords_per_bar)})
    return texts, actions.make_song(texts, spec=spec, tune=tune, title=title)


def _print_fit(song) -> None:
    from cadenza.tools.songs import actions

    beat = "dotted-quarter beats" if song.spec.compound else "BPM"
    typer.echo(f"{song.title}  ({song.spec.key} {song.spec.mode}, {song.spec.time_signature}, "
               f"{song.spec.tempo_bpm:g} {beat}, {song.n_bars} bars, {song.duration_s:.0f} s)")
    typer.echo("chords: " + actions.chord_chart(song))
    for i, fit in enumerate(actions.line_fits(song), start=1):
        typer.echo(f"{i:>2}. {fit.display}   [{fit.n_syllables} syllables, {fit.stress_pattern}]")
        for problem in fit.problems:
            typer.echo(f"    ! {problem}")
        if fit.guessed_words:
            typer.echo(f"    ? not in the dictionary, guessed: {', '.join(fit.guessed_words)}")
    name, note = actions.evidence_note()
    typer.echo(f"{name} is an adjunct to therapy, not a cure. Evidence: {note}")


@app.command()
def fit(lines: LinesArg = None, lyrics: LyricsOpt = None, key: KeyOpt = "C", mode: ModeOpt = "major",
        tempo_bpm: TempoOpt = 90.0, meter: MeterOpt = "4/4", progression: ProgOpt = "", theme: ThemeOpt = "free",
        tune: TuneOpt = None, title: TitleOpt = "", chords_per_bar: PerBarOpt = 1) -> None:
    """Show each line's syllables (stressed in capitals), count and stress pattern, and any syllable that
    the melody would sing against its stress."""
    with domain_errors():
        _, song = _song(lines, lyrics, key, mode, tempo_bpm, meter, progression, theme, tune, title, chords_per_bar)
    _print_fit(song)


@app.command()
def rhyme(word: Annotated[str, typer.Argument(help="The word to rhyme.")],
          max_words: Annotated[int, typer.Option("--max", help="At most this many rhymes (and near rhymes).")] = 40
          ) -> None:
    """Perfect rhymes by the pronouncing dictionary's phones, then near rhymes (the same vowels), the most
    common words first."""
    from cadenza.tools.songs import actions

    with domain_errors():
        found = actions.rhymes_for(word, max_words=max_words)
        near = actions.near_rhymes_for(word, max_words=max_words)
    if not found and not near:
        typer.echo(f"no rhymes found for {word!r} (not in the dictionary?)")
        return
    typer.echo("rhymes: " + (", ".join(found) or "none"))
    typer.echo("near rhymes: " + (", ".join(near) or "none"))
    typer.echo(f"(most common first, by {actions.rhyme_index().ranked_by})")


@app.command()
def export(out: Annotated[Path, typer.Argument(help="Output file: .mid, .musicxml, .wav, .html or .pdf.")],
           lines: LinesArg = None, lyrics: LyricsOpt = None, key: KeyOpt = "C", mode: ModeOpt = "major",
           tempo_bpm: TempoOpt = 90.0, meter: MeterOpt = "4/4", progression: ProgOpt = "", theme: ThemeOpt = "free",
           tune: TuneOpt = None, title: TitleOpt = "", chords_per_bar: PerBarOpt = 1,
           version_id: Annotated[int | None, typer.Option("--version-id", help="Export a saved version instead "
                                                                               "(with --client and --as).")] = None,
           client: Annotated[str | None, typer.Option("--client", help="Client code (with --version-id).")] = None,
           sing: Annotated[bool, typer.Option("--sing", help="With .wav: the MIT voice (espeak-ng) sings the words, "
                                                             "instead of an instrumental melody.")] = False,
           voice: Annotated[str, typer.Option("--voice", help="With --sing: male (an octave below the written "
                                                              "line) or female.")] = "male",
           as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None) -> None:
    """Write the song as MIDI, MusicXML (lyrics on the notes), audio (WAV) or the lead sheet (HTML, PDF)."""
    from cadenza.tools.songs import actions, records, sheet

    suffix = out.suffix.lower().lstrip(".")
    fmt = {"midi": "mid", "xml": "musicxml"}.get(suffix, suffix)
    if fmt not in ("mid", "musicxml", "wav", "html", "pdf"):
        fail(f"output {str(out)!r} must end in .mid, .musicxml, .wav, .html or .pdf", code=2)
    with domain_errors():
        if version_id is not None:
            if not client:
                fail("--version-id needs --client CODE (and --as USER)", code=2)
            with open_db() as db:
                _, c = acting_client(db, as_user, client)
                song = actions.song_of_version(records.client_version(db, client=c, version_id=version_id))
        else:
            _, song = _song(lines, lyrics, key, mode, tempo_bpm, meter, progression, theme, tune, title,
                            chords_per_bar)
        if fmt == "html":
            data = sheet.render_html(song).encode("utf-8")
        elif fmt == "pdf":
            data = sheet.render_pdf(song)
        else:
            data, _ = actions.export_song(song, "sung.wav" if sing and fmt == "wav" else fmt, voice=voice)
    try:
        out.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {str(out)!r}: {exc}")
    problems = actions.fit_problems(song)
    typer.echo(f"wrote {out} ({len(data)} bytes; {len(song.notes)} notes, {len(problems)} fit problem(s))")


@app.command()
def new(client: Annotated[str, typer.Option("--client", help="Client code.")],
        lines: LinesArg = None, lyrics: LyricsOpt = None, key: KeyOpt = "C", mode: ModeOpt = "major",
        tempo_bpm: TempoOpt = 90.0, meter: MeterOpt = "4/4", progression: ProgOpt = "", theme: ThemeOpt = "free",
        tune: TuneOpt = None, title: TitleOpt = "", chords_per_bar: PerBarOpt = 1,
        song_key: Annotated[str | None, typer.Option("--song", help="Save as the next version of this song "
                                                                    "(its key, from `cadenza songs list`).")] = None,
        as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None) -> None:
    """Make the song and save it in the client's record as a new song or a new version of one."""
    from cadenza.tools.songs import actions

    with domain_errors():
        texts, song = _song(lines, lyrics, key, mode, tempo_bpm, meter, progression, theme, tune, title,
                            chords_per_bar)
        with open_db() as db:
            actor, c = acting_client(db, as_user, client)
            row = actions.save_song(db, actor=actor, client=c, song=song, lines=texts, tune=tune, song_key=song_key)
            saved = (row.id, row.song_key, row.version)
    _print_fit(song)
    typer.echo(f"saved version {saved[2]} of song {saved[1]} (version id {saved[0]})")


@app.command("list")
def list_songs(client: Annotated[str, typer.Option("--client", help="Client code.")],
               as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None
               ) -> None:
    """The client's songs (newest version of each) and their version history."""
    from cadenza.tools.songs import records

    with domain_errors(), open_db() as db:
        _, c = acting_client(db, as_user, client)
        for song in records.client_songs(db, client=c):
            typer.echo(f"{song.song_key}  {song.title}  (version {song.version}, {song.created_at:%Y-%m-%d})")
            for v in records.song_history(db, client=c, song_key=song.song_key):
                restored = f", restored from version {v.restored_from_version}" if v.restored_from_version else ""
                typer.echo(f"    version {v.version} (id {v.id}){restored}: {v.lines[0] if v.lines else ''}")


@app.command()
def restore(version_id: Annotated[int, typer.Argument(help="The version id to bring back.")],
            client: Annotated[str, typer.Option("--client", help="Client code.")],
            as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None
            ) -> None:
    """Save a copy of an old version as the song's newest version (nothing is deleted)."""
    from cadenza.tools.songs import records

    with domain_errors(), open_db() as db:
        actor, c = acting_client(db, as_user, client)
        row = records.restore_version(db, actor=actor, client=c, version_id=version_id)
        typer.echo(f"restored as version {row.version} of song {row.song_key} (version id {row.id})")
