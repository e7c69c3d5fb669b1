"""Per-operation request counts and latencies (``starling.metrics``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from starling import metrics


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
            name = metrics.operation_label(context.operation_name)
        except Exception:  # no document, or no operation by that name: never raise from a hook
            kind = name = "invalid"
        failed = bool(context.pre_execution_errors) or bool(
            context.result is not None and context.result.errors
        )
        metrics.observe_operation(name, kind, failed=failed, started=started)
