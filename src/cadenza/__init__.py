"""Cadenza: a music-therapy toolkit and clinical record.

An adjunct to care, not a cure, and not a substitute for a board-certified music therapist.
"""

__version__ = "0.1.0"
