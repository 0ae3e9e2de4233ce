"""Music analysis and playlists: tempo, beats, features, iso-principle ordering (pure).

``onset`` (spectrogram -> onset envelope) -> ``tempo`` and ``beats`` -> ``analysis`` (one track's tempo,
beats, key, loudness and energy in one pass); ``playlists`` orders analysed tracks by the iso principle
toward a goal, ``reminiscence`` weights them by the listener's life story, ``playlist_formats`` writes
M3U8/XSPF text. Files are read in :mod:`cadenza.io`.

>>> import numpy as np
>>> from cadenza.music import track_beats
>>> rate = 22_050
>>> clicks = np.zeros(12 * rate, dtype=np.float32); clicks[:: rate // 2] = 1.0  # a click every 0.5 s
>>> round(track_beats(clicks, sampling_rate_hz=rate).tempo_bpm)
120
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
