"""Migration revisions, one file per change, named ``YYYY-MM-DD_slug.py``."""
