"""The clinical tools, one folder each: ``<tool>/__init__.py`` holds the manifest (``TOOL``), then
``records.py`` (tables and record services), ``actions.py`` (the workflows both faces call), ``cli.py``
and ``pages.py`` (the two faces) and ``templates/<tool>/``. See :mod:`cadenza.plugins` and
``docs/architecture.md``.

The hosts (``cadenza.web.main``, ``cadenza.cli.main``, the instrument catalogue, the migrations) load
the tools listed in :data:`cadenza.plugins.INSTALLED_TOOLS` by name; no host imports a tool statically.
"""
