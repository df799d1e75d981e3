"""Check types: one module per type, each exposing ``async def run(monitor, ctx)``."""
