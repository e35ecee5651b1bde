"""The inbox: the webhook stores a text in one insert and answers Twilio; a worker puts it on
the family's inquiry.

Twilio waits at most 15 s for the webhook and retries what it does not get answered. Building
the inquiry (caller lookup, the section lock, timeline entries, audit, the realtime event) is
most of what a text costs; done in the webhook it made intake CPU-bound at the web process
(docs/benchmarks.md). Here the webhook does one idempotent insert (on PostgreSQL in the same
statement as its section's lookup), and workers do the rest in batches: one section lock and
one transaction for all the texts a section has waiting.

What holds:
- once: MessageSid is unique in the inbox (a retried webhook stores nothing), and again on the
  timeline (`TimelineEntry.external_id`), so a text is on an inquiry once even if two workers
  or a text from before the inbox existed meet;
- nothing lost: the row is committed before Twilio hears 200; the hand-over to a worker goes
  out after commit, and if the broker is down or a worker dies mid-batch (the batch rolls back
  whole), the sweep (`sweep_inbox` on beat) finds what waits;
- order: a drain holds the section lock and takes the waiting texts in the order received, so
  a family's texts join their inquiry in order, and two drains never interleave;
- one bad text does not hold up the others: a batch that fails is done again one text at a
  time; a text that fails on its own stays waiting, counted in `failures` (and in /metrics).
  After INBOX_MAX_ATTEMPTS failures it is set aside: kept whole, out of the batches and the
  sweep (so the others go the fast way again), raised as an alert (`kontaktpunkt_inbox_set_
  aside`), shown to the section's coordinators above their queue (a family's words must not
  wait on a fix), and put back with `manage.py inbox_retry` once the cause is fixed, or taken
  into the queue by a coordinator by hand (`take_in`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from meldinger.rules import keyword_action

from core import access, audit, loop, sql
from core.access import Action
from core.exceptions import NotSetAside
from core.models import Section
from core.realtime import lock_section, locked_section, notify, published_together
from triage.alarm import screen_all_with_active_rules, screen_with_active_rules

from ..models import Channel, InboundText, Inquiry, TimelineEntry
from .inquiries import log_inquiry
from .intake import (
    Callers,
    record_sms,
    section_by_number_statement,
    section_for_number,
    section_from_row,
)

logger = logging.getLogger(__name__)

# The notice a section's queue pages get when its set-aside texts change (realtime.notify).
SET_ASIDE_CHANGED = "inbox.set_aside"

# How long a queued drain task counts as coming (then the next text queues another).
PENDING_FLAG_SECONDS = 30


def accept_sms(
    *,
    message_sid: str,
    section: Section,
    from_phone: str,
    to_phone: str,
    body: str,
    num_media: int,
    now: dt.datetime,
) -> bool:
    """Store a text as Twilio delivered it and hand its section to a worker after commit.
    False if this MessageSid was stored before (Twilio retrying): nothing is stored again.

    One statement: an INSERT that does nothing on a MessageSid already stored and says whether
    it stored a row (core.sql: no transaction around it, no error to catch, no second look).
    The webhook's, with its section's lookup, is `accept_sms_to_number`."""
    return _store(section.pk, _text(message_sid, from_phone, to_phone, body, num_media, now))


@dataclass(frozen=True)
class InboundSms:
    """A text as Twilio delivered it to the SMS webhook (henvendelser/webhooks.read_sms)."""

    message_sid: str
    to_phone: str
    from_phone: str
    body: str
    num_media: int

    @property
    def keyword(self) -> str | None:
        """ "out" or "in" for an opt-out or opt-in from a number: recorded, not queued."""
        return keyword_action(self.body) if self.from_phone else None


def accept_sms_to_number(text: InboundSms, now: dt.datetime) -> tuple[Section, bool]:
    """The section whose number was texted (`intake.section_for_number`), and whether the text
    was stored for it as `accept_sms` stores it. The SMS webhook's only database work.

    On PostgreSQL one statement does both, the section's lookup and the insert of its text (a
    round trip costs the webhook more than the statements do: docs/benchmarks.md); elsewhere
    the two, one after the other. From Daphne's event loop: `accept_sms_on_loop`."""
    if connection.vendor != "postgresql":
        section = section_for_number(text.to_phone)
        return section, _store(section.pk, _row(text, now))
    statement, reader, params = _section_and_insert(text, now)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        found = cursor.fetchone()
    section, stored = _section_and_stored(found, reader)
    return section, _handed_over_if_stored(stored, section.pk)


