"""Puts what resolvers noted in ``info.context.extensions`` into the response's extensions."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class ResponseExtensions(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        # The cost is PointsBudget's to report (with the actual count it adds).
        return {k: v for k, v in getattr(context, "extensions", {}).items() if k != "cost"}
