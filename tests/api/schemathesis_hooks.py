"""Schemathesis hooks for tests/api/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Schemathesis reuses ids from earlier answers: ``GET /api/api-keys`` lists the
fuzzer's own key, ``GET /api/status-pages`` the seeded page. Revoking that key
would answer every later request 401, and deleting, renaming or pausing a seed
would leave the operations bound to it (``fuzz_seed``) answering 404. So a write
that names a kept id is sent to an unknown id instead (a 404), unless it is one
of the operations the seed is meant for.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

KEPT = frozenset(json.loads(os.environ.get("VIGIL_FUZZ_KEPT", "[]")))
BOUND = frozenset(json.loads(os.environ.get("VIGIL_FUZZ_BOUND", "[]")))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    del context, kwargs
    if case.method.upper() in ("GET", "HEAD") or f"{case.method.upper()} {case.path}" in BOUND:
        return
    for name, value in (case.path_parameters or {}).items():
        if isinstance(value, str) and value in KEPT:
            case.path_parameters[name] = f"kept-{value}"
