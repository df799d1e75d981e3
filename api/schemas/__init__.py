"""Pydantic models of every request body and response, for validation and OpenAPI."""
