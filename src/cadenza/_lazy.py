"""Lazy package faces (PEP 562), after ``lazy_loader.attach`` as used by librosa and scikit-image.

A science package lists its public names by submodule; each is imported from its submodule on first
use. So ``cadenza.music.track_beats`` works without the caller knowing the file, while importing one
light submodule (``cadenza.safety.flags`` from the clinical record, ``cadenza.io.audio`` in the decoder
sandbox) does not import the rest of the package and its numpy/scipy.

>>> _getattr, _dir, names = attach("cadenza.render", {"synth": ["render_notes", "midi_to_hz"]})
>>> names
['midi_to_hz', 'render_notes']
>>> _getattr("midi_to_hz")(69.0).item()
440.0
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: this module is imported by every face, so it imports almost nothing
    from collections.abc import Callable, Mapping, Sequence


def attach(package: str, names_by_submodule: Mapping[str, Sequence[str]]
           ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``, which offers ``names_by_submodule[sub]``
    from ``package.sub``. A name is imported on first access and then stored on the package."""
    submodule_of = {name: sub for sub, names in names_by_submodule.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in submodule_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule_of[name]}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *submodule_of})

    return __getattr__, __dir__, sorted(submodule_of)
