"""Instagram's `mentions` and `comments` webhook: GET|POST /v1/channels/instagram/webhook.

GET is Meta's subscription handshake: `hub.mode=subscribe` and our `hub.verify_token` -> echo `hub.challenge`.
POST carries X-Hub-Signature-256 (`sha256=` HMAC-SHA256 of the raw body with the app secret) and only the ids of
the comment or media that mentions us. Meta keeps no copy of a notification, so before answering 200 the raw
notification is made durable on a Redis list (`defer`); the Instagram poller fetches the text from the Graph API
and turns it into a report (see channels/instagram_graph.py). If Redis cannot take it we answer 503 and Meta
retries. Fetching inline would tie our 200 to the Graph API's latency and failures; deferring does not.

A `comments` change (a comment under one of our own posts, which never comes as a mention) carries its text: one
that addresses us is kept on a list of its own, as durably, for the same poller to file (no lookup); our own
comments and those not written to us ("mantap min", emoji) are only counted (`comment_left_out`).

Direct messages (an entry's `messaging` list, Story mentions among them: Meta delivers those only as a direct message)
are not taken: each is logged `webhook.message_not_taken` and counted rejected as `unsupported`, and answered 200.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import web
from redis import Redis
from redis.exceptions import RedisError

from channels.base import InboundMessage, Outcome, WebhookAdapter, subscription_handshake, verify_hmac_sha256
from channels.instagram_graph import (
    COMMENTS_KEY,
    THREAD_COMMENTS_KEY,
    comment_left_out,
    in_answered_thread,
    notification_items,
    read_json,
    store_pending,
)
from gateway import metrics
from gateway.errors import NotDurable, RejectedInput
from gateway.logs import get_logger

log = get_logger()

# Why a direct message or Story mention is counted rejected (`lapor_messages_rejected_total{reason=...}`): the gateway
# does not take Instagram's direct messages (README, "Direct messages and Story mentions").
UNSUPPORTED = "unsupported"


class InstagramWebhookAdapter(WebhookAdapter):
    name = "instagram"
    path = "/v1/channels/instagram/webhook"
    settings_section = "instagram"
    notifies_only = True

    def verify(self, request: web.Request) -> web.Response | None:
        return subscription_handshake(request, self.settings.instagram.verify_token)

    def authenticate(self, request: web.Request, body: bytes) -> None:
        verify_hmac_sha256(self.settings.instagram.app_secret, body, request.headers.get("X-Hub-Signature-256"))

    async def defer(self, redis: Redis, request: web.Request, body: bytes) -> bool:
        try:
            notifications = notification_items(read_json(body), self.settings.instagram.ig_user_id)
        except (orjson.JSONDecodeError, ValueError) as error:
            raise RejectedInput(f"not a mentions notification: {error}", reason="bad_payload") from error
        items, comments = notifications.items, notifications.comments
        # Nothing in it could be read: refused whole. A direct message beside a bad change was read (and counted).
        if notifications.rejected and not items and not comments and not notifications.messages:
            raise RejectedInput(f"no mentions change could be read: {notifications.rejected[0]}", reason="bad_payload")
        settings = self.settings.instagram
        ours = [item for item in items if item["ig_user_id"] in ("", settings.ig_user_id)]
        on_our_posts = [item for item in comments if item["ig_user_id"] in ("", settings.ig_user_id)]
        # Read by the keyword grammar, off the event loop as the Redis writes are. One not written to us that replies
        # in a thread where we answered a report is kept too, on a list apart: the poller files it if it is the
        # reporter's (InstagramPoller.take_comments).
        # A comment whose reading raises (a bug of ours its words met) is kept as one written to us: the poller files
        # it, or keeps it unfiled (MentionIntake's guard). Raised here, it answered the whole delivery 500, at each of
        # Meta's retries, and every mention and comment beside it was lost with it.
        def verdict(item: dict[str, Any]) -> tuple[str | None, bool]:
            try:
                reason = comment_left_out(item, settings)
            except Exception as error:  # never a Redis error: the reading asks the grammar alone
                log.error("webhook.comment_unread", reason="internal_error", error=type(error).__name__)
                return None, False
            return (None, True) if reason == "not_addressed" and in_answered_thread(redis, item) else (reason, False)

        try:
            verdicts = await asyncio.to_thread(lambda: [verdict(item) for item in on_our_posts])
        except RedisError as error:
            raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error
        to_us = [item for item, (reason, in_thread) in zip(on_our_posts, verdicts, strict=True)
                 if reason is None and not in_thread]
        in_threads = [item for item, (_, in_thread) in zip(on_our_posts, verdicts, strict=True) if in_thread]
        left_out = [reason for reason, _ in verdicts if reason is not None]
        await asyncio.to_thread(store_pending, redis, settings.ig_user_id, ours)
        await asyncio.to_thread(store_pending, redis, settings.ig_user_id, to_us, key=COMMENTS_KEY)
        await asyncio.to_thread(store_pending, redis, settings.ig_user_id, in_threads, key=THREAD_COMMENTS_KEY)
        for reason in left_out:  # counted, never with its text or author
            metrics.labelled(metrics.COMMENTS_LEFT_OUT, self.name, reason).inc()
        for reason in notifications.rejected:  # the rest of the delivery is taken: refused, Meta resent it whole
            metrics.labelled(metrics.REJECTED, self.name, "bad_payload").inc()
            log.warning("webhook.change_rejected", reason="bad_payload", detail=reason)
        # A citizen's direct message or Story mention is not taken (no report, no answer): said and counted, by its
        # kind alone (never its words, sender or address), and answered 200 so that Meta does not send it again.
        messages = [message for message in notifications.messages
                    if message["ig_user_id"] in ("", settings.ig_user_id)]
        for message in messages:
            metrics.labelled(metrics.REJECTED, self.name, UNSUPPORTED).inc()
            log.warning("webhook.message_not_taken", reason=UNSUPPORTED, kind=message["kind"])
        log.info("webhook.stored", notifications=len(ours), ignored=len(items) - len(ours) + len(comments)
                 - len(on_our_posts) + len(notifications.messages) - len(messages),
                 rejected=len(notifications.rejected), comments=len(to_us), thread_comments=len(in_threads),
                 own_comments=left_out.count("own"), comments_not_addressed=left_out.count("not_addressed"),
                 messages_not_taken=len(messages))
        return True

    def parse(self, request: web.Request, body: bytes) -> list[InboundMessage]:
        """Never called: `defer` takes every notification (the text is not in it)."""
        return []

    def respond(self, outcomes: Sequence[Outcome]) -> web.Response:
        return web.Response(text="EVENT_RECEIVED", content_type="text/plain")
