"""Prometheus metrics of one running bot (one registry per App, so tests can run several).

What is counted where:
- updates handled, by front and kind, and their latency: where each front dispatches an
  update (the Telegram Application, the Slack request's work);
- use-case latency: `App.call`, the one door to the thread pool;
- decisions (approved / refused) and every other audited change: when the transaction that
  wrote the audit entry commits (an audit listener, then that session's commit event),
  whatever the path (button, typed reason, bulk, modal);
- notifier results, by platform: its send path; deliveries by state: the outbox table, read
  at scrape time (the same for every replica: aggregate them with max, not sum);
- chat API calls and errors, by platform, method and code: the HTTP clients of the fronts;
- waits for the Telegram budget, by kind (reply, push): bot/telegram/budget.py.
"""

from __future__ import annotations

from contextvars import ContextVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    exposition,
    generate_latest,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

from handlers.core.audit import AuditAction, AuditEvent

CONTENT_TYPE = exposition.CONTENT_TYPE_LATEST
#: Audit actions that decide a pending request, and the outcome each one is counted as.
DECISIONS = {AuditAction.APPROVE: "approved", AuditAction.REFUSE: "refused"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The metrics of the App whose use case runs in this context (set by App.call).
active: ContextVar[Metrics | None] = ContextVar("referent_bot_metrics", default=None)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "referent_bot_updates", "Updates handled (Telegram updates, Slack requests)",
            ["front", "kind"], registry=registry,
        )  # fmt: skip
        self.update_seconds = Histogram(
            "referent_bot_update_seconds", "Time to handle an update, answer included",
            ["front", "kind"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.in_progress = Gauge(
            "referent_bot_updates_in_progress", "Updates being handled now", registry=registry
        )
        self.usecase_seconds = Histogram(
            "referent_bot_usecase_seconds", "Time of a use case in the thread pool",
            ["usecase"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.decisions = Counter(
            "referent_bot_decisions", "Pending requests decided through the bot",
            ["front", "outcome"], registry=registry,
        )  # fmt: skip
        self.changes = Counter(
            "referent_bot_changes", "Audited changes made through the bot, decisions included",
            ["front", "action"], registry=registry,
        )  # fmt: skip
        self.deliveries = Counter(
            "referent_bot_deliveries", "Notifier sends and edits, by result",
            ["platform", "result"], registry=registry,
        )  # fmt: skip
        self.delivery_states = Gauge(
            "referent_bot_outbox_deliveries", "Deliveries in the outbox, by state (all replicas)",
            ["state"], registry=registry,
        )  # fmt: skip
        self.api_seconds = Histogram(
            "referent_bot_api_call_seconds", "Time of a chat API call",
            ["platform", "method"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.api_errors = Counter(
            "referent_bot_api_errors", "Chat API calls that failed, by HTTP status or error code",
            ["platform", "code"], registry=registry,
        )  # fmt: skip
        self.budget_wait_seconds = Histogram(
            "referent_bot_telegram_budget_wait_seconds",
            "Waits for a slot in the Telegram budget (replies: only Telegram's overall and group "
            "limits; pushes: also one a second per chat), by kind; messages sent at once are "
            "not counted", ["kind"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip

    def budget_wait(self, kind: str, seconds: float) -> None:
        self.budget_wait_seconds.labels(kind).observe(seconds)

    def api_call(self, platform: str, method: str, seconds: float, error: str | None) -> None:
        self.api_seconds.labels(platform, method).observe(seconds)
        if error is not None:
            self.api_errors.labels(platform, error).inc()

    def set_delivery_states(self, counts: dict[str, int]) -> None:
        self.delivery_states.clear()
        for state, count in counts.items():
            self.delivery_states.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


# --- Audited changes, counted when their transaction commits ---------------------------------

_KEY = "referent_bot_audit"


def record_audit(session: Session, entry: AuditEvent) -> None:
    """Audit listener: note the change on its session, to count it if that session commits
    (and forget it if it rolls back)."""
    if active.get() is None:
        return
    session.info.setdefault(_KEY, []).append((entry.actor.front, entry.action))
    if not event.contains(session, "after_commit", _count):
        event.listen(session, "after_commit", _count)
        event.listen(session, "after_rollback", _forget)


def _count(session: Session) -> None:
    found = session.info.pop(_KEY, None)
    metrics = active.get()
    if not found or metrics is None:
        return
    for front, action in found:
        metrics.changes.labels(front, action.value).inc()
        if action in DECISIONS:
            metrics.decisions.labels(front, DECISIONS[action]).inc()


def _forget(session: Session, _previous=None) -> None:
    session.info.pop(_KEY, None)
