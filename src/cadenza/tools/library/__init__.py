"""The person's own music: a client's analysed library with ratings, red flags and family picks, the
per-song response log, goal playlists and pre-procedure listening sessions.

The science is :mod:`cadenza.music` (analysis, playlists, reminiscence) and :mod:`cadenza.safety`
(the level and dose of a playlist); this folder is the tool around it: ``records`` (the tables and their
services), ``actions`` (the workflows both faces call: a goal playlist with its level and dose, a response
kept on a session, a pre-procedure session, one file's analysis, a scan stored batch by batch),
``figures`` (the planned-vs-chosen chart), ``cli`` (``cadenza library``, and the top-level ``cadenza analyze``
and ``cadenza playlist``), ``pages`` (``/clients/{client_id}/library``) and ``templates/library/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "library", "Music library and playlists",
    "The person's own music: preferences, family picks, playlists and responses per song.",
    cli="cadenza.tools.library.cli:app",
    cli_top_level="cadenza.tools.library.cli:top_level",  # `cadenza analyze`, `cadenza playlist`
    pages="cadenza.tools.library.pages:router",
    records="cadenza.tools.library.records",
    templates="cadenza.tools.library",
)
