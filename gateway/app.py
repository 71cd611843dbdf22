"""The gateway's HTTP app: channel webhooks, health, readiness, metrics and status.

Every webhook goes through one handler: read the bounded body, let the adapter authenticate and parse it,
normalize each message, make reports durable through intake, and let the adapter render the answer. Errors map
once, by kind: AuthenticationFailed 403, RejectedInput 400, TooLarge 413, BodyTimeout 408, NotDurable 503, any other
error (a bug) 500 `internal_error`; a 5xx is a refused report, which the health rules count against the channel
(`intake_refused`), but for Stopping's 503 (the process stopped before the body came: there was no report). The
message a bug failed on is kept unfiled (`gateway.unfiled`), and its citizen told so with a 200 instead (in the
answer, or by an SMS the reply worker sends where the answer carries no reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import HttpVersion11, hdrs, web
from redis import Redis
from redis.exceptions import RedisError

from channels.base import Outcome, WebhookAdapter, is_delivery_report
from channels.registry import (
    disabled_channels,
    enabled_webhook_adapters,
    notified_channels,
    served_channels,
    webhook_channels,
)
from gateway import metrics
from gateway.concat import LatePart, PartBuffer, PartResult, run_sweeper
from gateway.errors import (
    INTERNAL_ERROR,
    AuthenticationFailed,
    BodyTimeout,
    GatewayError,
    NotDurable,
    RejectedInput,
    Stopping,
    TooLarge,
)
from gateway.followups import addition_to, resolve_follow_up, stored_envelope
from gateway.health.documents import CheckOutlasted, check_failed_document
from gateway.health.monitor import HealthMonitor, SpoolProbe, publish_disabled
from gateway.health.rules import load_rules
from gateway.health.signals import HealthSignals, SignalWriter
from gateway.intake import Intake, build_intake, run_spool_replayer
from gateway.lease import polled_accounts
from gateway.liveness import ServingBeat
from gateway.logs import bind_message_context, clear_message_context, get_logger, sensitive_values
from gateway.outage import RedisOutage
from gateway.outbound import (
    FloodCounter,
    OutboundReplies,
    RecentSenders,
    delivery_label,
    durably,
    flood_notice,
    flood_notice_due,
)
from gateway.queries import LOOKUP_SECONDS, answer_query, casestore_client, follow_up_status
from gateway.ratelimit import rate_limit_middleware
from gateway.replies import flags_told, follow_up_status_reply, render, report_reply
from gateway.settings import Settings
from gateway.spool import SPOOL_DIR, Spool, SpoolNotWritable
from gateway.status_page import render_check_failed_page, render_redis_down_page, render_status_page
from gateway.unfiled import UnfiledMessages
from normalizer.envelope import ReportDraft
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.pipeline import UNANSWERED, normalize
from normalizer.sender import msisdn_or_as_given

log = get_logger()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATUS_BY_ERROR: tuple[tuple[type[GatewayError], int], ...] = (
    (AuthenticationFailed, 403),
    (TooLarge, 413),
    (BodyTimeout, 408),
    (RejectedInput, 400),
    (NotDurable, 503),
)


class LatePartUnfiled(Exception):
    """Why a late part of a concatenated SMS is kept unfiled (`Gateway.take_late_part`): its message has no report,
    or (one a sweep set aside, `Gateway.take_late_parts`) its filing failed."""


def _citizen_values(messages: Sequence[InboundMessage]) -> list[str | None]:
    return [value for message in messages for value in message.personal_values()]


def _query_number(message: InboundMessage, settings: Settings) -> str:
    """The number a query came from, as flood control counts it: in E.164, or as the provider gave it when it is no
    number (an inline answer goes back to whatever sent the query, and is not refused for its sender)."""
    return msisdn_or_as_given(message.sender_address, settings.sms.default_region)


def http_status_for(error: GatewayError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


# A stopping gateway's drain (`Gateway.drain`): it ends once no answer went for this long (the loop has read what
# its connections had sent by then, tens of milliseconds behind under load), or after the longest.
DRAIN_QUIET_SECONDS = 0.25
DRAIN_LONGEST_SECONDS = 3.0


@dataclass
class Gateway:
    """What the handlers share: settings, the intake, the adapters. Built once per process."""

    settings: Settings
    redis: Redis
    intake: Intake
    adapters: list[WebhookAdapter] = field(default_factory=list)
    # The channel of each path the adapters take POSTs at (`channels.registry.webhook_channels`), by its route.
    webhook_paths: dict[str, str] = field(default_factory=dict)
    status_client: httpx.AsyncClient | None = None
    # Replies through the reply worker, and concatenated-SMS parts (adapters with `outbound_replies`).
    outbound: OutboundReplies | None = None
    # Flood control's counts of the answers in a webhook's response (`_inline_reply_allowed`), and the senders of the
    # new reports this process took within the hour (a number's first is not counted).
    flood: FloodCounter | None = None
    recent_senders: RecentSenders = field(default_factory=RecentSenders)
    parts: PartBuffer | None = None
    signals: HealthSignals | None = None
    monitor: HealthMonitor | None = None
    # The operator views' health check in flight, per kind (with the metrics collection or without): shared by
    # every view asked meanwhile, so a slow Redis does not gather one stuck thread per scrape or page refresh.
    view_checks: dict[bool, asyncio.Future[Any]] = field(default_factory=dict)
    # Redis away for the health loop and the views: `gateway.redis_lost`, a reminder a minute, `gateway.redis_back`.
    redis_outage: RedisOutage = field(default_factory=lambda: RedisOutage("gateway"))
    # The deadlines of the request bodies still arriving (`read_body`), and whether the process is stopping: a stop
    # ends those reads at once (`stop_reading_bodies`).
    body_deadlines: set[asyncio.Timeout] = field(default_factory=set)
    stopping: bool = False
    # /readyz's probe of the spool's disk, on a thread of its own (a hung disk holds that one thread, not the loop nor
    # the default executor's), and the probe in flight, which every /readyz meanwhile joins.
    spool_prober: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="lapor-spool-probe"))
    spool_probe: asyncio.Future[int] | None = None
    # The status views' probe of the same disk (their `spool_failure`), never waited for on the loop.
    spool_status: SpoolProbe | None = None
    # When (the loop's clock) the spool's disk last took /readyz's probe file: reused for SPOOL_PROOF_SECONDS.
    spool_proven_at: float | None = None
    # /readyz's write to Redis, likewise: a Redis that hangs holds this one thread until its socket timeout, not one
    # more of the default executor's (the health loop's and the spool replayer's) per load-balancer probe.
    redis_prober: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="lapor-redis-probe"))
    redis_probe: asyncio.Future[None] | None = None
    # The health signals' writes (`record_signal`): at most SIGNALS_IN_FLIGHT on their way, on threads of their own.
    signal_writer: SignalWriter | None = None
    # The beat that says this process takes its channels' webhooks (gateway/liveness.py): started once the port is
    # bound (`now_listening`), not at start-up, where a gateway that then failed to bind it beat once and left its
    # channels counted alive for 30 s; ended when the process stops listening.
    beat_stop: asyncio.Event = field(default_factory=asyncio.Event)
    beats: list[asyncio.Task[None]] = field(default_factory=list)
    # Told to stop, this process no longer listens and answers what its open connections sent meanwhile, each answer
    # closing its connection (`drain`); when the last answer went (loop time).
    draining: bool = False
    last_answer_at: float = 0.0

    async def drain(self, open_connections: Callable[[], int]) -> None:
        """Answer what the open connections have sent, the listening socket closed already: until none is open, or
        no answer went for DRAIN_QUIET_SECONDS, DRAIN_LONGEST_SECONDS at most. aiohttp's shutdown closes every
        connection it finds idle at once: one whose request the loop had not read yet (under load, tens of
        milliseconds behind) was closed unanswered, the webhook lost to a routine restart. Meanwhile every answer
        says `Connection: close` (`close_while_draining`), so a client sends no more on it."""
        loop = asyncio.get_running_loop()
        self.draining = True
        started = self.last_answer_at = loop.time()
        while open_connections() and (now := loop.time()) - self.last_answer_at < DRAIN_QUIET_SECONDS \
                and now - started < DRAIN_LONGEST_SECONDS:
            await asyncio.sleep(DRAIN_QUIET_SECONDS / 5)

    def now_listening(self) -> None:
        """Called on the loop once a site listens (`lapor-gateway serve`: aiohttp's `run_app` says so): the beat
        starts, once, unless the process is stopping already."""
        if self.beats or self.beat_stop.is_set():
            return
        beat = ServingBeat(self.redis, "serve", served_channels(self.adapters), data_dir=self.settings.data_dir,
                           webhooks=notified_channels(self.adapters))
        self.beats.append(asyncio.create_task(beat.run(self.beat_stop)))

    def record_signal(self, method: str, *args: object) -> None:
        """Record a health signal off the event loop without waiting for it (signals are best effort): dropped and
        counted, never queued, while SIGNALS_IN_FLIGHT are on their way already
        (gateway.health.signals.SignalWriter)."""
        if self.signal_writer is not None:
            self.signal_writer.record(method, *args)

    async def read_body(self, request: web.Request) -> bytes:
        """The request's body, decoded. BodyTimeout when it has not all come within `http.body_timeout_seconds`: a
        client that stalled or trickled it held a connection and a handler for as long as it liked. Stopping when the
        process stops meanwhile: its stop waited for such a client up to the shutdown grace (10 s), then cut it off
        without an answer. TooLarge at once for a Content-Length past the limit: its body was waited for, and a client
        that announced more than it sent (a huge or a false length) held a handler until the body timeout for a 408,
        where the request was one too large whatever came."""
        limit = self.settings.http.max_body_bytes
        if _declared_too_large(request, limit):
            raise TooLarge("request body exceeds the limit", reason="body_too_large")
        if request.content.is_eof():  # all of it came with the headers (nearly every webhook): no deadline to arm
            return await _read_body(request, limit)
        if self.stopping:
            raise Stopping("the gateway is stopping")
        seconds = self.settings.http.body_timeout_seconds
        try:
            async with asyncio.timeout(seconds) as deadline:
                self.body_deadlines.add(deadline)
                try:
                    return await _read_body(request, limit)
                finally:
                    self.body_deadlines.discard(deadline)
        except TimeoutError as error:
            if self.stopping:
                raise Stopping("the gateway is stopping") from error
            raise BodyTimeout(f"the body did not arrive within {seconds:g} s") from error

    def stop_reading_bodies(self) -> None:
        """On shutdown: every body still arriving ends now (`read_body` raises Stopping), and none is waited for."""
        self.stopping = True
        now = asyncio.get_running_loop().time()
        for deadline in self.body_deadlines:
            deadline.reschedule(now)

    def note_received(self, channel: str, *, report: bool = False) -> None:
        """`message_received` without a thread hop per request: only the throttled Redis write goes to a thread."""
        if self.signals is not None and self.signals.note_message(channel, report=report):
            self.record_signal("write_noted", channel)

    def note_signature_valid(self, channel: str) -> None:
        """`HealthSignals.note_signature_valid`, its write on a thread: at once when it ends a run of refused
        signatures, else at most once a second per channel (a burst of notifications was one Redis write each)."""
        if self.signals is not None and self.signals.note_signature_valid(channel):
            self.record_signal("write_noted", channel)

    def note_throttled(self, path: str) -> None:
        """A request to the route `path` refused by our own rate limit (gateway.ratelimit), told on the loop: counted
        for its channel without I/O, the count written on a thread at most once a second (a flood's refusal stays
        almost free). A path no adapter takes (`unmatched`, made-up paths under the prefix) is no channel's."""
        channel = self.webhook_paths.get(path)
        if channel is not None and self.signals is not None and self.signals.note_throttled(channel):
            self.record_signal("write_throttled", channel)

    def signature_refused(self, channel: str, reason: str) -> None:
        """`signature_failed`, timed here on the loop, not when its write runs on a thread: a refusal written late
        looked newer than the valid request after it, which then ended nothing. That valid request is written at
        once (`HealthSignals.note_signature_refused`)."""
        at = self.signals.note_signature_refused(channel) if self.signals is not None else None
        self.record_signal("signature_failed", channel, reason, at)

    async def handle_message(self, adapter: WebhookAdapter, message: InboundMessage) -> Outcome:
        with sensitive_values(*_citizen_values([message])):
            return await self._handle_message(adapter, message)

    def _spool_may_hold(self, tracking_id: str | None) -> bool:
        """`Intake.may_hold`: whether a status query's report may still be in a disk spool. A gateway built without
        an intake (answering queries only) spools nothing."""
        return self.intake is not None and tracking_id is not None and self.intake.may_hold(tracking_id)

    async def _handle_message(self, adapter: WebhookAdapter, message: InboundMessage) -> Outcome:
        normalized = normalize(message, default_region=self.settings.sms.default_region,
                               shortest_id=self.settings.intake.shortest_tracking_id,
                               max_text_chars=self.settings.intake.max_text_chars)
        # Adapters whose provider cannot carry the reply in its answer send it through the reply worker.
        outbound = self.outbound if adapter.outbound_replies else None
        if normalized.query is not None:
            query = normalized.query
            metrics.QUERIES.labels(adapter.name, query.action.value).inc()
            if query.action in UNANSWERED:
                # No reply: to thanks, an SMS that costs money and would draw another thanks; to "STOP", one the
                # citizen asked not to get; to "START", nothing was asked (Twilio acts on its opt-in words itself).
                log.info(f"message.{query.action.value}", reason=UNANSWERED[query.action])
                return Outcome(reply_text=None)
            if query.action is Action.HELP and message.provider_action == Action.HELP.value:
                # Twilio's Advanced Opt-Out sent its own help text already (`OptOutType` HELP): ours as well was a
                # second SMS to the citizen, and a second charge. Without `OptOutType` the usage text is ours to send.
                log.info("message.help", reason="answered_by_provider")
                return Outcome(reply_text=None)
            assert self.status_client is not None
            reply: str | None
            spool_may_hold = functools.partial(self._spool_may_hold, query.tracking_id)
            if outbound is not None:
                reply, _queued = await outbound.answer_query(adapter.name, query, self.status_client, spool_may_hold)
            elif not await self._inline_reply_allowed(adapter, message, _query_number(message, self.settings),
                                                      query.action.value, query.tracking_id,
                                                      # a mistyped ID's, by the hour alone (`answer_query`'s note)
                                                      per_minute=query.action is not Action.BAD_TRACKING_ID):
                reply = None  # held back, and the case store not asked: no answer would carry the status
            else:
                try:  # one deadline for the whole lookup: httpx's timeouts are per step, and an answer may trickle
                    spooling = self.intake is not None and self.intake.spooling
                    reply, later = await asyncio.wait_for(answer_query(query, self.status_client, self.redis,
                                                                       spool_may_hold, held_first=not spooling),
                                                          adapter.section.status_inline_timeout_seconds)
                except TimeoutError:
                    reply, later = None, True
                if later:  # no outbound sender on this channel: promise nothing, ask the citizen to try again
                    reply = render("status_retry", normalized.language, tracking_id=query.tracking_id)
            log.info("message.query", action=query.action.value)
            return Outcome(reply_text=reply)
        draft = normalized.draft
        assert draft is not None
        if outbound is not None and self.intake.spooling:
            # Its reply is queued in Redis: while Redis is away, refused (NotDurable) before its report is spooled, so
            # the provider's retry, which another gateway process may take, is not filed again from that one's spool.
            # Redis back and the spool not replayed yet, the report is spooled and its reply queued.
            await durably(self.redis.ping)
        unknown_report: str | None = None
        if draft.follow_up_of:  # only a follow-up looks its report up: no thread hop for the others
            assert self.status_client is not None
            parent = draft.follow_up_of
            # While intake spools (Redis failed), Redis is not asked for the report's copy: a hang's timeout again.
            draft, unknown = await resolve_follow_up(self.redis, self.status_client, draft,
                                                     self.settings.intake.id_range, redis_down=self.intake.spooling,
                                                     unminted=self.intake.holds_unminted)
            if unknown:
                unknown_report = parent
                log.info("message.follow_up_unknown", reason="no_such_report", follow_up_of=parent)
        same_text = (adapter.name, adapter.section.same_text_window_seconds) if adapter.same_text_window else None
        receipt = await self.intake.submit(draft, same_text)
        bind_message_context(tracking_id=receipt.tracking_id)
        if receipt.same_text:
            log.info("message.same_text", reason="same_text_window")
        if receipt.duplicate:
            metrics.labelled(metrics.DUPLICATES, adapter.name).inc()
        else:
            metrics.labelled(metrics.ACCEPTED, adapter.name).inc()
        log.info("message.accepted", kind=draft.kind.value, duplicate=receipt.duplicate,
                 follow_up_of=draft.follow_up_of, anonymous=draft.anonymous)
        # "We already have this report" answers a citizen who sent the same text again (a new message, mapped onto
        # the first one's id); the provider's retry of the very message it sent (its answer lost) gets the answer
        # the first delivery got, since for the citizen it is the one message they sent.
        repeated_text = receipt.duplicate and receipt.same_text
        # an unknown ID's report is filed anonymous (the citizen's ANONIM, or privacy first: followups.py) and says so
        told = flags_told(normalized.draft, draft)
        reply = report_reply(normalized.language, receipt.tracking_id, **told, follow_up_of=draft.follow_up_of,
                             unknown_report=unknown_report, mistyped_id=normalized.mistyped_id,
                             repeat=repeated_text, incomplete=message.incomplete)
        status_later = False
        if normalized.asks_status and draft.follow_up_of:
            # "CEK <id> <words>": the words were added to the report, and the status asked for is answered with it.
            status = await self._follow_up_status(adapter, draft.follow_up_of)
            status_later = status is None and outbound is not None
            reply = follow_up_status_reply(normalized.language, draft.follow_up_of, status, **told,
                                           later=outbound is not None)
            log.info("message.follow_up_status", answered=status is not None)
        if outbound is not None:
            await outbound.reply_to_report(adapter.name, draft, receipt.tracking_id, repeated_text, reply,
                                           normalized.language, message.message_identity, spooled=receipt.spooled,
                                           status_later=status_later)
        elif draft.follow_up_of or repeated_text:
            if not await self._inline_reply_allowed(adapter, message, draft.sender.id,
                                                    "follow_up" if draft.follow_up_of else "duplicate",
                                                    receipt.tracking_id):
                reply = None  # the report is filed all the same: only its answer is held back
        # A new report's acknowledgement is held by the hour's limit alone, and counted only from its number's second
        # message to this process: a count for every new report cost each webhook a Redis round trip (0.05 ms of CPU,
        # `make bench`), and most citizens send one. An auto-responder whose every answer reads as a new report (a
        # ticket number of its own in each) drew an acknowledgement each time, without end.
        # Held, its number is told once an hour, with this report's Tracking ID, that the next ones go unanswered.
        elif self.recent_senders.seen_before(draft.sender.id) and not await self._inline_reply_allowed(
                adapter, message, draft.sender.id, "ack", receipt.tracking_id, per_minute=False, tell_held=False):
            reply = await self._flood_notice(adapter, message, draft, normalized.language, receipt.tracking_id)
            if reply is None:
                self._held(adapter, "ack", receipt.tracking_id)
        return Outcome(reply_text=reply, tracking_id=receipt.tracking_id, duplicate=receipt.duplicate)

    async def _inline_reply_allowed(self, adapter: WebhookAdapter, message: InboundMessage, number: str, kind: str,
                                    tracking_id: str | None, *, per_minute: bool = True, tell_held: bool = True,
                                    ) -> bool:
        """Flood control of an answer in the webhook's response (Twilio's TwiML), as the aggregator's replies have it
        (`gateway.outbound.count_message`, by the adapter's section's `flood_replies_per_minute` and
        `flood_replies_per_hour`): False, and the answer is held back (`reply.held`,
        `lapor_replies_total{outcome="held"}`), once the number sent more than the first within a minute (not asked
        without `per_minute`) or the second within an hour. Without it an auto-responder that answers each of our SMS
        (with our own words, read back as a status query, or as a report) drew one TwiML <Message> after another, each
        segment paid, limited only by the carrier. While intake spools, or Redis fails the count, the answer goes: a
        report is never held up for a count, and Redis is not waited for again. Without `tell_held` the caller logs
        and counts a held answer (`_held`): one it answers otherwise is not held."""
        if self.intake is not None and self.intake.spooling:
            return True
        if self.flood is None:
            self.flood = FloodCounter(self.redis, self.settings)
        try:
            section = adapter.section
            allowed = await self.flood.allowed(adapter.name, number, message.message_identity,
                                               section.flood_replies_per_minute if per_minute else None,
                                               section.flood_replies_per_hour)
        except NotDurable as error:
            log.warning("reply.flood_not_counted", reply_kind=kind, reason=error.reason)
            return True
        if not allowed and tell_held:
            self._held(adapter, kind, tracking_id)
        return allowed

    @staticmethod
    def _held(adapter: WebhookAdapter, kind: str, tracking_id: str | None) -> None:
        metrics.labelled(metrics.REPLIES, adapter.name, "held").inc()
        log.info("reply.held", reply_kind=kind, tracking_id=tracking_id, reason="flood_control")

    async def _flood_notice(self, adapter: WebhookAdapter, message: InboundMessage, draft: ReportDraft,
                            language: str, tracking_id: str) -> str | None:
        """The notice (`flood_notice`) in place of a held acknowledgement, the first of its number's hour
        (`flood_notice_due`: Twilio's retry of that message gets it again); None for the others, and when Redis fails
        (the answer stays held)."""
        try:
            due = await durably(flood_notice_due, self.redis, self.settings, adapter.name, draft.sender.id,
                                message.message_identity)
        except NotDurable as error:
            log.warning("reply.flood_notice_failed", reason=error.reason)
            return None
        if not due:
            return None
        log.info("reply.flood_notice", tracking_id=tracking_id)
        return flood_notice(language, tracking_id, anonymous=draft.anonymous, confidential=draft.confidential)

    async def _follow_up_status(self, adapter: WebhookAdapter, tracking_id: str) -> str | None:
        """The status of the report an addition that asked it was added to, within the channel's wait for a status
        (`status_inline_timeout_seconds`); None when it did not come (a status job asks it, or the citizen is asked
        to send CEK later where no job can answer). While intake spools, Redis is not asked: a hang's timeout again."""
        assert self.status_client is not None
        redis = None if self.intake.spooling else self.redis
        try:
            return await asyncio.wait_for(follow_up_status(self.status_client, redis, tracking_id),
                                          adapter.section.status_inline_timeout_seconds)
        except TimeoutError:
            return None

    async def handle_part(self, adapter: WebhookAdapter, message: InboundMessage,
                          joined: list[InboundMessage] | None = None) -> list[Outcome]:
        """Store one part of a concatenated SMS; handle the joined message when this part completes it. The joined
        message is added to `joined` first: it is the message in hand, whose words and sender the webhook's error
        line keeps out (the part's alone let the other parts' words out)."""
        assert self.parts is not None
        result = await durably(self.parts.add, message)
        if result.state == "conflict":
            # Another message's parts wait under this reference, with other content at this part's number: that
            # message is taken now as its parts make it (incomplete), and this part starts its own.
            assert result.message is not None
            if joined is not None:
                joined.append(result.message)
            earlier = await self.take_superseded(adapter, result.key, result.message)
            log.info("message.parts_superseded", incomplete=result.message.incomplete)
            result = await durably(self.parts.add, message)
            if result.state == "conflict":  # a third message at once: the next sweep takes what waits
                raise NotDurable("the parts' buffer changed as it was taken", reason="concat_conflict")
            later = await self.handle_part_result(adapter, result, joined)
            return [*([earlier] if earlier is not None else []), *([later] if later is not None else [])]
        later = await self.handle_part_result(adapter, result, joined)
        return [later] if later is not None else []

    async def take_superseded(self, adapter: WebhookAdapter, key: str, message: InboundMessage) -> Outcome | None:
        """File the waiting message a part of the sender's next one supersedes, and mark its parts done. A bug that
        fails to file it keeps it unfiled and tells its citizen, as the webhook does for the message in hand (None),
        and a refusal drops it, as the sweeper does; the part in hand is the next message's and still goes to its own
        buffer. Raised to the webhook, the 200 that told of the kept message acknowledged that part unstored (lost,
        and the next message's part at a number the earlier never had answered as its late part, lost too), and the
        400 of a refusal refused it with the earlier one."""
        assert self.parts is not None
        try:
            outcome = await self.handle_message(adapter, message)
        except RejectedInput as error:
            # Retrying cannot change a refusal, as the sweeper's: refused with it, the part in hand was too.
            log.error("concat.superseded_rejected", reason=error.reason, detail=error.detail)
            await durably(self.parts.mark_done, key, "-", message)
            return None
        except GatewayError:
            raise
        except Exception as error:
            # Kept and marked done at once, or neither (`keep_unfiled`): Redis away, the provider retries the part in
            # hand (503) and finds the waiting message as it was. Raised as the bug, the webhook could keep it on a
            # second try and answer 200, the part in hand unstored.
            if not await self.keep_unfiled(adapter, message, error, (key, message)):
                raise NotDurable("the superseded message could not be kept", reason="redis_unavailable") from error
            await self.tell_kept_unfiled(adapter, message)  # best effort: kept either way, as the sweeper's are
            return None
        await durably(self.parts.mark_done, key, outcome.tracking_id or "-", message)
        return outcome

    async def handle_part_result(self, adapter: WebhookAdapter, result: PartResult,
                                 joined: list[InboundMessage] | None) -> Outcome | None:
        """What a stored part makes: nothing yet, the Tracking ID of its message taken before, or its joined
        message handled."""
        assert self.parts is not None
        if result.state == "waiting":
            log.info("message.part_stored")
            return None
        if result.state == "done":
            # "-": the joined message was a query, which has no Tracking ID.
            tracking_id = result.tracking_id if result.tracking_id != "-" else None
            return Outcome(reply_text=None, tracking_id=tracking_id, duplicate=True)
        if result.state == "late":
            assert result.late is not None
            return await self.take_late_part(adapter, result.late)
        assert result.message is not None
        if joined is not None:
            joined.append(result.message)
        outcome = await self.handle_message(adapter, result.message)
        if outcome.duplicate and outcome.tracking_id is not None:
            await self.take_parts_the_report_lacks(adapter, result, outcome.tracking_id)
        await durably(self.parts.mark_done, result.key, outcome.tracking_id or "-", result.message)
        return outcome

    async def take_parts_the_report_lacks(self, adapter: WebhookAdapter, result: PartResult, tracking_id: str) -> None:
        """A message joined whole where a sweep had already filed it without a part (its commit done, its mark not
        yet): joined under the sweep's id, intake took it for that report, and the part's words were lost. Each part
        the report was not filed with (its `part_ids`) is filed as a late part (`take_late_part`), before the mark."""
        assert self.parts is not None
        assert result.message is not None
        envelope = await durably(stored_envelope, self.redis, tracking_id, adapter.name) or {}
        filed = (envelope.get("channel_meta") or {}).get("part_ids")
        # The report this message's id made, nothing else intake took it for (the same text as an earlier report).
        if envelope.get("channel_message_id") != result.message.provider_message_id or not isinstance(filed, list):
            return
        for record in result.records:
            if str(record["id"]) not in {str(part_id) for part_id in filed} and record.get("fp"):
                await self.take_late_part(adapter, self.parts.late_part(result.key, record, tracking_id))

    async def handle_expired_parts(self, key: str, message: InboundMessage) -> None:
        """The sweeper's step for a message whose parts never all came: taken as it is, marked incomplete."""
        assert self.parts is not None
        adapter = next(a for a in self.adapters if a.name == message.source)
        clear_message_context()
        bind_message_context(channel=adapter.name)
        if await durably(UnfiledMessages(self.redis).holds_more_parts, message):
            # The webhook joined it whole and kept it unfiled (a bug its words met): the operator's retry files the
            # whole message once. Filed here, its fewer parts took the identity, the retry found its report filed, and
            # the parts only the whole one had were lost, its citizen told it was kept and never given a Tracking ID.
            await durably(self.parts.mark_done, key, "-", message, late=True)
            log.warning("message.parts_expired_kept_whole", incomplete=message.incomplete)
            await self.take_late_parts(adapter, key)
            return
        try:
            outcome = await self.handle_message(adapter, message)
        except RejectedInput:
            # Dropped by the sweep (`sweep_once`, which says so); a part that came as it was taken is kept unfiled
            # here first, not set aside for good.
            await durably(self.parts.mark_done, key, "-", message, late=True)
            await self.take_late_parts(adapter, key)
            raise
        except GatewayError:
            raise
        except Exception as error:  # a bug: kept unfiled, not tried again after every lease for ever
            if not await self.keep_unfiled(adapter, message, error, (key, message), late=True):
                raise
            await self.take_late_parts(adapter, key)  # a part that came as it was taken: kept unfiled with it
            return
        # `late`: a part that came as it was taken is its late part, no second report (`PartBuffer.mark_done`).
        await durably(self.parts.mark_done, key, outcome.tracking_id or "-", message, late=True)
        log.info("message.parts_expired", incomplete=message.incomplete)
        await self.take_late_parts(adapter, key)

    async def take_late_parts(self, adapter: WebhookAdapter, key: str) -> None:
        """File the late parts a sweep's mark set aside (`PartBuffer.late_parts`): parts stored as it took their
        message, answered as stored (200) and so never sent again. One whose filing fails, for any reason, is kept
        unfiled (`gateway.unfiled`), for an operator to file: nothing else would retry it, and it stayed in Redis, its
        words and sender, unfiled, until its set-aside record expired. Where even that fails (Redis away) it stays set
        aside, at most as long as parts wait (`PartBuffer.late_ttl`); a delivery of it again files it."""
        assert self.parts is not None
        for late in await durably(self.parts.late_parts, key):
            try:
                await self.take_late_part(adapter, late)
            except Exception as error:  # its message is taken: kept unfiled, said here without its words
                reason = error.reason if isinstance(error, GatewayError) else INTERNAL_ERROR
                log.error("concat.late_part_not_filed", part=late.number, reason=reason, error=type(error).__name__)
                try:
                    await self.keep_late_part(adapter, late, late.tracking_id if late.tracking_id != "-" else None,
                                              LatePartUnfiled(f"its filing failed ({reason})"))
                except Exception as kept_error:  # Redis away: the part stays set aside
                    log.error("concat.late_part_not_kept", part=late.number, error=type(kept_error).__name__)

    async def keep_late_part(self, adapter: WebhookAdapter, late: LatePart, tracking_id: str | None,
                             why: LatePartUnfiled) -> None:
        """Keep a late part unfiled (`gateway.unfiled`) and mark it taken (`late_taken`)."""
        assert self.parts is not None
        with sensitive_values(*late.message.personal_values()):
            kept = await durably(UnfiledMessages(self.redis).keep, adapter.name, late.message, why, time.time())
            log.warning("concat.late_part", tracking_id=tracking_id, part=late.number, kept_unfiled=True)
            metrics.UNFILED.labels(adapter.name).inc()
            self.record_signal("message_unfiled", adapter.name, kept.reason)
            await durably(self.parts.late_taken, late)

    async def take_late_part(self, adapter: WebhookAdapter, late: LatePart) -> Outcome:
        """A part of a message taken without it (`LatePart`): its words filed as an addition to the message's report,
        with the report's flags and its message's own (`late_addition`: an incomplete message is anonymous, and so is
        this), durable before the provider is answered, then marked taken (`late_taken`). Answered as a delivery of the
        message is, with its Tracking ID and no SMS: the citizen sent one SMS and has its acknowledgement. Where the
        message has no Tracking ID (kept unfiled, a query, refused) the part is kept unfiled (`gateway.unfiled`), for an
        operator to file. Logged `concat.late_part`: the Tracking ID, the part's number, never its words or sender."""
        assert self.parts is not None
        message = late.message
        with sensitive_values(*message.personal_values()):
            bind_message_context(channel=adapter.name)
            tracking_id = late.tracking_id if late.tracking_id != "-" else None
            addition = None if tracking_id is None else await self.late_addition(adapter, message, tracking_id)
            if addition is None:
                await self.keep_late_part(adapter, late, tracking_id,
                                          LatePartUnfiled("its message has no report to add it to"))
                return Outcome(reply_text=None, tracking_id=tracking_id, duplicate=True)
            receipt = await self.intake.submit(addition)
            metrics.labelled(metrics.DUPLICATES if receipt.duplicate else metrics.ACCEPTED, adapter.name).inc()
            log.info("concat.late_part", tracking_id=tracking_id, part=late.number,
                     follow_up_of=addition.follow_up_of, addition=receipt.tracking_id,
                     duplicate=receipt.duplicate)
            await durably(self.parts.late_taken, late)
        return Outcome(reply_text=None, tracking_id=tracking_id, duplicate=True)

    async def late_addition(self, adapter: WebhookAdapter, message: InboundMessage,
                            tracking_id: str) -> ReportDraft | None:
        """The late part's words as an addition to `tracking_id`'s report (to the report that one adds to, where the
        message was itself an addition), with its flags; None when they read as no report (a status query, no
        word): kept unfiled then."""
        normalized = normalize(message, default_region=self.settings.sms.default_region,
                               shortest_id=self.settings.intake.shortest_tracking_id,
                               max_text_chars=self.settings.intake.max_text_chars)
        if normalized.draft is None:
            return None
        # The message's own flags as well as its root report's: an addition sent RAHASIA to an open report is
        # confidential, and its late part, filed with the root's flags alone, was not.
        envelope = await durably(stored_envelope, self.redis, tracking_id, adapter.name)
        draft = addition_to(normalized.draft, envelope, tracking_id)
        assert self.status_client is not None
        draft, _unknown = await resolve_follow_up(self.redis, self.status_client, draft,
                                                  self.settings.intake.id_range, redis_down=self.intake.spooling,
                                                  unminted=self.intake.holds_unminted)
        return draft

    def dlr_handler(self, adapter: WebhookAdapter) -> Handler:
        """Delivery reports for replies, authenticated like the adapter's callbacks, recorded on the reply."""

        async def handle(request: web.Request) -> web.StreamResponse:
            clear_message_context()
            bind_message_context(channel=adapter.name)
            try:
                body = await self.read_body(request)
                adapter.authenticate(request, body)
                report = adapter.parse_dlr(request, body)  # type: ignore[attr-defined]
                assert self.outbound is not None
                details = {"smsc_id": report.smsc_id, "ts": report.at, "type": str(report.dlr_type)}
                known = await durably(self.outbound.record_delivery, report.reply_id, report.part, report.status,
                                       details)
            except GatewayError as error:
                status = http_status_for(error)
                log.warning("dlr.rejected", reason=error.reason, status=status)
                return refused_response(request, error, status)
            if known is False:
                log.warning("dlr.unknown_reply", reason="unknown_reply")
                return web.json_response({"error": "unknown_reply"}, status=404)
            if known:
                metrics.labelled(metrics.DELIVERY_REPORTS, adapter.name, delivery_label(report.status)).inc()
            return web.json_response({"recorded": known is True, "status": report.status})

        return handle

    async def keep_unfiled(self, adapter: WebhookAdapter, message: InboundMessage, error: Exception,
                           parts: tuple[str, InboundMessage | None] | None = None, *, late: bool = False) -> bool:
        """Keep a message a bug of ours failed to file (`gateway.unfiled`): its webhook is answered 500, which Twilio
        does not retry, and its words were lost. Best effort: with Redis away, said in the log (False).

        `parts`, for a concatenated SMS (its buffer, and the message whose parts go: `PartBuffer.mark_done`), are
        marked done in the transaction that keeps it, both or neither: left there, the sweeper took it again after
        the wait, kept and counted it twice, or, the bug gone, filed it while it stayed kept, its acknowledgement held
        back as the kept SMS's repeat; kept, and its mark then failing (Redis), the provider's retry found it again,
        and filed it while it stayed kept, its citizen told it was kept and never given its Tracking ID."""
        also = None
        if parts is not None:
            assert self.parts is not None
            # called with the MULTI; `late`, a sweep's: a part that came as it took the message is its late part
            also = functools.partial(self.parts.mark_done, parts[0], "-", parts[1], late=late)
        try:
            kept = await durably(UnfiledMessages(self.redis).keep, adapter.name, message, error, time.time(), also)
        except NotDurable as failure:
            log.error("message.not_kept", reason=failure.reason, error=type(error).__name__)
            return False
        log.error("message.unfiled", error=kept.error, where=kept.where)
        metrics.UNFILED.labels(adapter.name).inc()
        self.record_signal("message_unfiled", adapter.name, kept.reason)
        return True

    async def tell_kept_unfiled(self, adapter: WebhookAdapter, message: InboundMessage) -> bool:
        """Whether the citizen of a message kept unfiled can be told so: in the answer (Twilio), or by an SMS queued
        through the reply worker (the aggregator, whose answer carries no reply); False when that SMS cannot be
        queued (Redis away, no number), and the provider is answered 500 as before."""
        if not adapter.outbound_replies:
            return True
        assert self.outbound is not None
        try:
            await self.outbound.tell_kept_unfiled(adapter.name, message)
        except GatewayError as failure:
            log.error("reply.not_queued", reply_kind="kept_unfiled", reason=failure.reason)
            return False
        return True

    def webhook_handler(self, adapter: WebhookAdapter) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            clear_message_context()
            bind_message_context(channel=adapter.name)
            counter = metrics.labelled(metrics.NOTIFICATIONS if adapter.notifies_only else metrics.RECEIVED,
                                       adapter.name)
            if not adapter.delivery_reports_inbound:  # counted as it begins, a request whose body never comes too
                counter.inc()
            messages: list[InboundMessage] = []
            joined: list[InboundMessage] = []  # a concatenated SMS's, joined from its parts here
            in_hand: InboundMessage | None = None  # the message being filed, and how many were joined before it
            joined_before = 0
            outcomes: list[Outcome] = []
            try:
                body = await self.read_body(request)
                adapter.authenticate(request, body)
                if adapter.notifies_only:  # no message will end a run of refused signatures here: this does
                    self.note_signature_valid(adapter.name)
                if await adapter.defer(self.redis, request, body):
                    return adapter.respond([])
                messages = adapter.parse(request, body)
                for message in messages:
                    in_hand, joined_before = message, len(joined)
                    if message.part is not None and self.parts is not None:
                        outcomes.extend(await self.handle_part(adapter, message, joined))
                    else:
                        outcomes.append(await self.handle_message(adapter, message))
                in_hand = None
            except GatewayError as error:
                status = http_status_for(error)
                metrics.REJECTED.labels(adapter.name, error.reason).inc()
                refused = status >= 500 and not isinstance(error, Stopping)  # a stop read no report to refuse
                if isinstance(error, AuthenticationFailed):
                    self.signature_refused(adapter.name, error.reason)
                elif refused:  # nothing filed (not durable, no Tracking ID left): the health rules must know
                    self.record_signal("intake_refused", adapter.name, error.reason)
                level = log.error if refused else log.warning
                with sensitive_values(*_citizen_values([*messages, *joined])):  # handle_message's block has ended
                    level("message.rejected", reason=error.reason, detail=error.detail, status=status)
                return refused_response(request, error, status)
            except web.HTTPException:
                raise
            except Exception as error:  # a bug: refused like a report that could not be made durable, and counted
                metrics.REJECTED.labels(adapter.name, INTERNAL_ERROR).inc()
                self.record_signal("intake_refused", adapter.name, INTERNAL_ERROR)
                failed = joined[-1] if in_hand is not None and len(joined) > joined_before else in_hand
                # Kept, and the request's last message (none after it left unread), the citizen is told so and the
                # provider answered 200: before, the 500 got them nothing at all (Twilio neither retries it nor takes
                # a reply later).
                # A concatenated SMS's parts go with it, as the sweeper's do (`keep_unfiled`).
                parts = (self.parts.buffer_key(in_hand), None) \
                    if failed is not in_hand and in_hand is not None and self.parts is not None else None
                kept = failed is not None and await self.keep_unfiled(adapter, failed, error, parts)
                told = kept and failed is not None and in_hand is messages[-1] and \
                    await self.tell_kept_unfiled(adapter, failed)
                # The traceback may quote the message in hand: logged with its words and sender still kept out.
                with sensitive_values(*_citizen_values([*messages, *joined])):
                    log.exception("message.rejected", reason=INTERNAL_ERROR, error=type(error).__name__,
                                  status=200 if told else 500)
                if told:
                    inline = None if adapter.outbound_replies else render("sms_kept_unfiled")
                    if inline is not None and failed is not None and not await self._inline_reply_allowed(
                            adapter, failed, _query_number(failed, self.settings), "kept_unfiled", None):
                        inline = None  # kept all the same; flood control holds the answer, as the aggregator's SMS
                    return adapter.respond([*outcomes, Outcome(reply_text=inline)])
                return web.json_response({"error": INTERNAL_ERROR, "detail": ""}, status=500)
            finally:
                # Where delivery reports of our replies may come (a Twilio status callback URL set to this webhook),
                # every request but those, refused ones included: the adapter counted a report in
                # lapor_delivery_reports_total, and no citizen wrote in.
                if adapter.delivery_reports_inbound and not is_delivery_report(request):
                    counter.inc()
                metrics.labelled(metrics.INTAKE_SECONDS, adapter.name).observe(time.perf_counter() - started)
            if messages:
                self.note_received(adapter.name, report=any(o.tracking_id and not o.duplicate for o in outcomes))
            # A reply in the webhook answer is sent now; a reply through the reply worker is counted when it is.
            replies = 0 if adapter.outbound_replies else sum(1 for outcome in outcomes if outcome.reply_text)
            if replies:
                metrics.labelled(metrics.REPLIES, adapter.name, "sent").inc(replies)
            return adapter.respond(outcomes)

        return handle

    def verify_handler(self, adapter: WebhookAdapter) -> Handler:
        """GET on a webhook path: the provider's subscription handshake (403 when it does not check out)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            clear_message_context()
            bind_message_context(channel=adapter.name)
            try:
                response = adapter.verify(request)
            except AuthenticationFailed as error:
                log.warning("webhook.verify_refused", reason=error.reason)
                return web.json_response({"error": error.reason}, status=403)
            if response is None:
                raise web.HTTPMethodNotAllowed("GET", ["POST"])
            log.info("webhook.verified")
            return response

        return handle


def refused_response(request: web.Request, error: GatewayError, status: int) -> web.Response:
    """The JSON answer to a refused request; one that leaves its body unread (a 413 for the Content-Length it
    declared, sent before the body, or a 408) also closes the connection (`Connection: close`): a keep-alive
    client sends its next request on it, which was read as the rest of that body and never answered."""
    response = web.json_response({"error": error.reason, "detail": error.detail}, status=status)
    if not request.content.is_eof():
        response.force_close()
    return response


def _declared_too_large(request: web.Request, limit: int) -> bool:
    """Whether the request's Content-Length announces more than `limit` bytes (raw bytes: aiohttp refuses past
    `client_max_size` whatever their Content-Encoding)."""
    declared = request.content_length
    return declared is not None and declared > limit


async def expect_within_limit(request: web.Request) -> None:
    """`Expect: 100-continue` on a webhook: aiohttp's answer (100 Continue, or 417 for another expectation), but for
    a Content-Length past the limit, where no 100 is sent: the client, waiting for it, gets the handler's 413 at once
    instead of sending the body it was about to have refused."""
    if _declared_too_large(request, request.app[GATEWAY_KEY].settings.http.max_body_bytes):
        return
    expect = request.headers.get("Expect", "")
    if request.version == HttpVersion11:
        if expect.lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # as aiohttp's own: the body's size counts from here


async def _read_body(request: web.Request, limit: int) -> bytes:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise TooLarge("request body exceeds the limit", reason="body_too_large") from error
    except ConnectionResetError as error:  # the caller hung up mid-body: routine, and nothing was acknowledged
        raise RejectedInput("connection closed before the body ended", reason="client_disconnected") from error
    return decoded_body(body, request.headers.get("Content-Encoding", ""), limit)


# The Content-Encodings a webhook body is taken in (zlib's window bits for each); the app decodes them itself
# (`auto_decompress` off): aiohttp's own decoding raised an undecodable body from `request.read()` (a 500 with a
# traceback, counted as a refused report), or refused a deflate stream that never ended with a plain-text 400 and an
# error line of its own, before any handler saw the request.
CONTENT_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decoded_body(body: bytes, encoding: str, limit: int) -> bytes:
    """`body` as its Content-Encoding says, at most `limit` bytes once decoded (a small gzip can hold gigabytes):
    RejectedInput `bad_body` for an encoding not taken or a body that does not decode, TooLarge past the limit. A gzip
    body of several members (RFC 1952) is all of them, one after the other: only the first was read, the rest of the
    message dropped without a word."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    wbits = CONTENT_ENCODINGS.get(encoding)
    if wbits is None:
        raise RejectedInput(f"Content-Encoding {encoding[:40]!r} is not taken (gzip, deflate)", reason="bad_body")
    if encoding == "deflate" and not _zlib_header(body):  # raw deflate without its zlib header, as some send
        wbits = -zlib.MAX_WBITS
    decoded, rest = b"", body
    while True:
        decompressor = zlib.decompressobj(wbits)
        try:
            decoded += decompressor.decompress(rest, limit + 1 - len(decoded))
        except zlib.error as error:
            raise RejectedInput(f"the body does not decode as {encoding}", reason="bad_body") from error
        if len(decoded) > limit:
            raise TooLarge("request body exceeds the limit once decoded", reason="body_too_large")
        if not decompressor.eof:
            raise RejectedInput(f"the {encoding} body ends before its stream does", reason="bad_body")
        rest = decompressor.unused_data
        if not rest.strip(b"\0"):  # the end, or the zero bytes some writers pad a gzip file with
            return decoded
        if encoding == "deflate":
            raise RejectedInput("the deflate body goes on after its stream's end", reason="bad_body")