async def accept_sms_on_loop(text: InboundSms, now: dt.datetime) -> tuple[Section, bool]:
    """`accept_sms_to_number` on PostgreSQL from Daphne's event loop (core.loop), for the SMS
    webhook (henvendelser/ingress.py): the same statement, committed on its own (it may run
    twice: a MessageSid is stored once), then the section handed to a worker."""
    on = loop.backend()
    statement, reader, params = _section_and_insert(text, now, on)
    section, stored = _section_and_stored(await loop.fetch_one(statement, params), reader, on)
    if stored:
        await hand_over_from_loop(section.pk)
    return section, stored


def _section_and_insert(
    text: InboundSms, now: dt.datetime, on: BaseDatabaseWrapper | None = None
) -> tuple[str, sql.Reader, list[Any]]:
    """PostgreSQL: the statement that finds the section texted and stores the text for it,
    its reader, and its parameters (made ready for `on`)."""
    row = _row(text, now)
    statement, reader = _section_and_insert_statement(tuple(row))
    return statement, reader, [text.to_phone, *sql.db_values(InboundText, row, on)]


def _section_and_stored(
    found: Any, reader: sql.Reader, on: BaseDatabaseWrapper | None = None
) -> tuple[Section, bool]:
    section = section_from_row(None if found is None else found[:-1], reader, on)
    return section, found is not None and bool(found[-1])


def _row(text: InboundSms, now: dt.datetime) -> dict[str, Any]:
    return _text(text.message_sid, text.from_phone, text.to_phone, text.body, text.num_media, now)


def _text(
    message_sid: str, from_phone: str, to_phone: str, body: str, num_media: int, now: dt.datetime
) -> dict[str, Any]:
    """A text's columns as Twilio delivered it (but its section), not yet tried."""
    return {
        "message_sid": message_sid,
        "from_phone": from_phone,
        "to_phone": to_phone,
        "body": body,
        "num_media": num_media,
        "received_at": now,
        "failures": 0,
    }


def _store(section_id: int, text: dict[str, Any]) -> bool:
    row = {"section": section_id, **text}
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_statement(connection.vendor, tuple(row)), sql.db_values(InboundText, row)
        )
        stored = cursor.fetchone() is not None
    return _handed_over_if_stored(stored, section_id)


def _handed_over_if_stored(stored: bool, section_id: int) -> bool:
    if stored:
        transaction.on_commit(functools.partial(hand_over, section_id))
    return stored


@functools.cache
def _section_and_insert_statement(names: tuple[str, ...]) -> tuple[str, sql.Reader]:
    """PostgreSQL: the section lookup as a CTE, the insert of `accept_sms` taking its key from
    it, and the section's row with whether the insert stored one."""
    lookup, reader = section_by_number_statement("postgresql")
    columns = ", ".join(sql.column(InboundText, name) for name in ("section", *names))
    statement = (
        f"WITH s AS ({lookup}), stored AS ("  # noqa: S608 (names from core.sql)
        f"INSERT INTO {sql.table(InboundText)} ({columns}) "
        f"SELECT s.{sql.column(Section, 'id')}, {', '.join(['%s'] * len(names))} FROM s "
        f"ON CONFLICT ({sql.column(InboundText, 'message_sid')}) DO NOTHING RETURNING 1) "
        "SELECT s.*, EXISTS (SELECT FROM stored) FROM s"
    )
    return statement, reader


@functools.cache
def _insert_statement(vendor: str, names: tuple[str, ...]) -> str:
    columns = ", ".join(sql.column(InboundText, name) for name in names)
    return (
        f"INSERT INTO {sql.table(InboundText)} ({columns}) "  # noqa: S608 (names from core.sql)
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({sql.column(InboundText, 'message_sid')}) DO NOTHING "
        f"RETURNING {sql.column(InboundText, 'id')}"
    )


