"""The person's music library and playlists (not yet moved into this folder: the manifest names
today's modules)."""

from cadenza.plugins import Tool

TOOL = Tool(
    "library", "Music library and playlists",
    "The person's own music: preferences, family picks, playlists and responses per song.",
    cli="cadenza.cli.library:app",
    cli_top_level="cadenza.cli.library:top_level",  # `cadenza analyze`, `cadenza playlist`
    pages="cadenza.web.routes.library:router",
    records="cadenza.clinic.library_records",
)