def _zlib_header(body: bytes) -> bool:
    """Whether `body` opens with a zlib header (RFC 1950: method 8, the two bytes a multiple of 31)."""
    return len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0


OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"


def openapi_handler() -> Handler:
    """The gateway's own HTTP contract (OpenAPI 3.1), as the schemathesis test reads it; read once at start-up."""
    document = OPENAPI_PATH.read_bytes()

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/yaml")

    return openapi


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# What /readyz writes to prove Redis takes writes (a PING is answered by a read-only replica, a Redis full at its
# maxmemory and one that cannot write its disk alike), and for how long it keeps.
READY_KEY = "lapor:readyz"
READY_KEY_SECONDS = 10
# How long /readyz waits for Redis and for the spool's disk.
READY_CHECK_SECONDS = 2.0
# How long the spool's disk taking /readyz's probe file stands for it taking one: one write, fsync and delete a second
# at most per process, however many load balancers ask how often, not one per probe.
SPOOL_PROOF_SECONDS = 1.0


def _accepts_a_write(redis: Redis) -> None:
    redis.set(READY_KEY, "1", ex=READY_KEY_SECONDS)


async def _redis_check(gateway: Gateway) -> None:
    """Returns once Redis took /readyz's write; raises its error, or TimeoutError past READY_CHECK_SECONDS. A write
    still in flight (a hung Redis) is joined, not started again beside it."""
    probe = gateway.redis_probe
    if probe is None or probe.done():
        probe = gateway.redis_probe = asyncio.get_running_loop().run_in_executor(gateway.redis_prober,
                                                                                 _accepts_a_write, gateway.redis)
        probe.add_done_callback(lambda done: done.cancelled() or done.exception())  # read, should no one wait now
    await asyncio.wait_for(asyncio.shield(probe), READY_CHECK_SECONDS)


