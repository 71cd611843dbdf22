"""One report for the same text: a citizen who sends the same SMS again within a window has sent one report.

A feature phone gives no sign that an SMS arrived, and an impatient citizen sends it again: two Tracking IDs and
two cases at the agency for one complaint. So, on the SMS channels (`WebhookAdapter.same_text_window`), by mail
(the same From address, Reply-To, subject and words: a webmail's "send" pressed twice, a phone's outbox sending
again under a new Message-ID; channels/email/processor.py) and on X and Instagram (the same mention posted again by
one account, on Instagram under the same post: `channels.social.MentionIntake`, through `Intake.commit_texts`), the
same text from the same sender within the channel section's `same_text_window_seconds` is mapped onto the first
message's provider id, which intake already dedups: the repeat gets the first report's Tracking ID, and the gateway
answers it "we already have this report" (`[duplicate]`; `[duplicate_anonymous]` for an anonymous one; in public
`[social_duplicate]`, the same words for every report). The same
text means the same sender, kind, flags (anonymous, confidential), report followed up, and words (case and runs of
spaces aside): an `ANONIM` repeat of a named report, or the same words added to another report, is a message of its
own. So is a message with files whose bytes intake has not seen (an MMS: Twilio gives each message media URLs of
its own, so the same photo cannot be told from a new one without fetching it), or a file not kept (its answer asks
for it again). A mail's files are in hand: the same mail with the same files (by their sha256: an Outlook
signature's logo, the same photo twice) is the same text, another file another mail.

A repeat remembers the id it was mapped onto for as long as intake's claim on a provider id lasts
(`intake.dedup_ttl_seconds`): its own id is never claimed, so the provider's retry of it after the window would
otherwise be a second report, under a Tracking ID the citizen is never told. The provider's retry of the first
message maps onto itself: it is the one message the citizen sent, and gets the answer its first delivery got. So does
any message intake already gave a Tracking ID of its own (its claim in Redis, or its record in this process's spool):
one spooled while Redis was down, looked up by no one, whose retry came once Redis answered again, was mapped onto
an earlier message of its text and answered with that one's Tracking ID, while the spooled report went on as a
second case under an ID the citizen was never told again (a first message retried after its window, onto the
message that took the window next).

It rides intake's committer (`Intake.submit(..., same_text=...)`): one script for a whole batch, run just before its
claim, so a webhook pays no round trip of its own. As a round trip per message on a worker thread (about 0.6 ms of
the gateway's CPU) it halved Twilio's intake (bench --quick: 1,050-1,141 webhooks/s without it, 559-690 with it).
While intake spools (Redis failed), Redis is not asked: each process answers from its own memory of the first
messages it committed within their windows (`RecentTexts`), so the same SMS sent twice during an outage (a citizen
who got no answer the first time, the likelier then) is one report and not two cases; a first message another
gateway took is not known there, and its repeat is a report of its own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis import Redis

from gateway.queues import key_digest, sender_digest
from gateway.settings import Settings
from normalizer.envelope import Channel, ReportDraft

SAME_TEXT_KEY = "lapor:sametext:{source}:{digest}"
# A repeat's provider id, mapped onto the first message's: its retry maps the same way once the window is over.
REPEAT_OF_KEY = "lapor:sametext-of:{source}:{digest}"

# KEYS: per message, its same-text key, its repeat-of key and its own claim at intake. ARGV[1]: the repeat-of TTL;
# then per message its provider id, the window, and a first of its text this process spooled ('' for none) with the
# seconds left of its window: the same-text key Redis never had. Returns, per message, the provider id it is one
# report with (its own for a first, and for a message already claimed under its own id).
_FIRST_OF_SAME_TEXT = """
local out = {}
for n = 1, #KEYS / 3 do
  local same, repeat_of, claim = KEYS[3 * n - 2], KEYS[3 * n - 1], KEYS[3 * n]
  local id, window = ARGV[4 * n - 2], ARGV[4 * n - 1]
  local spooled_first, left = ARGV[4 * n], ARGV[4 * n + 1]
  local first = redis.call('GET', repeat_of)
  if not first and redis.call('EXISTS', claim) == 1 then first = id end
  if not first then
    if spooled_first ~= '' then redis.call('SET', same, spooled_first, 'NX', 'EX', left) end
    redis.call('SET', same, id, 'NX', 'EX', window)
    first = redis.call('GET', same) or id
    if first ~= id then redis.call('SET', repeat_of, first, 'EX', ARGV[1]) end
  end
  out[n] = first
