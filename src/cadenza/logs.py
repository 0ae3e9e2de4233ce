"""Log lines as an operator reads them: one JSON object per line, with the request id of the request that
wrote it (:mod:`cadenza.web.observability` sets it). A leaf module, so the web app and ``cadenza serve``
(which hands :func:`logging_config` to uvicorn) share it without the command importing the web app."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("cadenza_request_id", default=None)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, worker pid, request id and
    any ``extra={"fields": {...}}`` the caller attached. The request id is the one of the request running
    where the line is formatted (handlers format as they emit, in the caller's context), unless the fields
    name it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = current_request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(*, json_lines: bool, level: str = "INFO") -> dict:
    """A :func:`logging.config.dictConfig` for ``cadenza serve`` (uvicorn takes it as ``log_config``): the
    access lines and uvicorn's own messages on standard error, as JSON lines or as plain text."""
    formatter = ({"()": f"{__name__}.JsonLogFormatter"} if json_lines
                 else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"})
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {
            "cadenza": {"handlers": ["main"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["main"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # ours has the request id
        },
    }
