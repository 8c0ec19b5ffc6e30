"""The daily digest: per estate, what became overdue since the previous digest.

Each digest is stored (the front-desk screen shows `latest_digest(estate_id)`) and, where a group
robot is configured (jobs/webhook.py), posted to WeChat Work or DingTalk through the outbox
(models/outbox.py: idempotency key, retries with backoff, delivery log; issue #17). Digests and
their messages are written and committed first; posting happens outside any transaction, so a
slow robot never holds a database lock, and a robot that fails marks the run "partial" without
losing the digests — the outbox tries it again later.

Only counts and document numbers (编号) leave the building: no names, units or phone numbers.
"""

from __future__ import annotations

import datetime as dt
import json

from peewee import fn

from jobs.models import OverdueDigest, OverdueFlag
from jobs.outbox import process
from jobs.overdue import RULES
from jobs.runner import JobError, Outcome
from jobs.webhook import webhook_for
from models.base import to_office, utcnow, write_transaction
from models.estate import Estate
from models.i18n import office_text
from models.outbox import DeliveryAttempt, OutboxMessage, enqueue

# How many document numbers per rule a digest names; the counts carry the rest.
SAMPLE_NUMBERS = 5


def latest_digest(estate_id: int) -> OverdueDigest | None:
    """The estate's most recent digest (for the front-desk screen), or None before the first.

    `.items` lists per rule: {"rule", "label", "new", "active", "numbers"} (and "words" for
    the rules that flag the estate itself: the missing days or month); `.new_total`,
    `.active_total`, `.period_start` (None for the first), `.period_end`, `.webhook_status`.
    """
    return (OverdueDigest.select().where(OverdueDigest.estate == estate_id)
            .order_by(OverdueDigest.period_end.desc(), OverdueDigest.id.desc()).first())


def _numbers(rule, estate_id: int, start: dt.datetime | None, end: dt.datetime) -> list[str]:
    """Document numbers of the rule's newest flags in the period."""
    flags = OverdueFlag.select(OverdueFlag.row_id).where(
        OverdueFlag.rule == rule.id, OverdueFlag.estate == estate_id,
        OverdueFlag.raised_at <= end)
    if start is not None:
        flags = flags.where(OverdueFlag.raised_at > start)
    ids = [row_id for (row_id,) in flags.order_by(OverdueFlag.raised_at.desc(),
                                                   OverdueFlag.id.desc())
           .limit(SAMPLE_NUMBERS).tuples()]
    field = getattr(rule.model, rule.number_field, None)
    if not ids or field is None:
        return []
    return sorted(number for (number,) in rule.model.select(field)
                  .where(rule.model.id.in_(ids)).tuples() if number)


def summarise(estate_id: int, start: dt.datetime | None, end: dt.datetime) -> list[dict]:
    """Per rule: flags raised in (start, end] and flags active now, in the rules' order."""
    new = OverdueFlag.select(OverdueFlag.rule, fn.COUNT(OverdueFlag.id)).where(
        OverdueFlag.estate == estate_id, OverdueFlag.raised_at <= end)
    if start is not None:
        new = new.where(OverdueFlag.raised_at > start)
    new_counts = dict(new.group_by(OverdueFlag.rule).tuples())
    active_counts = dict(OverdueFlag.select(OverdueFlag.rule, fn.COUNT(OverdueFlag.id)).where(
        OverdueFlag.estate == estate_id, OverdueFlag.cleared_at.is_null())
        .group_by(OverdueFlag.rule).tuples())
    items = []
    for rule in RULES:
        fresh, active = new_counts.get(rule.id, 0), active_counts.get(rule.id, 0)
        if not (fresh or active):
            continue
        if rule.words is not None:
            # The estate itself is flagged: say what is missing (days, a month), not its code.
            item = {"numbers": [], "words": rule.words(estate_id, end) if active else []}
        else:
            item = {"numbers": _numbers(rule, estate_id, start, end) if fresh else []}
        items.append({"rule": rule.id, "label": office_text(rule.label), "new": fresh,
                      "active": active,
                      **item})
    return items


