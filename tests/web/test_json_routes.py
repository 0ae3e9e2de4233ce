"""cadenza.web.json_routes: a plain ``def`` route's response model is validated and written as JSON in the
route's own thread, with the bytes, status, headers and OpenAPI document FastAPI's own path gives."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Header, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from cadenza.web.json_routes import ThreadSerializedRouter


class Row:  # an ORM-like object: read through attributes
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: int
    code: str = Field(alias="clientCode")
    at: dt.datetime
    score: float | None = None
    tags: list[str] = []


def _app(router_class: type[APIRouter]) -> FastAPI:
    router = router_class(prefix="/api")

    @router.get("/rows/{row_id}", response_model=Out, tags=["rows"])
    def get_row(row_id: int) -> Any:
        """One row."""
        return Row(id=row_id, code="Zoë <b>", at=dt.datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=dt.UTC),
                   score=1.0 if row_id % 2 else None, tags=["a", "é"])

    @router.post("/rows", response_model=Out, status_code=201, response_model_exclude_none=True)
    def create_row(x_mark: Annotated[str | None, Header()] = None) -> Any:
        return {"id": 7, "clientCode": "N", "at": "2026-12-07T10:00:00+01:00", "score": None}

    @router.get("/listed", response_model=list[Out])
    def listed(response: Response) -> Any:
        response.headers["X-Total-Count"] = "2"
        response.status_code = 206
        return [Row(id=n, code=f"C{n}", at=dt.datetime(2026, 1, n, tzinfo=dt.UTC), score=n / 3, tags=[])
                for n in (1, 2)]

    @router.get("/ready", response_model=Out)
    def ready() -> Any:
        return Response(b'{"as":"is"}', media_type="application/json", headers={"X-Own": "1"})

    @router.get("/wrong", response_model=Out)
    def wrong() -> Any:
        return {"id": "not a number"}

    @router.get("/coroutine", response_model=Out)
    async def coroutine() -> Any:
        return {"id": 3, "clientCode": "A", "at": "2026-12-07T10:00:00Z"}

    app = FastAPI()
    app.include_router(router)
    return app


REQUESTS = [("get", "/api/rows/1"), ("get", "/api/rows/2"), ("post", "/api/rows"), ("get", "/api/listed"),
            ("get", "/api/ready"), ("get", "/api/coroutine")]


def test_the_answers_and_the_openapi_document_are_fastapis_own():
    plain, threaded = _app(APIRouter), _app(ThreadSerializedRouter)
    assert threaded.openapi() == plain.openapi()  # names, docstrings, models, status codes, parameters
    with TestClient(plain) as expected, TestClient(threaded) as got:
        for method, path in REQUESTS:
            a, b = getattr(expected, method)(path), getattr(got, method)(path)
            assert (b.status_code, b.content, sorted(b.headers.items())) == (
                a.status_code, a.content, sorted(a.headers.items())), path
    with TestClient(threaded, raise_server_exceptions=False) as got:
        assert got.get("/api/wrong").status_code == 500  # a route's wrong answer is still refused


def test_a_route_answers_with_one_thread_hand_off(monkeypatch):
    hand_offs = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        hand_offs.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    for router_class, expected in ((APIRouter, 2), (ThreadSerializedRouter, 1)):  # route (+ validation)
        with TestClient(_app(router_class)) as http:
            hand_offs.clear()
            assert http.get("/api/rows/1").status_code == 200
            assert len(hand_offs) == expected, router_class