def _pending_key(section_id: int) -> str:
    return f"{settings.CHANNEL_PREFIX}:inbox-drain-pending:{section_id}"


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def _flag_in_use() -> bool:
    """Whether a drain task is handed over through the broker, with the pending flag in
    Redis; where tasks run in-process, each text is handed over on its own."""
    from config.celery import app

    return not app.conf.task_always_eager and bool(settings.REDIS_URL)


def _drain_already_pending(section_id: int) -> bool:
    """One drain task waiting for a section is enough: it takes every text that is waiting
    when it starts. A flag in Redis says one is queued (set here, cleared by the task as it
    starts, before it reads the inbox; it expires in case the task is lost, and the sweep
    covers that meanwhile). Where tasks run in-process, each text is handed over on its own.
    Where Redis does not answer, no task could be queued either (it is the broker): the text
    waits for the sweep, the webhook does not wait for the broker."""
    if not _flag_in_use():
        return False
    try:
        first = _redis().set(_pending_key(section_id), "1", nx=True, ex=PENDING_FLAG_SECONDS)
    except redis.RedisError:
        _left_to_the_sweep(section_id)
        return True
    return not first


def _left_to_the_sweep(section_id: int) -> None:
    logger.warning("inbox of section %s left to the sweep: Redis does not answer", section_id)


def drain_starting(section_id: int) -> None:
    """A drain task begins: later texts need a task of their own (see _drain_already_pending).
    Cleared before the drain reads the inbox, so a text committed before this is read by it,
    and one committed after sets the flag again and queues another."""
    if settings.REDIS_URL:
        try:
            _redis().delete(_pending_key(section_id))
        except redis.RedisError:
            logger.warning("inbox flag of section %s not cleared; it expires", section_id)


def hand_over(section_id: int) -> None:
    """Ask a worker to drain the section's inbox. A broker that is down loses nothing: the
    text is in the database and the sweep hands it over later."""
    if not _drain_already_pending(section_id):
        _queue_drain(section_id)


async def hand_over_from_loop(section_id: int) -> None:
    """`hand_over` from Daphne's event loop: the flag awaited there (core.loop); the task
    queued, when one is wanted, in a thread (the broker's client is synchronous, and so is
    the drain itself where tasks run in-process)."""
    client = loop.redis()
    if _flag_in_use() and client is not None:
        try:
            first = await client.set(
                _pending_key(section_id), "1", nx=True, ex=PENDING_FLAG_SECONDS
            )
        except redis.RedisError:
            _left_to_the_sweep(section_id)
            return
        if not first:
            return
    await database_sync_to_async(_queue_drain, thread_sensitive=False)(section_id)


def _queue_drain(section_id: int) -> None:
    from ..tasks import drain_inbox

    try:
        drain_inbox.delay(section_id)
    except Exception:
        logger.warning(
            "inbox of section %s not handed to a worker; the sweep will", section_id, exc_info=True
        )
        drain_starting(section_id)  # no task is coming: let the next text try again


def still_tried(max_attempts: int | None = None) -> Q:
    """Texts not yet on an inquiry that the workers still try: not set aside (failed fewer
    than `max_attempts`, by default INBOX_MAX_ATTEMPTS, times)."""
    if max_attempts is None:
        max_attempts = settings.INBOX_MAX_ATTEMPTS
    return Q(processed_at__isnull=True, failures__lt=max_attempts)


def set_aside() -> QuerySet[InboundText]:
    """Texts that failed INBOX_MAX_ATTEMPTS times: left for someone to look at."""
    return InboundText.objects.filter(
        processed_at__isnull=True, failures__gte=settings.INBOX_MAX_ATTEMPTS
    )


def set_aside_in(section_ids: list[int]) -> list[InboundText]:
    """The sections' set-aside texts, oldest first: what their coordinators are shown."""
    return list(set_aside().filter(section_id__in=section_ids).order_by("received_at", "id"))


