"""``cadenza care``: a client's referral, consent, assessment, treatment plan and discharge summary; signing,
addenda, consent withdrawal, the client's status, and group sessions.

The commands parse and print; the workflows are :mod:`cadenza.tools.care.actions`, the same the web page
calls (one audit trail).
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, acting_user, domain_errors, fail, open_db

app = typer.Typer(help="Care documents: referral, consent, assessment, treatment plan, discharge; group sessions.",
                  no_args_is_help=True)

ClientCode = Annotated[str, typer.Option("--client", help="The client's code.")]
ActAs = Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DocDate = Annotated[str | None, typer.Option("--date", help="The document's date, YYYY-MM-DD (default today).")]
DocumentId = Annotated[int, typer.Argument(help="The document's id (see `cadenza care list`).")]

Status = StrEnum("Status", {"ACTIVE": "active", "ON_HOLD": "on_hold", "DISCHARGED": "discharged"})
Decision = StrEnum("Decision", {"PENDING": "pending", "ACCEPTED": "accepted", "DECLINED": "declined"})
ConsentBy = StrEnum("ConsentBy", {"CLIENT": "client", "LEGAL_REPRESENTATIVE": "legal_representative"})
Reason = StrEnum("Reason", {r.upper(): r for r in ("goals_met", "plateau", "client_request", "transfer",
                                                   "no_longer_eligible", "other")})


def _date(value: str | None, option: str = "--date") -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}", 2)
        raise typer.Exit(2) from None


def _document_json(doc: Any) -> dict[str, Any]:
    return {"id": doc.id, "kind": doc.kind, "date": doc.document_date.isoformat(), "content": doc.content,
            "signed_at": doc.signed_at.isoformat() if doc.signed_at else None,
            "signed_by": doc.signed_by.username if doc.signed_by else None, "sha256": doc.content_sha256,
            "withdrawn_date": doc.withdrawn_date.isoformat() if doc.withdrawn_date else None,
            "addenda": [{"at": a.created_at.isoformat(), "by": a.author.username, "text": a.text} for a in doc.addenda]}


def _write(client: str, as_user: str | None, kind: str, date: str | None, content: dict[str, Any],
           as_json: bool) -> None:
    from cadenza.tools.care import actions

    document_date = _date(date)
    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        doc = actions.write_document(db, actor=actor, client=found, kind=kind, document_date=document_date,
                                     content=content)
        out = _document_json(doc)
        status = found.status
    if as_json:
        typer.echo(json.dumps({**out, "client_status": status}))
        return
    typer.echo(f"{doc.title} {out['id']} stored for {client} ({out['date']}), not signed yet: "
               f"`cadenza care sign --client {client} {out['id']}`.")
    if kind == "discharge":
        typer.echo(f"{client} is now discharged.")


@app.command()
def referral(client: ClientCode,
             referred_by: Annotated[str, typer.Option("--by", help="Who referred (a role or service, e.g. 'ward 4 nurse').")],
             reason: Annotated[str, typer.Option(help="Why music therapy was asked for.")],
             decision: Annotated[Decision, typer.Option(help="Whether the referral is accepted.")] = Decision.PENDING,
             note: Annotated[str, typer.Option(help="Anything else about the referral.")] = "",
             date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record a referral: who referred, why, when, and whether it was accepted."""
    _write(client, as_user, "referral", date, {"referred_by": referred_by, "reason": reason,
                                               "decision": decision.value, "note": note}, as_json)


