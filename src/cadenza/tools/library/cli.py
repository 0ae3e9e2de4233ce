"""CLI group: The person's own music: scan, analyse, playlists.

``cadenza library scan DIR... --client CODE`` analyses a client's music into the record (only new or
changed files are decoded); ``cadenza analyze FILE --json`` prints one file's analysis;
``cadenza playlist GOAL --minutes N --client CODE`` builds an iso-principle playlist from the client's
analysed library (or from ``--dir`` without a record) and exports M3U8/XSPF and a planned-vs-actual chart.
Commands that use the record act as one therapist (``--as USERNAME`` or ``CADENZA_USER``).
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
STORE_BATCH = 25  # scanned files stored per commit


# --- analyse one file ----------------------------------------------------------------------------


@top_level.command("analyze")
def analyze(
    file: Path = typer.Argument(..., help="An audio file (MP3, FLAC, OGG/Opus, WAV; M4A needs ffmpeg)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Analyse one file: tempo and beat times, loudness (LUFS, LRA), energy, brightness, key and mode."""
    from dataclasses import asdict

    from cadenza.io.library_files import PartialDecode, decode_audio
    from cadenza.io.tags import read_tags
    from cadenza.music.analysis import analyze_track

    warnings: list[str] = []
    with domain_errors():
        try:
            tags = asdict(read_tags(file))
        except Exception as exc:  # noqa: BLE001 - tags are optional for an analysis
            tags = None
            warnings.append(f"tags unreadable: {exc}")
        try:
            audio = decode_audio(file)
        except PartialDecode as partial:
            audio = partial.audio
            warnings.append(f"file broke off after {audio.duration_s:.1f} s; analysed the readable part")
        analysis = analyze_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
    result = {"path": str(file), "tags": tags, "analysis": analysis.to_dict(), "warnings": warnings}
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
    table.add_row("beats", f"{len(a['beat_times_s'])} beats, first at {fmt(a['beat_times_s'][0] if a['beat_times_s'] else None, ' s', 2)}")
    table.add_row("loudness", f"{fmt(a['integrated_loudness_lufs'], ' LUFS')}, range {fmt(a['loudness_range_lu'], ' LU')}")
    table.add_row("energy", fmt(a["energy"], "", 2))
    table.add_row("brightness", fmt(a["brightness_hz"], " Hz", 0))
    table.add_row("key / mode", f"{a['key'] or '?'} {a['mode'] or '?'} (confidence {fmt(a['mode_confidence'], '', 2)})")
    table.add_row("duration", fmt(a["duration_s"], " s"))
    console = Console()
    console.print(table)
    for w in warnings:
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

    from cadenza.tools.library import records as lr
    from cadenza.io.library_files import ScanReport, find_audio_files, scan_library

    console = Console()
    stored = {"added": 0, "updated": 0, "reused": 0, "failed": 0}
    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        known = lr.known_tracks(db, actor=actor, client_id=person.id)
        all_paths = {str(p) for p in find_audio_files(dirs)}
        pending: list = []

        def flush() -> None:
            # Stored and committed in batches: an interrupted scan keeps what it finished.
            if pending:
                summary = lr.store_scan(db, actor=actor, client_id=person.id, report=ScanReport(tracks=list(pending)),
                                        all_paths=all_paths)
                db.commit()
                for key in stored:
                    stored[key] += getattr(summary, key)
                pending.clear()

        def on_track(track: Any) -> None:
            pending.append(track)
            if len(pending) >= STORE_BATCH:
                flush()

        with Progress(TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"),
                      console=console, transient=False) as progress:
            task = progress.add_task("", total=None)

            def on_progress(done: int, total: int, path: str) -> None:
                progress.update(task, completed=done, total=total, description=Path(path).name[:40])

            report = scan_library(dirs, known=known, processes=processes, on_progress=on_progress,
                                  on_track=on_track)
        flush()
    console.print(f"{len(report.tracks)} files: {stored['added']} new, {stored['updated']} changed, "
                  f"{stored['reused']} moved (analysis reused), {report.count('unchanged')} unchanged; "
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

    from cadenza.tools.library import records as lr

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        table = Table("id", "track", "year", "BPM", "energy", "LUFS", "mode", "rating", "flags")
        for t in lr.list_tracks(db, actor=actor, client_id=person.id):
            flags = []
            if t.red_flag:
                flags.append(f"RED FLAG: {t.red_flag_reason}")
            if t.family_pick_note:
                flags.append(f"family pick: {t.family_pick_note}")
            if t.analysis_version is None:
                flags.append(f"not analysed: {t.problem}"[:80])
            table.add_row(str(t.id), t.display_name, str(t.year or ""), f"{t.tempo_bpm:.0f}" if t.tempo_bpm else "-",
                          f"{t.energy:.2f}" if t.energy is not None else "-",
                          f"{t.loudness_lufs:.0f}" if t.loudness_lufs is not None else "-",
                          f"{t.musical_key} {t.mode}".strip() or "-", str(t.rating or ""), "; ".join(flags))
        Console().print(table)


@app.command("rate")
def rate(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         stars: int = typer.Argument(..., help="The person's own rating, 1-5 (0 clears)."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Record the person's own rating of a song (it outweighs every audio feature)."""
    from cadenza.tools.library import records as lr

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = lr.find_track(db, actor=actor, client_id=person.id, query=track)
        lr.rate_track(db, actor=actor, track_id=row.id, stars=stars or None)
        typer.echo(f"{row.display_name}: {'rating cleared' if not stars else f'{stars}/5'}")


@app.command("flag")
def flag(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         reason: str = typer.Option("", "--reason", help="What happened (required to flag)."),
         clear: bool = typer.Option(False, "--clear", help="Remove the red flag."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Mark a red-flag song (one that upset the person): no future playlist will include it."""
    from cadenza.tools.library import records as lr

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = lr.find_track(db, actor=actor, client_id=person.id, query=track)
        lr.flag_red(db, actor=actor, track_id=row.id, reason=reason, flagged=not clear)
        typer.echo(f"{row.display_name}: {'red flag cleared' if clear else 'RED FLAG - excluded from playlists'}")


@app.command("pick")
def pick(track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
         note: str = typer.Option(..., "--note", help="Why the song matters to the person."),
         by: str = typer.Option("", "--by", help="Who chose it (e.g. 'daughter')."),
         client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Record a family pick with a note on why the song matters."""
    from cadenza.tools.library import records as lr

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = lr.find_track(db, actor=actor, client_id=person.id, query=track)
        lr.add_family_pick(db, actor=actor, track_id=row.id, note=note, picked_by=by)
        typer.echo(f"{row.display_name}: family pick ({note})")


@app.command("respond")
def respond(session_id: int = typer.Argument(..., help="Therapy session id the song was played in."),
            track: str = typer.Argument(..., help="Track id, path, or a unique part of 'artist - title'."),
            engagement: int = typer.Option(..., help="0 none .. 3 strong."),
            mood: int = typer.Option(..., help="-2 distressed .. +2 joyful."),
            agitation: int = typer.Option(0, help="0 none .. 3 severe."),
            sang_along: bool = typer.Option(False, "--sang-along", help="The person sang along."),
            note: str = typer.Option("", "--note"),
            client: str = CLIENT_OPTION, as_user: str = AS_OPTION) -> None:
    """Log the person's response to one song on a session; it re-ranks future playlists."""
    from cadenza.tools.library import records as lr
    from cadenza.music.reminiscence import SongResponse, suggested_red_flags

    with domain_errors(), open_db() as db:
        actor, person = acting_client(db, as_user, client)
        row = lr.find_track(db, actor=actor, client_id=person.id, query=track)
        response = SongResponse(str(row.id), engagement, mood, agitation, sang_along)
        lr.log_response(db, actor=actor, session_id=session_id, track_id=row.id, response=response, note=note)
        typer.echo(f"{row.display_name}: response logged (score {response.score:+.2f})")
        if suggested_red_flags([response]) and not row.red_flag:
            typer.echo("Clear agitation: consider `cadenza library flag` for this song.")


# --- playlists -----------------------------------------------------------------------------------


def _state(arousal: float | None, heart_rate: float | None) -> Any:
    from cadenza.music.playlists import CurrentState

    if arousal is None and heart_rate is None:
        return None
    return CurrentState(arousal_0_10=arousal, heart_rate_bpm=heart_rate)


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
    from rich.table import Table

    from cadenza.tools.library import records as lr
    from cadenza.io.library_files import write_chart_file, write_playlist_file
    from cadenza.music.playlist_formats import render_m3u8, render_xspf

    if not client and not library_dir:
        fail("give --client CODE (the person's analysed library) or --dir FOLDER", code=2)
    state = _state(arousal, heart_rate)
    dose = None
    with domain_errors():
        if client:
            with open_db() as db:
                actor, person = acting_client(db, as_user, client)
                pl = lr.client_playlist(db, actor=actor, client_id=person.id, goal=goal, minutes=minutes,
                                        state=state, shape=shape, cadence_spm=cadence)
                dose = lr.client_playlist_dose(db, actor=actor, client_id=person.id, playlist=pl)
        else:
            pl = _playlist_from_dirs(library_dir, goal=goal, minutes=minutes, state=state, shape=shape,
                                     cadence=cadence, processes=processes)
            dose = lr.playlist_dose(pl)
        title = f"Cadenza {goal} ({minutes:g} min)"
        if m3u8:
            write_playlist_file(m3u8, render_m3u8(pl, title=title))
        if xspf:
            write_playlist_file(xspf, render_xspf(pl, title=title))
        if chart:
            write_chart_file(chart, lr.render_playlist_chart(pl, fmt=chart.suffix.lower().lstrip(".") or "svg"))
    if as_json:
        summary = lr.playlist_summary(pl)
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
    console.print("Music listening is an adjunct to care; stop if the person is distressed.")


def _playlist_from_dirs(dirs: list[Path], *, goal: str, minutes: float, state: Any, shape: str | None,
                        cadence: float | None, processes: int | None = None) -> Any:
    from cadenza.io.library_files import scan_library
    from cadenza.music.playlists import TrackFeatures, build_playlist
    from cadenza.music.reminiscence import build_reminiscence_playlist

    report = scan_library(dirs, processes=processes)
    tracks = []
    for t in report.tracks:
        if t.analysis is None:
            continue
        a, tags = t.analysis, t.tags
        tracks.append(TrackFeatures(track_id=t.path, duration_s=a.duration_s, tempo_bpm=a.tempo_bpm, energy=a.energy,
                                    loudness_lufs=a.integrated_loudness_lufs, loudness_range_lu=a.loudness_range_lu,
                                    title=tags.title if tags else "", artist=tags.artist if tags else "",
                                    year=tags.year if tags else None, path=t.path))
    if goal == "reminiscence":
        return build_reminiscence_playlist(tracks, minutes=minutes, birth_year=None)
    return build_playlist(tracks, goal=goal, minutes=minutes, state=state, shape=shape, cadence_spm=cadence)


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

    from cadenza.tools.library import records as lr
    from cadenza.errors import ParameterError

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
        pl = lr.client_playlist(db, actor=actor, client_id=person.id, goal="pre_procedure", minutes=minutes,
                                state=_state(arousal, None))
        row = lr.record_preprocedure_session(db, actor=actor, client_id=person.id, session_date=day, playlist=pl,
                                             vas_before_mm=vas_before, vas_after_mm=vas_after,
                                             stai_before=items(stai_before, "--stai-before"),
                                             stai_after=items(stai_after, "--stai-after"))
        typer.echo(f"Session {row.session_id}: {len(pl.entries)} tracks, {pl.total_s / 60:.1f} min; "
                   f"VAS {vas_before:g} -> {vas_after:g} mm")
