"""Incident evaluation, the alert outbox, the dispatcher, and the channels."""