def _probe_spool(spool: Spool, prove: bool) -> int:
    """Write, fsync and delete a file in the spool directory when `prove` (SpoolNotWritable if it cannot); the
    reserves stopped processes left there, counted every time: any process on the directory may take one."""
    if prove:
        spool.check_writable()
    return spool.saved_reserves()


def _spool_probed(gateway: Gateway, proven_at: float | None, probe: asyncio.Future[int]) -> None:
    """A spool probe ended: a proof that held is kept, as of when it started (`proven_at`; None for a probe that only
    counted). Also retrieves the exception of a probe nobody awaits any more."""
    if not probe.cancelled() and probe.exception() is None and proven_at is not None:
        gateway.spool_proven_at = proven_at


async def _spool_state(gateway: Gateway, spool: Spool) -> tuple[str, int]:
    """("ok", the saved reserves), ("not_writable", 0), or ("not_answering", 0) when the disk took longer than
    READY_CHECK_SECONDS. A probe still running (a hung disk) is joined, not started again beside it; a file the disk
    took less than SPOOL_PROOF_SECONDS ago is not written again."""
    probe = gateway.spool_probe
    if probe is None or probe.done():
        loop = asyncio.get_running_loop()
        now, proven_at = loop.time(), gateway.spool_proven_at
        prove = proven_at is None or now - proven_at >= SPOOL_PROOF_SECONDS
        probe = gateway.spool_probe = loop.run_in_executor(gateway.spool_prober, _probe_spool, spool, prove)
        probe.add_done_callback(functools.partial(_spool_probed, gateway, now if prove else None))
    try:
        return "ok", await asyncio.wait_for(asyncio.shield(probe), READY_CHECK_SECONDS)
    except TimeoutError:  # before OSError, of which it is one
        return "not_answering", 0
    except (SpoolNotWritable, OSError):
        return "not_writable", 0


