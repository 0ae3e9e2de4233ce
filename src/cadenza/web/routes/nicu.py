"""NICU pages for an NICU-flagged client: lullaby and womb sounds within NICU limits, the stop-rule log
and PAL session summaries. Audio plays only when the caregiver presses play; every render is measured
against the NICU limits before it is served.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from cadenza.clinic import safety_records
from cadenza.errors import NotFoundError
from cadenza.nicu.limits import NICU_LIMITS
from cadenza.nicu.lullaby import LULLABIES
from cadenza.web.deps import Db, PageUser
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
WEB_MAX_MINUTES = 5.0  # longer renders belong to `cadenza nicu ...` on the command line


def _nicu_client(db, user, client_id: int):
    client, policy = safety_records.client_policy(db, actor=user, client_id=client_id)
    if not policy.nicu_limits:
        raise NotFoundError(f"NICU tools are for clients with the nicu_infant flag; {client.code!r} has none")
    return client, policy


@router.get("/clients/{client_id}/nicu")
def nicu_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    client, policy = _nicu_client(db, user, client_id)
    return render(request, "nicu/client_nicu.html", {
        "c": client, "policy": policy, "limits": NICU_LIMITS, "tunes": sorted(LULLABIES),
        "calibration": safety_records.latest_calibration(db, actor=user, client_id=client_id),
        "stop_log": safety_records.list_stop_events(db, actor=user, client_id=client_id),
        "pal": safety_records.list_pal_summaries(db, actor=user, client_id=client_id),
        "max_minutes": WEB_MAX_MINUTES,
    })


def _wav(render_result, levels_header: bool = True) -> Response:
    from cadenza.io.speech import encode_wav_bytes

    r = render_result
    headers = {"X-Cadenza-Leq-dBA": f"{r.report.leq_dba:.1f}", "X-Cadenza-Lmax-dBA": f"{r.report.lmax_dba:.1f}",
               "X-Cadenza-L10-dBA": f"{r.report.l10_dba:.1f}"} if levels_header else {}
    return Response(encode_wav_bytes(r.samples, sampling_rate_hz=r.sampling_rate_hz), media_type="audio/wav",
                    headers=headers)


@router.get("/clients/{client_id}/nicu/lullaby.wav")
def lullaby_audio(db: Db, user: PageUser, client_id: ClientId,
                  tune: Annotated[str, Query(max_length=40)] = "twinkle",
                  minutes: Annotated[float, Query(gt=0, le=WEB_MAX_MINUTES)] = 2.0,
                  tempo_bpm: Annotated[float, Query(ge=40, le=80)] = 60.0) -> Response:
    from cadenza.nicu.lullaby import render_lullaby

    _nicu_client(db, user, client_id)
    cal = safety_records.latest_calibration(db, actor=user, client_id=client_id)
    return _wav(render_lullaby(tune=tune, minutes=minutes, tempo_bpm=tempo_bpm, calibration=cal).render)


@router.get("/clients/{client_id}/nicu/womb.wav")
def womb_audio(db: Db, user: PageUser, client_id: ClientId,
               minutes: Annotated[float, Query(gt=0, le=WEB_MAX_MINUTES)] = 2.0,
               heart_rate_bpm: Annotated[float, Query(ge=50, le=110)] = 72.0,
               breaths_per_min: Annotated[float, Query(ge=6, le=30)] = 12.0) -> Response:
    from cadenza.nicu.womb import render_womb_sound

    _nicu_client(db, user, client_id)
    cal = safety_records.latest_calibration(db, actor=user, client_id=client_id)
    return _wav(render_womb_sound(minutes=minutes, heart_rate_bpm=heart_rate_bpm, breaths_per_min=breaths_per_min,
                                  calibration=cal).render)


def _make_nicu_client(db, actor, client_id: int) -> dict:
    """Authorisation-matrix setup: NICU pages exist only for NICU-flagged clients."""
    from cadenza.clinic import service

    service.update_client(db, actor=actor, client_id=client_id, safety_flags=["nicu_infant"])
    return {}


AUTHZ_SAMPLES = {
    ("GET", "/clients/{client_id}/nicu"): {"setup": _make_nicu_client},
    ("GET", "/clients/{client_id}/nicu/lullaby.wav"): {"setup": _make_nicu_client, "query": {"minutes": 0.05}},
    ("GET", "/clients/{client_id}/nicu/womb.wav"): {"setup": _make_nicu_client, "query": {"minutes": 0.05}},
}