@transaction.atomic
def take_in(text_id: int, *, by: Any) -> Inquiry:
    """A coordinator puts a set-aside text in the queue by hand: a new inquiry from the text's
    number with the text as its summary, waiting since the text arrived, logged as by hand (the
    path that failed three times is not tried a fourth). Done once: taking in a text already
    taken in returns the same inquiry. Raises InboundText.DoesNotExist for a text outside the
    user's sections, NotSetAside for one the workers still try."""
    section_id = (
        InboundText.objects.filter(pk=text_id, section_id__in=access.sections(by))
        .values_list("section_id", flat=True)
        .get()
    )
    access.require(by, Action.WORK_INQUIRY, section_id)
    lock_section(section_id)  # the order every writer takes: the section, then its rows
    text = InboundText.objects.select_for_update().select_related("section").get(pk=text_id)
    if text.processed_at is not None and text.inquiry_id is not None:
        return Inquiry.objects.get(pk=text.inquiry_id)
    if text.processed_at is not None or text.failures < settings.INBOX_MAX_ATTEMPTS:
        raise NotSetAside(_("Denne meldingen er på vei inn i køen av seg selv."))
    inquiry = log_inquiry(
        by=by,
        channel=Channel.SMS,
        section_id=section_id,
        caller_phone=text.from_phone,
        summary=text.body,
        now=text.received_at,
        alarm_terms=_screened(text),
    )
    text.inquiry = inquiry
    _done([text], timezone.now())
    audit.record(
        user=by,
        action="inbound_text.take_in",
        obj=text,
        patient_id=inquiry.patient_id,
        section_id=section_id,
        detail={"inquiry": inquiry.pk},
    )
    notify(section_id, SET_ASIDE_CHANGED)
    return inquiry


def _screened(text: InboundText) -> list[str]:
    """The alarm screen, if it runs: the bug that set the text aside may be in it, and the
    coordinator taking the text in has just read it."""
    try:
        return screen_with_active_rules(text.body)
    except Exception:
        logger.exception("alarm screen failed on inbound text %s taken in by hand", text.pk)
        return []


def _waiting(section_id: int, limit: int) -> list[InboundText]:
    """The section's texts still tried, the first `limit` in the order received. Every drain
    asks: a prepared read (core.sql); the limit and the most attempts are part of its shape."""
    attempts = settings.INBOX_MAX_ATTEMPTS
    return sql.prepared(
        ("inbox.waiting", limit, attempts),
        functools.partial(_waiting_query, limit=limit, max_attempts=attempts),
        section_id,
    )


def _waiting_query(section_id: int, *, limit: int, max_attempts: int) -> QuerySet[InboundText]:
    return InboundText.objects.filter(still_tried(max_attempts), section_id=section_id).order_by(
        "received_at", "id"
    )[:limit]


def _done(texts: list[InboundText], now: dt.datetime) -> None:
    """Mark texts as on their inquiry; the body now lives on the timeline only. One statement
    of fixed text, its rows sent together (core.sql; the ORM's bulk_update built a statement
    of its own for every batch)."""
    at = sql.db_values(InboundText, {"processed_at": now})[0]
    for text in texts:
        text.processed_at = now
        text.body = ""
    with connection.cursor() as cursor:
        cursor.executemany(
            _done_statement(connection.vendor), [(at, text.inquiry_id, text.pk) for text in texts]
        )


@functools.cache
def _done_statement(vendor: str) -> str:
    return (
        f"UPDATE {sql.table(InboundText)} SET {sql.column(InboundText, 'processed_at')} = %s, "  # noqa: S608
        f"{sql.column(InboundText, 'body')} = '', {sql.column(InboundText, 'inquiry')} = %s "
        f"WHERE {sql.column(InboundText, 'id')} = %s"
    )


def _put_on_inquiry(
    text: InboundText, screened: list[str] | None = None, callers: Callers | None = None
) -> None:
    result = record_sms(
        section=text.section,
        message_sid=text.message_sid,
        from_phone=text.from_phone,
        body=text.body,
        num_media=text.num_media,
        now=text.received_at,
        screened=screened,
        callers=callers,
    )
    text.inquiry = result.inquiry


