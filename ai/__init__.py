"""AI/LLM monitoring: ingest, pricing, hourly rollups, usage, insights, budgets, OTLP.

Imports point down: ``api`` uses this package; this package uses ``store`` and
``alerting`` (to enqueue budget alerts), never ``api``.
"""
