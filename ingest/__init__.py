"""Ingest: sources, format identification and per-kind pipelines of small idempotent steps.

Planned by the ingest issue; today items enter through ``repository.services.ItemService.create``.
"""
