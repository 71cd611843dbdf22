"""The ceiling of the HTTP stack: the same aiohttp + uvloop, a handler that reads the form and returns fixed TwiML.

`python -m bench.bare --port N [--reuse-port]`. Whatever the gateway adds (signature check, normalizing, intake) is
measured against this.
"""

from __future__ import annotations

import argparse

from aiohttp import web

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>LAPOR! Laporan Anda diterima.</Message></Response>'


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text=TWIML, content_type="application/xml")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reuse-port", action="store_true", help="share the port with other bare processes")
    args = parser.parse_args()
    import uvloop

    uvloop.install()
    app = web.Application()
    app.router.add_post("/v1/channels/sms/twilio", handle)
    app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None,
                reuse_port=args.reuse_port or None)


if __name__ == "__main__":
    main()
