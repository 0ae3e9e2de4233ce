"""Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation, closed-loop tempo."""
