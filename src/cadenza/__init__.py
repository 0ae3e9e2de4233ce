"""Cadenza: a music-therapy toolkit and clinical record.

An adjunct to care, not a cure, and not a substitute for a board-certified music therapist.

The science packages are reachable from the top, and are imported only when first used (PEP 562), so
``import cadenza`` and ``cadenza --help`` stay fast::

    import cadenza as cz
    audio = cz.io.load_audio("song.flac", mono=True)
    beats = cz.music.track_beats(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
"""

__version__ = "0.1.0"

# The pure science and its I/O edge; the clinical record, CLI and web app are imported by their full names.
_PACKAGES = ("evidence", "gait", "improv", "io", "mit", "music", "nicu", "ras", "render", "safety", "singing", "timing", "units")

__all__ = [*_PACKAGES, "__version__"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza import evidence, gait, improv, io, mit, music, nicu, ras, render, safety, singing, timing, units


def __getattr__(name: str):
    if name in _PACKAGES:
        import importlib  # here, not at the top: `import cadenza` (every CLI start) imports nothing

        module = importlib.import_module(f"cadenza.{name}")
        globals()[name] = module  # later look-ups skip this hook
        return module
    raise AttributeError(f"module 'cadenza' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PACKAGES})
