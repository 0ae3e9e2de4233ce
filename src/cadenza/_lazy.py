"""Lazy package faces (PEP 562), after ``lazy_loader.attach`` and ``attach_stub`` as used by librosa and
scikit-image.

A science package lists its public names by submodule; each is imported from its submodule on first
use. So ``cadenza.music.track_beats`` works without the caller knowing the file, while importing one
light submodule (``cadenza.safety.flags`` from the clinical record, ``cadenza.io.audio`` in the decoder
sandbox) does not import the rest of the package and its numpy/scipy.

>>> _getattr, _dir, names = attach("cadenza.render", {"synth": ["render_notes", "midi_to_hz"]})
>>> names
['midi_to_hz', 'render_notes']
>>> _getattr("midi_to_hz")(69.0).item()
440.0

A face lists its names once, in a type stub next to it (``__init__.pyi``: one ``from .sub import a, b``
per submodule), which editors and type checkers read; :func:`attach_stub` reads the same stub at run time.
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


def attach_stub(package: str, init_file: str) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """:func:`attach` with the names read from the ``__init__.pyi`` stub beside ``init_file``.

    The stub holds only ``from .submodule import name, ...`` lines (relative, one level); anything else
    is an error naming the stub, so the face and what type checkers see cannot drift apart.
    """
    import ast
    from pathlib import Path

    stub = Path(init_file).with_suffix(".pyi")
    names: dict[str, list[str]] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the stub's docstring
        if not (isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
                and "." not in node.module and all(alias.asname is None for alias in node.names)):
            raise ValueError(f"{stub}: only 'from .submodule import name, ...' lines belong in a face stub "
                             f"(line {getattr(node, 'lineno', '?')})")
        names.setdefault(node.module, []).extend(alias.name for alias in node.names)
    return attach(package, names)
