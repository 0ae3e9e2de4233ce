"""The JSON API under ``/api/v1``: the same operations as the pages, with bearer-token auth.

Request bodies forbid unknown fields (no mass assignment of ``therapist_id``, ``id`` and the like);
every client-scoped path starts with ``/api/v1/clients/{client_id}`` and a goal or session of another
client, like another therapist's client, is a 404.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

from cadenza.clinic import auth, corrections, dashboard, idempotency, record_rows, service
from cadenza.clinic.instruments import list_instruments
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.web.deps import AdminApiUser, ApiUser, Db
from cadenza.web.json_routes import ThreadSerializedRouter
from cadenza.web.validators import UtcConvertible, no_nul

router = ThreadSerializedRouter(prefix="/api/v1")  # validated and written as JSON in the route's thread

DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_TEXT_CHARS = 20_000


_no_nul = no_nul  # PostgreSQL text cannot hold NUL; refused here as a 422 rather than in the driver


Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(_no_nul)]
ShortText = Annotated[str, Field(max_length=64), AfterValidator(_no_nul)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrmModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---- schemas -----------------------------------------------------------------------------------


class Me(OrmModel):
    id: int
    username: str
    role: str


class ClientIn(StrictModel):
    code: ShortText
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    conditions: list[Annotated[str, Field(max_length=200), AfterValidator(_no_nul)]] = Field(default=[], max_length=50)
    safety_flags: list[ShortText] = Field(default=[], max_length=10)


class ClientPatch(StrictModel):
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    conditions: list[Annotated[str, Field(max_length=200), AfterValidator(_no_nul)]] | None = Field(default=None, max_length=50)
    safety_flags: list[ShortText] | None = Field(default=None, max_length=10)


class ClientOut(OrmModel):
    id: int
    code: str
    birth_year: int | None
    conditions: list[str]
    safety_flags: list[str]
    status: str = Field(description="active, on_hold or discharged (set on the care page or by a discharge summary)")
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field(description="Why the code might identify the person (a name, a year or date of birth); "
                                "empty for a plain pseudonym. The client is stored either way.")
    @property
    def code_warnings(self) -> list[str]:
        return service.client_code_warnings(self.code)


class GoalIn(StrictModel):
    instrument_code: ShortText
    baseline: float
    target: float
    direction: Literal["increase", "decrease"] | None = None
    target_date: dt.date | None = None
    description: Text = ""


class GoalPatch(StrictModel):
    target: float | None = None
    target_date: dt.date | None = None
    description: Text | None = None


class GoalOut(OrmModel):
    id: int
    client_id: int
    instrument_code: str
    description: str
    baseline: float
    target: float
    direction: str
    target_date: dt.date | None
    created_at: dt.datetime


class GoalProgressOut(BaseModel):
    goal: GoalOut
    unit: str
    dates: list[dt.date]
    values: list[float]


class MeasurementIn(StrictModel):
    instrument_code: ShortText
    value: float | None = None
    items: dict[Annotated[str, Field(max_length=64)], int] | None = Field(default=None, max_length=100)
    unit: ShortText | None = None
    goal_id: RowId | None = None
    measured_at: UtcConvertible | None = Field(
        default=None, description="Only when known more precisely than the session's date; left out, the "
                                  "measurement is dated by its session (never by the time it was sent)")
    timed_distance_m: float | None = Field(
        default=None, gt=0, le=100,
        description="Timed walks (gait_speed) only: the distance the time was taken over, in metres "
                    "(default 6: the 10-metre walk test times the middle 6 m)")

    def to_input(self) -> MeasurementInput:
        measured_at = self.measured_at
        if measured_at is not None and measured_at.tzinfo is None:
            measured_at = measured_at.replace(tzinfo=dt.UTC)  # the API documents naive times as UTC
        return MeasurementInput(
            instrument_code=self.instrument_code, value=self.value, items=self.items, unit=self.unit,
            goal_id=self.goal_id, measured_at=measured_at, timed_distance_m=self.timed_distance_m,
        )


class MeasurementOut(OrmModel):
    id: int
    session_id: int
    client_id: int
    goal_id: int | None
    instrument_code: str
    value: float
    unit: str
    item_responses: dict[str, Any] | None
    severity_band: str | None
    safety_followup: bool
    measured_at: dt.datetime | None = Field(
        description="When it was measured, if recorded; null means during the session, dated by its session_date")
    timed_distance_m: float | None = None


class InterventionIn(StrictModel):
    intervention_code: ShortText
    minutes: int = Field(ge=1, le=600)


class SessionIn(StrictModel):
    session_date: dt.date
    minutes: int = Field(ge=1, le=600)
    intervention_code: ShortText
    interventions: list[InterventionIn] | None = Field(
        default=None, max_length=service.MAX_INTERVENTIONS_PER_SESSION,
        description="Several interventions with their minutes (together at most the session's), the first being "
                    "intervention_code; left out: intervention_code for the whole session")
    setting: ShortText = ""
    subjective: Text = ""
    objective: Text = ""
    assessment: Text = ""
    plan: Text = ""
    measurements: list[MeasurementIn] = Field(default=[], max_length=50)


Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The session version this change is based on "
                                                                "(from the last read); a stale version gets 409")]


class SessionPatch(StrictModel):
    version: Version
    minutes: int | None = Field(default=None, ge=1, le=600)
    setting: ShortText | None = None
    subjective: Text | None = None
    objective: Text | None = None
    assessment: Text | None = None
    plan: Text | None = None


class SignIn(StrictModel):
    version: Version
    cosign: bool = Field(default=False, description=(
        "Sign a note another therapist wrote on a client since moved to you (caseload reassignment): you "
        "co-sign it, taking responsibility for it as written (audited as cosign). Without it such a note is a 409"))


class AddendumIn(StrictModel):
    text: Annotated[str, Field(min_length=1, max_length=service.MAX_ADDENDUM_CHARS), AfterValidator(_no_nul)]


class AddendumOut(OrmModel):
    id: int
    session_id: int
    author_id: int
    text: str
    created_at: dt.datetime
    previous_sha256: str
    content_sha256: str


class VerificationOut(BaseModel):
    session_id: int
    signed: bool
    ok: bool
    note_ok: bool
    stored_sha256: str | None
    computed_sha256: str | None
    bad_addendum_ids: list[int]


class InterventionOut(OrmModel):
    intervention_code: str
    minutes: int


class SessionOut(OrmModel):
    id: int
    client_id: int
    therapist_id: int
    session_date: dt.date
    minutes: int
    intervention_code: str
    setting: str
    soap_subjective: str
    soap_objective: str
    soap_assessment: str
    soap_plan: str
    created_at: dt.datetime
    version: int
    updated_at: dt.datetime | None
    signed_at: dt.datetime | None
    signed_by_id: int | None
    content_sha256: str | None
    measurements: list[MeasurementOut]
    addenda: list[AddendumOut]
    interventions: list[InterventionOut] = []
    # "therapist" or "client_recorded" (a home task the person did on their own device: nothing to sign)
    source: str = "therapist"


class AuditOut(OrmModel):
    id: int
    actor_id: int | None
    actor_username: str
    action: str
    entity: str
    entity_id: int | None
    client_id: int | None
    at: dt.datetime


class InstrumentOut(BaseModel):
    code: str
    name: str
    unit: str
    minimum: float
    maximum: float
    better: str | None
    loinc: str | None
    items: list[str] | None
    item_min: int
    item_max: int
    source: str
    licence: str = Field(description="Copyright and terms of use, where the instrument carries any")


class TherapistIn(StrictModel):
    username: ShortText
    password: Annotated[str, Field(max_length=1024)]
    role: Literal["therapist", "admin"] = "therapist"


class TherapistPatch(StrictModel):
    active: bool


class TherapistOut(OrmModel):
    id: int
    username: str
    role: str
    active: bool
    created_at: dt.datetime


NOT_FOUND = {404: {"description": "No such record, or it belongs to another therapist"}}
INVALID = {422: {"description": "A field is invalid; the message names it"}}
PAGE_HEADERS = {
    "X-Total-Count": {"description": "Rows in the whole list", "schema": {"type": "integer"}},
    "Link": {"description": 'The next page as <url>; rel="next" (absent on the last page)',
             "schema": {"type": "string"}},
}
PAGED = {200: {"description": "One page of the list, in a stable order", "headers": PAGE_HEADERS}}
Limit = Annotated[int, Query(ge=1, le=dashboard.MAX_PAGE_SIZE,
                             description=f"Page size, at most {dashboard.MAX_PAGE_SIZE}")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, deprecated=True,
                              description="Rows to skip: position paging, kept for old scripts only (a page deep in "
                                          "the list costs more, and rows added meanwhile shift it); follow the "
                                          "Link header, which pages by key with `after`")]
After = Annotated[str | None, Query(min_length=1, max_length=512,
                                    description="The cursor of the page before, from its Link header")]


# Idempotent creates (docs/clinic_api.md, "Idempotent creates"): a retry with the same key and body gets
# the first response again, marked with this header, and writes nothing.
REPLAYED_HEADER = "Idempotent-Replayed"
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=idempotency.MAX_KEY_CHARS, pattern=r"^[\x20-\x7e]+$",
    description="Optional. A key you choose (1-200 printable ASCII characters) naming this create: a retry "
                "with the same key and body returns the first response (header `Idempotent-Replayed: true`) "
                "instead of creating again; the same key with another body is a 422. Keys are yours alone "
                f"and expire after {idempotency.KEY_TTL_H} h.")]
CREATED = {201: {"description": "Created, or the stored response of an earlier request with this Idempotency-Key",
                 "headers": {REPLAYED_HEADER: {"description": "`true` when this is a replayed response",
                                               "schema": {"type": "string"}}}}}


def _idempotent_create(db, user, request: Request, key: str | None, body: BaseModel,
                       out_model: type[BaseModel], create) -> Any:
    """Run ``create()`` once per Idempotency-Key: the claim, the create and the stored response share
    the request's unit of work, so either all are committed or none is."""
    if key is None:
        return create()
    found = idempotency.claim(db, actor=user, key=key, route=request.url.path,
                              body_sha256=idempotency.request_sha256(body.model_dump(mode="json")))
    if isinstance(found, idempotency.StoredResponse):
        return Response(found.body, status_code=found.status_code, media_type="application/json",
                        headers={REPLAYED_HEADER: "true"})
    response = JSONResponse(out_model.model_validate(create()).model_dump(mode="json"),
                            status_code=status.HTTP_201_CREATED)
    idempotency.complete(db, found, status_code=response.status_code, body=response.body.decode())
    return response


