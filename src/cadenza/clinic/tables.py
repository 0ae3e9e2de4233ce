"""Every table of the clinical record, on one :class:`~sqlalchemy.MetaData`.

A table exists for SQLAlchemy once the module that declares it is imported. The record's tables are
declared next to the code that owns them (accounts in :mod:`~cadenza.clinic.models`, logins in
:mod:`~cadenza.clinic.auth`, corrections, form drafts, the audit chain, emergency grants, idempotency keys,
calibrations and the sound-dose ledger in :mod:`~cadenza.clinic.listening`, the person's invitations and
devices in :mod:`~cadenza.clinic.people`, planned sessions in :mod:`~cadenza.clinic.schedule`, note
templates in :mod:`~cadenza.clinic.note_templates`, and each clinical tool's records module). The core's modules are
imported here by name; each installed tool's records module is named by its manifest (:mod:`cadenza.plugins`)
and loaded by :func:`record_metadata`, which is what the migrations and the web app ask for. A new core table
module is added here; a tool's tables come with its manifest.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from cadenza.clinic import (
    audit_chain,
    auth,
    corrections,
    drafts,
    emergency,
    idempotency,
    listening,
    note_templates,
    people,
    schedule,
)
from cadenza.clinic.models import Base
from cadenza.plugins import installed_tools

TABLE_MODULES = (audit_chain, auth, corrections, drafts, emergency, idempotency, listening, note_templates, people,
                 schedule)


def record_metadata() -> MetaData:
    """The metadata holding every table of the record (what ``alembic check`` compares against).

    >>> {"therapist", "login_session", "audit_seal", "emergency_access", "mit_phrase"} <= set(record_metadata().tables)
    True
    """
    for tool in installed_tools():
        if tool.records:
            tool.load("records")  # declares the tool's tables on Base.metadata
    return Base.metadata
