"""Every table of the clinical record, on one :class:`~sqlalchemy.MetaData`.

A table exists for SQLAlchemy once the module that declares it is imported. The record's tables are
declared next to the code that owns them (accounts in :mod:`~cadenza.clinic.models`, logins in
:mod:`~cadenza.clinic.auth`, the audit chain, emergency grants, idempotency keys and each domain's
``*_records`` module), so this module imports them all, by name, and :func:`record_metadata` is what
the migrations and the web app ask for. A new table module is added here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from cadenza.clinic import (
    audit_chain,
    auth,
    emergency,
    idempotency,
    library_records,
    mit_records,
    ras_records,
    safety_records,
)
from cadenza.clinic.models import Base

TABLE_MODULES = (audit_chain, auth, emergency, idempotency, library_records, mit_records, ras_records,
                 safety_records)


def record_metadata() -> MetaData:
    """The metadata holding every table of the record (what ``alembic check`` compares against).

    >>> {"therapist", "login_session", "audit_seal", "emergency_access", "mit_phrase"} <= set(record_metadata().tables)
    True
    """
    return Base.metadata