def _paged(request: Request, response: Response, page: dashboard.Page, *, cursor: str | None = None) -> list:
    """The page's rows as the body; the total and the next page's URL in headers (RFC 8288), so a
    client that reads only the body still gets a plain list. The next page continues after the last row's
    sort key (``after``, keyset paging: no offset to drift when rows arrive); with ``cursor`` (a query
    parameter naming an id), below the last row's id."""
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_offset is not None:
        if cursor is None and page.next_after is not None:
            next_url = request.url.remove_query_params("offset").include_query_params(limit=page.limit,
                                                                                      after=page.next_after)
        elif cursor is None:
            next_url = request.url.include_query_params(limit=page.limit, offset=page.next_offset)
        else:
            next_url = request.url.include_query_params(limit=page.limit, offset=0, **{cursor: page.items[-1].id})
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return page.items


# Read-only lists are written straight from their rows (issue 23): the JSON FastAPI would make by validating
# each row into its response model and dumping the models (the same fields in the same order, the same
# encoders), without building the models. The models still document the lists (OpenAPI).
RowShape = tuple[tuple[str, "RowShape | None", bool], ...]  # (field, the shape of a nested list, is a float)


def row_shape(model: type[BaseModel]) -> RowShape:
    """How :func:`rows_json` writes a row as ``model``: its fields in order; a ``list[OtherModel]`` field
    nested; ``float`` fields made floats (an integral value is written ``40.0``, as the model writes it)."""
    if model.model_computed_fields:
        raise ParameterError(f"model {model.__name__} has computed fields, which a row does not hold")
    shape = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = None
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel):
                nested = row_shape(item)
        shape.append((name, nested, annotation in (float, float | None)))
    return tuple(shape)


