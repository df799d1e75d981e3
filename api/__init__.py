"""The REST API: FastAPI app, one router per resource, auth, errors, rate limits."""
