"""The bottom layer: what is allowed, with no database, object store or Prefect behind it.

Value rules (``values``), template status rules (``status``), the org document and users CSV
(``orgfile``, ``orgparse``, ``orgyaml``, ``usercsv``), upload checks (``validation``), Excel-safe
cells (``safecsv``), the one table of codes (``codes``) and the errors that carry them (``errors``).
Everything above imports from here; nothing here imports from above (``pyproject.toml``'s
import-linter contract, run by ``tests/test_code_checks.py``).
"""
