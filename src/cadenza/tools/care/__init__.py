"""The course of care: referral, informed consent, music-therapy assessment, treatment plan, discharge
summary and group sessions (AMTA Standards of Clinical Practice; clinical review M4, M7-M9, M11).

The folder follows the tool layout (``docs/architecture.md``): ``records`` (documents, addenda, group
sessions), ``actions`` (the workflows both faces call), ``cli`` (``cadenza care``), ``pages``
(``/clients/{client_id}/care`` and ``/groups``), ``fhir`` (ServiceRequest, Consent, ClinicalImpression,
CarePlan, DocumentReference), ``instruments`` (pain, mood and dementia scales with their licences) and
``templates/care/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "care", "Care documents",
    "Referral, informed consent, music-therapy assessment, treatment plan and discharge summary, signed and "
    "kept unchanged; group sessions with each client's attendance and note.",
    cli="cadenza.tools.care.cli:app",
    pages="cadenza.tools.care.pages:router",
    records="cadenza.tools.care.records",
    templates="cadenza.tools.care",
    overview="cadenza.tools.care.actions:overview_lines",
    overview_many="cadenza.tools.care.actions:overview_lines_of_clients",
    fhir="cadenza.tools.care.fhir:resources",
    instruments=tuple(f"cadenza.tools.care.instruments:{name}" for name in (
        "VAS_PAIN", "FLACC", "NIPS", "WONG_BAKER", "HADS_ANXIETY", "HADS_DEPRESSION", "CSDD", "GDS15")),
    audience="all",
)
