"""Evidence explorer: the catalog's reviews and trials, filtered by condition, intervention, outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from cadenza.evidence import query as evidence
from cadenza.web.deps import ApiUser, PageUser
from cadenza.web.templating import render

router = APIRouter()

Filter = Annotated[str | None, Query(max_length=100)]


def _clean(value: str | None) -> str | None:
    # An empty form field means "no filter" (the catalog query refuses empty strings).
    return value.strip() if value and value.strip() else None


def _filter_options() -> dict[str, list[str]]:
    entries = evidence.list_entries()
    return {
        "conditions": sorted({e.condition for e in entries}),
        "families": sorted({f for e in entries for f in e.families}),
        "interventions": [i.code for i in evidence.list_interventions()],
        "outcomes": sorted({o.name for e in entries for o in e.outcomes}),
    }


@router.get("/evidence", include_in_schema=False)
def evidence_page(
    request: Request,
    user: PageUser,
    condition: Filter = None,
    intervention: Filter = None,
    outcome: Filter = None,
    q: Filter = None,
) -> Response:
    filters = {"condition": _clean(condition), "intervention": _clean(intervention), "outcome": _clean(outcome)}
    entries = evidence.find_entries(_clean(q), **filters)
    return render(
        request,
        "evidence.html",
        {"entries": entries, "filters": {**filters, "q": _clean(q) or ""}, "options": _filter_options(),
         "interventions": {i.code: i for i in evidence.list_interventions()}},
    )


class OutcomeOut(BaseModel):
    name: str
    direction: str
    favours: str
    certainty: str
    note: str


class EvidenceOut(BaseModel):
    id: str
    citation: str
    year: int
    doi: str
    design: str
    condition: str
    families: list[str]
    certainty: str
    caveat: str
    outcomes: list[OutcomeOut]


class InterventionOut(BaseModel):
    code: str
    name: str
    mode: str
    families: list[str]
    supporting: list[str]
    not_supporting: list[str]
    evidence_note: str


def _entry_out(entry: evidence.Entry) -> EvidenceOut:
    return EvidenceOut(
        id=entry.id, citation=entry.citation, year=entry.year, doi=entry.doi, design=entry.design,
        condition=entry.condition, families=list(entry.families), certainty=entry.certainty,
        caveat=entry.caveat,
        outcomes=[OutcomeOut(name=o.name, direction=o.direction, favours=o.favours, certainty=o.certainty,
                             note=o.note) for o in entry.outcomes],
    )


@router.get("/api/v1/evidence", response_model=list[EvidenceOut], tags=["evidence"])
def list_evidence(
    user: ApiUser, condition: Filter = None, intervention: Filter = None, outcome: Filter = None, q: Filter = None
) -> list[EvidenceOut]:
    """Catalog entries matching every filter given (case-insensitive substrings)."""
    entries = evidence.find_entries(
        _clean(q), condition=_clean(condition), intervention=_clean(intervention), outcome=_clean(outcome)
    )
    return [_entry_out(e) for e in entries]


@router.get("/api/v1/interventions", response_model=list[InterventionOut], tags=["evidence"])
def list_interventions(user: ApiUser) -> list[InterventionOut]:
    """The session interventions, each with the evidence entries for and against it."""
    return [
        InterventionOut(code=i.code, name=i.name, mode=i.mode, families=list(i.families),
                        supporting=list(i.supporting), not_supporting=list(i.not_supporting),
                        evidence_note=i.evidence_note)
        for i in evidence.list_interventions()
    ]
