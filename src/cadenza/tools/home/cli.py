"""``cadenza home``: invite a client or caregiver to the person's app, assign tasks, read adherence.

The commands parse and print; the workflows are :mod:`cadenza.tools.home.actions`, the same the web
page calls (one audit trail). Heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, domain_errors, open_db

app = typer.Typer(help="Home programmes: invite the person to their phone, assign tasks, see adherence.",
                  no_args_is_help=True)

ClientCode = Annotated[str, typer.Option("--client", help="The client's code.")]
ActAs = Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


Role = StrEnum("Role", {"CLIENT": "client", "CAREGIVER": "caregiver"})
# The home programme's own kinds and those other tools provide (records.PROVIDED_KINDS: tapping is the timing
# tool's; a provided kind whose tool is not installed is refused by the action).
Kind = StrEnum("Kind", {"LISTENING": "listening", "RELAXATION": "relaxation", "RAS_WALK": "ras_walk",
                        "MIT_PRACTICE": "mit_practice", "TAPPING": "tapping", "SINGING": "singing"})


@app.command()
def invite(
    client: ClientCode,
    base_url: Annotated[str, typer.Option("--base-url", help="The address the person's phone reaches Cadenza at.")],
    role: Annotated[Role, typer.Option(help="Who will use the link.")] = Role.CLIENT,
    label: Annotated[str, typer.Option(help="A name for the device list.")] = "",
    as_user: ActAs = None,
    as_json: AsJson = False,
) -> None:
    """Print a one-time invitation link (and its QR code in the terminal); it expires in 72 hours."""
    from cadenza.tools.home import actions

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        invitation = actions.invite(db, actor=actor, client=found, role=role.value, label=label)
        link = base_url.rstrip("/") + invitation.path
        expires = invitation.invite.expires_at.isoformat()
    if as_json:
        typer.echo(json.dumps({"link": link, "expires_at": expires, "role": role.value}))
        return
    import segno

    typer.echo(f"Invitation for {client} ({role.value}), valid once until {expires}:\n{link}")
    segno.make(link, error="m").terminal(compact=True)


@app.command()
def assign(
    client: ClientCode,
    title: Annotated[str, typer.Option(help="What the person sees.")],
    kind: Annotated[Kind, typer.Option(help="Kind of task.")] = Kind.LISTENING,
    instructions: Annotated[str, typer.Option(help="Instructions in plain words.")] = "",
    days_per_week: Annotated[int, typer.Option("--days-per-week", help="Days a week, 1-7.")] = 5,
    minutes: Annotated[int, typer.Option(help="Minutes each time, 1-120.")] = 20,
    track: Annotated[list[int] | None, typer.Option("--track", help="Library track id (repeat) for listening.")] = None,
    tempo_bpm: Annotated[float | None, typer.Option("--tempo-bpm", help="Cue tempo for a RAS walk.")] = None,
    rating: Annotated[list[str] | None, typer.Option("--rating", help="vas_anxiety, nrs_pain or mood (repeat).")] = None,
    phrase_id: Annotated[int | None, typer.Option("--phrase-id", help="MIT practice: a phrase of the client's bank.")] = None,
    mit_level: Annotated[int | None, typer.Option("--mit-level", help="MIT practice: the level, 1-3.")] = None,
    tap_s: Annotated[float | None, typer.Option("--tap-s", help="Tapping: seconds of tapping per go (10-300).")] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Singing: the notes to sing back, e.g. 'C4 E4 G4'.")] = None,
    note_s: Annotated[float | None, typer.Option("--note-s", help="Singing: seconds per note (0.5-4).")] = None,
    as_user: ActAs = None,
    as_json: AsJson = False,
) -> None:
    """Assign a task; its music is checked (no red-flagged tracks) and capped for this listener. Tapping takes
    --tempo-bpm and --tap-s, singing --notes and --note-s."""
    from cadenza.tools.home import actions

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        task = actions.assign_task(db, actor=actor, client=found, kind=kind.value, title=title,
                                   instructions=instructions, days_per_week=days_per_week, minutes=minutes,
                                   ratings=list(rating or []), track_ids=list(track or []), tempo_bpm=tempo_bpm,
                                   phrase_id=phrase_id, mit_level=mit_level,
                                   kind_values={name: value for name, value in (
                                       ("tempo_bpm", tempo_bpm), ("tap_s", tap_s), ("notes", notes),
                                       ("note_s", note_s)) if value is not None})
        out = {"task_id": task.id, "kind": task.kind, "title": task.title, "gain_cap": actions.task_gain_cap(task)}
    typer.echo(json.dumps(out) if as_json else f"Task {out['task_id']} assigned: {title} (gain cap {out['gain_cap']:.3f})")


@app.command()
def adherence(client: ClientCode, weeks: Annotated[int, typer.Option(min=1, max=52)] = 4, as_user: ActAs = None,
              as_json: AsJson = False) -> None:
    """Planned vs done per task, the mean change after each task, and alerts."""
    from cadenza.tools.home import actions

    with domain_errors(), open_db() as db:
        _, found = acting_client(db, as_user, client)
        result = actions.adherence(db, found, weeks=weeks)
        rows = [{"task_id": r.task.id, "title": r.task.title, "planned_days": r.planned, "done_days": r.done,
                 "percent": r.percent, "last_done": r.last_done.isoformat() if r.last_done else None,
                 "mean_change": r.change} for r in result.tasks]
        alerts = list(result.alerts)
    if as_json:
        typer.echo(json.dumps({"since": result.since.isoformat(), "tasks": rows, "alerts": alerts}))
        return
    for row in rows:
        percent = "-" if row["percent"] is None else f"{row['percent']:.0f} %"
        typer.echo(f"{row['title']}: {row['done_days']}/{row['planned_days']} days ({percent})")
    for alert in alerts:
        typer.echo(f"! {alert}")


@app.command()
def report(
    client: ClientCode,
    output: Annotated[Path, typer.Option("-o", "--output", help="The PDF to write.")],
    month: Annotated[str, typer.Option(help="YYYY-MM; default: this month.")] = "",
    as_user: ActAs = None,
) -> None:
    """The monthly family and caregiver report as a PDF, in plain words, every number traceable to the record."""
    from cadenza.tools.home import report as family

    with domain_errors(), open_db() as db:
        _, found = acting_client(db, as_user, client)
        pdf = family.render_pdf(family.build_report(db, found, month=family.parse_month(month)))
    output.write_bytes(pdf)
    typer.echo(f"Wrote {output} ({len(pdf) // 1024} KiB).")


top_level = typer.Typer()


def _self_care_dir(data_dir: Path | None) -> Path:
    from cadenza.settings import default_data_dir

    return (data_dir or default_data_dir() / "self-care").expanduser()


@top_level.command("me")
def me(
    music_folder: Annotated[list[Path] | None, typer.Argument(
        help="Folder(s) of your own music; scanned again when given (new and changed files only).")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on this computer.")] = 8765,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Where your data is kept (default: a private 'self-care' folder in Cadenza's data folder).")] = None,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the app in your web browser.")] = True,
) -> None:
    """Music for yourself, with no account and no therapist: relax, sleep, focus and walk playlists from your own
    music, ratings before and after, and your weekly sound dose. Everything stays on this computer."""
    import shutil
    import threading
    import time
    import webbrowser

    import uvicorn

    from cadenza.clinic.db import make_engine, make_session_factory, migrate, ensure_private_dir, session_scope
    from cadenza.settings import Settings
    from cadenza.tools.home import selfcare
    from cadenza.web.main import create_app

    folder = _self_care_dir(data_dir)
    ensure_private_dir(folder)
    url = f"sqlite:///{folder / 'self-care.sqlite3'}"
    with domain_errors():
        migrate(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            def progress(done: int, total: int, path: str) -> None:
                typer.echo(f"\rScanning your music: {done}/{total}", nl=False)

            ready = selfcare.prepare(db, music_folder or [], on_progress=progress, on_stored=db.commit)
            token = ready.link_token
            titles = [task.title for task in ready.tasks]
        if music_folder:
            typer.echo(f"\nScanned {ready.scanned} file(s){f', {ready.failed} could not be read' if ready.failed else ''}.")
    if not titles:
        typer.echo("No playlists yet: run `cadenza me FOLDER` with a folder of your music.")
    else:
        typer.echo(f"Playlists: {', '.join(titles)}.")
    app = create_app(Settings(database_url=url, data_dir=folder), session_factory=factory)
    app.state.self_care = True
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    forgotten: list[bool] = []

    def forget() -> None:
        forgotten.append(True)
        server.should_exit = True

    app.state.forget = forget
    link = f"http://127.0.0.1:{port}/me/self/{token}"

    def announce() -> None:
        # The link is given (and the browser opened) once the server listens, never before: a link that
        # cannot be opened yet, or at all when the port is taken, would only confuse.
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            typer.echo(f"Your music app is at {link}  (this computer only; Ctrl+C to stop)")
            if open_browser:
                webbrowser.open(link)

    threading.Thread(target=announce, name="cadenza-me-announce", daemon=True).start()
    try:
        server.run()
    finally:
        engine.dispose()
    if forgotten:
        shutil.rmtree(folder, ignore_errors=True)
        typer.echo("All your data was deleted. Your music files were not touched.")
