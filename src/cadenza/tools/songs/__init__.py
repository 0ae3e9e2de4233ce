"""Songwriting: a client's song from their words, composed on their choices or sung to a public-domain
tune (parody, fill-in-the-blank), with rhyme and syllable help, versions kept in the record, and the
song taken home as MIDI, MusicXML, a printable lead sheet and audio.

The science is :mod:`cadenza.songwriting` (pure); this folder is the tool around it: ``records`` (every
saved version, audited and restorable), ``actions`` (the workflow both faces call), ``sheet`` (the
printable lyric and lead sheet, HTML and PDF), ``cli`` (``cadenza songs``), ``pages``
(``/clients/{client_id}/songs``) and ``templates/songs/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "songs", "Songwriting",
    "Write a song with the client: lyrics fitted to a melody (stress on the strong beats), rhymes, "
    "public-domain tunes for parody and fill-in-the-blank, versions, MIDI/MusicXML/lead sheet/audio to take home.",
    cli="cadenza.tools.songs.cli:app",
    records="cadenza.tools.songs.records",
    pages="cadenza.tools.songs.pages:router",
    templates="cadenza.tools.songs",
)