def readyz_handler(gateway: Gateway) -> Handler:
    async def readyz(_: web.Request) -> web.Response:
        """Ready while reports can be made durable: Redis takes a write (not only a PING) and the spool's disk takes
        a file; or Redis does not, and this process answers from the spool. Both looked at off the loop, at once."""
        spool = gateway.intake.spool
        redis_check = asyncio.ensure_future(_redis_check(gateway))
        spool_state, saved = await _spool_state(gateway, spool) if spool is not None else ("ok", 0)
        # Reports this process could not make durable anywhere when Redis fails: out of rotation, whatever Redis says.
        unwritable = {"spool": spool_state} if spool_state != "ok" else {}
        try:
            await redis_check
        except Exception as error:  # the reason goes to the caller
            # Still ready while this process answers citizens from the disk spool: a load balancer that takes every
            # gateway out when Redis fails would turn the spool's answers into connection errors. It answers while
            # it holds IDs in reserve, or a stopped process left some in the spool directory (taken when its own run
            # out); without either it can only answer 503, and another gateway may do better.
            reserve = gateway.intake.reserve
            if spool is not None and not unwritable and (reserve > 0 or saved):
                return web.json_response({"status": "ready", "redis": type(error).__name__, "spool": "answering",
                                          "reserve": reserve, "saved_reserves": saved})
            return web.json_response({"status": "unavailable", "redis": type(error).__name__, **unwritable},
                                     status=503)
        if unwritable:
            return web.json_response({"status": "unavailable", "redis": "ok", **unwritable}, status=503)
        return web.json_response({"status": "ready", "redis": "ok"})

    return readyz


