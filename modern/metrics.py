"""Request metrics under the names flytekit's and flyte-sdk's connector servers use.

Dashboards built for ``pyflyte serve connector`` or ``c0`` keep working. The collectors are
registered once per process; if flytekit's or flyte-sdk's server module was imported first and
already registered these names in prometheus' default registry, their collectors are reused instead
of failing with a duplicate-name error. Labelled children are cached: ``.labels()`` takes a lock and
hashes strings on every call, which is measurable at bridge request rates.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
from prometheus_client import REGISTRY, Counter, Summary

_PREFIX = "flyte_connector_"
SUCCESS = f"{_PREFIX}requests_success_total"
FAILURE = f"{_PREFIX}requests_failure_total"
LATENCY = f"{_PREFIX}request_latency_seconds"
INPUT_BYTES = f"{_PREFIX}input_literal_bytes"

# The SDK servers label failures with HTTP status numbers; keep that so existing alerts still match.
HTTP_OF_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_lock = threading.Lock()


def _existing(name: str) -> Any:
    # prometheus_client keeps no public lookup by name; this private map is stable since 0.4.
    return getattr(REGISTRY, "_names_to_collectors", {}).get(name)


def _collector(kind: type, name: str, doc: str, labels: list[str]) -> Any:
    with _lock:
        found = _existing(name)
        if found is not None:
            return found
        try:
            return kind(name, doc, labels)
        except ValueError:  # registered between our look-up and now by another importer
            return _existing(name)


class RequestMetrics:
    """The four connector metrics with cached labelled children.

    Collectors of another library may carry other label names; only the labels a collector declares
    are passed to it, so a reused collector never raises.
    """

    def __init__(self) -> None:
        self.success = _collector(Counter, SUCCESS, "Total number of successful requests", ["task_type", "operation"])
        self.failure = _collector(
            Counter, FAILURE, "Total number of failed requests", ["task_type", "operation", "error_code"]
        )
        self.latency = _collector(
            Summary, LATENCY, "Time spent processing connector request", ["task_type", "operation"]
        )
        self.input_bytes = _collector(Summary, INPUT_BYTES, "Size of input literal", ["task_type"])
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _child(self, collector: Any, **labels: str) -> Any:
        key = (id(collector), tuple(labels.values()))
        child = self._children.get(key)
        if child is None:
            names = getattr(collector, "_labelnames", tuple(labels))
            child = collector.labels(**{n: labels.get(n, "") for n in names}) if names else collector
            self._children[key] = child
        return child

    def observe_success(self, task_type: str, operation: str, started: float) -> None:
        """Count one successful request and its latency since ``started`` (``time.perf_counter``)."""
        self._child(self.latency, task_type=task_type, operation=operation).observe(time.perf_counter() - started)
        self._child(self.success, task_type=task_type, operation=operation).inc()

    def observe_failure(self, task_type: str, operation: str, code: grpc.StatusCode, started: float) -> None:
        """Count one failed request with its status (as the SDKs' HTTP-style number) and latency."""
        error_code = str(HTTP_OF_STATUS.get(code, 500))
        self._child(self.latency, task_type=task_type, operation=operation).observe(time.perf_counter() - started)
        self._child(self.failure, task_type=task_type, operation=operation, error_code=error_code).inc()

    def observe_input_bytes(self, task_type: str, size: int) -> None:
        """Record the serialized size of a CreateTask request's inputs."""
        self._child(self.input_bytes, task_type=task_type).observe(size)


_METRICS: RequestMetrics | None = None


def request_metrics() -> RequestMetrics:
    """The process-wide ``RequestMetrics`` (created on first use)."""
    global _METRICS
    if _METRICS is None:
        with _lock:
            created = _METRICS
        if created is None:
            created = RequestMetrics()
            _METRICS = created
    return _METRICS


__all__ = ["FAILURE", "HTTP_OF_STATUS", "INPUT_BYTES", "LATENCY", "SUCCESS", "RequestMetrics", "request_metrics"]
