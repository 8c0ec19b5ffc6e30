"""The demo estate's notification settings (issue #17): every event on, default words, no SMS
template yet — an office fills in the ids its provider approved (README: Notifications and SMS)."""

from __future__ import annotations

from models.outbox import EVENTS, NotifyTemplate
from models.register import save_record


def seed_notify(estate) -> int:
    for event in EVENTS:
        save_record(NotifyTemplate(estate=estate.id, event=event, enabled=True), None)
    return len(EVENTS)
