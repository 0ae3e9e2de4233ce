"""The evidence catalog: the reviews and trials every recommendation cites, as data.

``catalog.toml`` holds the entries (review, condition, outcomes, certainty) and the session
interventions they support; ``query`` loads it once and answers look-ups.

>>> from cadenza.evidence import get_entry, find_entries
>>> entry = find_entries(condition="dementia")[0]
>>> get_entry(entry.id) == entry
True
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "query": ["Catalog", "Entry", "Intervention", "Outcome", "evidence_for_intervention", "find_entries", "get_entry",
              "get_intervention", "list_entries", "list_interventions", "load_catalog"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.evidence.query import (
        Catalog,
        Entry,
        Intervention,
        Outcome,
        evidence_for_intervention,
        find_entries,
        get_entry,
        get_intervention,
        list_entries,
        list_interventions,
        load_catalog,
    )
