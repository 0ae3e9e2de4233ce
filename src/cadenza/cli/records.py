"""CLI group: Clients, goals, sessions, measurements, exports.

Every command acts as one therapist (``--as USERNAME`` or ``CADENZA_USER``) and sees only that
therapist's clients, exactly like the web app; every access is audited.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, acting_user, domain_errors, fail, open_db

app = typer.Typer(help="Clients, goals, sessions, measurements, exports.", no_args_is_help=True)

AS_OPTION = typer.Option(None, "--as", envvar="CADENZA_USER", help=ACT_AS_HELP)


def _date(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{name} must be a date YYYY-MM-DD, got {text!r}", code=2)


def parse_measure(spec: str) -> Any:
    """``CODE=VALUE`` or ``CODE=A,B,C,...`` (questionnaire items in order), optionally ``@GOAL_ID``.

    A timed walk (``gait_speed``) may name the distance timed: ``gait_speed=0.86/6m``; without it the
    instrument's default is stored (6 m, the middle of the 10-metre walk test).

    >>> parse_measure("gait_speed=0.91@3")
    MeasurementInput(instrument_code='gait_speed', value=0.91, items=None, unit=None, goal_id=3, measured_at=None, timed_distance_m=None)
    >>> parse_measure("gait_speed=1.1/10m").timed_distance_m
    10.0
    >>> parse_measure("gad7=1,0,2,1,0,0,1").items
    [1, 0, 2, 1, 0, 0, 1]
    """
    from cadenza.clinic.service import MeasurementInput
    from cadenza.errors import ParameterError

    code, sep, rest = spec.partition("=")
    if not sep or not code or not rest:
        raise ParameterError(f"--measure must look like CODE=VALUE or CODE=A,B,C (items), got {spec!r}")
    goal_id = None
    if "@" in rest:
        rest, goal_text = rest.rsplit("@", 1)
        if not goal_text.isdigit():
            raise ParameterError(f"--measure goal id after '@' must be a number, got {goal_text!r} in {spec!r}")
        goal_id = int(goal_text)
    distance_m = None
    if "/" in rest:
        rest, distance_text = rest.split("/", 1)
        try:
            if not distance_text.endswith("m"):
                raise ValueError
            distance_m = float(distance_text[:-1])
        except ValueError:
            raise ParameterError(
                f"--measure timed distance after '/' must be metres like 6m, got {distance_text!r} in {spec!r}") from None
    try:
        numbers = [float(part) for part in rest.split(",")]
    except ValueError:
        raise ParameterError(f"--measure values must be numbers, got {rest!r} in {spec!r}") from None
    from cadenza.clinic.instruments import get_instrument
    from cadenza.errors import NotFoundError

    try:
        questionnaire = get_instrument(code.strip()).items is not None
    except NotFoundError as exc:
        raise ParameterError(str(exc)) from None
    if questionnaire:
        items = [int(n) if n.is_integer() else n for n in numbers]
        return MeasurementInput(code.strip(), items=items, goal_id=goal_id, timed_distance_m=distance_m)
    if len(numbers) != 1:
        raise ParameterError(f"--measure {code.strip()!r} takes one value, got {rest!r}")
    return MeasurementInput(code.strip(), value=numbers[0], goal_id=goal_id, timed_distance_m=distance_m)


@app.command("add")
def add_client(
    code: str = typer.Argument(..., help="Pseudonymous client code (no names)."),
    birth_year: int = typer.Option(None, help="Year of birth."),
    condition: list[str] = typer.Option([], "--condition", help="A condition (repeatable)."),
    flag: list[str] = typer.Option([], "--flag", help="Safety flag: seizures, hearing_loss, trauma_history, nicu_infant (repeatable)."),
    as_user: str = AS_OPTION,
) -> None:
    """Add a client (warns when the code looks like a name or a date of birth)."""
    from rich.console import Console
    from rich.markup import escape

    from cadenza.clinic import service

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        client = service.create_client(db, actor=actor, code=code, birth_year=birth_year, conditions=condition,
                                       safety_flags=flag)
        Console().print(f"Added client [bold]{escape(client.code)}[/bold] (id {client.id}).")
        for warning in service.client_code_warnings(client.code):
            Console().print(f"[yellow]⚠ {escape(warning)}[/yellow]")


@app.command("list")
def list_clients(as_user: str = AS_OPTION) -> None:
    """List your clients."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.clinic import service

    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        table = Table("code", "birth year", "conditions", "safety flags")
        for c in service.list_clients(db, actor=actor):
            table.add_row(c.code, str(c.birth_year or ""), ", ".join(c.conditions), ", ".join(c.safety_flags))
        Console().print(table)


