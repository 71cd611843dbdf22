"""Follow-ups: appended to an existing report, keeping its privacy.

A citizen who reported with ANONIM rarely repeats the flag when adding to the report ("12345678 ada foto baru").
Sent as it is, the follow-up would carry their number to the case store, right next to the anonymous report it
belongs to. So a follow-up inherits `anonymous` and `confidential` from its report: read from the envelope the
gateway keeps in Redis, or, once that is gone (older than `intake.envelope_ttl_seconds`), from the case store.
When neither can tell, the follow-up is made anonymous: privacy first (the gateway still keeps the sender, so
replies reach the citizen). A flag the case store does not give as JSON true or false is one it cannot tell (its
contract asks it for a status only).

A follow-up is to an *existing* report (design.md). An ID no gateway ever minted (its number above the Tracking-ID
counter and within this cell's range: a guess, an ID from another system) makes the message a new report of its
own, and the citizen is told so. An ID that was minted (or may have been, in another cell's range) but is found
nowhere stays a follow-up, anonymous: its report may be in a gateway's disk spool or on its way, and filing it as an
open report could name the reporter next to an anonymous report. Every channel then asks the case store (an SMS
within the webhook's wait, a mention or mail from its thread), and one it answers 404 for is an anonymous new report:
its ID may be one leased to another process and given to no report yet, and a follow-up to it waited at the case
store for whichever report took the ID later. An ID named while Redis is
away (down, or hanging past its timeout) stays a follow-up: neither the copy nor the counter can be read, and a
webhook refused for it (503) is lost, Twilio sending no inbound message again; the follow-up takes the case store's
flags or is made anonymous, and intake spools it like any report (`resolve_follow_up`).

Anyone who knows a Tracking ID may add to its report by SMS or a mention (a citizen may use a relative's phone), and
the case store cannot tell the reporter's words from a stranger's by an anonymous report's sender: it gets an opaque
handle per report. So every follow-up tells it `from_reports_sender`: whether the report's own sender sent it,
compared here, where the report's envelope is read for its flags anyway (`parent_facts`): only the answer travels,
never the ids. None when the gateway no longer holds the envelope, and for an anonymous follow-up to a report that
names its sender: there either answer would tell the case store who wrote the follow-up, or who did not.

A mail adds to a report only when it comes from that report's own sender (`others_report_flags`): a tracking ID is
short, sequential and shown on public pages, and anyone who knows one could otherwise write into a whistleblower's
anonymous report, which the agency could not tell from the reporter's own words. A mail naming someone else's report
is a report of its own, with that report's privacy flags (it may be the reporter writing from another address),
answered at its From alone. The sender's own mail is answered at its From, or at a Reply-To the report knows
(`report_addresses`), never at one it does not.
These decisions and the follow-up's own (`resolve_with_facts`) take the report's envelope copy as read once for the
mail (`stored_envelopes`): one Redis round trip, and one view of the report for all three. Every other report a mail
names (our acknowledgements of two reports forwarded, a tag quoted in its text) gives it its privacy as well
(`with_quoted_reports_privacy`, their copies read in the same round trip): the strictest of them.

Every decision reads the copy through one check (`readable_copy`): a copy that is not JSON, not an object, another
report's (stored under this one's key), or without a field the decisions read, is taken as gone, and a warning says
so (`follow_up.copy_damaged`). Read unchecked, it failed the message, or gave another report's flags and sender: an
open follow-up beside an anonymous report, told as its reporter's words. Gone, the report's flags come from the case
store (SMS), or the follow-up is made anonymous: privacy first, as for any report whose flags cannot be read.

A citizen who answers our public reply in its thread ("sudah seminggu belum diperbaiki", on X), or quotes it with
their words, adds to the report that reply was for, as a mail answering ours does: the reply worker remembers our
reply's post id -> Tracking ID (`remember_reply`), and the channel asks `thread_report` whether a post answering or
quoting one of ours, by that report's own sender, continues it. The record holds nothing the reply did not already
make public (our post id, and the Tracking ID it shows): who may continue the report is read from the report's
envelope, which the gateway keeps anyway to answer its sender, and the record lives no longer than that envelope.

Instagram does not say which comment a comment answers (the `mentions` webhook and the mentioned-comment lookup give
its post, not its parent), so there the record is per post: the post our reply was made on -> the Tracking IDs our
replies there showed (`remember_post_reply`), and a later comment mentioning us on that post, by one of those
reports' own senders, continues the newest of them (`post_thread_report`). A comment under our own post comes with
its thread (the `comments` webhook's `parent_id`): there the record is per thread, the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from redis import Redis

from gateway.errors import NotDurable
from gateway.logs import get_logger
from gateway.outbound import durably
from gateway.queries import LOOKUP_SECONDS, StatusLookup, lookup_status
from gateway.queues import REPLY_SUBJECTS_KEY, envelope_key, read_envelope
from gateway.tracking import was_issued
from normalizer.envelope import (
    EVERY_ADDRESS,
    SENDER_IDENTITIES,
    WRITTEN_ADDRESS,
    Channel,
    ReportDraft,
    Sender,
    SenderKind,
)

# One of our public replies (the id of the post we made) -> the Tracking ID it carried.
REPLY_THREAD_KEY = "lapor:social:thread:{channel}:{post_id}"
# A post our public replies were made on (Instagram: a citizen's, or the one they commented on) -> the Tracking IDs
# those replies carried, newest first, at most POST_THREAD_MAX.
POST_THREAD_KEY = "lapor:social:thread-post:{channel}:{post_id}"
# A viral post may carry many citizens' reports: the newest are looked at, each an envelope read.
POST_THREAD_MAX = 20
# A report's additions under subjects of their own: the newest few are its thread's (`REPLY_SUBJECTS_KEY`).
REPLY_SUBJECTS_MAX = 8

log = get_logger()


def sent_by_reports_sender(envelope: dict[str, Any], sender: Sender) -> bool:
    """Whether `sender` is the sender of the report `envelope` is: the same kind and id in normal form (E.164, a
    lowercased address, an account's user id; on Instagram see `_same_instagram_user`), or, for a mail, the address
    our replies to the report went to (its Reply-To, which the reporter chose)."""
    stored = envelope.get("sender")
    if isinstance(stored, dict) and sender.kind is SenderKind.IG_USER:
        return stored.get("kind") == sender.kind.value and _same_instagram_user(stored, sender)
    if isinstance(stored, dict) and (stored.get("kind"), stored.get("id")) == (sender.kind.value, sender.id):
        return True
    answered = (envelope.get("channel_meta") or {}).get("reply_to")
    return sender.kind is SenderKind.EMAIL and isinstance(answered, str) and answered.lower() == sender.id


def instagram_user_id(sender_id: str, display_name: str | None) -> str | None:
    """The stable user id of an Instagram sender, None when its id is its username. A comment's sender is its
    author's id (`from.id`) and its display name the username; a post's sender, and every sender stored before
    comments were read with `from`, is the username alone (the display name the same, or none)."""
    return sender_id if display_name and sender_id != display_name else None


def _same_instagram_user(stored: dict[str, Any], sender: Sender) -> bool:
    """Whether an Instagram sender is the stored report's. A username can be changed and then taken by someone else,
    so the stable user id decides where both have one: the reporter renamed is still the reporter, a stranger
    with their old username is not. A report filed by username alone (a post, or a report stored before the id
    was read) is matched by the username the sender writes under now: nothing else names its reporter. A sender
    without an id is never taken for a report filed by id: their username proves nothing."""
    stored_id, stored_name = str(stored.get("id") or ""), stored.get("display_name")
    stored_user = instagram_user_id(stored_id, stored_name if isinstance(stored_name, str) else None)
    sender_user = instagram_user_id(sender.id, sender.display_name)
    if stored_user is not None:
        return sender_user == stored_user
    username = sender.display_name if sender_user is not None else sender.id
    return bool(stored_id) and username == stored_id


def stored_envelope(redis: Redis, tracking_id: str, channel: str) -> dict[str, Any] | None:
    """The gateway's copy of a report's envelope (`readable_copy`), None once it is gone or damaged: read once per
    message and handed to every decision the message takes about that report (a mail's takes three). `channel`:
    the message's, for the warning about a damaged copy."""
    return readable_copy(tracking_id, redis.get(envelope_key(tracking_id)), channel)


def stored_envelopes(redis: Redis, tracking_ids: list[str], channel: str) -> list[dict[str, Any] | None]:
    """`stored_envelope` of each report, in one round trip (a mail: the report it continues and every other it names,
    `with_quoted_reports_privacy` of each)."""
    if not tracking_ids:
        return []
    raws = redis.mget([envelope_key(tracking_id) for tracking_id in tracking_ids])
    return [readable_copy(tracking_id, raw, channel) for tracking_id, raw in zip(tracking_ids, raws, strict=True)]


def readable_copy(tracking_id: str, raw: bytes | None, channel: str) -> dict[str, Any] | None:
    """The copy as an envelope every decision can read; None once it is gone, and for a damaged copy, which is taken
    as gone and logged (`follow_up.copy_damaged`, with why: see `read_envelope` and `_missing_field`)."""
    if raw is None:
        return None
    envelope = read_envelope(tracking_id, raw)
    if isinstance(envelope, dict) and _missing_field(envelope):
        envelope = "missing_fields"
    if isinstance(envelope, str):
        log.warning("follow_up.copy_damaged", channel=channel, tracking_id=tracking_id, reason=envelope)
        return None
    return envelope


def _missing_field(envelope: dict[str, Any]) -> bool:
    """Whether a field the decisions read is missing or of another type than intake writes it: the flags (a missing
    `anonymous` read as false would file an anonymous report's follow-up open), the sender, and `channel_meta`."""
    sender = envelope.get("sender")
    return not (isinstance(envelope.get("anonymous"), bool) and isinstance(envelope.get("confidential"), bool)
                and isinstance(sender, dict) and isinstance(sender.get("kind"), str)
                and isinstance(sender.get("id"), str) and isinstance(envelope.get("channel_meta"), dict))


def parent_facts(redis: Redis, draft: ReportDraft) -> tuple[bool, bool, bool] | None:
    """(anonymous, confidential, whether its sender sent it) of the report a follow-up names, None when the gateway
    no longer has it (or its copy is damaged): one read of its envelope for all three."""
    assert draft.follow_up_of is not None
    return facts_of(stored_envelope(redis, draft.follow_up_of, _message_channel(draft)), draft.sender)


def facts_of(envelope: dict[str, Any] | None, sender: Sender) -> tuple[bool, bool, bool] | None:
    """`parent_facts` of a copy already read (`stored_envelope`)."""
    if envelope is None:
        return None
    return envelope["anonymous"], envelope["confidential"], sent_by_reports_sender(envelope, sender)


def _message_channel(draft: ReportDraft) -> str:
    """The channel a message's log lines name: the adapter that received it (`sms-twilio`, `email-smtp`)."""
    return draft.source or draft.channel.value


def with_parent_flags(draft: ReportDraft, anonymous: bool, confidential: bool) -> ReportDraft:
    """The follow-up with its report's privacy flags added (never removed)."""
    merged = (draft.anonymous or anonymous, draft.confidential or confidential)
    if merged == (draft.anonymous, draft.confidential):
        return draft
    return draft.model_copy(update={"anonymous": merged[0], "confidential": merged[1]})


def addition_to(draft: ReportDraft, envelope: Mapping[str, Any] | None, tracking_id: str) -> ReportDraft:
    """`draft` as an addition to `tracking_id`'s report, whose copy is `envelope` (None: gone or damaged): with the
    report's flags, and to the report that one adds to where it is itself an addition (a concatenated SMS's late part,
    or its whole words the report was filed without). Resolved as any follow-up is next (`resolve_follow_up`)."""
    own = envelope or {}
    draft = with_parent_flags(draft, own.get("anonymous") is True, own.get("confidential") is True)
    return draft.model_copy(update={"follow_up_of": own.get("follow_up_of") or tracking_id})


def as_follow_up(draft: ReportDraft, anonymous: bool, confidential: bool,
                 from_reports_sender: bool | None) -> ReportDraft:
    """The follow-up with its report's privacy flags added (`with_parent_flags`) and whether the report's sender
    sent it (None: the gateway cannot tell). None too when the follow-up is anonymous and its report is not: the case
    store knows that report's sender, and true would name the follow-up's writer, false tell who it was not."""
    if draft.anonymous and not anonymous:
        from_reports_sender = None
    if from_reports_sender is not None:
        draft = draft.model_copy(update={"from_reports_sender": from_reports_sender})
    return with_parent_flags(draft, anonymous, confidential)


# The flags a follow-up takes when its report's cannot be read: a follow-up never names a reporter who hid. Nor can
# the gateway tell whether the report's sender sent it (None).
UNKNOWN_PARENT_FLAGS = (True, False)


def as_new_report(draft: ReportDraft) -> ReportDraft:
    """A follow-up to an ID no gateway ever minted, filed as a report of its own: the ID it named stays at the start
    of its text, as the citizen typed it. A mail keeps its text as written: it named the ID in its subject (which
    the report keeps) or in its headers, not in its text. A photo sent with the ID alone has no text: the ID is its
    text then."""
    if draft.channel is Channel.EMAIL:
        return draft.model_copy(update={"follow_up_of": None})
    text = f"{draft.follow_up_of} {draft.text}" if draft.text else str(draft.follow_up_of)
    return draft.model_copy(update={"follow_up_of": None, "text": text})


# Whether a Tracking ID is in this process's reserve, leased and never minted (`Intake.holds_unminted`).
Unminted = Callable[[str], bool]
# The case store asked for a report from a thread (`gateway.queries.casestore_lookup_now`); None: no answer.
AskCaseStore = Callable[[str], StatusLookup | None]


def until_unanswered(ask: AskCaseStore) -> AskCaseStore:
    """`ask`, until it once gets no answer (None), then None without asking: a poller takes a page of mentions one
    after the other, and a case store that hangs would cost each mention naming an old report its whole wait."""
    unanswered = False

    def asking(tracking_id: str) -> StatusLookup | None:
        nonlocal unanswered
        answer = None if unanswered else ask(tracking_id)
        unanswered = answer is None
        return answer

    return asking


def asking_once(ask: AskCaseStore, answers: dict[str, StatusLookup | None]) -> AskCaseStore:
    """`ask`, once per Tracking ID: each answer (None: none) kept in `answers`, one message's, and given again to its
    later decisions. A mail's CEK with news of a report found nowhere asked the case store for it, was filed again as
    any mail, and asked a second time."""

    def asking(tracking_id: str) -> StatusLookup | None:
        if tracking_id not in answers:
            answers[tracking_id] = ask(tracking_id)
        return answers[tracking_id]

    return asking


def found_nowhere(answers: Mapping[str, StatusLookup | None], tracking_id: str) -> bool:
    """Whether the case store, asked for `tracking_id` (`asking_once`), answered it has no such report (404)."""
    answer = answers.get(tracking_id)
    return answer is not None and not answer.found


def resolve_follow_up_now(redis: Redis, draft: ReportDraft, id_range: tuple[int, int] = (0, 0),
                          unminted: Unminted | None = None, ask: AskCaseStore | None = None,
                          ) -> tuple[ReportDraft, bool]:
    """`resolve_follow_up` from a thread (mentions; a mail through `resolve_with_facts`), in the same order: (the
    draft to commit, whether it named a report that was never issued)."""
    return resolve_with_facts(redis, draft, parent_facts(redis, draft), id_range, unminted, ask)


def resolve_with_facts(redis: Redis, draft: ReportDraft, facts: tuple[bool, bool, bool] | None,
                       id_range: tuple[int, int] = (0, 0), unminted: Unminted | None = None,
                       ask: AskCaseStore | None = None) -> tuple[ReportDraft, bool]:
    """`resolve_follow_up_now` with its report's `parent_facts` already read (`facts_of`): a mail reads the
    report's envelope copy once for this and its other decisions about the report. Redis is asked only whether an ID
    whose report the gateway no longer has was ever issued, and then the case store (`ask`) whether it has that
    report: as by SMS, a mention or mail naming an ID leased to another process (the SMS gateway's, the SMTP
    server's) and given to no report yet was a follow-up waiting at the case store for whichever report took the ID
    later. Without `ask`, such a follow-up stays one, anonymous."""
    settled = settled_follow_up(redis, draft, facts, id_range, unminted)
    if settled is not None:
        return settled
    if ask is None:
        return as_follow_up(draft, *UNKNOWN_PARENT_FLAGS, None), False
    return decided_by_casestore(draft, ask(str(draft.follow_up_of)), redis_answered=True)


def settled_follow_up(redis: Redis, draft: ReportDraft, facts: tuple[bool, bool, bool] | None,
                      id_range: tuple[int, int] = (0, 0), unminted: Unminted | None = None,
                      ) -> tuple[ReportDraft, bool] | None:
    """The steps every path takes first: a follow-up with its report's `facts`, or a new report for an ID never
    issued. None when the ID was issued but its report's copy is gone (or damaged): there each path has its own
    answer (the case store's flags, or anonymous).

    The counter alone cannot tell an ID minted from one leased and still in a process's reserve (hundreds past the
    last report): a follow-up to such an ID stayed one, and was added to whichever report later took that ID, a
    stranger's words (or a guess at the next ID, "laporan ini palsu") filed under a whistleblower's report. An ID in
    this process's own reserve (`unminted`) is known never minted: a new report, as an ID above the counter."""
    parent = draft.follow_up_of
    assert parent is not None
    if facts is not None:
        return as_follow_up(draft, *facts), False
    if never_minted(redis, parent, id_range, unminted):
        return as_new_report(draft), True
    return None


def never_minted(redis: Redis, tracking_id: str, id_range: tuple[int, int] = (0, 0),
                 unminted: Unminted | None = None) -> bool:
    """Whether no report was ever given `tracking_id`: past the counter, or in this process's own reserve
    (`unminted`), leased and never minted."""
    return (unminted is not None and unminted(tracking_id)) or not was_issued(redis, tracking_id, *id_range)


def _settled_now(redis: Redis, draft: ReportDraft, id_range: tuple[int, int],
                 unminted: Unminted | None = None) -> tuple[ReportDraft, bool] | None:
    """`settled_follow_up` with the report's copy read here: one thread hop for both Redis steps."""
    return settled_follow_up(redis, draft, parent_facts(redis, draft), id_range, unminted)


async def _settled_unless_down(redis: Redis, draft: ReportDraft, id_range: tuple[int, int],
                               unminted: Unminted | None = None) -> tuple[tuple[ReportDraft, bool] | None, bool]:
    """(`_settled_now` off the event loop, whether Redis answered); (None, False), as for a copy that is gone, when
    Redis fails or does not answer."""
    try:
        return await durably(_settled_now, redis, draft, id_range, unminted), True
    except NotDurable as error:
        log.warning("follow_up.report_unread", channel=_message_channel(draft), follow_up_of=draft.follow_up_of,
                    reason=error.reason, error=type(error.__cause__).__name__)
        return None, False


async def resolve_follow_up(redis: Redis, client: httpx.AsyncClient, draft: ReportDraft,
                            id_range: tuple[int, int] = (0, 0), lookup_seconds: float = LOOKUP_SECONDS, *,
                            redis_down: bool = False, unminted: Unminted | None = None,
                            ) -> tuple[ReportDraft, bool]:
    """(the draft to commit, whether it named a report that was never issued). The case store is asked, within
    `lookup_seconds` in all, only when the gateway's own copy of the report is gone (or damaged): for its flags
    alone, since it keeps no anonymous report's sender to compare with (`from_reports_sender` None).

    A copy Redis cannot give (down, or hanging past its timeout; `redis_down`: intake already sends reports to its
    spool, so Redis is not asked) is taken as gone, and whether the ID was ever issued is not asked either: the
    follow-up stays one (its report may well be in a spool), with the case store's flags or anonymous, and intake
    spools it like any report. Refused instead, it was lost: Twilio does not send an inbound message again.
    An ID in this process's own reserve (`unminted`) is a new report whatever Redis does: no report has it yet. So is
    one that neither Redis (answering) nor the case store (answering 404) holds: leased to another process and given
    to no report yet. Taken as a follow-up, a guess at the next IDs put a stranger's words ("laporan ini palsu") among
    the additions of the report that took the ID later, a whistleblower's maybe. That report may also be one still in
    a spool not yet replayed, whose flags cannot be read: the new report is anonymous then, as such a follow-up was
    (named, it would put the reporter's number next to their anonymous report's ID)."""
    parent = draft.follow_up_of
    assert parent is not None
    if redis_down and unminted is not None and unminted(parent):
        return as_new_report(draft), True
    settled, redis_answered = (None, False) if redis_down else await _settled_unless_down(redis, draft, id_range,
                                                                                           unminted)
    if settled is not None:
        return settled
    try:
        lookup = await asyncio.wait_for(lookup_status(client, parent), lookup_seconds)
    except TimeoutError:
        lookup = None
    return decided_by_casestore(draft, lookup, redis_answered=redis_answered)


def decided_by_casestore(draft: ReportDraft, lookup: StatusLookup | None, *,
                         redis_answered: bool) -> tuple[ReportDraft, bool]:
    """A follow-up whose report the gateway no longer has, once the case store was asked (`lookup`, None when it did
    not answer): a follow-up with the case store's flags; an anonymous new report when it has no such report and
    Redis answered (the ID may be leased to another process and given to no report yet, `resolve_follow_up`); a
    follow-up, anonymous, when neither can tell."""
    if lookup is not None and lookup.found:
        return as_follow_up(draft, *casestore_flags(lookup), None), False
    if lookup is not None and redis_answered:
        return with_parent_flags(as_new_report(draft), *UNKNOWN_PARENT_FLAGS), True
    return as_follow_up(draft, *UNKNOWN_PARENT_FLAGS, None), False


def gone_reports_flags(redis: Redis, tracking_id: str, id_range: tuple[int, int] = (0, 0),
                       unminted: Unminted | None = None, ask: AskCaseStore | None = None) -> tuple[bool, bool] | None:
    """(anonymous, confidential) of a report named in a mail whose copy the gateway no longer holds (expired,
    damaged), as the case store gives them (`casestore_flags`); `UNKNOWN_PARENT_FLAGS` when it does not answer, as for
    a follow-up, and for an ID issued that it has no report of (404: a report still in a spool, maybe the writer's own
    anonymous one, which a mail filed open put its address beside); None for an ID never issued. From a thread."""
    if never_minted(redis, tracking_id, id_range, unminted):
        return None
    lookup = ask(tracking_id) if ask is not None else None
    return casestore_flags(lookup) if lookup is not None and lookup.found else UNKNOWN_PARENT_FLAGS


def casestore_flags(lookup: StatusLookup) -> tuple[bool, bool]:
    """(anonymous, confidential) of a report as the case store gave them; a flag it did not give (`said_flag`) is
    `UNKNOWN_PARENT_FLAGS`'s, as when the case store does not answer."""
    anonymous = UNKNOWN_PARENT_FLAGS[0] if lookup.anonymous is None else lookup.anonymous
    confidential = UNKNOWN_PARENT_FLAGS[1] if lookup.confidential is None else lookup.confidential
    return anonymous, confidential


def others_report_flags(envelope: dict[str, Any] | None, sender: Sender) -> tuple[bool, bool] | None:
    """(anonymous, confidential) of a stored report (its `stored_envelope`) that `sender` did not send: its sender is
    another, and so is the address our replies to it went to (a mail's Reply-To). None when it is the sender's own, or
    when the gateway no longer has it and cannot tell whose it is."""
    facts = facts_of(envelope, sender)
    if facts is None:
        return None
    anonymous, confidential, theirs = facts
    return None if theirs else (anonymous, confidential)


def with_reporters_identity(draft: ReportDraft, envelope: dict[str, Any]) -> ReportDraft:
    """Someone else's mail naming an anonymous report (`others_report_flags`), with that report's sender among the
    identities its case-store copy withholds (channel_meta SENDER_IDENTITIES, workers/own_identity.py): the
    reporter's addresses (From, Reply-To, the fields that name a sender) and names. A forward of our acknowledgement
    that a friend of the reporter sends on ("To: Siti Rahayu <siti@...>" in its header block), or a mail that names
    the reporter, carried the anonymous reporter's address and name to the agency, beside their report's ID."""
    stored = envelope.get("sender") or {}
    meta = envelope.get("channel_meta") or {}
    reported = meta.get(SENDER_IDENTITIES) if isinstance(meta.get(SENDER_IDENTITIES), dict) else {}
    addresses = [meta.get("reply_to"), *(reported.get("addresses") or [])]
    if stored.get("kind") == SenderKind.EMAIL.value:
        addresses.append(stored.get("id"))
    names = [stored.get("display_name"), *(reported.get("names") or [])]
    return _with_withheld(draft, [a for a in addresses if isinstance(a, str) and a],
                          [n for n in names if isinstance(n, str) and n])


# An address in brackets after a name (`Siti Rahayu <siti@...>`, a forwarded header block's; `Siti Rahayu (siti@...)`),
# and what ends the name before it.
_BRACKETED_ADDRESS = re.compile(r"[<(]\s*([^\s<>()@]{1,64}@[^\s<>()@]{1,255})\s*[>)]")
_WRITTEN_ADDRESS = re.compile(WRITTEN_ADDRESS)
_NAME_END = re.compile(r'[:;,<>()"\n]')
_NAME_MAX_WORDS = 4
# The most addresses and names of its own a mail past the bound is withheld by, each a pattern matched along its
# text (32 names cost 0.6 s on a text of 100,000 characters): past them, each address written, and the name before
# one in brackets, still go (EVERY_ADDRESS).
MAX_WITHHELD_IDENTITIES = 32


def with_every_written_identity(draft: ReportDraft) -> ReportDraft:
    """A mail naming more reports than are read (`MAX_NAMED_REPORTS`), with every address its text and subject write
    and each name written before one (`Name <address>`: a forwarded header block's From and To, an attribution)
    among the identities its case-store copy withholds, as an anonymous report's reporter's are
    (`with_reporters_identity`). The reports past the bound are not read (each would cost a read, a mail may name
    any number), so any of them may be an anonymous one and any address the mail carries its reporter's. Made
    anonymous alone (`UNKNOWN_PARENT_FLAGS`), the mail withheld its own sender only: a forward of our
    acknowledgements of seventeen reports put the seventeenth's anonymous reporter, named in its header block, beside
    it. An official's address or name is lost to the agency with them: for a whistleblower, the safe error. A name
    written with no address beside it is not known to be one, and stays."""
    addresses: dict[str, None] = {}
    names: dict[str, None] = {}
    for text in (draft.text, draft.subject or ""):
        for match in _BRACKETED_ADDRESS.finditer(text):
            name = _name_before(text[max(0, match.start() - 120):match.start()].rstrip())
            if name and len(names) < MAX_WITHHELD_IDENTITIES:
                names.setdefault(name, None)
        for match in _WRITTEN_ADDRESS.finditer(text):
            if len(addresses) < MAX_WITHHELD_IDENTITIES:
                addresses.setdefault(match.group().lower(), None)
    return _with_withheld(draft, list(addresses), list(names), every_address=True)


def _name_before(before: str) -> str:
    """The name written before an address in brackets: a header field's display name (`"Rahayu, Siti"`, `Siti
    Rahayu`, a few words after the field's colon) or, in prose, the capitalized words ending it ("dari Siti Rahayu")."""
    if before.endswith('"'):
        return " ".join(before[:-1].rpartition('"')[2].split())
    words = _NAME_END.split(before)[-1].split()
    capitalized = list(itertools.takewhile(lambda word: word[:1].isupper(), reversed(words)))[::-1]
    return " ".join(capitalized or (words if len(words) <= _NAME_MAX_WORDS else []))


def _with_withheld(draft: ReportDraft, addresses: list[str], names: list[str],
                   every_address: bool = False) -> ReportDraft:
    """The draft with `addresses` and `names` added to the identities its case-store copy withholds."""
    given = draft.channel_meta.get(SENDER_IDENTITIES) or {}
    merged = {"addresses": [*(given.get("addresses") or []), *addresses],
              "names": [*(given.get("names") or []), *names],
              **({EVERY_ADDRESS: True} if every_address or given.get(EVERY_ADDRESS) else {})}
    return draft.model_copy(update={"channel_meta": {**draft.channel_meta, SENDER_IDENTITIES: merged}})


def with_quoted_reports_privacy(draft: ReportDraft, envelope: dict[str, Any] | None) -> ReportDraft:
    """A new report whose text carries our reply to another report (its `stored_envelope`; None once gone), with that
    report's privacy flags added (`UNKNOWN_PARENT_FLAGS` when gone: privacy first), and, an anonymous report's not
    sent by its sender, its reporter's identity withheld too (`with_reporters_identity`). Filed open, a forward of
    an anonymous report's acknowledgement ("laporan anonim Anda ... Nomor lacak laporan Anda: <id>") named the
    reporter beside their report's ID."""
    if envelope is None:
        return with_parent_flags(draft, *UNKNOWN_PARENT_FLAGS)
    draft = with_parent_flags(draft, envelope["anonymous"], envelope["confidential"])
    if envelope["anonymous"] and not sent_by_reports_sender(envelope, draft.sender):
        draft = with_reporters_identity(draft, envelope)
    return draft


def report_addresses(envelope: dict[str, Any] | None) -> frozenset[str]:
    """The addresses a mailed report (its `stored_envelope`) is known by: its sender's, and the Reply-To our replies to
    it went to. Empty when the gateway no longer has it, or it came by another channel. A mail of the report's sender
    naming the report is answered at its From, or at its Reply-To only when that is one of these: a From is easily
    forged, and answered at a Reply-To of the forger's choosing, whether the mail was taken as an addition or not
    would tell them whether that From sent an anonymous report. Anyone else's is answered at its From alone, never at
    one of these: whether a stranger's guess of the reporter's address as Reply-To got them an answer would tell them
    too."""
    if envelope is None:
        return frozenset()
    stored = envelope.get("sender")
    addresses = [(envelope.get("channel_meta") or {}).get("reply_to")]
    if isinstance(stored, dict) and stored.get("kind") == SenderKind.EMAIL.value:
        addresses.append(stored.get("id"))
    return frozenset(address.lower() for address in addresses if isinstance(address, str) and address)


def reply_thread_key(channel: str, post_id: str) -> str:
    return REPLY_THREAD_KEY.format(channel=channel, post_id=post_id)


def remember_reply(redis: Redis, channel: str, post_id: str, tracking_id: str, default_ttl: int) -> bool:
    """Remember that our post `post_id` was the reply for report `tracking_id`, for as long as the report's envelope
    stays (`default_ttl`, `intake.envelope_ttl_seconds`, while it waits to be forwarded without an expiry of its
    own). Not when the envelope is gone: an answer to the reply could not be checked against its sender. Returns
    whether it was remembered."""
    remaining = redis.ttl(envelope_key(tracking_id))
    if remaining == -2:
        return False
    redis.set(reply_thread_key(channel, post_id), tracking_id, ex=remaining if remaining > 0 else default_ttl)
    return True


def thread_report(redis: Redis, channel: str, replied_to: str, sender: Sender) -> str | None:
    """The report a post answering (or quoting) our post `replied_to` continues: the report that reply was for,
    when `sender` is that report's own sender. None for an answer by anyone else (their post is a report of its
    own), to a post that was no reply of ours, or once the report's envelope is gone."""
    raw_id = redis.get(reply_thread_key(channel, replied_to))
    if raw_id is None:
        return None
    tracking_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
    return tracking_id if _sent_by(redis, channel, tracking_id, sender) is not None else None


def _sent_by(redis: Redis, channel: str, tracking_id: str, sender: Sender) -> dict[str, Any] | None:
    """The report's envelope when `sender` is its sender; None for anyone else's, or once it is gone or damaged."""
    envelope = stored_envelope(redis, tracking_id, channel)
    return envelope if envelope is not None and sent_by_reports_sender(envelope, sender) else None


def post_thread_key(channel: str, post_id: str) -> str:
    return POST_THREAD_KEY.format(channel=channel, post_id=post_id)


def remember_post_reply(redis: Redis, channel: str, post_id: str, tracking_id: str, default_ttl: int) -> bool:
    """Remember that one of our replies on post `post_id` carried report `tracking_id` (`remember_reply`, for a
    channel that does not say which comment a comment answers), for as long as the longest-lived envelope of the
    reports remembered there. Returns whether it was remembered (not once the report's envelope is gone)."""
    return _remember_newest(redis, post_thread_key(channel, post_id), tracking_id, POST_THREAD_MAX,
                            envelope_of=tracking_id, default_ttl=default_ttl)


def _remember_newest(redis: Redis, key: str, value: str, most: int, *, envelope_of: str, default_ttl: int) -> bool:
    """Put `value` first in the list `key` (once; its newest `most` kept), for as long as the longest-lived envelope
    of the reports remembered there: report `envelope_of`'s, `default_ttl` while it has no expiry yet (waiting to be
    forwarded). False, nothing written, once that envelope is gone."""
    remaining = redis.ttl(envelope_key(envelope_of))
    if remaining == -2:
        return False
    ttl = max(remaining if remaining > 0 else default_ttl, redis.ttl(key))
    pipe = redis.pipeline(transaction=True)
    pipe.lrem(key, 0, value)
    pipe.lpush(key, value)
    pipe.ltrim(key, 0, most - 1)
    pipe.expire(key, ttl)
    pipe.execute()
    return True


def post_thread_report(redis: Redis, channel: str, post_id: str, sender: Sender, message_id: str) -> str | None:
    """The report a comment of `sender` on post `post_id` continues: the newest report our replies on that post
    carried whose sender `sender` is (their comment there answers our reply, or adds to what they reported on that
    post). None for anyone else's comment, on a post we never answered on, once the envelope is gone, and for the
    report's own comment notified again (`message_id`: it stays that report, not an addition to it)."""
    theirs = []
    for raw_id in redis.lrange(post_thread_key(channel, post_id), 0, POST_THREAD_MAX - 1):
        tracking_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
        envelope = _sent_by(redis, channel, tracking_id, sender)
        if envelope is not None:
            if envelope.get("channel_message_id") == message_id:
                return None
            theirs.append(tracking_id)
    return theirs[0] if theirs else None


def remember_reply_subject(redis: Redis, tracking_id: str, digest: str, default_ttl: int) -> bool:
    """Remember that a mail reply of ours for report `tracking_id` went out under a subject of its own (`digest`: an
    addition's, `[LAPOR #<id>] Tambahan foto`), among the newest REPLY_SUBJECTS_MAX, for as long as the report's
    envelope stays (`remember_post_reply`). Its sender's answer quoting that reply under it, the tag and threading
    fields dropped by their client, continues the report (`reply_subjects`). Only a digest: the subject itself stays
    with the addition's envelope. Returns whether it was remembered (not once the report's envelope is gone)."""
    return _remember_newest(redis, REPLY_SUBJECTS_KEY.format(tracking_id=tracking_id), digest, REPLY_SUBJECTS_MAX,
                            envelope_of=tracking_id, default_ttl=default_ttl)


def reply_subjects(redis: Redis, tracking_id: str) -> frozenset[str]:
    """The digests of the subjects our mail replies for report `tracking_id` went out under besides its own
    (`remember_reply_subject`); none once they expired with the report's envelope."""
    raws = redis.lrange(REPLY_SUBJECTS_KEY.format(tracking_id=tracking_id), 0, REPLY_SUBJECTS_MAX - 1)
    return frozenset(raw.decode() if isinstance(raw, bytes) else str(raw) for raw in raws)