def metrics_response(collected: metrics.CollectedMetrics | None = None) -> web.Response:
    """The exposition of `collected` (the health check's collection), or of a collection made now."""
    payload, content_type = metrics.render_metrics(collected)
    return web.Response(body=payload, headers={"Content-Type": content_type})


async def _bounded_check(gateway: Gateway, collect: bool = False) -> Any:
    """The health check (with its metrics collection when `collect`), or `CheckOutlasted` (a TimeoutError) past the
    views' bound (`health.view_check_seconds`, 3 s). A Redis that never answers costs the check the socket timeout
    (intake.redis_timeout_seconds, 2 s): the views say "down" or show the process's own metrics before a scraper's
    timeout (Prometheus: 10 s) instead.

    A check already running is joined, not started again: a thread waiting on a hung Redis keeps waiting after its
    caller gave up, and the default executor it shares with the spool replayer has only a few threads.

    The outage lines are told by how the check ends, not by how long a view waited for it: a Redis slow past the
    views' bound but answering is no outage to alert on, and a hung one fails the check on its own socket timeout."""
    assert gateway.monitor is not None
    running = gateway.view_checks.get(collect)
    if running is None or running.done():
        check = gateway.monitor.check_and_collect if collect else gateway.monitor.check
        running = asyncio.ensure_future(asyncio.to_thread(check))
        running.add_done_callback(functools.partial(_tell_outage, gateway.redis_outage))
        gateway.view_checks[collect] = running
    bound = gateway.settings.health.view_check_seconds
    try:
        return await asyncio.wait_for(asyncio.shield(running), bound)
    except TimeoutError as error:
        if not running.done() or running.cancelled():  # cancelled: by the loop's shutdown, as the bound passed
            raise CheckOutlasted(bound) from error
        return running.result()  # it ended as the bound passed: its own document, or its own error