def _plain(row: dict[str, Any], shape: RowShape) -> dict[str, Any]:
    out = {}
    for name, nested, is_float in shape:
        value = row[name]
        if nested is not None:
            value = [_plain(item, nested) for item in value]
        elif is_float and value is not None:
            value = float(value)
        out[name] = value
    return out


def rows_json(rows: list[dict[str, Any]], shape: RowShape) -> bytes:
    """``rows`` (dicts holding at least the shape's fields) as the JSON list of their response model."""
    return pydantic_core.to_json([_plain(row, shape) for row in rows], inf_nan_mode="null")


def _paged_json(request: Request, page: dashboard.Page, shape: RowShape) -> Response:
    response = Response(rows_json(page.items, shape), media_type="application/json")
    _paged(request, response, page)
    return response


_SESSION_ROW = row_shape(SessionOut)
_MEASUREMENT_ROW = row_shape(MeasurementOut)


# ---- me, instruments ---------------------------------------------------------------------------


@router.get("/me", response_model=Me, tags=["account"])
def me(user: ApiUser) -> Any:
    return user


@router.get("/instruments", response_model=list[InstrumentOut], tags=["instruments"])
def instruments(user: ApiUser) -> list[InstrumentOut]:
    return [
        InstrumentOut(code=i.code, name=i.name, unit=i.unit, minimum=i.minimum, maximum=i.maximum, better=i.better,
                      loinc=i.loinc, items=list(i.items) if i.items else None, item_min=i.item_min,
                      item_max=i.item_max, source=i.source, licence=i.licence)
        for i in list_instruments()
    ]


