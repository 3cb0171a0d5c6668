"""Prefect flows: each reads like a table of contents and is the only place that reads settings.

Planned here: bulk assignment, drop-folder scan, exports (see the open issues).
"""
