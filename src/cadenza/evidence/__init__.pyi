"""Public names of cadenza.evidence, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .query import Catalog, Entry, Intervention, InterventionEvidence, Outcome, evidence_for_intervention, intervention_evidence, find_entries, get_entry, get_intervention, list_entries, list_interventions, load_catalog