# ---- clients -----------------------------------------------------------------------------------


@router.get("/clients", response_model=list[ClientOut], tags=["clients"], responses=PAGED)
def list_clients(request: Request, response: Response, db: Db, user: ApiUser,
                 limit: Limit = dashboard.MAX_PAGE_SIZE, offset: Offset = 0, after: After = None) -> Any:
    """Your clients by code, paged (``limit`` at most 100; follow the ``Link`` header for more)."""
    return _paged(request, response, dashboard.clients_page(db, actor=user, limit=limit, offset=offset, after=after))


@router.post("/clients", response_model=ClientOut, status_code=status.HTTP_201_CREATED, tags=["clients"],
             responses={**CREATED, 409: {"description": "You already have a client with this code"}, **INVALID})
def create_client(request: Request, db: Db, user: ApiUser, body: ClientIn,
                  idempotency_key: IdempotencyKey = None) -> Any:
    return _idempotent_create(db, user, request, idempotency_key, body, ClientOut,
                              lambda: service.create_client(db, actor=user, **body.model_dump()))


@router.get("/clients/{client_id}", response_model=ClientOut, tags=["clients"], responses=NOT_FOUND)
def get_client(db: Db, user: ApiUser, client_id: DbId) -> Any:
    return service.get_client(db, actor=user, client_id=client_id)


@router.patch("/clients/{client_id}", response_model=ClientOut, tags=["clients"], responses={**NOT_FOUND, **INVALID})
def update_client(db: Db, user: ApiUser, client_id: DbId, body: ClientPatch) -> Any:
    return service.update_client(db, actor=user, client_id=client_id, **body.model_dump(exclude_unset=True))


# ---- goals -------------------------------------------------------------------------------------


@router.get("/clients/{client_id}/goals", response_model=list[GoalOut], tags=["goals"], responses=NOT_FOUND)
def list_goals(db: Db, user: ApiUser, client_id: DbId) -> Any:
    return service.list_goals(db, actor=user, client_id=client_id)


@router.post("/clients/{client_id}/goals", response_model=GoalOut, status_code=status.HTTP_201_CREATED,
             tags=["goals"], responses={**CREATED, **NOT_FOUND, **INVALID})
def create_goal(request: Request, db: Db, user: ApiUser, client_id: DbId, body: GoalIn,
                idempotency_key: IdempotencyKey = None) -> Any:
    return _idempotent_create(db, user, request, idempotency_key, body, GoalOut,
                              lambda: service.create_goal(db, actor=user, client_id=client_id, **body.model_dump()))


@router.get("/clients/{client_id}/goals/{goal_id}", response_model=GoalProgressOut, tags=["goals"],
            responses=NOT_FOUND)
def get_goal(db: Db, user: ApiUser, client_id: DbId, goal_id: DbId) -> Any:
    """The goal with its linked measurements over session dates (the data of its progress chart)."""
    series = dashboard.goal_series(db, actor=user, client_id=client_id, goal_id=goal_id)
    return GoalProgressOut(goal=GoalOut.model_validate(series.goal), unit=series.unit, dates=series.dates,
                           values=series.values)


