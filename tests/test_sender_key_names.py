"""Redis key names that count a sender's messages (SMS flood control, the hourly e-mail reply cap, the cap on public
replies per X or Instagram account) or name their text (one report for the same SMS sent again) carry the sender's
keyed digest, never a plain hash of it: a key name is read by
anyone with the Redis (SCAN, a dump, the append-only file), and a plain hash of a phone number is undone by hashing
every number there is."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from redis import Redis

from gateway.intake import Intake
from gateway.outbound import OutboundReplies
from gateway.queues import key_digest, sender_digest
from gateway.settings import Settings
from normalizer.envelope import Channel, ReportDraft, Sender, SenderKind
from tests.conftest import TestEnvironment, free_port
from tests.email_support import SmtpServerThread, fixture, run_replies
from tests.social_helpers import FakeProviderServer

NUMBER = "+6281234567890"
ADDRESS = "budi.santoso1987@gmail.com"
X_AUTHOR = "1447000000000000001"


def plain_hashes(*senders: str) -> set[str]:
    """The sender's plain hashes as a key name could hold them: a prefix long enough to tell one number from all the
    others, of the sender as the code may have hashed it (bare, or as `kind:id`)."""
    forms = {*senders, *(f"{kind.value}:{sender}" for kind in SenderKind for sender in senders)}
    return {hashlib.sha256(form.encode()).hexdigest()[:16] for form in forms} | {
        hashlib.md5(form.encode()).hexdigest()[:16] for form in forms}


def key_names(redis: Redis, pattern: str) -> list[str]:
    return [key.decode() for key in redis.scan_iter(pattern)]


def assert_keyed(names: Iterable[str], settings: Settings, sender: str, *plain: str) -> None:
    names = list(names)
    assert names, "the counter was not written"
    assert not [name for name in names for digest in plain_hashes(*plain) if digest in name], names
    assert all(sender_digest(settings, sender) in name for name in names), names


def test_the_flood_control_key_names_a_numbers_keyed_digest(settings: Settings, redis: Redis) -> None:
    outbound = OutboundReplies(redis, settings)
    assert outbound.count_message("sms-aggregator", NUMBER, "m-1")
    assert_keyed(key_names(redis, "lapor:flood:*"), settings, NUMBER, NUMBER, NUMBER.lstrip("+"), "0" + NUMBER[3:])


def test_the_email_reply_cap_key_names_an_addresss_keyed_digest(test_env: TestEnvironment, redis: Redis) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        server.deliver(fixture("gmail_alternative"), mail_from=ADDRESS)
    finally:
        server.stop()
    run_replies(settings, redis)
    assert_keyed(key_names(redis, "lapor:email:replycap:*"), settings, ADDRESS, ADDRESS, ADDRESS.upper())


def test_the_social_reply_cap_key_names_an_accounts_keyed_digest(
        fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis) -> None:
    from channels.x_mentions import XMentionsPoller

    settings = test_env.settings(**fake.env())
    intake = Intake(redis, settings)
    try:
        fake.state.add_tweet("@lapor1708 pungli di loket 3", username="saksi_rahasia", author_id=X_AUTHOR)
        XMentionsPoller(settings, redis, intake).poll_once()
    finally:
        intake.close()
    assert_keyed(key_names(redis, "lapor:social:reply-cap:*"), settings, f"{SenderKind.X_USER.value}:{X_AUTHOR}",
                 X_AUTHOR, "saksi_rahasia")


def test_the_same_text_key_names_the_senders_keyed_digest_with_the_text(settings: Settings, redis: Redis) -> None:
    """The key that makes the same SMS sent again one report names its sender and words: a plain hash of a number
    and a short text ("jalan rusak") is undone by trying every number with the likely texts."""
    text = "LAPOR jalan rusak"
    draft = ReportDraft(received_at=datetime(2026, 12, 4, tzinfo=UTC), channel=Channel.SMS, channel_message_id="SM1",
                        sender=Sender(kind=SenderKind.MSISDN, id=NUMBER), text=text)
    intake = Intake(redis, settings)
    try:
        asyncio.run(intake.submit(draft, ("sms-twilio", 600)))
    finally:
        intake.close()
    names = key_names(redis, "lapor:sametext:*")
    identity = (NUMBER, draft.kind.value, "False", "False", "", text.casefold())
    assert names and not [name for name in names if key_digest(*identity) in name], names
    assert names == [f"lapor:sametext:sms-twilio:{sender_digest(settings, *identity)}"]
