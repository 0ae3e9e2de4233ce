"""A take drawn as SVG for the session page: one lane per player, who plays when, and the notes.

Read in a few seconds: each lane is a player (the client's lane is labelled so); a pale band shows
when the player is playing (a phrase: notes less than a second apart); each note is a short mark, higher
for higher pitches, darker for louder ones. The strip underneath says, over time, who plays alone,
both together or nobody. Built from the stored notes only, escaped, no script: the page's CSP holds.

>>> svg = render_timeline([[0.0, 0.2, 60, 90, 0], [1.0, 0.2, 64, 40, 1]], players=["therapist", "client"],
...                       client_player="client")
>>> svg.startswith("<svg") and "client (client)" not in svg and "therapist" in svg
True
"""

from __future__ import annotations

from html import escape

import numpy as np
from markupsafe import Markup

WIDTH = 900
LANE_HEIGHT = 56
LEFT = 110
STRIP_HEIGHT = 14
COLOURS = ("#1f5fa8", "#b5461a", "#2e7d32", "#6a3d9a")  # per player; the strip uses the first two
BOTH_COLOUR = "#7a5c99"


def _nice_step_s(duration_s: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800):
        if duration_s / step <= 12:
            return float(step)
    return 3600.0


def render_timeline(notes: list[list[float]], *, players: list[str], client_player: str = "") -> Markup:
    """The SVG of a stored take: ``notes`` rows [onset s, duration s, pitch, velocity, player]. Every text in
    it is escaped here, so it is returned as ``Markup`` for the page to embed as it is."""
    from cadenza.improv.duet import TURN_FRAME_S, Notes, _activity_mask

    rows = np.asarray(notes, dtype=float).reshape(-1, 5)
    end_s = float(np.max(rows[:, 0] + rows[:, 1])) if rows.size else 1.0
    end_s = max(end_s, 1.0)
    plot_w = WIDTH - LEFT - 10
    x = lambda t: LEFT + plot_w * t / end_s  # noqa: E731
    lanes = list(players)
    height = 24 + LANE_HEIGHT * len(lanes) + (STRIP_HEIGHT + 24 if len(lanes) >= 2 else 0) + 18
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
           f'role="img" aria-labelledby="timeline-title" class="improv-timeline">',
           f'<title id="timeline-title">Timeline of {len(rows)} notes by {escape(", ".join(lanes))} over '
           f'{end_s:.0f} s</title>']
    n_frames = max(int(np.ceil(end_s / TURN_FRAME_S)), 1)
    masks = []
    for lane, name in enumerate(lanes):
        top = 20 + lane * LANE_HEIGHT
        colour = COLOURS[lane % len(COLOURS)]
        mine = rows[rows[:, 4] == lane]
        label = name + (" (client)" if name == client_player and name != "client" else "")
        out.append(f'<text x="4" y="{top + LANE_HEIGHT / 2 + 4:.1f}" font-size="13" fill="{colour}">'
                   f'{escape(label[:16])}</text>')
        notes_obj = Notes(mine[:, 0], mine[:, 1], mine[:, 2], mine[:, 3])
        mask = _activity_mask(notes_obj, n_frames)
        masks.append(mask)
        edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
        for s, e in zip(edges[::2], edges[1::2]):
            out.append(f'<rect x="{x(s * TURN_FRAME_S):.1f}" y="{top + 2}" width="{max(x(e * TURN_FRAME_S) - x(s * TURN_FRAME_S), 1):.1f}" '
                       f'height="{LANE_HEIGHT - 6}" fill="{colour}" fill-opacity="0.12"/>')
        if mine.size:
            lo, hi = float(mine[:, 2].min()), float(mine[:, 2].max())
            span = max(hi - lo, 1.0)
            for t, d, p, v, _ in mine:
                y = top + LANE_HEIGHT - 8 - (LANE_HEIGHT - 16) * ((p - lo) / span if hi > lo else 0.5)
                out.append(f'<rect x="{x(t):.1f}" y="{y - 2:.1f}" width="{max(x(t + d) - x(t), 1.5):.1f}" height="4" '
                           f'fill="{colour}" fill-opacity="{0.25 + 0.75 * v / 127:.2f}"/>')
    axis_y = 20 + LANE_HEIGHT * len(lanes)
    if len(lanes) >= 2:
        a, b = masks[0], masks[1]
        strip_y = axis_y + 6
        out.append(f'<text x="4" y="{strip_y + 11}" font-size="12" fill="#333">who plays</text>')
        state = np.where(a & b, 3, np.where(a, 1, np.where(b, 2, 0)))
        edges = np.flatnonzero(np.diff(np.r_[-1, state, -1]))
        fills = {1: COLOURS[0], 2: COLOURS[1], 3: BOTH_COLOUR}
        for s, e in zip(edges[:-1], edges[1:]):
            if state[s]:
                out.append(f'<rect x="{x(s * TURN_FRAME_S):.1f}" y="{strip_y}" width="{max(x(e * TURN_FRAME_S) - x(s * TURN_FRAME_S), 1):.1f}" '
                           f'height="{STRIP_HEIGHT}" fill="{fills[int(state[s])]}"/>')
        legend_y = strip_y + STRIP_HEIGHT + 16
        for i, (text, colour) in enumerate(((f"{lanes[0][:14]} alone", COLOURS[0]), (f"{lanes[1][:14]} alone", COLOURS[1]),
                                             ("both", BOTH_COLOUR), ("nobody: blank", "#999"))):
            out.append(f'<rect x="{LEFT + 150 * i}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                       f'<text x="{LEFT + 150 * i + 14}" y="{legend_y}" font-size="12" fill="#333">{escape(text)}</text>')
        axis_y = legend_y + 6
    step = _nice_step_s(end_s)
    for t in np.arange(0.0, end_s + 1e-9, step):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="18" y2="{20 + LANE_HEIGHT * len(lanes)}" stroke="#ddd"/>'
                   f'<text x="{x(t):.1f}" y="14" font-size="11" fill="#555" text-anchor="middle">'
                   f'{int(t // 60)}:{int(t % 60):02d}</text>')
    out.append("</svg>")
    svg = "".join(out).replace(f'viewBox="0 0 {WIDTH} {height}"', f'viewBox="0 0 {WIDTH} {axis_y + 4}"')
    return Markup(svg)  # nosec B704 - numbers formatted here, the players' names escaped above
