"""Audio rendering: clicks, synthesis, time-stretching, loudness (pure numpy in, numpy out)."""
