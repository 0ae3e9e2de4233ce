"""Melodic Intonation Therapy: syllables, two-pitch melodies, protocol levels, response analysis."""
