"""Runtime settings read from the environment; no I/O beyond reading variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


def default_data_dir() -> Path:
    """Where Cadenza keeps its SQLite file and caches unless CADENZA_DATA_DIR says otherwise."""
    return Path(os.environ.get("CADENZA_DATA_DIR") or user_data_dir("cadenza", appauthor=False))


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    max_upload_bytes: int = 50 * 1024 * 1024
    # Uploaded audio is decoded in a child process under these limits (cadenza.io.isolated); turn
    # isolation off only where the ``resource`` module is missing (Windows): the header check remains.
    isolate_decoding: bool = True
    decode_memory_bytes: int = 2 * 1024**3
    decode_cpu_s: int = 30
    decode_timeout_s: float = 30.0
    # /metrics answers a request carrying "Authorization: Bearer <token>"; unset, only a direct loopback request.
    metrics_token: str | None = None

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = default_data_dir()
        url = os.environ.get("CADENZA_DATABASE_URL") or f"sqlite:///{data_dir / 'cadenza.sqlite3'}"
        return cls(
            database_url=url,
            data_dir=data_dir,
            max_upload_bytes=int(os.environ.get("CADENZA_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)),
            isolate_decoding=os.environ.get("CADENZA_ISOLATE_DECODING", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            decode_memory_bytes=int(os.environ.get("CADENZA_DECODE_MEMORY_BYTES", 2 * 1024**3)),
            decode_cpu_s=int(os.environ.get("CADENZA_DECODE_CPU_S", 30)),
            decode_timeout_s=float(os.environ.get("CADENZA_DECODE_TIMEOUT_S", 30.0)),
            metrics_token=os.environ.get("CADENZA_METRICS_TOKEN") or None,
        )
