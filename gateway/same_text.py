"""One report for the same text: a citizen who sends the same SMS again within a window has sent one report.

A feature phone gives no sign that an SMS arrived, and an impatient citizen sends it again: two Tracking IDs and
two cases at the agency for one complaint. So, on the SMS channels (`WebhookAdapter.same_text_window`), the same
text from the same number within the channel section's `same_text_window_seconds` is mapped onto the first
message's provider id, which intake already dedups: the repeat gets the first report's Tracking ID, and the gateway
answers it "we already have this report" (`[duplicate]`; `[duplicate_anonymous]` for an anonymous one). The same
text means the same sender, kind, flags (anonymous, confidential), report followed up, and words (case and runs of
spaces aside): an `ANONIM` repeat of a named report, or the same words added to another report, is a message of its
own. So is a message with files.

A repeat remembers the id it was mapped onto for as long as intake's claim on a provider id lasts
(`intake.dedup_ttl_seconds`): its own id is never claimed, so the provider's retry of it after the window would
otherwise be a second report, under a Tracking ID the citizen is never told. The provider's retry of the first
message maps onto itself: it is the one message the citizen sent, and gets the answer its first delivery got.

It lives apart from the reply sender (`gateway.outbound`), and costs a Redis round trip on a worker thread a message
(about 0.6 ms of the gateway's CPU). The aggregator, whose replies go through Redis anyway, pays it; on Twilio's
webhook it halved intake (bench --quick: 1,050-1,141 webhooks/s without it, 559-690 with it), so Twilio gets it once
the check rides intake's batch claim (gateway/intake.py: one script a batch) instead.
"""

from __future__ import annotations

from redis import Redis

from gateway.logs import get_logger
from gateway.outbound import key_digest
from gateway.settings import Settings
from normalizer.envelope import ReportDraft

log = get_logger()

SAME_TEXT_KEY = "lapor:sametext:{source}:{digest}"
# A repeat's provider id, mapped onto the first message's: its retry maps the same way once the window is over.
REPEAT_OF_KEY = "lapor:sametext-of:{source}:{digest}"

# KEYS: the same-text key, the message's repeat-of key; ARGV: its provider id, the window, the repeat-of TTL.
_FIRST_OF_SAME_TEXT = """
local mapped = redis.call('GET', KEYS[2])
if mapped then return mapped end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
local first = redis.call('GET', KEYS[1])
if first and first ~= ARGV[1] then redis.call('SET', KEYS[2], first, 'EX', ARGV[3]) end
return first
"""


class SameText:
    """Synchronous Redis work: the gateway runs it on a thread (`gateway.outbound.durably`)."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._settings = settings
        self._first_of_same_text = redis.register_script(_FIRST_OF_SAME_TEXT)

    def first_of(self, source: str, draft: ReportDraft, window_seconds: int) -> str:
        """The provider id of the first message with this text from this number in the last `window_seconds`
        (maybe this one), or the one this message was mapped onto before (module docstring)."""
        identity = key_digest(draft.sender.id, draft.kind.value, str(draft.anonymous), str(draft.confidential),
                              draft.follow_up_of or "", " ".join(draft.text.casefold().split()))
        keys = [SAME_TEXT_KEY.format(source=source, digest=identity),
                REPEAT_OF_KEY.format(source=source, digest=key_digest(draft.channel_message_id))]
        first = self._first_of_same_text(keys=keys, args=[draft.channel_message_id, window_seconds,
                                                          self._settings.intake.dedup_ttl_seconds])
        return first.decode() if first else draft.channel_message_id

    def repeat_of(self, source: str, draft: ReportDraft, window_seconds: int) -> ReportDraft:
        """`draft`, or, for a repeat, a copy under the first message's provider id (intake then finds it a
        duplicate, and the caller tells it from the provider's retry by that id). A message with files (an MMS) is
        never a repeat, nor one to repeat: its files are evidence, and Twilio gives each message media URLs of its
        own, so the same photo cannot be told from a new one without fetching it."""
        if draft.attachments:
            return draft
        first = self.first_of(source, draft, window_seconds)
        if first == draft.channel_message_id:
            return draft
        log.info("message.same_text", reason="same_text_window")
        return draft.model_copy(update={"channel_message_id": first})
