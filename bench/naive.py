"""The straightforward design, for comparison: what a newcomer writes with the same libraries.

The aiohttp handler checks the Twilio signature, normalizes the message with the same normalizer, takes a
Tracking ID from a Redis counter, dedups with SET NX and calls RQ's `Queue.enqueue` (synchronous, inside the
handler); RQ's default worker (which forks per job) runs `post_report`, one `httpx.post` per report.
Run: `python -m bench.naive --port N` (the web part) and `rq worker -u REDIS naive` (the worker).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from aiohttp import web

QUEUE = "naive"


def post_report(envelope: dict[str, Any]) -> int:
    """The RQ job: one report, one POST to the case store."""
    response = httpx.post(
        os.environ["LAPOR_CASESTORE_URL"] + "/v1/reports",
        json=envelope,
        headers={"Authorization": f"Bearer {os.environ['LAPOR_CASESTORE_TOKEN']}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.status_code


def create_app() -> web.Application:
    # Imported here, not at the top: each forked work horse imports this module for `post_report`, and should
    # pay for httpx only, as a newcomer's jobs module would.
    from aiohttp import web
    from redis import Redis
    from rq import Queue
    from twilio.request_validator import RequestValidator
    from twilio.twiml.messaging_response import MessagingResponse

    from channels.twilio_sms import TwilioSmsAdapter
    from gateway.settings import load_settings
    from gateway.tracking import format_tracking_id
    from normalizer.pipeline import normalize

    settings = load_settings()
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(QUEUE, connection=redis)
    validator = RequestValidator(settings.twilio.auth_token)
    adapter = TwilioSmsAdapter(settings)
    url = settings.public_url + adapter.path

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        form = dict((await request.post()).items())
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            return web.Response(status=403)
        [message] = adapter.parse(request, body)
        draft = normalize(message).draft
        assert draft is not None
        sid_key = f"naive:sid:{message.provider_message_id}"
        tracking_id = format_tracking_id(redis.incr("naive:seq") + 1_000_000)
        if not redis.set(sid_key, tracking_id, nx=True):
            tracking_id = redis.get(sid_key).decode()  # type: ignore[union-attr]
        else:
            queue.enqueue(post_report, draft.with_tracking_id(tracking_id).model_dump(mode="json"))
        reply = MessagingResponse()
        reply.message(f"LAPOR! Laporan Anda diterima. Nomor lacak: {tracking_id}")
        return web.Response(text=str(reply), content_type="application/xml")

    app = web.Application()
    app.router.add_post(adapter.path, webhook)
    app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvloop
    from aiohttp import web

    # Through the module's own name: RQ refuses job functions that live in __main__.
    from bench.naive import create_app as create

    uvloop.install()
    web.run_app(create(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