@router.patch("/clients/{client_id}/goals/{goal_id}", response_model=GoalOut, tags=["goals"],
              responses={**NOT_FOUND, **INVALID})
def update_goal(db: Db, user: ApiUser, client_id: DbId, goal_id: DbId, body: GoalPatch) -> Any:
    """Revise the target, target date or wording (baseline, instrument and direction stay fixed)."""
    dashboard.goal_of_client(db, actor=user, client_id=client_id, goal_id=goal_id)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k == "target_date"}
    return service.update_goal(db, actor=user, goal_id=goal_id, **changes)


# ---- sessions and measurements -----------------------------------------------------------------


@router.get("/clients/{client_id}/sessions", response_model=list[SessionOut], tags=["sessions"],
            responses={**NOT_FOUND, **PAGED})
def list_sessions(request: Request, response: Response, db: Db, user: ApiUser, client_id: DbId,
                  limit: Limit = dashboard.MAX_PAGE_SIZE, offset: Offset = 0, after: After = None) -> Any:
    """The client's sessions in date order with their measurements, paged."""
    if offset:  # old scripts' position paging
        page = dashboard.sessions_page(db, actor=user, client_id=client_id, limit=limit, offset=offset, after=after)
        return _paged(request, response, page)
    # plain rows, no ORM objects: a read-only list (issue 23)
    page = record_rows.session_rows_page(db, actor=user, client_id=client_id, limit=limit, after=after)
    return _paged_json(request, page, _SESSION_ROW)


@router.post("/clients/{client_id}/sessions", response_model=SessionOut, status_code=status.HTTP_201_CREATED,
             tags=["sessions"], responses={**CREATED, **NOT_FOUND, **INVALID})
def record_session(request: Request, db: Db, user: ApiUser, client_id: DbId, body: SessionIn,
                   idempotency_key: IdempotencyKey = None) -> Any:
    """Document a session with its SOAP note and measurements, all or nothing. Send an
    ``Idempotency-Key`` so a retry after a dropped connection cannot record the session twice."""
    fields = body.model_dump(exclude={"measurements", "interventions"})
    interventions = None if body.interventions is None else [(i.intervention_code, i.minutes)
                                                             for i in body.interventions]
    return _idempotent_create(db, user, request, idempotency_key, body, SessionOut, lambda: service.record_session(
        db, actor=user, client_id=client_id, measurements=[m.to_input() for m in body.measurements],
        interventions=interventions, **fields
    ))


def _session_of_client(db, user, client_id: int, session_id: int):
    row = service.get_session(db, actor=user, session_id=session_id)
    if row.client_id != client_id:
        raise NotFoundError(f"session {session_id!r} not found")
    return row


@router.get("/clients/{client_id}/sessions/{session_id}", response_model=SessionOut, tags=["sessions"],
            responses=NOT_FOUND)
def get_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId) -> Any:
    return _session_of_client(db, user, client_id, session_id)


CONFLICT = {409: {"description": "The session changed since the given version, or it is signed (use an addendum)"}}


@router.patch("/clients/{client_id}/sessions/{session_id}", response_model=SessionOut, tags=["sessions"],
              responses={**NOT_FOUND, **INVALID, **CONFLICT})
def update_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: SessionPatch) -> Any:
    """Amend the length, setting or SOAP note of an unsigned session. ``version`` is the version you read;
    if someone changed the session since, the answer is 409 and nothing is written. Measurements are
    corrected by adding new ones."""
    _session_of_client(db, user, client_id, session_id)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True, exclude={"version"}).items() if v is not None}
    return service.update_session(db, actor=user, session_id=session_id, expected_version=body.version, **changes)


@router.post("/clients/{client_id}/sessions/{session_id}/sign", response_model=SessionOut, tags=["sessions"],
             responses={**NOT_FOUND, **INVALID, **CONFLICT})
def sign_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: SignIn) -> Any:
    """Sign the note as you read it at ``version``: stores who, when and the SHA-256 of the note and its
    measurements. A signed note never changes in place; corrections are addenda. A note written by the
    client's previous therapist is co-signed by its new holder (``cosign``)."""
    _session_of_client(db, user, client_id, session_id)
    return service.sign_session(db, actor=user, session_id=session_id, expected_version=body.version,
                                cosign=body.cosign)


