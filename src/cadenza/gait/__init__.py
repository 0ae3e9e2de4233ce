"""Gait analysis from IMU signals: steps, bouts, cadence (pure numpy/scipy)."""
