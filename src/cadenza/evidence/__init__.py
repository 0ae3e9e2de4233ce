"""The evidence catalog: the reviews and trials every recommendation cites, as data.

``catalog.toml`` holds the entries (review, condition, outcomes, certainty) and the session
interventions they support; ``query`` loads it once and answers look-ups.

>>> from cadenza.evidence import get_entry, find_entries
>>> entry = find_entries(condition="dementia")[0]
>>> get_entry(entry.id) == entry
True
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