@router.post("/clients/{client_id}/sessions/{session_id}/addenda", response_model=AddendumOut,
             status_code=status.HTTP_201_CREATED, tags=["sessions"], responses={**NOT_FOUND, **INVALID, **CONFLICT})
def add_addendum(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: AddendumIn) -> Any:
    """Append a correction or late entry to a signed note (409 if the note is not signed yet)."""
    _session_of_client(db, user, client_id, session_id)
    return service.add_addendum(db, actor=user, session_id=session_id, text=body.text)


@router.get("/clients/{client_id}/sessions/{session_id}/verification", response_model=VerificationOut,
            tags=["sessions"], responses=NOT_FOUND)
def verify_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId) -> Any:
    """Recompute the signed note's hash and the addendum chain from the stored rows."""
    _session_of_client(db, user, client_id, session_id)
    check = service.verify_session_note(db, actor=user, session_id=session_id)
    return VerificationOut(session_id=check.session_id, signed=check.signed, ok=check.ok, note_ok=check.note_ok,
                           stored_sha256=check.stored_sha256, computed_sha256=check.computed_sha256,
                           bad_addendum_ids=list(check.bad_addendum_ids))


@router.post("/clients/{client_id}/sessions/{session_id}/measurements", response_model=MeasurementOut,
             status_code=status.HTTP_201_CREATED, tags=["sessions"],
             responses={**CREATED, **NOT_FOUND, **INVALID, **CONFLICT})
def add_measurement(request: Request, db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: MeasurementIn,
                    idempotency_key: IdempotencyKey = None) -> Any:
    _session_of_client(db, user, client_id, session_id)
    return _idempotent_create(db, user, request, idempotency_key, body, MeasurementOut, lambda: service.add_measurement(
        db, actor=user, session_id=session_id, measurement=body.to_input()))


@router.get("/clients/{client_id}/measurements", response_model=list[MeasurementOut], tags=["sessions"],
            responses={**NOT_FOUND, **PAGED})
def list_measurements(
    request: Request, response: Response, db: Db, user: ApiUser, client_id: DbId,
    instrument_code: Annotated[str | None, Query(max_length=64)] = None,
    goal_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Limit = dashboard.MAX_PAGE_SIZE, offset: Offset = 0, after: After = None,
) -> Any:
    """The client's measurements in session order, optionally for one instrument or goal, paged."""
    page = record_rows.measurement_rows_page(db, actor=user, client_id=client_id, instrument_code=instrument_code,
                                             goal_id=goal_id, limit=limit, offset=offset, after=after)
    return _paged_json(request, page, _MEASUREMENT_ROW)


@router.get("/clients/{client_id}/audit", response_model=list[AuditOut], tags=["audit"],
            responses={**NOT_FOUND, **PAGED})
def client_audit(
    request: Request, response: Response, db: Db, user: ApiUser, client_id: DbId,
    limit: Limit = dashboard.MAX_PAGE_SIZE, offset: Offset = 0,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only events older than this id")] = None,
) -> Any:
    """Who read or changed this client's record, and when (append-only), newest first, paged; the
    ``Link`` header pages by ``before_id``, which new events (including this read) do not shift."""
    page = dashboard.client_audit_page(db, actor=user, client_id=client_id, limit=limit, offset=offset,
                                       before_id=before_id)
    return _paged(request, response, page, cursor="before_id")


# ---- accounts (admins) -------------------------------------------------------------------------


@router.get("/therapists", response_model=list[TherapistOut], tags=["admin"],
            responses={403: {"description": "Admins only"}})
def list_therapists(db: Db, user: AdminApiUser) -> Any:
    return service.list_therapists(db, actor=user)


@router.post("/therapists", response_model=TherapistOut, status_code=status.HTTP_201_CREATED, tags=["admin"],
             responses={403: {"description": "Admins only"}, 409: {"description": "Username taken"}, **INVALID})
def create_therapist(db: Db, user: AdminApiUser, body: TherapistIn) -> Any:
    return service.create_therapist(db, actor=user, username=body.username, password=body.password, role=body.role)


@router.patch("/therapists/{username}", response_model=TherapistOut, tags=["admin"],
              responses={403: {"description": "Admins only"}, **NOT_FOUND, **INVALID})
def update_therapist(
    db: Db, user: AdminApiUser,
    username: Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")],
    body: TherapistPatch,
) -> Any:
    """Enable or disable an account; disabling ends its sessions and API tokens at once."""
    return auth.set_therapist_active(db, actor=user, username=username, active=body.active)


