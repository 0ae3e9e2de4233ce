"""The planned-vs-chosen chart of a playlist, drawn the same for ``cadenza playlist --chart`` and the page.

matplotlib is imported inside the functions (no pyplot: a Figure on the Agg canvas), so importing this
module costs nothing until a chart is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadenza.clinic.progress import render_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cadenza.music.playlists import Playlist


def playlist_figure(playlist: Playlist) -> Figure:
    """Planned vs chosen tempo and energy over the session (matplotlib Figure, Agg, no pyplot)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times_s, tempo, energy = playlist.planned_curve()
    starts, actual_tempo, actual_energy = playlist.actual_curve()
    ends = starts + np.array([e.track.duration_s for e in playlist.entries])
    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_t, ax_e = fig.subplots(2, 1, sharex=True)
    if times_s.size and np.all(np.isfinite(tempo)):
        ax_t.plot(times_s / 60, tempo, "--", color="tab:blue", label="planned")
        ax_e.plot(times_s / 60, energy, "--", color="tab:orange", label="planned")
    for s, e, t, en in zip(starts, ends, actual_tempo, actual_energy, strict=True):
        ax_t.plot([s / 60, e / 60], [t, t], color="tab:blue", lw=3)
        ax_e.plot([s / 60, e / 60], [en, en], color="tab:orange", lw=3)
    ax_t.plot([], [], color="tab:blue", lw=3, label="chosen tracks")
    ax_e.plot([], [], color="tab:orange", lw=3, label="chosen tracks")
    ax_t.set_ylabel("tempo (BPM)")
    ax_e.set_ylabel("energy (0-1)")
    ax_e.set_xlabel("minutes")
    ax_t.set_title(f"{playlist.goal} playlist, {playlist.shape} shape: planned vs chosen")
    ax_t.legend(loc="upper right", fontsize=8)
    ax_e.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def render_playlist_chart(playlist: Playlist, *, fmt: str = "svg") -> bytes:
    """The planned-vs-chosen chart as SVG or PNG bytes (ParameterError naming ``fmt`` for any other)."""
    return render_figure(playlist_figure(playlist), fmt=fmt)