@app.command("show")
def show_client(code: str = typer.Argument(..., help="Client code."), as_user: str = AS_OPTION) -> None:
    """Show a client's record: flags, goals with progress, sessions."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.clinic import service
    from cadenza.clinic.instruments import timed_distance_note
    from cadenza.clinic.progress import client_progress
    from cadenza.safety.flags import audio_policy

    console = Console()
    with domain_errors(), open_db() as db:
        actor, client = acting_client(db, as_user, code)
        console.print(f"[bold]{client.code}[/bold]  born {client.birth_year or '?'}  "
                      f"conditions: {', '.join(client.conditions) or '-'}")
        for warning in audio_policy(client.safety_flags).warnings:
            console.print(f"[yellow]⚠ {warning}[/yellow]")
        goals = Table("goal", "instrument", "baseline", "target", "latest", "change", "met", title="Goals")
        for p in client_progress(db, actor=actor, client_id=client.id):
            goals.add_row(str(p.goal_id), p.instrument_code, f"{p.baseline:g}", f"{p.target:g}",
                          "-" if not p.points else f"{p.latest:g}", "-" if not p.points else f"{p.change:+g}",
                          "yes" if p.target_met else "no")
        console.print(goals)
        sessions = Table("id", "date", "minutes", "intervention", "measurements", title="Sessions")
        for s in service.list_sessions(db, actor=actor, client_id=client.id):
            measures = ", ".join(
                f"{m.instrument_code}={m.value:g}"
                + (f" ({timed})" if (timed := timed_distance_note(m.instrument_code, m.timed_distance_m)) else "")
                + (f" ({m.severity_band})" if m.severity_band else "")
                + (" [red]SAFETY FOLLOW-UP[/red]" if m.safety_followup else "")
                for m in s.measurements
            )
            intervention = s.intervention_code + (" (client-recorded)" if s.is_client_recorded else "")
            sessions.add_row(str(s.id), s.session_date.isoformat(), str(s.minutes), intervention, measures)
        console.print(sessions)


@app.command("goal")
def add_goal(
    code: str = typer.Argument(..., help="Client code."),
    instrument: str = typer.Option(..., help="Instrument code, e.g. gait_speed, vas_anxiety, phq9."),
    baseline: float = typer.Option(..., help="Baseline value in the instrument's unit."),
    target: float = typer.Option(..., help="Target value in the instrument's unit."),
    direction: str = typer.Option(None, help="increase or decrease (default: the instrument's)."),
    by: str = typer.Option(None, help="Target date YYYY-MM-DD."),
    description: str = typer.Option("", help="The goal in words."),
    as_user: str = AS_OPTION,
) -> None:
    """Add a measurable goal."""
    from rich.console import Console

    from cadenza.clinic import service

    with domain_errors(), open_db() as db:
        actor, client = acting_client(db, as_user, code)
        goal = service.create_goal(db, actor=actor, client_id=client.id, instrument_code=instrument,
                                   baseline=baseline, target=target, direction=direction,
                                   target_date=_date(by, "--by"), description=description)
        Console().print(f"Added goal {goal.id}: {goal.instrument_code} {goal.baseline:g} -> {goal.target:g} ({goal.direction}).")


def _intervention_minutes(spec: str) -> tuple[str, int]:
    """``"songwriting:20"`` -> ``("songwriting", 20)``."""
    from cadenza.errors import ParameterError

    code, _, minutes = spec.partition(":")
    if not code or not minutes.isdigit():
        raise ParameterError(f"--also must be CODE:MINUTES such as songwriting:20, got {spec!r}")
    return code, int(minutes)


@app.command("session")
def add_session(
    code: str = typer.Argument(..., help="Client code."),
    date: str = typer.Option(None, help="Session date YYYY-MM-DD (default: today, UTC)."),
    minutes: int = typer.Option(..., help="Length in minutes."),
    intervention: str = typer.Option(..., help="Intervention code (see `cadenza evidence --interventions`)."),
    setting: str = typer.Option("", help="Setting, e.g. clinic, home, ward."),
    subjective: str = typer.Option("", "-S", "--subjective", help="SOAP S."),
    objective: str = typer.Option("", "-O", "--objective", help="SOAP O."),
    assessment: str = typer.Option("", "-A", "--assessment", help="SOAP A."),
    plan: str = typer.Option("", "-P", "--plan", help="SOAP P."),
    measure: list[str] = typer.Option([], "--measure", "-m",
                                      help="CODE=VALUE, or CODE=A,B,C for questionnaire items; add @GOAL_ID to link a goal; a timed "
                                           "walk may add the distance timed, gait_speed=0.86/6m (default 6 m) (repeatable)."),
    also: list[str] = typer.Option([], "--also",
                                   help="Another intervention in the session, CODE:MINUTES (repeatable); the main "
                                        "--intervention takes the minutes they leave."),
    as_user: str = AS_OPTION,
) -> None:
    """Document a session with its SOAP note and measurements (all stored, or none)."""
    from rich.console import Console
    from rich.markup import escape

    from cadenza.clinic import service
    from cadenza.clinic.instruments import safety_prompt, timed_distance_note

    console = Console()
    with domain_errors(), open_db() as db:
        entries = [parse_measure(spec) for spec in measure]
        others = [_intervention_minutes(spec) for spec in also]
        interventions = [(intervention, minutes - sum(m for _, m in others)), *others] if others else None
        actor, client = acting_client(db, as_user, code)
        row = service.record_session(
            db, actor=actor, client_id=client.id, session_date=_date(date, "--date") or dt.datetime.now(dt.UTC).date(),
            minutes=minutes, intervention_code=intervention, setting=setting, subjective=subjective,
            objective=objective, assessment=assessment, plan=plan, measurements=entries, interventions=interventions)
        console.print(f"Recorded session {row.id} with {len(row.measurements)} measurement(s).")
        if len(row.intervention_minutes) > 1:
            console.print("  Interventions: " + ", ".join(f"{c} {m} min" for c, m in row.intervention_minutes))
        from cadenza.evidence.query import get_intervention, intervention_evidence

        chosen = get_intervention(row.intervention_code)
        support = ", ".join(chosen.supporting) or "no catalog entry"
        console.print(f"  {chosen.name} ({chosen.mode}); evidence: {support}"
                      + (f". {chosen.evidence_note}" if chosen.evidence_note else ""), style="dim")
        # Every entry's caveat, the client's conditions first; entries that found no benefit too (review W8/W9).
        whole = intervention_evidence(chosen.code, conditions=client.conditions)
        for entry in whole.supporting:
            console.print(f"    {entry.id} (doi:{entry.doi}): {escape(entry.caveat)}", style="dim", highlight=False)
        for entry in whole.not_supporting:
            console.print(f"    tested without benefit: {entry.id} (doi:{entry.doi}): {escape(entry.caveat)}",
                          style="dim", highlight=False)
        for m in row.measurements:
            band = f" ({m.severity_band})" if m.severity_band else ""
            timed = timed_distance_note(m.instrument_code, m.timed_distance_m)
            console.print(f"  {m.instrument_code}: {m.value:g} {m.unit}" + (f", {timed}" if timed else "") + band)
            if m.safety_followup:
                console.print(f"  [bold red]{escape(safety_prompt(m.instrument_code))}[/bold red]")


@app.command("progress")
def progress(
    code: str = typer.Argument(..., help="Client code."),
    html: Path = typer.Option(None, help="Write the HTML progress summary to this file."),
    chart: Path = typer.Option(None, help="Write a goal's chart to this .svg or .png file."),
    goal: int = typer.Option(None, help="Goal id to chart (default: the first goal)."),
    as_user: str = AS_OPTION,
) -> None:
    """Progress towards each goal; optionally an HTML summary and a chart."""
    from rich.console import Console
    from rich.markup import escape

    from cadenza.clinic.progress import client_progress, render_progress_chart, render_progress_html

    console = Console()
    with domain_errors(), open_db() as db:
        actor, client = acting_client(db, as_user, code)
        progresses = client_progress(db, actor=actor, client_id=client.id)
        for p in progresses:
            verdict = "met" if p.target_met else "not yet met"
            latest = "no measurements" if not p.points else f"latest {p.latest:g} ({p.change:+g})"
            console.print(f"goal {p.goal_id} {p.instrument_code}: baseline {p.baseline:g}, target {p.target:g}, {latest}: {verdict}")
            if p.change_check is not None:
                console.print(f"  {escape(p.change_check.summary)}", style="dim")
        if html is not None:
            html.write_text(render_progress_html(progresses, client_code=client.code), encoding="utf-8")
            console.print(f"Wrote {html}")
        if chart is not None:
            chosen = [p for p in progresses if goal is None or p.goal_id == goal]
            if not chosen:
                fail(f"client {code!r} has no goal {goal!r} to chart" if goal else f"client {code!r} has no goals to chart",
                     code=2)
            fmt = chart.suffix.lower().lstrip(".")
            chart.write_bytes(render_progress_chart(chosen[0], fmt=fmt))
            console.print(f"Wrote {chart}")


@app.command("export")
def export(
    code: str = typer.Argument(..., help="Client code."),
    fhir: bool = typer.Option(False, "--fhir", help="FHIR R4 (validated as R4B) Bundle as JSON."),
    csv: bool = typer.Option(False, "--csv", help="Measurements as CSV."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file instead of standard output."),
    as_user: str = AS_OPTION,
) -> None:
    """Export a client's record as a FHIR Bundle or their measurements as CSV."""
    from cadenza.clinic.export import export_measurements_csv
    from cadenza.clinic.fhir import export_client_bundle

    if fhir == csv:
        fail("choose exactly one of --fhir or --csv", code=2)
    with domain_errors(), open_db() as db:
        actor, client = acting_client(db, as_user, code)
        if fhir:
            text = export_client_bundle(db, actor=actor, client_id=client.id)
        else:
            text = export_measurements_csv(db, actor=actor, client_id=client.id)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")


