"""Schemathesis hooks for tests/api/test_openapi_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Schemathesis reuses ids from earlier answers, and ``GET /api/api-keys`` lists the
fuzzer's own key: revoking it would answer every later request 401 and fuzz
nothing. That one id is swapped for an unknown one (a 404); every other key the
fuzzer finds or creates may be revoked.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

KEPT = os.environ.get("VIGIL_FUZZ_KEY_ID", "")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    del context, kwargs
    revokes = case.method.upper() == "DELETE" and case.path == "/api/api-keys/{key_id}"
    if revokes and KEPT and (case.path_parameters or {}).get("key_id") == KEPT:
        case.path_parameters["key_id"] = "key_not_the_fuzzers_own"
