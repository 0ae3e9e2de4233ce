"""Liveness probe for `cadenza serve`, load balancers and the load benchmark."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}