@app.command("audit")
def audit_trail(code: str = typer.Argument(..., help="Client code."), as_user: str = AS_OPTION,
                before: int = typer.Option(None, "--before", min=1, help="Only events older than this id (the next "
                                                                           "page, as printed under the table)."),
                limit: int = typer.Option(50, "--limit", min=1, max=100, help="Events per page.")) -> None:
    """Who read or changed this client's record, and when: newest first, one page at a time (the trail grows
    with every read, so it is never printed whole; pages by id, so new events never shift one)."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.clinic import dashboard

    with domain_errors(), open_db() as db:
        actor, client = acting_client(db, as_user, code)
        page = dashboard.client_audit_page(db, actor=actor, client_id=client.id, limit=limit, before_id=before)
        table = Table("at (UTC)", "who", "action", "entity", "id")
        for e in page.items:
            table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_username, e.action, e.entity, str(e.entity_id or ""))
        console = Console()
        console.print(table)
        if page.next_offset is not None and page.items:
            console.print(f"Older events: --before {page.items[-1].id}", highlight=False)


# --- corrections: remove with a reason, restore (clinic.corrections; the same as the web pages) -------

fix_app = typer.Typer(help="Correct the record: remove (kept, with a reason) and restore sessions, "
                           "measurements and goals.", no_args_is_help=True)
app.add_typer(fix_app, name="fix")
REASON_OPTION = typer.Option(..., "--reason", help="Why (kept in the record's history; 3-500 characters).")
RESTORE_REASON = typer.Option("", "--reason", help="Why (optional).")
KINDS = ("session", "measurement", "goal")


def _correct(as_user: str | None, kind: str, row_id: int, *, remove: bool, reason: str) -> None:
    from cadenza.clinic import corrections, service

    if kind not in KINDS:
        fail(f"kind must be one of {KINDS}, got {kind!r}", code=2)
    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        if kind == "session" and remove:
            row = service.get_session(db, actor=actor, session_id=row_id)
            corrections.remove_session(db, actor=actor, session_id=row_id, expected_version=row.version, reason=reason)
        elif kind == "session":
            corrections.restore_session(db, actor=actor, session_id=row_id, reason=reason)
        elif kind == "measurement" and remove:
            corrections.remove_measurement(db, actor=actor, measurement_id=row_id, reason=reason)
        elif kind == "measurement":
            fail("a measurement comes back with its session (restore the session), or is entered anew", code=2)
        elif remove:
            corrections.remove_goal(db, actor=actor, goal_id=row_id, reason=reason)
        else:
            corrections.restore_goal(db, actor=actor, goal_id=row_id, reason=reason)
    typer.echo(f"{kind} {row_id} {'removed (kept; restore with: cadenza client fix restore ' + kind + ' ' + str(row_id) + ')' if remove else 'restored'}.")


@fix_app.command("remove")
def remove_row(kind: str = typer.Argument(..., help="session, measurement or goal."),
               row_id: int = typer.Argument(..., min=1, help="Its id (cadenza client show CODE)."),
               reason: str = REASON_OPTION, as_user: str = AS_OPTION) -> None:
    """Remove an unsigned session (with its measurements), one measurement of an unsigned session, or a goal."""
    _correct(as_user, kind, row_id, remove=True, reason=reason)


@fix_app.command("restore")
def restore_row(kind: str = typer.Argument(..., help="session or goal."),
                row_id: int = typer.Argument(..., min=1, help="Its id (cadenza client fix removed CODE)."),
                reason: str = RESTORE_REASON, as_user: str = AS_OPTION) -> None:
    """Bring back a removed session (with the measurements removed with it) or goal."""
    _correct(as_user, kind, row_id, remove=False, reason=reason)


@fix_app.command("removed")
def list_removed(code: str = typer.Argument(..., help="Client code."), as_user: str = AS_OPTION) -> None:
    """A client's removed sessions and goals, with who removed them, when and why."""
    from cadenza.clinic import corrections

    with domain_errors(), open_db() as db:
        _, client = acting_client(db, as_user, code)
        removed = corrections.removed_records(db, client=client)
        lines = [f"session {s.id:>5}  {s.session_date}  removed {s.removed_at:%Y-%m-%d %H:%M}  {s.removed_reason}"
                 for s in removed.sessions]
        lines += [f"goal    {g.id:>5}  {g.instrument_code}  removed {g.removed_at:%Y-%m-%d %H:%M}  {g.removed_reason}"
                  for g in removed.goals]
    typer.echo("\n".join(lines) if lines else f"{code}: nothing removed.")