def _tell_outage(outage: RedisOutage, future: asyncio.Future[Any]) -> None:
    """A view's check ended: Redis lost or back as it found it. Retrieving the exception here also keeps a check
    nobody awaits any more from logging "never retrieved"."""
    if future.cancelled():
        return
    error = future.exception()
    if error is None:
        outage.back()
    elif isinstance(error, RedisError):
        outage.lost(error)


def _check_failed(view: str, error: Exception) -> dict[str, object]:
    """A view's check failed on an error that is not Redis's: logged with its traceback, and answered with the
    document that says so (the views answered a bare 500, which said nothing of why)."""
    log.exception("health.check_failed", view=view, error=type(error).__name__)
    return check_failed_document(error, time.time())


def _redis_down(gateway: Gateway, error: BaseException) -> dict[str, Any]:
    """The document while Redis does not answer, since when this process's outage began (`gateway.redis_lost`)."""
    assert gateway.monitor is not None
    return gateway.monitor.redis_down(error, since=gateway.redis_outage.since_at)


def status_json_handler(gateway: Gateway) -> Handler:
    async def status(_: web.Request) -> web.Response:
        try:
            document = await _bounded_check(gateway)
        except (RedisError, TimeoutError) as error:
            return web.json_response(_redis_down(gateway, error), status=503)
        except Exception as error:
            return web.json_response(_check_failed("status", error), status=503)
        return web.json_response(document)

    return status


