"""Exports of one client's record: FHIR JSON, CSV, and a printable progress report.

Downloads are sent as attachments (never rendered inline) and audited as exports by the service; the
printable report is audited here as a read of ``client_report``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from cadenza.clinic import dashboard, export, fhir, listening, service
from cadenza.clinic.instruments import list_instruments
from cadenza.evidence import query as evidence
from cadenza.web.deps import ApiUser, Db, PageUser
from cadenza.web.routes.clients import FLAG_LABELS
from cadenza.web.templating import render

router = APIRouter()

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _attachment(content: str, *, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _fhir_response(db, user, client_id: int) -> Response:
    bundle = fhir.export_client_bundle(db, actor=user, client_id=client_id)
    return _attachment(bundle, filename=f"cadenza-client-{client_id}-fhir.json", media_type="application/fhir+json")


def _csv_response(db, user, client_id: int) -> Response:
    text = export.export_measurements_csv(db, actor=user, client_id=client_id)
    return _attachment(text, filename=f"cadenza-client-{client_id}-measurements.csv", media_type="text/csv; charset=utf-8")


@router.get("/clients/{client_id}/export/fhir.json", include_in_schema=False)
def fhir_download(db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _fhir_response(db, user, client_id)


@router.get("/clients/{client_id}/export/measurements.csv", include_in_schema=False)
def csv_download(db: Db, user: PageUser, client_id: ClientId) -> Response:
    return _csv_response(db, user, client_id)


@router.get("/clients/{client_id}/export/sessions.csv", include_in_schema=False)
def sessions_csv_download(db: Db, user: PageUser, client_id: ClientId) -> Response:
    """One row per intervention of each session, with its minutes."""
    text = export.export_sessions_csv(db, actor=user, client_id=client_id)
    return _attachment(text, filename=f"cadenza-client-{client_id}-sessions.csv", media_type="text/csv; charset=utf-8")


@router.get("/clients/{client_id}/report", include_in_schema=False)
def progress_report(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    overview = dashboard.client_overview(db, actor=user, client_id=client_id)
    # The printable copy gets its own row (CCHIT lists "PHI export (print)"), so the trail tells a
    # printed report from a page view; "read", since it stays open under an emergency grant.
    service.audit(db, user, "read", "client_report", entity_id=client_id, client_id=client_id)
    used = sorted({code for s in overview.sessions for code, _ in s.intervention_minutes})
    interventions = {i.code: i for i in evidence.list_interventions()}
    # All of it, matched to the client's conditions first (clinical review W8).
    cited = {code: evidence.intervention_evidence(code, conditions=overview.client.conditions)
             for code in used if code in interventions}
    return render(
        request,
        "report.html",
        {"o": overview, "c": overview.client, "policy": listening.policy_of(overview.client),
         "flag_labels": FLAG_LABELS, "instruments": {i.code: i for i in list_instruments()},
         "interventions": interventions, "cited": cited, "generated_at": dt.datetime.now(dt.UTC),
         "tool_lines": [(t.title, lines) for t in request.app.state.client_tools
                        if (lines := t.overview_lines(db, overview.client))]},
    )


FHIR_RESPONSE = {200: {"content": {"application/fhir+json": {}}, "description": "A FHIR R4B Bundle"}}
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "One row per measurement"}}


@router.get("/api/v1/clients/{client_id}/export/fhir", tags=["exports"], response_class=Response,
            responses=FHIR_RESPONSE)
def api_fhir_export(db: Db, user: ApiUser, client_id: ClientId) -> Response:
    """The client's record as a FHIR Bundle (Patient, Goal, Encounter, Procedure, Observation)."""
    return _fhir_response(db, user, client_id)


@router.get("/api/v1/clients/{client_id}/export/csv", tags=["exports"], response_class=Response,
            responses=CSV_RESPONSE)
def api_csv_export(db: Db, user: ApiUser, client_id: ClientId) -> Response:
    """The client's measurements as CSV."""
    return _csv_response(db, user, client_id)