end
return out
"""

# A message that is one report with another (`SameText.one_report_per_text`): its source, and the window in seconds.
SameTextWindow = tuple[str, int]
# A first message of a text this process spooled: its provider id, and the seconds left of its window.
SpooledFirst = tuple[str, int]


class SameText:
    """Synchronous Redis work, run by intake's committer thread."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._settings = settings
        self._first_of_same_text = redis.register_script(_FIRST_OF_SAME_TEXT)

    def one_report_per_text(self, drafts: Sequence[ReportDraft], windows: Sequence[SameTextWindow | None],
                            claims: Sequence[str], spooled_firsts: Sequence[SpooledFirst | None] | None = None,
                            ) -> list[ReportDraft]:
        """Each draft, or, for a repeat, a copy under the first message's provider id (intake then finds it a
        duplicate, and its receipt says `same_text`), in one script for all of them; `claims`: each one's own claim
        key at intake; `spooled_firsts`: the first of each one's text this process spooled within its window, which
        Redis never heard of (`RecentTexts.spooled_first`). A draft without a window, or with files not told apart
        (`_files_told_apart`), is never a repeat, nor one to repeat."""
        firsts = spooled_firsts or [None] * len(drafts)
        asked = [(index, draft, window, claim, first) for index, (draft, window, claim, first)
                 in enumerate(zip(drafts, windows, claims, firsts, strict=True))
                 if window is not None and _files_told_apart(draft)]
        if not asked:
            return list(drafts)
        keys: list[str] = []
        args: list[str | int] = [self._settings.intake.dedup_ttl_seconds]
        for _, draft, (source, seconds), claim, first in asked:
            keys += [SAME_TEXT_KEY.format(source=source, digest=sender_digest(self._settings, *_text_identity(draft))),
                     REPEAT_OF_KEY.format(source=source, digest=key_digest(draft.message_identity)), claim]
            args += [draft.message_identity, seconds, *(first or ("", 0))]
        mapped = list(drafts)
        for (index, draft, *_), first_id in zip(asked, self._first_of_same_text(keys=keys, args=args), strict=True):
            first_id = first_id.decode() if isinstance(first_id, bytes) else str(first_id)
            if first_id != draft.message_identity:
                mapped[index] = draft.under_identity(first_id)
        return mapped


def _files_told_apart(draft: ReportDraft) -> bool:
    """Whether a draft's files (if any) can be told apart from others': each one's bytes seen (a sha256, a mail's)
    and kept. An MMS's are URLs; a file not kept is asked for again, and its repeat may be the citizen trying."""
    return all(attachment.sha256 and "not_stored" not in attachment.flags for attachment in draft.attachments) \
        and not draft.channel_meta.get("attachments_omitted")


