"""Prometheus metrics every process records into (prometheus-client's default registry).

The API serves them at ``/metrics`` (with the pipeline's state read from PostgreSQL and the
queue depth from Redis at scrape time); a worker in its own process serves its own on
``STARLING_WORKER_METRICS_PORT``.
"""

from __future__ import annotations

import re
import threading
import time

from prometheus_client import Counter, Gauge, Histogram

from starling.core import Core
from starling.storage import counters, outbox

REQUESTS = Counter(
    "starling_graphql_requests",
    "GraphQL operations run, by operation name, type and outcome (ok or error).",
    ["operation", "type", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "starling_graphql_request_seconds",
    "Time to run a GraphQL operation (parse, validate, execute).",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMPILED = Counter(
    "starling_compiled_executions_total",
    "Queries with a compiled plan: served by it, fallen back to the normal path, or (shadow "
    "mode) run both ways and found equal.",
    ["outcome"],
)
LIVE_SHARED = Counter(
    "starling_live_shared_messages_total",
    "Subscription messages sent from a rendering shared by every socket with the same selection "
    "(the rest are executed per socket).",
)
LIVE_STARTS = Counter(
    "starling_live_operation_starts_total",
    "graphql-transport-ws operations by how they started: directly (a homeTimeline subscription "
    "document already seen to start, rendered shared) or the normal way (graphql-core).",
    ["path"],
)
DELIVERIES = Counter(
    "starling_event_deliveries",
    "Event deliveries tried, by consumer and outcome (done, retry, dead).",
    ["consumer", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "starling_event_delivery_seconds",
    "Time one consumer took to handle one event.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENT_LAG_SECONDS = Histogram(
    "starling_event_lag_seconds",
    "From an event's commit to a consumer being done with it.",
    ["consumer"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
MAX_OPERATION_NAMES = 300
_known_names: set[str] = set()
_names_lock = threading.Lock()


def observe_operation(label: str, kind: str, *, failed: bool, started: float) -> None:
    """Count one GraphQL operation (``label`` from ``operation_label``) that began at
    ``started`` (``time.perf_counter()``), whichever path ran it."""
    REQUESTS.labels(label, kind, "error" if failed else "ok").inc()
    REQUEST_SECONDS.labels(label, kind).observe(time.perf_counter() - started)


def operation_label(name: str | None) -> str:
    """A label for an operation name, from a bounded set: clients choose names, and every new
    label value is a new time series kept for the life of the process."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "invalid"
    with _names_lock:
        if name in _known_names:
            return name
        if len(_known_names) < MAX_OPERATION_NAMES:
            _known_names.add(name)
            return name
    return "other"


# Sampled at scrape time (``sample``): they describe shared state, not this process.
PIPELINE_PENDING = Gauge("starling_pipeline_pending", "Event deliveries not done yet.")
PIPELINE_DUE = Gauge("starling_pipeline_due", "Pending deliveries whose time has come.")
PIPELINE_RETRYING = Gauge(
    "starling_pipeline_retrying", "Pending deliveries that have failed at least once."
)
PIPELINE_DEAD = Gauge(
    "starling_pipeline_dead_letters", "Deliveries that used up their tries (see starling events)."
)
PIPELINE_LAG = Gauge(
    "starling_pipeline_lag_seconds", "How long the oldest due delivery has been waiting."
)
QUEUE_DEPTH = Gauge("starling_queue_depth", "Jobs waiting in the arq queue.")
COUNTER_DELTAS = Gauge(
    "starling_counter_deltas_pending", "Counter deltas not yet flushed into the stats rows."
)


async def sample(core: Core) -> None:
    state = await outbox.state(core.db)
    PIPELINE_PENDING.set(state.pending)
    PIPELINE_DUE.set(state.due)
    PIPELINE_RETRYING.set(state.retrying)
    PIPELINE_DEAD.set(state.dead)
    PIPELINE_LAG.set(state.oldest_due_seconds)
    QUEUE_DEPTH.set(await core.queue.zcard(core.queue.default_queue_name))
    COUNTER_DELTAS.set(await counters.pending_count(core.db))
