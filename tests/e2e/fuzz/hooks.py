"""The schemathesis check the fuzz run applies (loaded with SCHEMATHESIS_HOOKS).

schemathesis's own ``not_a_server_error`` counts every GraphQL execution error as a server
failure; Starling answers expected problems (UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND,
RATE_LIMITED ...) as coded top-level errors by design. What must never appear is a 5xx or an
INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st

# Upload has no literal form: a file arrives only in a multipart request. Over JSON any value
# (here a string) must be refused cleanly.
schemathesis.graphql.scalar(
    "Upload", st.text(max_size=20).map(lambda text: graphql.StringValueNode(value=text))
)


@schemathesis.check
def no_internal_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError as error:
        raise AssertionError(f"not JSON: {response.text[:500]}") from error
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    if None in codes:
        raise AssertionError(f"an error without a code: {body}")
    if "INTERNAL_SERVER_ERROR" in codes:
        raise AssertionError(f"INTERNAL_SERVER_ERROR: {body}")
    return None
