"""File I/O: the only code that opens audio, IMU and tag files.

Every loader returns arrays with time on the last axis and units in the names (``acc_m_s2``,
``sampling_rate_hz``), ready for the pure packages:

>>> import cadenza.io
>>> "load_audio" in dir(cadenza.io)
True

Keeping this face lazy matters most here: ``cadenza.io.audio`` is preloaded into the sandboxed decoder
processes (:mod:`cadenza.io.isolated`), whose address-space limit counts everything imported, and an
eager face would add the gait, music and speech code (scipy, about 200 MB of address space) to each.
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