@app.command()
def consent(client: ClientCode,
            explained: Annotated[str, typer.Option(help="What was explained (aims, risks, recordings, the right to stop).")],
            consented_by: Annotated[ConsentBy, typer.Option("--by", help="Who consented.")] = ConsentBy.CLIENT,
            role: Annotated[str, typer.Option(help="A legal representative's role (e.g. 'parent'); no names.")] = "",
            scope: Annotated[str, typer.Option(help="What the consent covers.")] = "",
            refused: Annotated[bool, typer.Option("--refused", help="Consent was asked for and refused.")] = False,
            date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record informed consent (by the client or a legal representative)."""
    _write(client, as_user, "consent", date, {"explained": explained, "consented_by": consented_by.value,
                                              "representative_role": role, "scope": scope, "agreed": not refused},
           as_json)


@app.command()
def assess(client: ClientCode,
           summary: Annotated[str, typer.Option(help="The assessment's summary.")],
           domain: Annotated[list[str] | None, typer.Option(
               "--domain", help="DOMAIN=RATING[:note], e.g. musicality=consistent:keeps a beat (repeat).")] = None,
           likes: Annotated[list[str] | None, typer.Option(
               "--likes", help="A personal music preference, in the person's or family's words (repeat).")] = None,
           recommendation: Annotated[str, typer.Option(help="Whether and how music therapy should go on.")] = "",
           date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record a music-therapy assessment: domain ratings, music preferences, summary."""
    domains: dict[str, dict[str, str]] = {}
    for entry in domain or []:
        name, sep, rest = entry.partition("=")
        if not sep:
            fail(f"--domain must be DOMAIN=RATING[:note], got {entry!r}", 2)
        rating, _, note = rest.partition(":")
        domains[name.strip()] = {"rating": rating.strip(), "note": note.strip()}
    _write(client, as_user, "assessment", date, {"domains": domains, "music_preferences": list(likes or []),
                                                 "summary": summary, "recommendation": recommendation}, as_json)


@app.command()
def plan(client: ClientCode,
         intervention: Annotated[list[str], typer.Option("--intervention", help="A planned intervention code (repeat).")],
         per_week: Annotated[int, typer.Option("--per-week", help="Sessions a week, 1-7.")],
         minutes: Annotated[int, typer.Option(help="Minutes a session.")],
         goal: Annotated[list[int] | None, typer.Option("--goal", help="A goal id of this client (repeat).")] = None,
         objective: Annotated[list[str] | None, typer.Option("--objective", help="An objective (repeat).")] = None,
         review_date: Annotated[str | None, typer.Option("--review-date", help="When to review, YYYY-MM-DD.")] = None,
         date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record a treatment plan: the client's goals, objectives, frequency and planned interventions."""
    _write(client, as_user, "plan", date, {"goal_ids": list(goal or []), "objectives": list(objective or []),
                                           "sessions_per_week": per_week, "minutes_per_session": minutes,
                                           "interventions": list(intervention), "review_date": review_date}, as_json)


@app.command()
def discharge(client: ClientCode,
              reason: Annotated[Reason, typer.Option(help="Why services end.")],
              criteria: Annotated[str, typer.Option(help="The discharge criteria and how they were met.")],
              summary: Annotated[str, typer.Option(help="Summary of the course of therapy.")],
              recommendations: Annotated[str, typer.Option(help="Recommendations after discharge.")] = "",
              date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record the discharge summary; the client's status becomes 'discharged'."""
    _write(client, as_user, "discharge", date, {"reason": reason.value, "criteria": criteria, "summary": summary,
                                                "recommendations": recommendations}, as_json)


@app.command(name="list")
def list_documents(client: ClientCode, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """The client's status and care documents."""
    from cadenza.tools.care import actions

    with domain_errors(), open_db() as db:
        _actor, found = acting_client(db, as_user, client)
        found_summary = actions.summary(db, found)
        docs = [{**_document_json(d), "intact": found_summary.intact[d.id]} for d in found_summary.documents]
        lines = actions.overview_lines(db, found)
    if as_json:
        typer.echo(json.dumps({"client": client, "status": found_summary.status, "documents": docs}))
        return
    for line in lines:
        typer.echo(line)
    for d in docs:
        state = "signed" if d["signed_at"] else "not signed"
        flag = "" if d["intact"] else "  SIGNATURE DOES NOT MATCH"
        typer.echo(f"  {d['id']:>5}  {d['date']}  {d['kind']:<10}  {state}, {len(d['addenda'])} addenda{flag}")


@app.command()
def show(client: ClientCode, document_id: DocumentId, as_user: ActAs = None) -> None:
    """One document as JSON, with its signature and addenda."""
    from cadenza.tools.care import records

    with domain_errors(), open_db() as db:
        _actor, found = acting_client(db, as_user, client)
        doc = records.get_document(db, found, document_id)
        out = {**_document_json(doc), "intact": records.verify_document(doc)}
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


@app.command()
def sign(client: ClientCode, document_id: DocumentId, as_user: ActAs = None) -> None:
    """Sign a document; from then on it cannot change (add addenda)."""
    from cadenza.tools.care import actions

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        doc = actions.sign_document(db, actor=actor, client=found, document_id=document_id)
        digest = doc.content_sha256
    typer.echo(f"Signed document {document_id} (sha256 {digest}).")


@app.command()
def addendum(client: ClientCode, document_id: DocumentId,
             text: Annotated[str, typer.Argument(help="The correction or late entry.")], as_user: ActAs = None) -> None:
    """Add a correction or late entry to a signed document."""
    from cadenza.tools.care import actions

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        added = actions.add_addendum(db, actor=actor, client=found, document_id=document_id, text=text)
        added_id = added.id
    typer.echo(f"Addendum {added_id} added to document {document_id}.")


@app.command()
def withdraw(client: ClientCode, document_id: DocumentId,
             reason: Annotated[str, typer.Option(help="Why, if the person said.")] = "",
             date: DocDate = None, as_user: ActAs = None) -> None:
    """Record that a consent was withdrawn."""
    from cadenza.tools.care import actions

    withdrawn = _date(date)
    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        actions.withdraw_consent(db, actor=actor, client=found, document_id=document_id, withdrawn_date=withdrawn,
                                 reason=reason)
    typer.echo(f"Consent {document_id} withdrawn on {withdrawn.isoformat()}.")


@app.command()
def status(client: ClientCode,
           set_to: Annotated[Status | None, typer.Option("--set", help="The new status.")] = None,
           as_user: ActAs = None) -> None:
    """Print the client's status, or set it (active, on_hold, discharged)."""
    from cadenza.tools.care import actions

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        if set_to is not None:
            actions.set_status(db, actor=actor, client=found, status=set_to.value)
        now = found.status
    typer.echo(f"{client}: {now}")


@app.command()
def group(title: Annotated[str, typer.Option(help="The group's name, e.g. 'Tuesday singing group'.")],
          intervention: Annotated[str, typer.Option(help="The intervention code.")],
          minutes: Annotated[int, typer.Option(help="Length in minutes.")],
          attended: Annotated[list[str] | None, typer.Option("--attended", help="CODE[:note] of a client who came (repeat).")] = None,
          absent: Annotated[list[str] | None, typer.Option("--absent", help="CODE[:note] of a client who did not (repeat).")] = None,
          setting: Annotated[str, typer.Option(help="Where.")] = "",
          note: Annotated[str, typer.Option("--note", help="The group's note.")] = "",
          date: DocDate = None, as_user: ActAs = None, as_json: AsJson = False) -> None:
    """Record one session held with several clients: each client's attendance and note; every client who came
    gets a session in their own record."""
    from cadenza.clinic.service import get_client_by_code
    from cadenza.tools.care import actions

    session_date = _date(date)
    entries = [(e, True) for e in attended or []] + [(e, False) for e in absent or []]
    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        members = []
        for entry, came in entries:
            code, _, text = entry.partition(":")
            found = get_client_by_code(db, actor=actor, code=code.strip())
            members.append(actions.MemberInput(found.id, came, text.strip()))
        made = actions.record_group_session(db, actor=actor, title=title, session_date=session_date, minutes=minutes,
                                            intervention_code=intervention, setting=setting, group_note=note,
                                            members=members)
        out = {"group_id": made.id, "date": session_date.isoformat(),
               "members": [{"client_id": m.client_id, "attended": m.attended, "session_id": m.therapy_session_id}
                           for m in made.members]}
    if as_json:
        typer.echo(json.dumps(out))
        return
    came = sum(m["attended"] for m in out["members"])
    typer.echo(f"Group session {out['group_id']} stored: {came} of {len(out['members'])} attended; "
               "each attendee's note is on a session in their own record.")


@app.command()
def pdf(client: ClientCode, document_id: DocumentId,
        output: Annotated[str, typer.Option("-o", "--output", help="Where to write the PDF.")],
        as_user: ActAs = None) -> None:
    """Print a discharge summary to a PDF (needs the pdf extra: WeasyPrint)."""
    from pathlib import Path

    from cadenza.tools.care import actions, report

    with domain_errors(), open_db() as db:
        actor, found = acting_client(db, as_user, client)
        data = report.render_pdf(report.build_report(db, found, document_id))
        actions.audit_export(db, actor=actor, client=found, document_id=document_id)
    Path(output).write_bytes(data)
    typer.echo(f"Wrote {output}.")
