"""Melodic Intonation Therapy: syllables, two-pitch melodies, protocol levels, response analysis.

``syllables`` (phrase -> syllables with stress) -> ``melody`` (two pitches, tapping grid, text score)
-> ``midi`` / ``cues`` (audio of each protocol step, rendered by :mod:`cadenza.render.voice`);
``levels`` and ``scoring`` hold the Helm-Estabrooks protocol; ``response`` measures an attempt.
Everything here is pure; speech synthesis and files are in :mod:`cadenza.io.speech`. See docs/mit.md.
"""
