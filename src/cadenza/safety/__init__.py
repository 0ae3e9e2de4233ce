"""Hearing safety and clinical safety flags that change what every tool does.

``flags`` turns a client's safety flags into the :class:`AudioPolicy` every audio tool obeys (level cap,
autoplay, NICU limits); ``enforce`` applies it to rendered samples; ``dose`` keeps the weekly sound dose
after WHO/ITU-T H.870 (``playlist``: the level and dose of a playlist); ``calibration`` ties digital level to
the level at the ear.

>>> from cadenza.safety import audio_policy, dose_fraction
>>> audio_policy(["hearing_loss"]).max_level_dba
75.0
>>> round(dose_fraction(80.0, 40 * 3600.0), 3)  # 40 h at 80 dB(A): the adult weekly allowance
1.0
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