def status_page_handler(gateway: Gateway) -> Handler:
    async def page(request: web.Request) -> web.Response:
        # `?refresh=N` holds for the pages of Redis down and of a failed check too: they reloaded at the settings'
        # period, so an operator's page reloading every 2 s slowed to every 10 s just as Redis went away.
        refresh = gateway.settings.health.page_refresh_seconds
        asked = request.query.get("refresh", "")
        if asked.isascii() and asked.isdigit() and len(asked) <= 6:  # "²".isdigit(), and int() of 5,000 digits
            refresh = max(1, int(asked))
        try:
            document = await _bounded_check(gateway)
        except (RedisError, TimeoutError) as error:
            text = render_redis_down_page(_redis_down(gateway, error), refresh, gateway.settings.operator_zone)
            return web.Response(text=text, content_type="text/html", status=503)
        except Exception as error:
            text = render_check_failed_page(_check_failed("status_page", error), refresh,
                                            gateway.settings.operator_zone)
            return web.Response(text=text, content_type="text/html", status=503)
        return web.Response(text=render_status_page(document, refresh, gateway.settings.operator_zone),
                            content_type="text/html")

    return page


def metrics_with_health_handler(gateway: Gateway) -> Handler:
    async def metrics_view(_: web.Request) -> web.Response:
        if gateway.monitor is not None:
            try:  # queue gauges and states as of now
                checked = await _bounded_check(gateway, collect=True)
            except (RedisError, TimeoutError) as error:  # the process's own metrics (the spool's size too) still count
                _redis_down(gateway, error)
            except Exception as error:  # as for the status views: the process's own metrics still count
                _check_failed("metrics", error)
            else:  # the check collected every metric once already: render that, not a second collection
                return metrics_response(checked.collected)
        return metrics_response()

    return metrics_view


