"""A router whose plain ``def`` JSON routes answer with their response model's JSON made on the route's own
worker thread (issue 23).

FastAPI runs a plain ``def`` route on a worker thread, then validates what it returned against the route's
``response_model`` on another one (``fastapi.routing.serialize_response``: one more thread hand-off per
call, ~0.1 ms of CPU) before writing it as JSON. :class:`ThreadSerializedRouter` wraps each such route so the
validation and the JSON are made in the route's thread, with the route's own response field and options,
and handed back as a finished response, which FastAPI sends as it is. The route keeps its ``response_model``,
status code, name, docstring and parameters, so the OpenAPI document is the same; the bytes are those of
FastAPI's own path (``ModelField.validate`` then ``serialize_json``), the status code the route's (or the one
it set on its ``response`` parameter), with the headers it set there. A route that returns a
:class:`~starlette.responses.Response` itself is left as it is; coroutines, routes without a response model,
with a response class of their own or with a dependency that takes the response object go FastAPI's way.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from fastapi import APIRouter, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code


class _Serializer:
    """The response field and options of one route, bound once the route exists."""

    __slots__ = ("field", "status_code", "response_param", "options", "endpoint")

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        self.field = None  # None: not bound (yet), the route's return value goes to FastAPI as it is

    def bind(self, route: APIRoute) -> None:
        if (route.response_field is None or not isinstance(route.response_class, DefaultPlaceholder)
                or any(_takes_response(sub) for sub in route.dependant.dependencies)):
            return
        self.status_code = route.status_code
        self.response_param = route.dependant.response_param_name
        self.options = {"include": route.response_model_include, "exclude": route.response_model_exclude,
                        "by_alias": route.response_model_by_alias,
                        "exclude_unset": route.response_model_exclude_unset,
                        "exclude_defaults": route.response_model_exclude_defaults,
                        "exclude_none": route.response_model_exclude_none}
        self.field = route.response_field

    def respond(self, returned: Any, arguments: dict[str, Any]) -> Any:
        if self.field is None or isinstance(returned, Response):
            return returned
        value, errors = self.field.validate(returned, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=returned,
                                          endpoint_ctx={"function": self.endpoint.__name__})
        status_code = self.status_code
        set_on = arguments.get(self.response_param) if self.response_param else None
        if set_on is not None and set_on.status_code:
            status_code = set_on.status_code
        response = Response(content=self.field.serialize_json(value, **self.options),
                            media_type="application/json",
                            **({"status_code": status_code} if status_code is not None else {}))
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if set_on is not None:
            response.headers.raw.extend(set_on.headers.raw)
        return response


def _takes_response(dependant: Any) -> bool:
    return dependant.response_param_name is not None or any(_takes_response(sub) for sub in dependant.dependencies)


class ThreadSerializedRouter(APIRouter):
    """:class:`fastapi.APIRouter` whose plain ``def`` routes with a response model answer as the module's text
    says."""

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        if inspect.iscoroutinefunction(endpoint) or inspect.isgeneratorfunction(endpoint):
            super().add_api_route(path, endpoint, **kwargs)
            return
        serializer = _Serializer(endpoint)

        @functools.wraps(endpoint)
        def answered_in_thread(*args: Any, **arguments: Any) -> Any:
            return serializer.respond(endpoint(*args, **arguments), arguments)

        super().add_api_route(path, answered_in_thread, **kwargs)
        route = self.routes[-1]
        if isinstance(route, APIRoute) and route.endpoint is answered_in_thread:
            serializer.bind(route)
