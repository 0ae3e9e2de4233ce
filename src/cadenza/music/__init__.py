"""Music analysis and playlists: tempo, beats, features, iso-principle ordering (pure)."""