async def _to_thread_to_its_end(func: Callable[..., Any], *args: Any) -> Any:
    """`asyncio.to_thread`, which a cancel does not leave running: a stop waits for the call in flight, so nothing of
    the health loop (its write of the switched-off channels, a check's) lands in Redis after the gateway stopped, where
    a write came after it and said channels were switched off for a gateway that was gone."""
    call = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await call
        raise


async def health_loop(gateway: Gateway) -> None:
    """Evaluate every channel every `health.evaluate_seconds` (logging changes), and log the heartbeat. Each period
    also says which channels this gateway runs switched off (`publish_disabled`), from the start on: the one write of
    the loop, so `lapor-gateway status` without the processes' settings does not call such a channel down."""
    assert gateway.monitor is not None
    settings = gateway.settings.health
    last_heartbeat = time.monotonic()
    while True:
        with contextlib.suppress(RedisError):  # Redis away: the check after says so, the next period writes again
            await _to_thread_to_its_end(publish_disabled, gateway.redis, gateway.monitor.disabled,
                                        settings.evaluate_seconds)
        await asyncio.sleep(settings.evaluate_seconds)
        try:
            document = await _to_thread_to_its_end(gateway.monitor.check)
        except RedisError as error:  # Redis away: said once, keep trying; webhooks go to the disk spool meanwhile
            gateway.redis_outage.lost(error)
            document = None
            with contextlib.suppress(Exception):  # the heartbeat goes on even if reading the spool fails
                document = await asyncio.to_thread(_redis_down, gateway, error)
        except Exception as error:  # a bug: said each time, the loop goes on
            log.error("health.check_failed", error=type(error).__name__)
            document = None
        else:
            gateway.redis_outage.back()
        if document is None:
            continue
        if settings.heartbeat_seconds and time.monotonic() - last_heartbeat >= settings.heartbeat_seconds:
            last_heartbeat = time.monotonic()
            log_heartbeat(document)


def log_heartbeat(document: dict[str, object]) -> None:
    """One line with every channel's state (and reason, when not ok) and counters, the queues and the dead
    letters; while Redis is away,
    one saying so with the spool's size (the one figure that moves then)."""
    if "channels" not in document:
        log.error("health.heartbeat", overall=document["overall"], reason=document["reason"],
                  redis=document["redis"], redis_down_since=document.get("redis_down_since"),
                  spool_size=document["spool_size"], **_spool_failure_fields(document))
        return
    channels = document["channels"]
    assert isinstance(channels, list)
    log.info("health.heartbeat", overall=document["overall"],
             # A list, not a mapping by name: a key called "email" would be taken for an address and redacted.
             channels=[{"channel": c["channel"], "state": c["state"],
                        **({"reason": c["reason"]} if c["reason"] else {}), **c["counters"]} for c in channels],
             queues={q["name"]: {"depth": q["depth"], "held": q["held"], "scheduled": q["scheduled"],
                                 "oldest_age_seconds": q["oldest_age_seconds"], "workers": q["workers"],
                                 "last_failure": q["last_failure"],
                                 "in_progress": q["in_progress"],
                                 "oldest_in_progress_seconds": q["oldest_in_progress_seconds"],
                                 **({"error": q["error"]} if q["error"] else {})}
                     for q in document["queues"]},  # type: ignore[union-attr]
             deadletters=document["deadletters"], spool_size=document["spool_size"],
             **({"casestore_outage": document["casestore_outage"]} if document.get("casestore_outage") else {}),
             **({"casestore_refusing": document["casestore_refusing"]} if document.get("casestore_refusing")
                else {}),
             **_spool_failure_fields(document),
             **({"spool_stuck": document["spool_stuck"]} if document.get("spool_stuck") else {}))


def _spool_failure_fields(document: dict[str, object]) -> dict[str, object]:
    """The heartbeat's fields of a disk spool that cannot be written, and since when; none while it can."""
    if not document.get("spool_failure"):
        return {}
    return {"spool_failure": document["spool_failure"], "spool_failure_since": document.get("spool_failure_since")}


GATEWAY_KEY = web.AppKey("gateway", Gateway)


def create_app(settings: Settings, redis: Redis, intake: Intake | None = None) -> web.Application:
    gateway = Gateway(settings=settings, redis=redis, intake=intake or build_intake(settings, redis))
    gateway.adapters = enabled_webhook_adapters(settings)
    gateway.webhook_paths = webhook_channels(gateway.adapters)
    gateway.signals = HealthSignals(redis)
    gateway.signal_writer = SignalWriter(gateway.signals)
    gateway.spool_status = SpoolProbe(Spool(settings.data_dir / SPOOL_DIR), wait=False, tell=True)
    gateway.monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir,
                                    disabled=disabled_channels(settings), polled=polled_accounts(settings),
                                    signals=gateway.signals, spool_failure=gateway.spool_status.failure,
                                    spool_failing_since=gateway.spool_status.failing_since)
    # No middleware at all when the limit is off: aiohttp wraps every request once more per middleware.
    middlewares = ([rate_limit_middleware(settings.ratelimit, throttled=gateway.note_throttled)]
                   if settings.ratelimit.enabled else [])
    app = web.Application(client_max_size=settings.http.max_body_bytes, middlewares=middlewares,
                          handler_args={"auto_decompress": False})  # `decoded_body` decodes it
    app[GATEWAY_KEY] = gateway
    for adapter in gateway.adapters:
        app.router.add_post(adapter.path, gateway.webhook_handler(adapter), expect_handler=expect_within_limit)
    if any(adapter.outbound_replies for adapter in gateway.adapters):
        gateway.outbound = OutboundReplies(redis, settings)
        gateway.parts = PartBuffer(redis, settings)
    for adapter in gateway.adapters:
        if adapter.dlr_path:
            app.router.add_post(adapter.dlr_path, gateway.dlr_handler(adapter), expect_handler=expect_within_limit)
        if type(adapter).verify is not WebhookAdapter.verify:
            app.router.add_get(adapter.path, gateway.verify_handler(adapter))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz_handler(gateway))
    app.router.add_get("/metrics", metrics_with_health_handler(gateway))
    app.router.add_get("/v1/status", status_json_handler(gateway))
    app.router.add_get("/status", status_page_handler(gateway))
    app.router.add_get("/openapi.yaml", openapi_handler())

    # The beat ends when the process stops listening (on shutdown: the sites are closed, the handlers in flight not
    # drained yet, which may take 10 s), its round trip in flight finished, so no beat comes after. The last one is
    # left to age (gateway/liveness.py).
    async def stop_beating(_: web.Application) -> None:
        gateway.beat_stop.set()
        await asyncio.gather(*gateway.beats)

    async def stop_reading_bodies(_: web.Application) -> None:
        gateway.stop_reading_bodies()

    async def close_while_draining(_: web.Request, response: web.StreamResponse) -> None:
        if gateway.draining:  # its headers are written after this: the client reads the close
            gateway.last_answer_at = asyncio.get_running_loop().time()
            response.force_close()
            response.headers[hdrs.CONNECTION] = "close"

    app.on_response_prepare.append(close_while_draining)
    app.on_shutdown.append(stop_reading_bodies)
    app.on_shutdown.append(stop_beating)

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        gateway.status_client = casestore_client(settings, timeout=LOOKUP_SECONDS)
        replayer = asyncio.create_task(run_spool_replayer(gateway.intake))
        monitor_task = asyncio.create_task(health_loop(gateway))
        yield
        await stop_beating(app)  # done on shutdown, unless the app stopped before serving (a failed start)
        replayer.cancel()
        monitor_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await monitor_task  # its call in flight ends first (`_to_thread_to_its_end`)
        await gateway.status_client.aclose()
        gateway.spool_prober.shutdown(wait=False)
        gateway.redis_prober.shutdown(wait=False)
        if gateway.spool_status is not None:
            gateway.spool_status.close()
        gateway.signal_writer.close()
        gateway.intake.close()

    app.cleanup_ctx.append(lifecycle)

    async def part_sweeper(_: web.Application) -> AsyncIterator[None]:
        task = None
        if gateway.parts is not None:
            task = asyncio.create_task(run_sweeper(gateway.parts, gateway.handle_expired_parts,
                                                   settings.aggregator.concat_sweep_seconds))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(part_sweeper)
    return app
