"""``cadenza library``: the person's own music: scan, list, preferences, responses, pre-procedure sessions;
and the top-level ``cadenza analyze`` and ``cadenza playlist``.

``cadenza library scan DIR... --client CODE`` analyses a client's music into the record (only new or
changed files are decoded); ``cadenza analyze FILE --json`` prints one file's analysis;
``cadenza playlist GOAL --minutes N --client CODE`` builds an iso-principle playlist from the client's
analysed library (or from ``--dir`` without a record) and exports M3U8/XSPF and a planned-vs-actual chart.
Commands that use the record act as one therapist (``--as USERNAME`` or ``CADENZA_USER``).

The commands parse their options and print; the workflows (playlists with their level and dose, a
response kept on a session, a pre-procedure session, a file's analysis, a scan stored batch by batch)
are :mod:`cadenza.tools.library.actions`, shared with the web page. Heavy libraries are imported inside
the commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, domain_errors, fail, open_db
from cadenza.cli._json import json_safe

app = typer.Typer(help="The person's own music: scan, analyse, playlists.", no_args_is_help=True)
top_level = typer.Typer()

AS_OPTION = typer.Option(None, "--as", envvar="CADENZA_USER", help=ACT_AS_HELP)
CLIENT_OPTION = typer.Option(..., "--client", help="Client code whose music this is.")
GOAL_HELP = "relax, sleep, pre_procedure, focus, energise, walk or reminiscence."


# --- analyse one file ----------------------------------------------------------------------------


@top_level.command("analyze")
def analyse_command(
    file: Path = typer.Argument(..., help="An audio file (MP3, FLAC, OGG/Opus, WAV; M4A needs ffmpeg)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Analyse one file: tempo and beat times, loudness (LUFS, LRA), energy, brightness, key and mode."""
    from cadenza.tools.library import actions

    with domain_errors():
        analysed = actions.analyse_file(file)
    result = analysed.to_dict()
    if as_json:
        typer.echo(json.dumps(json_safe(result), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    a = result["analysis"]
    table = Table("field", "value", title=str(file))

    def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}{unit}"

    table.add_row("tempo", f"{fmt(a['tempo_bpm'], ' BPM')} (confidence {fmt(a['tempo_confidence'], '', 2)})")
    from cadenza.music.tempo import AMBIGUOUS_LEVEL_CONFIDENCE

    if a.get("tempo_level_confidence") is not None and a["tempo_level_confidence"] < AMBIGUOUS_LEVEL_CONFIDENCE:
        table.add_row("metrical level", f"ambiguous (level confidence {a['tempo_level_confidence']:.2f}): "
                                        f"the beat may be felt at {fmt(a['tempo_alternative_bpm'], ' BPM')}")
    table.add_row("beats", f"{len(a['beat_times_s'])} beats, first at {fmt(a['beat_times_s'][0] if a['beat_times_s'] else None, ' s', 2)}")
    table.add_row("loudness", f"{fmt(a['integrated_loudness_lufs'], ' LUFS')}, range {fmt(a['loudness_range_lu'], ' LU')}")
    table.add_row("energy", fmt(a["energy"], "", 2))
    table.add_row("brightness", fmt(a["brightness_hz"], " Hz", 0))
    table.add_row("key / mode", f"{a['key'] or '?'} {a['mode'] or '?'} (confidence {fmt(a['mode_confidence'], '', 2)})")
    table.add_row("duration", fmt(a["duration_s"], " s"))
    console = Console()
    console.print(table)
    for w in analysed.warnings:
        console.print(f"[yellow]⚠ {w}[/yellow]")


# --- scan ----------------------------------------------------------------------------------------


@app.command("scan")
def scan(
    dirs: list[Path] = typer.Argument(..., help="Folders (or files) to scan."),
    client: str = CLIENT_OPTION,
    processes: int = typer.Option(None, "--processes", "-j", help="Worker processes (default: all cores)."),
    as_user: str = AS_OPTION,
) -> None:
    """Scan a client's music: tags, content hash and analysis of new or changed files, cached in the record."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from cadenza.tools.library import actions

    console = Console()
    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        with Progress(TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
                      console=console, transient=False) as progress:
            task = progress.add_task("", total=None)

            def on_progress(done: int, total: int, path: str) -> None:
                progress.update(task, completed=done, total=total, description=Path(path).name[:40])

            # Committed batch by batch: an interrupted scan keeps what it finished.
            scanned = actions.scan_client_library(db, actor=actor, client_id=person.id, dirs=dirs, processes=processes,
                                                  on_progress=on_progress, on_stored=db.commit)
    report = scanned.report
    console.print(f"{len(report.tracks)} files: {scanned.added} new, {scanned.updated} changed, "
                  f"{scanned.reused} moved (analysis reused), {report.count('unchanged')} unchanged; "
                  f"{report.n_decoded} decoded in {report.elapsed_s:.1f} s")
    if report.problems:
        console.print(f"[bold]{len(report.problems)} problem(s)[/bold] (the scan went on):")
        for p in report.problems:  # one line each, unwrapped, so paths can be copied and grepped
            colour = "red" if p.severity == "error" else "yellow"
            console.print(f"[{colour}]{p.severity}[/{colour}] {p.path}: {p.reason}", soft_wrap=True,
                          highlight=False, markup=True)


@app.command("list")
def list_library(client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """List a client's library with tempo, energy, mode, rating and flags."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.tools.library import records

    with domain_errors(), open_db() as db:
        _, person = acting_client(db, as_user, client)
        table = Table("id", "track", "year", "BPM", "energy", "LUFS", "mode", "rating", "flags")
        for t in records.client_tracks(db, client=person):
            flags = []
            if t.red_flag:
                flags.append(f"RED FLAG: {t.red_flag_reason}")
            if t.family_pick_note:
                flags.append(f"family pick: {t.family_pick_note}")
            if t.analysis_version is None:
                flags.append(f"not analysed: {t.problem}"[:80])
            if t.tempo_corrected_bpm is not None:
                flags.append(f"tempo corrected ({t.tempo_correction}; analysed {t.tempo_bpm or 0:.0f})")
            elif t.tempo_ambiguous:
                flags.append(f"tempo level ambiguous: maybe {t.tempo_alternative_bpm or 0:.0f} BPM")
            table.add_row(str(t.id), t.display_name, str(t.year or ""),
                          f"{t.tempo_used_bpm:.0f}" if t.tempo_used_bpm else "-",
                          f"{t.energy:.2f}" if t.energy is not None else "-",
                          f"{t.loudness_lufs:.0f}" if t.loudness_lufs is not None else "-",
                          f"{t.musical_key} {t.mode}".strip() or "-", str(t.rating or ""), "; ".join(flags))
        Console().print(table)


@app.command("rate")
def rate(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         stars: int = typer.Argument(..., help="The person's own rating, 1-5 (0 clears)."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Record the person's own rating of a song (it outweighs every audio feature)."""
    from cadenza.tools.library import records

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        records.rate_track(db, actor=actor, client_id=person.id, track_id=row.id, stars=stars)
        typer.echo(f"{row.display_name}: {'rating cleared' if not stars else f'{stars}/5'}")


@app.command("flag")
def flag(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         reason: str = typer.Option("", "--reason", help="What happened (required to flag)."),
         clear: bool = typer.Option(False, "--clear", help="Remove the red flag."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Mark a red-flag song (one that upset the person): no future playlist will include it."""
    from cadenza.tools.library import records

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        records.flag_red(db, actor=actor, client_id=person.id, track_id=row.id, reason=reason, flagged=not clear)
        typer.echo(f"{row.display_name}: {'red flag cleared' if clear else 'RED FLAG - excluded from playlists'}")


@app.command("pick")
def pick(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         note: str = typer.Option(..., "--note", help="Why the song matters to the person."),
         by: str = typer.Option("", "--by", help="Who chose it (e.g. 'daughter')."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Record a family pick with a note on why the song matters."""
    from cadenza.tools.library import records

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        records.add_family_pick(db, actor=actor, client_id=person.id, track_id=row.id, note=note, picked_by=by)
        typer.echo(f"{row.display_name}: family pick ({note})")


@app.command("tempo")
def tempo(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
          set_bpm: float = typer.Option(None, "--set", help="Set the tempo to this many beats per minute."),
          halve: bool = typer.Option(False, "--halve", help="Halve the tempo in use (the slower metrical level)."),
          double: bool = typer.Option(False, "--double", help="Double the tempo in use (the faster level)."),
          level: bool = typer.Option(False, "--level", help="Take the competing metrical level the analysis heard "
                                     "(the tempo `library tempo TRACK` names as 'it may be')."),
          restore: bool = typer.Option(False, "--restore", help="Drop the correction: back to the analysed tempo."),
          reason: str = typer.Option("", "--reason", help="Why (kept in the record's history)."),
          client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Show or correct a track's tempo; the correction is used by every playlist, cue and the person's app."""
    from cadenza.tools.library import records

    chosen = [name for name, on in (("--set", set_bpm is not None), ("--halve", halve), ("--double", double),
                                    ("--level", level), ("--restore", restore)) if on]
    if len(chosen) > 1:
        fail(f"give one of --set BPM, --halve, --double, --level or --restore, got {' and '.join(chosen)}", code=2)
    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        kw = {"actor": actor, "client_id": person.id, "track_id": row.id, "reason": reason}
        if set_bpm is not None:
            row = records.correct_tempo(db, how="set", tempo_bpm=set_bpm, **kw)
        elif halve or double:
            row = records.correct_tempo(db, how="halve" if halve else "double", **kw)
        elif level:
            offer = row.tempo_offer_bpm
            if offer is None:
                fail(f"--level: track {row.id} ({row.display_name}) has no competing tempo to take "
                     f"({'it is already in use' if row.tempo_alternative_bpm is not None else 'the analysis heard none'}); "
                     "use --set BPM, --halve or --double", code=2)
            row = records.correct_tempo(db, how="level", tempo_bpm=offer, **kw)
        elif restore:
            row = records.restore_tempo(db, **kw)
        typer.echo(_tempo_line(row))
        for change in records.tempo_history(db, client=person, track_id=row.id):
            old, new = change.changes["tempo_used_bpm"]
            typer.echo(f"  {change.at:%Y-%m-%d %H:%M} {change.actor_username}: {change.action} "
                       f"{_bpm(old)} -> {_bpm(new)} BPM{f' ({change.reason})' if change.reason else ''} [change {change.id}]")


@app.command("cue")
def cue(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
        output: Path = typer.Option(..., "-o", "--output", help="Output file: .wav, .flac or .ogg."),
        bpm: float = typer.Option(..., "--bpm", help="Cue tempo in steps per minute (one step per beat)."),
        minutes: float = typer.Option(5.0, "--minutes", "-m", help="Cue length in minutes."),
        overlay: bool = typer.Option(False, "--overlay", help="Add beat-aligned clicks."),
        client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """A RAS walking cue from the person's own song, its steps on the beats at the (corrected) tempo in use."""
    from cadenza.io.audio import save_audio
    from cadenza.tools.library import actions, records

    with domain_errors(), open_db() as db:
        _, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        rendered = actions.track_music_cue(db, client=person, track_id=row.id, tempo_bpm=bpm, minutes=minutes,
                                           click_overlay=overlay)
        save_audio(output, rendered.samples, sampling_rate_hz=rendered.sampling_rate_hz)
        typer.echo(f"{output}: {row.display_name} at {bpm:g} steps/min, song beat {row.tempo_used_bpm:.1f} BPM"
                   f"{' (corrected)' if row.tempo_corrected_bpm is not None else ''}, "
                   f"{rendered.beat_times_s.size} beats, {rendered.duration_s / 60:.1f} min")
        for w in rendered.warnings:
            typer.echo(f"warning: {w}")
    typer.echo("Walking to a cue is an adjunct to therapy; walk only where it is safe.")


def _bpm(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _tempo_line(row: Any) -> str:
    """One track's tempo as the therapist needs it: in use, analysed, confidence, level ambiguity."""
    line = f"{row.display_name}: {_bpm(row.tempo_used_bpm)} BPM"
    if row.tempo_corrected_bpm is not None:
        line += f" (corrected: {row.tempo_correction}; analysed {_bpm(row.tempo_bpm)} BPM)"
    if row.tempo_confidence is not None:
        line += f", confidence {row.tempo_confidence:.2f}"
    if row.tempo_ambiguous and row.tempo_alternative_bpm:
        # The competing level is half or double the analysed one, or (rarely) an unrelated periodicity: --set it.
        octave = row.tempo_bpm and abs(abs(math.log2(row.tempo_alternative_bpm / row.tempo_bpm)) - 1.0) < 0.1
        line += (f"; metrical level ambiguous (level confidence {row.tempo_level_confidence:.2f}): "
                 f"it may be {row.tempo_alternative_bpm:.0f} BPM "
                 + ("(--level, --halve or --double)" if octave else "(--level)"))
    return line


@app.command("respond", context_settings={"allow_extra_args": True})  # extra: the old `respond SESSION_ID TRACK`
def respond(ctx: typer.Context,
            track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
            engagement: int = typer.Option(..., help="0 none .. 3 strong."),
            mood: int = typer.Option(..., help="-2 distressed .. +2 joyful."),
            agitation: int = typer.Option(0, help="0 none .. 3 severe."),
            sang_along: bool = typer.Option(False, "--sang-along", help="The person sang along."),
            note: str = typer.Option("", "--note"),
            session: int = typer.Option(None, "--session", help="Therapy session id the song was played in "
                                        "(default: the client's latest session)."),
            client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Log the person's response to one song on a session; it re-ranks future playlists."""
    from cadenza.tools.library import actions, records

    if ctx.args:  # the old spelling, `respond 12 "Moon River"`: the session id came first
        if len(ctx.args) > 1 or session is not None or not track.isdigit():
            fail("give the track once and the session as --session ID, e.g. respond \"Moon River\" --session 12",
                 code=2)
        session, track = int(track), ctx.args[0]
    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = records.find_track(db, client=person, query=track)
        report = actions.respond_to_track(db, actor=actor, client_id=person.id, track_id=row.id, session_id=session,
                                          engagement_0_3=engagement, mood_minus2_plus2=mood, agitation_0_3=agitation,
                                          sang_along=sang_along, note=note)
        typer.echo(f"{row.display_name}: response logged on session {report.stored.session_id} "
                   f"(score {report.response.score:+.2f})")
        if report.suggest_red_flag:
            typer.echo("Clear agitation: consider `cadenza library flag` for this song.")


# --- playlists -----------------------------------------------------------------------------------


@top_level.command("playlist")
def playlist(
    goal: str = typer.Argument(..., help=GOAL_HELP),
    minutes: float = typer.Option(20.0, "--minutes", "-m", help="Session length in minutes."),
    client: str = typer.Option(None, "--client", help="Client code: use their analysed library and preferences."),
    library_dir: list[Path] = typer.Option([], "--dir", help="Without --client: scan this folder (not stored)."),
    processes: int = typer.Option(None, "--processes", "-j", help="With --dir: worker processes (default: all cores)."),
    arousal: float = typer.Option(None, "--arousal", help="Current self-rated arousal 0-10 (iso start)."),
    heart_rate: float = typer.Option(None, "--heart-rate", help="Current heart rate (iso start, BPM)."),
    shape: str = typer.Option(None, "--shape", help="U, L, J or iso (default by goal)."),
    cadence: float = typer.Option(None, "--cadence", help="Walking cadence in steps/min (goal walk)."),
    m3u8: Path = typer.Option(None, "--m3u8", help="Write the playlist as M3U8."),
    xspf: Path = typer.Option(None, "--xspf", help="Write the playlist as XSPF."),
    chart: Path = typer.Option(None, "--chart", help="Write the planned-vs-actual chart (SVG)."),
    as_json: bool = typer.Option(False, "--json", help="Print the playlist as one JSON object."),
    as_user: str = AS_OPTION,
) -> None:
    """Build a goal playlist in iso-principle order from the person's own music."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cadenza.io.library_files import write_chart_file, write_playlist_file
    from cadenza.music.playlist_formats import render_m3u8, render_xspf
    from cadenza.tools.library import actions, figures, records

    if not client and not library_dir:
        fail("give --client CODE (the person's analysed library) or --dir FOLDER", code=2)
    options = {"goal": goal, "minutes": minutes, "arousal_0_10": arousal, "heart_rate_bpm": heart_rate,
               "shape": shape, "cadence_spm": cadence}
    with domain_errors():
        if client:
            with open_db() as db:
                _, person = acting_client(db, as_user, client)
                pl = actions.client_playlist(db, client=person, **options)
                dose = actions.client_playlist_dose(db, client=person, playlist=pl)
        else:
            pl = actions.folder_playlist(library_dir, processes=processes, **options)
            dose = actions.playlist_dose(pl)
        title = f"Cadenza {goal} ({minutes:g} min)"
        if m3u8:
            write_playlist_file(m3u8, render_m3u8(pl, title=title))
        if xspf:
            write_playlist_file(xspf, render_xspf(pl, title=title))
        if chart:
            write_chart_file(chart, figures.render_playlist_chart(pl, fmt=chart.suffix.lower().lstrip(".") or "svg"))
    if as_json:
        summary = records.playlist_summary(pl)
        summary.update(start_tempo_bpm=pl.start_tempo_bpm, start_energy=pl.start_energy,
                       level_dba=dose.level_dba, leq_dba=dose.leq_dba, dose_fraction=dose.dose_fraction,
                       weekly_fraction_after=dose.weekly_fraction_after, calibrated=dose.calibrated,
                       safety_warnings=list(dose.warnings),
                       sources=list(pl.sources))
        typer.echo(json.dumps(json_safe(summary), ensure_ascii=False))
        return
    console = Console()
    table = Table("start", "phase", "track", "BPM", "plan", "energy", "min", "why",
                  title=f"{pl.goal} playlist, {pl.shape} shape: {pl.total_s / 60:.1f} of {pl.target_s / 60:.0f} min")
    for e in pl.entries:
        bpm = f"{e.track.tempo_bpm:.0f}" + (f" x{e.stretch_ratio:.3f}" if e.stretch_ratio != 1.0 else "")
        plan = "-" if not math.isfinite(e.target_tempo_bpm) else f"{e.target_tempo_bpm:.0f}"
        table.add_row(f"{e.start_s / 60:4.1f}", e.phase, e.track.title or Path(e.track.path).name, bpm, plan,
                      f"{e.track.energy:.2f}" if math.isfinite(e.track.energy) else "-",
                      f"{e.track.duration_s / 60:.1f}", e.reason)
    console.print(table)
    if not pl.entries:
        for w in [*pl.warnings, "scan the person's music first: cadenza library scan FOLDER --client CODE"]:
            console.print(f"[yellow]⚠ {w}[/yellow]")
        raise typer.Exit(1)
    weekly = ("" if dose.weekly_fraction_after is None
              else f"; this week's total would be {100 * dose.weekly_fraction_after:.0f} %")
    console.print(f"Estimated level up to {dose.level_dba:.0f} dB(A) ({'calibrated' if dose.calibrated else 'uncalibrated'}), "
                  f"{100 * dose.dose_fraction:.1f} % of the weekly sound allowance ({dose.mode}){weekly}.")
    for w in [*pl.warnings, *dose.warnings]:
        console.print(f"[yellow]⚠ {w}[/yellow]")
    for source in pl.sources:  # the project's own choices, labelled as such (clinical review U3-U5)
        if source.startswith(("Project convention", "Project mapping")):
            console.print(escape(source), style="dim", highlight=False)
    console.print("Music listening is an adjunct to care; stop if the person is distressed.")


@app.command("preprocedure")
def preprocedure(
    client: str = CLIENT_OPTION,
    vas_before: float = typer.Option(..., "--vas-before", help="Anxiety VAS before listening (0-100 mm)."),
    vas_after: float = typer.Option(..., "--vas-after", help="Anxiety VAS after listening (0-100 mm)."),
    stai_before: str = typer.Option(None, "--stai-before", help="STAI-6 items before, e.g. 2,3,3,2,2,3."),
    stai_after: str = typer.Option(None, "--stai-after", help="STAI-6 items after."),
    minutes: float = typer.Option(25.0, "--minutes", "-m", help="Playlist length (20-30 min)."),
    arousal: float = typer.Option(None, "--arousal", help="Self-rated arousal 0-10 before listening."),
    date: str = typer.Option(None, "--date", help="Session date YYYY-MM-DD (default today)."),
    as_user: str = AS_OPTION,
) -> None:
    """Record a pre-procedure listening session: a 20-30 min relaxation playlist with VAS (and STAI-6)
    before and after, stored on the client's record."""
    import datetime as dt

    from cadenza.errors import ParameterError
    from cadenza.tools.library import actions

    def items(text: str | None, name: str) -> list[int] | None:
        if text is None:
            return None
        try:
            return [int(x) for x in text.split(",")]
        except ValueError:
            raise ParameterError(f"{name} must be comma-separated item scores like 2,3,3,2,2,3, got {text!r}") from None

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        day = dt.date.fromisoformat(date) if date else dt.datetime.now(dt.UTC).date()
        report = actions.record_preprocedure(db, actor=actor, client_id=person.id, session_date=day, minutes=minutes,
                                             arousal_0_10=arousal, vas_before_mm=vas_before, vas_after_mm=vas_after,
                                             stai_before=items(stai_before, "--stai-before"),
                                             stai_after=items(stai_after, "--stai-after"))
        pl = report.playlist
        typer.echo(f"Session {report.stored.session_id}: {len(pl.entries)} tracks, {pl.total_s / 60:.1f} min; "
                   f"VAS {vas_before:g} -> {vas_after:g} mm")
        for warning in report.stored.playlist.get("warnings", []):
            typer.echo(f"Warning: {warning}")


# One name per thing: `cadenza analyse` works too (hidden).
top_level.command("analyse", hidden=True)(analyse_command)