def _text_identity(draft: ReportDraft) -> tuple[str, ...]:
    """What makes two messages the same text (module docstring). In a Redis key, digested with the sender's key
    (`sender_digest`): a plain hash of a number and a short text ("jalan rusak") is undone by trying them."""
    identity = (draft.sender.id, draft.kind.value, str(draft.anonymous), str(draft.confidential),
                draft.follow_up_of or "", " ".join(draft.text.casefold().split()))
    if draft.channel is Channel.INSTAGRAM:
        # A comment's post, and the comment it answers under our own post: the same words under another post (or in
        # another complaint's thread) are about that one, another report ("@lapor1708 tolong diperbaiki" under two
        # citizens' photos of two potholes).
        meta = draft.channel_meta
        thread = meta.get("thread") if meta.get("thread") != meta.get("comment_id") else None
        return (*identity, str(meta.get("media_id") or ""), str(thread or ""))
    if draft.channel is not Channel.EMAIL:
        return identity
    # A mail's subject too: the same words under another subject are another mail. And who it says it is from beyond
    # the address: a form mailer sends every citizen's complaint from its one address, each citizen's address as the
    # Reply-To or her name as the From's (`Budi <noreply@form...>`, `Ani <noreply@form...>`), and two citizens' same
    # words are two reports, each answered with its own Tracking ID (without the name, Ani's was never filed).
    reply_to = draft.channel_meta.get("reply_to")
    return (*identity, " ".join((draft.subject or "").casefold().split()),
            reply_to.lower() if isinstance(reply_to, str) else "",
            " ".join((draft.sender.display_name or "").casefold().split()),
            # its files, in any order (`_files_told_apart`): the same words with another photo are another mail
            *([",".join(sorted(attachment.sha256 or "" for attachment in draft.attachments))] if draft.attachments
              else []))


@dataclass(frozen=True, slots=True)
class FirstOfText:
    """A first message this process committed: its provider id, its Tracking ID, whether it went to the spool, and
    until when (monotonic) its window lasts."""

    provider_id: str
    tracking_id: str
    spooled: bool
    until: float


class RecentTexts:
    """The first messages of each text this process committed, within their windows, for while intake spools.
    Used under intake's lock of same texts alone (its committer thread, `Intake.commit_texts`)."""

    LIMIT = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._firsts: OrderedDict[str, FirstOfText] = OrderedDict()
        # A repeat answered from memory while spooling (its source and provider id): the first it is one report
        # with. Its own id is claimed nowhere, and no repeat-of key was written in Redis: the provider's retry of it
        # once the window was over was a second report, under a Tracking ID the citizen was never told.
        self._repeats: OrderedDict[str, FirstOfText] = OrderedDict()
        self._clock = clock

    @staticmethod
    def key(draft: ReportDraft, window: SameTextWindow | None) -> str | None:
        """What the message's text is remembered by; None for one never a repeat (no window, or files)."""
        if window is None or not _files_told_apart(draft):
            return None
        return f"{window[0]}:{key_digest(*_text_identity(draft))}"  # in this process's memory alone

    def first(self, key: str) -> FirstOfText | None:
        found = self._firsts.get(key)
        if found is not None and found.until <= self._clock():
            del self._firsts[key]
            return None
        return found

    def spooled_first(self, key: str) -> SpooledFirst | None:
        """The first message of the text this process spooled, within its window, with the seconds left of it."""
        first = self.first(key)
        if first is None or not first.spooled:
            return None
        return first.provider_id, max(1, math.ceil(first.until - self._clock()))

    def repeat_of(self, source: str, provider_id: str) -> FirstOfText | None:
        """The first message a repeat answered from memory is one report with, for the provider's retry of it."""
        return self._repeats.get(f"{source}:{provider_id}")

    def remember_repeat(self, source: str, provider_id: str, first: FirstOfText) -> None:
        self._repeats[f"{source}:{provider_id}"] = first
        while len(self._repeats) > self.LIMIT:
            self._repeats.popitem(last=False)

    def remember(self, key: str, draft: ReportDraft, tracking_id: str, spooled: bool, window_seconds: int) -> None:
        self._firsts[key] = FirstOfText(draft.message_identity, tracking_id, spooled,
                                        self._clock() + window_seconds)
        self._firsts.move_to_end(key)
        while len(self._firsts) > self.LIMIT:
            self._firsts.popitem(last=False)