# ---- corrections: remove with a reason, restore (clinic.corrections; the same as the pages) ----------


class RemoveIn(StrictModel):
    """Why the row is removed (3-500 characters; kept in the record's history)."""

    reason: Annotated[str, Field(max_length=corrections.MAX_REASON_CHARS), AfterValidator(_no_nul)]


class RemoveSessionIn(RemoveIn):
    version: int = Field(ge=1, le=2**31 - 1)


class RestoreIn(StrictModel):
    reason: Annotated[str, Field(max_length=corrections.MAX_REASON_CHARS), AfterValidator(_no_nul)] = ""


class RemovedOut(BaseModel):
    """The row's state after the change."""

    entity: str
    id: int
    removed: bool
    removed_reason: str | None


def _removed_out(entity: str, row) -> RemovedOut:
    return RemovedOut(entity=entity, id=row.id, removed=row.is_removed, removed_reason=row.removed_reason)


def _check_client(row, client_id: int, what: str, row_id: int) -> None:
    if row.client_id != client_id:
        raise NotFoundError(f"{what} {row_id!r} not found")


@router.post("/clients/{client_id}/sessions/{session_id}/remove", response_model=RemovedOut, tags=["sessions"],
             responses={**NOT_FOUND, **INVALID, **CONFLICT})
def remove_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: RemoveSessionIn) -> Any:
    """Remove an unsigned session and its measurements (kept, restorable; a signed one is 409)."""
    _session_of_client(db, user, client_id, session_id)
    row = corrections.remove_session(db, actor=user, session_id=session_id, expected_version=body.version,
                                     reason=body.reason)
    return _removed_out("therapy_session", row)


@router.post("/clients/{client_id}/sessions/{session_id}/restore", response_model=RemovedOut, tags=["sessions"],
             responses={**NOT_FOUND, **CONFLICT})
def restore_session(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, body: RestoreIn) -> Any:
    """Bring back a removed session with the measurements removed with it."""
    service.get_client(db, actor=user, client_id=client_id)
    row = corrections.restore_session(db, actor=user, session_id=session_id, reason=body.reason)
    _check_client(row, client_id, "session", session_id)
    return _removed_out("therapy_session", row)


@router.post("/clients/{client_id}/sessions/{session_id}/measurements/{measurement_id}/remove",
             response_model=RemovedOut, tags=["sessions"], responses={**NOT_FOUND, **INVALID, **CONFLICT})
def remove_measurement(db: Db, user: ApiUser, client_id: DbId, session_id: DbId, measurement_id: DbId,
                       body: RemoveIn) -> Any:
    """Remove a wrong value from an unsigned session (then add the right one)."""
    row = _session_of_client(db, user, client_id, session_id)
    if measurement_id not in {m.id for m in row.measurements}:
        raise NotFoundError(f"measurement {measurement_id!r} not found")
    return _removed_out("measurement", corrections.remove_measurement(db, actor=user, measurement_id=measurement_id,
                                                                      reason=body.reason))


@router.post("/clients/{client_id}/goals/{goal_id}/remove", response_model=RemovedOut, tags=["goals"],
             responses={**NOT_FOUND, **INVALID, **CONFLICT})
def remove_goal(db: Db, user: ApiUser, client_id: DbId, goal_id: DbId, body: RemoveIn) -> Any:
    """Remove a goal (kept, restorable); its measurements stay in their sessions."""
    goal = service.get_goal(db, actor=user, goal_id=goal_id)
    _check_client(goal, client_id, "goal", goal_id)
    return _removed_out("goal", corrections.remove_goal(db, actor=user, goal_id=goal_id, reason=body.reason))


@router.post("/clients/{client_id}/goals/{goal_id}/restore", response_model=RemovedOut, tags=["goals"],
             responses={**NOT_FOUND, **CONFLICT})
def restore_goal(db: Db, user: ApiUser, client_id: DbId, goal_id: DbId, body: RestoreIn) -> Any:
    service.get_client(db, actor=user, client_id=client_id)
    goal = corrections.restore_goal(db, actor=user, goal_id=goal_id, reason=body.reason)
    _check_client(goal, client_id, "goal", goal_id)
    return _removed_out("goal", goal)