def render(estate: Estate, digest: OverdueDigest) -> tuple[str, str]:
    """The robot message: (title, markdown)."""
    title = f"{estate.name} 超时摘要"
    end = to_office(digest.period_end)
    period = (f"{to_office(digest.period_start):%m-%d %H:%M} 至 {end:%m-%d %H:%M}"
              if digest.period_start else f"截至 {end:%m-%d %H:%M}")
    lines = [f"**{title}**", f"统计时段：{period}",
             f"新增超时 {digest.new_total} 项，当前仍超时 {digest.active_total} 项"]
    for item in digest.items:
        if item.get("words"):
            lines.append(f"> {item['label']}：{'、'.join(item['words'])}")
            continue
        numbers = "、".join(item["numbers"])
        if numbers:
            numbers = f"（{numbers}{'等' if item['new'] > len(item['numbers']) else ''}）"
        lines.append(f"> {item['label']}：新增 {item['new']}{numbers}，当前 {item['active']}")
    return title, "\n".join(lines)


def daily_digest(now: dt.datetime | None = None) -> Outcome:
    """Summarise per estate what became overdue since the last digest; post it where configured.

    The robot post is an outbox message (key ``digest:<id>``, event 每日超时摘要: switchable and
    editable per estate), written with the digest and sent at once through the outbox's own
    claim, retries and delivery log; a robot that fails now is tried again by `send_outbox`.
    """
    now = now or utcnow()
    made, errors = [], []
    with write_transaction():
        for estate in Estate.select().where(Estate.active == True).order_by(Estate.id):  # noqa: E712
            previous = latest_digest(estate.id)
            start = previous.period_end if previous else None
            items = summarise(estate.id, start, now)
            digest = OverdueDigest.create(
                estate=estate.id, period_start=start, period_end=now,
                new_total=sum(i["new"] for i in items),
                active_total=sum(i["active"] for i in items),
                items_json=json.dumps(items, ensure_ascii=False), created_at=now, updated_at=now)
            made.append((estate, digest, _enqueue_post(estate, digest, now, errors)))
    sent = 0
    for estate, digest, message_id in made:
        if message_id is None:
            continue
        process(message_id, f"digest:{digest.id}", now)
        status, error = digest_delivery(message_id)
        if status == "sent":
            sent += 1
        elif error:
            errors.append(f"{estate.code}：{error}")
    new_total = sum(digest.new_total for _, digest, _ in made)
    note = f"生成 {len(made)} 份摘要（新增超时 {new_total} 项），推送 {sent} 份"
    return Outcome(note=note, status="partial" if errors else "succeeded", error="；".join(errors))


def _enqueue_post(estate: Estate, digest: OverdueDigest, now: dt.datetime,
                  errors: list[str]) -> int | None:
    """Queue the digest's robot post (inside the digest's transaction); its message id."""
    if not (digest.new_total or digest.active_total):
        return None
    try:
        hook = webhook_for(estate.code)
    except JobError as exc:  # a robot configured wrongly: said on the run, the digest is kept
        errors.append(f"{estate.code}：{exc}")
        digest.webhook_status, digest.webhook_error = "failed", str(exc)[:255]
        digest.save(only=[OverdueDigest.webhook_status, OverdueDigest.webhook_error])
        return None
    if hook is None:
        return None
    title, text = render(estate, digest)
    message = enqueue("daily_digest", estate_id=estate.id, channel="robot",
                      key=f"digest:{digest.id}", recipient=estate.code, subject=digest,
                      params={"title": title, "summary": text}, now=now)
    if message is None or message.state != "pending":
        digest.webhook_status = "disabled" if message is not None else ""
        digest.save(only=[OverdueDigest.webhook_status])
        return None
    return message.id


def digest_delivery(message_id: int) -> tuple[str, str]:
    """Copy the outbox's verdict on a digest's post onto the digest: (status, error)."""
    message = OutboxMessage.get_by_id(message_id)
    if message.state == "sent":
        status, error = "sent", ""
    elif message.state in ("pending", "failed", "unknown", "expired"):
        last = message.tries.order_by(DeliveryAttempt.id.desc()).first()
        status = "failed"
        error = (last.note if last is not None and last.note else message.note)
    else:
        return "", ""
    OverdueDigest.update(webhook_status=status, webhook_error=error[:255]).where(
        OverdueDigest.id == message.subject_id).execute()
    return status, error
