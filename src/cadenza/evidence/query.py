"""Queries over the evidence catalog (``catalog.toml`` in this package).

>>> [e.id for e in find_entries(condition="dementia")]
['vandersteen2018_dementia']
>>> get_intervention("ras_gait_training").mode
'active'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from collections.abc import Iterable
from typing import Any

from cadenza.errors import NotFoundError, ParameterError

FAMILIES = ("receptive_listening", "active_music_therapy", "ras", "mit", "nicu", "improvisational")
DIRECTIONS = ("decrease", "increase", "no_difference", "uncertain")
FAVOURS = ("music", "neither", "unclear")
MODES = ("active", "receptive")


@dataclass(frozen=True)
class Outcome:
    """One outcome of an entry: the direction of the effect, what it favours, and its certainty."""

    name: str
    direction: str
    favours: str
    certainty: str
    note: str


@dataclass(frozen=True)
class Entry:
    """One review or trial: citation, design, condition, certainty, caveat and its outcomes."""

    id: str
    citation: str
    year: int
    doi: str
    design: str
    condition: str
    families: tuple[str, ...]
    certainty: str
    caveat: str
    outcomes: tuple[Outcome, ...]

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}"


@dataclass(frozen=True)
class Intervention:
    """A session intervention and the entries that do and do not support it."""

    code: str
    name: str
    mode: str
    families: tuple[str, ...]
    supporting: tuple[str, ...]
    not_supporting: tuple[str, ...]
    evidence_note: str


@dataclass(frozen=True)
class Catalog:
    """The whole evidence catalog: every entry and every session intervention."""

    entries: tuple[Entry, ...]
    interventions: tuple[Intervention, ...]


def parse_catalog(data: dict[str, Any]) -> Catalog:
    """Build a catalog from parsed TOML, checking every rule the catalog promises."""
    entries = tuple(_parse_entry(raw) for raw in data.get("entry", []))
    interventions = tuple(_parse_intervention(raw) for raw in data.get("intervention", []))
    ids = [e.id for e in entries]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ParameterError(f"evidence entry ids must be unique; duplicated: {sorted(duplicates)!r}")
    codes = [i.code for i in interventions]
    if len(set(codes)) != len(codes):
        raise ParameterError(f"intervention codes must be unique; got {codes!r}")
    known = set(ids)
    for intervention in interventions:
        unknown = [i for i in intervention.supporting + intervention.not_supporting if i not in known]
        if unknown:
            raise ParameterError(f"intervention {intervention.code!r} links unknown evidence entries {unknown!r}")
        if not intervention.supporting and not intervention.evidence_note.strip():
            raise ParameterError(
                f"intervention {intervention.code!r} has no supporting entries and no evidence_note saying so"
            )
    return Catalog(entries=entries, interventions=interventions)


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ParameterError(f"{where} lacks a {key!r}; got {value!r}")
    return value


def _parse_entry(raw: dict[str, Any]) -> Entry:
    where = f"evidence entry {raw.get('id')!r}"
    doi = _require(raw, "doi", where)
    if not str(doi).startswith("10."):
        raise ParameterError(f"{where}: doi must look like '10.xxxx/...', got {doi!r}")
    families = tuple(_require(raw, "families", where))
    bad = [f for f in families if f not in FAMILIES]
    if bad:
        raise ParameterError(f"{where}: unknown intervention families {bad!r}; expected {FAMILIES}")
    outcomes = []
    for out in _require(raw, "outcome", where):
        name = _require(out, "name", where + " outcome")
        if out.get("direction") not in DIRECTIONS:
            raise ParameterError(f"{where} outcome {name!r}: direction must be one of {DIRECTIONS}, got {out.get('direction')!r}")
        if out.get("favours") not in FAVOURS:
            raise ParameterError(f"{where} outcome {name!r}: favours must be one of {FAVOURS}, got {out.get('favours')!r}")
        outcomes.append(Outcome(name=name, direction=out["direction"], favours=out["favours"],
                                certainty=out.get("certainty", ""), note=out.get("note", "")))
    return Entry(
        id=_require(raw, "id", where),
        citation=_require(raw, "citation", where),
        year=int(_require(raw, "year", where)),
        doi=doi,
        design=_require(raw, "design", where),
        condition=_require(raw, "condition", where),
        families=families,
        certainty=raw.get("certainty", ""),
        caveat=_require(raw, "caveat", where),
        outcomes=tuple(outcomes),
    )


def _parse_intervention(raw: dict[str, Any]) -> Intervention:
    where = f"intervention {raw.get('code')!r}"
    mode = _require(raw, "mode", where)
    if mode not in MODES:
        raise ParameterError(f"{where}: mode must be 'active' or 'receptive', got {mode!r}")
    return Intervention(
        code=_require(raw, "code", where),
        name=_require(raw, "name", where),
        mode=mode,
        families=tuple(raw.get("families", ())),
        supporting=tuple(raw.get("supporting", ())),
        not_supporting=tuple(raw.get("not_supporting", ())),
        evidence_note=raw.get("evidence_note", ""),
    )


@cache
def load_catalog() -> Catalog:
    """The packaged catalog (parsed once)."""
    text = resources.files("cadenza.evidence").joinpath("catalog.toml").read_text(encoding="utf-8")
    return parse_catalog(tomllib.loads(text))


def list_entries() -> tuple[Entry, ...]:
    """Every entry of the catalog, in catalog order."""
    return load_catalog().entries


def get_entry(entry_id: str) -> Entry:
    """The entry with id ``entry_id``; :class:`NotFoundError` if there is none."""
    for entry in load_catalog().entries:
        if entry.id == entry_id:
            return entry
    raise NotFoundError(f"unknown evidence entry {entry_id!r}")


def list_interventions() -> tuple[Intervention, ...]:
    """Every session intervention of the catalog, in catalog order."""
    return load_catalog().interventions


def get_intervention(code: str) -> Intervention:
    """The session intervention ``code``; :class:`NotFoundError` listing the known codes otherwise."""
    for intervention in load_catalog().interventions:
        if intervention.code == code:
            return intervention
    known = ", ".join(i.code for i in load_catalog().interventions)
    raise NotFoundError(f"unknown intervention_code {code!r}; known: {known}")


def evidence_for_intervention(code: str) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """(supporting, not supporting) entries for a session intervention."""
    intervention = get_intervention(code)
    return (tuple(get_entry(i) for i in intervention.supporting),
            tuple(get_entry(i) for i in intervention.not_supporting))


@dataclass(frozen=True)
class InterventionEvidence:
    """Everything the catalog says about one session intervention, for a page or report to show whole
    (clinical review W8/W9): the entries that support it and those that tested it without benefit, each
    with its caveat, the intervention's evidence note, and which entries match the client's conditions
    (listed first in both tuples)."""

    intervention: Intervention
    supporting: tuple[Entry, ...]
    not_supporting: tuple[Entry, ...]
    matching_ids: frozenset[str]

    @property
    def note(self) -> str:
        return self.intervention.evidence_note


def _condition_matches(entry: Entry, conditions: tuple[str, ...]) -> bool:
    have = entry.condition.lower()
    return any(c in have or have in c for c in conditions)


def intervention_evidence(code: str, *, conditions: Iterable[str] = ()) -> InterventionEvidence:
    """The whole evidence for session intervention ``code``, entries matching ``conditions`` (the client's,
    case-insensitive, either a substring of the other) first; the order is otherwise the catalog's.

    >>> ev = intervention_evidence("drumming_improvisation", conditions=["autism"])
    >>> [e.id for e in ev.not_supporting], sorted(ev.matching_ids)
    (['bieleninik2017_time_a'], ['bieleninik2017_time_a'])
    """
    if isinstance(conditions, str):
        raise ParameterError(f"conditions must be a list of condition names, not one string; got {conditions!r}")
    wanted = tuple(c.strip().lower() for c in conditions if isinstance(c, str) and c.strip())
    supporting, not_supporting = evidence_for_intervention(code)
    matching = frozenset(e.id for e in supporting + not_supporting if wanted and _condition_matches(e, wanted))

    def ordered(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
        return tuple(sorted(entries, key=lambda e: e.id not in matching))  # stable: catalog order otherwise

    return InterventionEvidence(get_intervention(code), ordered(supporting), ordered(not_supporting), matching)


def find_entries(
    term: str | None = None,
    *,
    condition: str | None = None,
    intervention: str | None = None,
    outcome: str | None = None,
) -> list[Entry]:
    """Entries matching every filter given (case-insensitive substrings).

    ``term`` matches the condition, an outcome name, a family or the citation, or names a session
    intervention (code or name, e.g. ``singing``), whose linked entries then match. ``intervention`` is a
    family (e.g. ``ras``) or a session intervention code (e.g. ``ras_gait_training``), whose linked entries
    are returned. No filter returns every entry.

    >>> sorted(e.id for e in find_entries(outcome="gait velocity"))
    ['ghai2019_stroke_ras', 'magee2017_brain_injury', 'thaut1996_parkinson_ras']
    """
    for name, value in (("term", term), ("condition", condition), ("intervention", intervention), ("outcome", outcome)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ParameterError(f"{name} must be a non-empty string, got {value!r}")
    result = []
    linked: set[str] | None = None
    if intervention is not None:
        wanted = intervention.strip().lower()
        codes = {i.code: i for i in load_catalog().interventions}
        if wanted in codes:
            linked = set(codes[wanted].supporting + codes[wanted].not_supporting)
    term_linked: set[str] = set()
    if term is not None:
        wanted_term = term.strip().lower()
        for item in load_catalog().interventions:
            if wanted_term in item.code or wanted_term in item.name.lower():
                term_linked |= set(item.supporting + item.not_supporting)
    for entry in load_catalog().entries:
        if term is not None and entry.id not in term_linked and not _matches_term(entry, term.strip().lower()):
            continue
        if condition is not None and condition.strip().lower() not in entry.condition.lower():
            continue
        if intervention is not None:
            wanted = intervention.strip().lower()
            if linked is not None:
                if entry.id not in linked:
                    continue
            elif not any(wanted in f for f in entry.families):
                continue
        if outcome is not None and not any(outcome.strip().lower() in o.name for o in entry.outcomes):
            continue
        result.append(entry)
    return result


def _matches_term(entry: Entry, term: str) -> bool:
    haystack = [entry.condition, entry.citation.lower(), *entry.families, *(o.name for o in entry.outcomes)]
    return any(term in text.lower() for text in haystack)
