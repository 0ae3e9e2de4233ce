"""NICU music: lullabies and womb sounds within sound limits, stop rules, pacifier-activated lullaby."""
