"""Which documents have plans: compiled when known (after enough clean runs), kept in an LRU."""

from __future__ import annotations

import logging

from cachetools import LRUCache
from graphql import GraphQLError, GraphQLSchema, parse

from execution.plan import Plan, Unplannable, compile_plan

log = logging.getLogger(__name__)
Key = tuple[str, str | None]


class CompiledDocuments:
    def __init__(self, schema: GraphQLSchema, compile_after: int, maxsize: int = 512) -> None:
        self.schema = schema
        self.compile_after = compile_after
        self.maxsize = maxsize
        # None: looked at and not plannable (never looked at again while remembered).
        self._plans: LRUCache[Key, Plan | None] = LRUCache(maxsize)
        self._clean_runs: dict[Key, int] = {}

    @property
    def enabled(self) -> bool:
        return self.compile_after > 0

    def plan_for(self, query: str, operation_name: str | None) -> Plan | None:
        return self._plans.get((query, operation_name))

    def ran_cleanly(self, query: str, operation_name: str | None, persisted: bool) -> None:
        """A query ran with no errors (so it is valid): compile it once it is known."""
        key = (query, operation_name)
        if not self.enabled or key in self._plans:
            return
        runs = self._clean_runs.get(key, 0) + 1
        if runs < self.compile_after and not persisted:
            if len(self._clean_runs) > 10 * self.maxsize:
                self._clean_runs.clear()
            self._clean_runs[key] = runs
            return
        self._clean_runs.pop(key, None)
        self._plans[key] = self._compile(query, operation_name)

    def _compile(self, query: str, operation_name: str | None) -> Plan | None:
        try:
            return compile_plan(self.schema, parse(query), operation_name)
        except Unplannable as reason:
            log.debug("not compiled (%s): %.80s", reason, query)
        except (GraphQLError, KeyError, AttributeError, IndexError) as error:
            log.warning("could not compile a document that ran: %r", error)
        return None
