"""File I/O: the only code that opens audio, IMU and tag files."""