def _drain_batch(section_id: int, limit: int) -> int:
    with transaction.atomic():
        section = locked_section(section_id)  # the order every writer takes: the section first
        texts = _waiting(section_id, limit)
        # The alarm screen for the whole batch, with one read of the rules in force.
        screened = screen_all_with_active_rules([text.body for text in texts]) if texts else []
        # The numbers' open inquiries and contacts, read once for the batch (a text alone, the
        # usual case at a quiet hour, is looked up as it comes: the batch's query costs more to
        # build than the two small ones it replaces).
        callers = Callers(section, [t.from_phone for t in texts]) if len(texts) > 1 else None
        # Every text's queue event written together at the end of the batch, in one statement
        # with the texts' timeline entries and audit records (on PostgreSQL: core.sql; nothing
        # in a drain reads them back or needs their keys).
        with sql.riding_along(), published_together(section_id), audit.recorded_together():
            for text, terms in zip(texts, screened, strict=True):
                text.section = section
                _put_on_inquiry(text, terms, callers)
        if texts:
            _done(texts, timezone.now())
    return len(texts)


def _drain_one_at_a_time(section_id: int, limit: int) -> int:
    """After a failed batch: each text in a transaction of its own, so one that fails (and is
    counted) leaves the others to go through."""
    taken = 0
    for text_id in [text.pk for text in _waiting(section_id, limit)]:
        taken += 1
        try:
            with transaction.atomic():
                lock_section(section_id)
                text = (
                    InboundText.objects.select_related("section")
                    .filter(pk=text_id, processed_at__isnull=True)
                    .first()
                )
                if text is None:
                    continue
                try:
                    with transaction.atomic():
                        _put_on_inquiry(text)
                except IntegrityError:
                    # Already on the timeline: a text stored before the inbox existed, or one
                    # another drain finished. Done, and not twice.
                    entry = TimelineEntry.objects.filter(external_id=text.message_sid).first()
                    if entry is None:
                        raise
                    text.inquiry_id = entry.inquiry_id
                _done([text], timezone.now())
        except Exception:
            InboundText.objects.filter(pk=text_id).update(failures=F("failures") + 1)
            logger.exception("inbound text %s could not be put on an inquiry", text_id)
            if set_aside().filter(pk=text_id).exists():
                logger.error(
                    "inbound text %s set aside after %s attempts; `manage.py inbox_retry` "
                    "puts it back once the cause is fixed",
                    text_id,
                    settings.INBOX_MAX_ATTEMPTS,
                )
                notify(section_id, SET_ASIDE_CHANGED)  # the coordinators see it now
    return taken


def drain(section_id: int, *, limit: int | None = None) -> int:
    """Put every text the section has waiting on its inquiry; returns how many were taken."""
    limit = limit or settings.INBOX_BATCH
    taken_in_all = 0
    while True:
        try:
            taken = _drain_batch(section_id, limit)
        except Exception:
            logger.warning("inbox batch of section %s failed; one at a time", section_id)
            taken = _drain_one_at_a_time(section_id, limit)
        taken_in_all += taken
        if taken < limit:
            return taken_in_all


def sections_waiting(older_than: dt.timedelta = dt.timedelta(0)) -> list[int]:
    """Sections with a text received before `older_than` ago still not on an inquiry."""
    cutoff = timezone.now() - older_than
    return list(
        InboundText.objects.filter(still_tried(), received_at__lte=cutoff)
        .values_list("section_id", flat=True)
        .distinct()
        .order_by("section_id")
    )


def retry_set_aside(section_id: int | None = None) -> int:
    """Put set-aside texts back in the inbox (their count of failures cleared) and hand their
    sections to a worker; returns how many."""
    texts = set_aside()
    if section_id is not None:
        texts = texts.filter(section_id=section_id)
    sections = sorted(set(texts.values_list("section_id", flat=True)))
    with transaction.atomic():
        count = texts.update(failures=0)
        for section in sections:
            transaction.on_commit(functools.partial(hand_over, section))
            notify(section, SET_ASIDE_CHANGED)
    return count


def prune(now: dt.datetime | None = None) -> int:
    """Forget texts put on an inquiry more than INBOX_KEEP_HOURS ago (their body is already
    gone; the MessageSid was kept so that Twilio's retries stay no-ops)."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.INBOX_KEEP_HOURS)
    deleted, _ = InboundText.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
