"""Playlists as text: extended M3U (UTF-8, ``.m3u8``) and XSPF 1 (XML Shareable Playlist Format).

Pure string rendering; :func:`cadenza.io.library_files.write_playlist_file` writes the result.
"""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import quote
from xml.sax.saxutils import escape

from cadenza.music.playlists import Playlist

XSPF_NAMESPACE = "http://xspf.org/ns/0/"


def _label(entry) -> str:
    t = entry.track
    if t.title:
        return f"{t.artist} - {t.title}" if t.artist else t.title
    return PurePath(t.path).stem if t.path else t.track_id


def render_m3u8(playlist: Playlist, *, title: str = "") -> str:
    """Extended M3U: ``#EXTINF:<seconds>,<label>`` then the path, one pair per track.

    >>> from cadenza.music.playlists import Playlist, PlaylistEntry, TrackFeatures
    >>> e = PlaylistEntry(TrackFeatures("1", 61.6, 70.0, 0.2, title="Moon", artist="A", path="/m/moon.flac"),
    ...                   0.0, "hold", 70.0, 0.2, None)
    >>> print(render_m3u8(Playlist("relax", "L", 60.0, [e], (), 70.0, 0.2)), end="")
    #EXTM3U
    #EXTINF:62,A - Moon
    /m/moon.flac
    """
    lines = ["#EXTM3U"]
    if title:
        lines.append(f"#PLAYLIST:{_one_line(title)}")
    for entry in playlist.entries:
        lines.append(f"#EXTINF:{round(entry.track.duration_s)},{_one_line(_label(entry))}")
        lines.append(entry.track.path or entry.track.track_id)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _file_uri(path: str) -> str:
    if "://" in path:
        return path
    posix = PurePath(path).as_posix()
    return "file://" + quote(posix if posix.startswith("/") else "/" + posix)


def render_xspf(playlist: Playlist, *, title: str = "") -> str:
    """XSPF version 1 with location, title, creator, duration (ms) and the plan as annotation."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<playlist version="1" xmlns="{XSPF_NAMESPACE}">']
    if title:
        out.append(f"  <title>{escape(title)}</title>")
    out.append(f"  <annotation>{escape(f'goal {playlist.goal}, shape {playlist.shape}')}</annotation>")
    out.append("  <trackList>")
    for entry in playlist.entries:
        t = entry.track
        out.append("    <track>")
        out.append(f"      <location>{escape(_file_uri(t.path or t.track_id))}</location>")
        if t.title:
            out.append(f"      <title>{escape(t.title)}</title>")
        if t.artist:
            out.append(f"      <creator>{escape(t.artist)}</creator>")
        out.append(f"      <duration>{int(round(t.duration_s * 1000))}</duration>")
        if entry.reason:
            out.append(f"      <annotation>{escape(entry.reason)}</annotation>")
        out.append("    </track>")
    out.append("  </trackList>")
    out.append("</playlist>")
    return "\n".join(out) + "\n"
