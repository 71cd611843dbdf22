"""structlog set-up: JSON lines, per-message context, and redaction of citizens' details.

Every process calls `configure_logging` once. A line carries `channel`, `event` and `tracking_id` when they
are known (bound with `bind_message_context`), `channel` by the name the status views give it (`x`, not
`x-mentions`; `channel_as_the_views_name_it`). The `redact` processor removes phone numbers, e-mail
addresses and message text from every line, tracebacks included; tracebacks carry no local variables. The hosts of
the deployment's own endpoints, given to `configure_logging` from the settings, stay whole in free text.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from gateway.channel_names import health_channel
from gateway.tracking import is_valid_tracking_id
from normalizer.text import with_compatibility_forms

REDACTED = "[redacted]"

# Keys whose values are citizens' words or identities: dropped whatever they contain.
SENSITIVE_KEYS = frozenset(
    {
        "text", "body", "message", "message_text", "content", "subject", "sender", "sender_id", "from", "to",
        "phone", "msisdn", "number", "email", "address", "recipient", "recipients", "display_name",
        "username", "handle", "raw", "payload", "params", "form",
    }
)
# Keys never dropped for their name (their values are still scrubbed of numbers and addresses).
SAFE_KEYS = frozenset(
    {"event", "level", "timestamp", "channel", "tracking_id", "follow_up_of", "tracking_ids", "logger", "reason"}
)
# Keys whose values the gateway itself formats (never a citizen's input): left exactly as they are.
VERBATIM_KEYS = frozenset({"level", "timestamp", "tracking_id", "tracking_ids", "logger"})
# Keys whose values are a Tracking ID read from a citizen's message (the report a follow-up names): kept when the
# value is one (ASCII digits whose check digit holds), so that an operator can trace a follow-up to its report;
# anything else under them is scrubbed as any value is. Scrubbed, an ID of 9 digits or more read as `[phone]`.
TRACKING_ID_KEYS = frozenset({"follow_up_of"})
# Keys whose values, on the gateway's own lines, are names from its code (an event, a query's action, a channel):
# kept from the removal of the citizen's words, which matches by value. A message reading just "help" (a Twilio
# HELP) turned the `message.query` line's action into `[redacted]`, and one reading "message" would turn every
# event of its handling into `[redacted].accepted`. Only names (lowercase letters, `.`, `_`, `-`) qualify, and only
# on lines without a `logger` key: a library's line (aiohttp, rq) may quote anything in its event.
OWN_NAME_KEYS = frozenset({"event", "action", "channel"})
_OWN_NAME = re.compile(r"[a-z][a-z_]*(?:[.\-][a-z_]+)*")
# Keys whose values, on the gateway's own lines, are addresses of its own network: where a process listens (`host` of
# `<process>.listening`, `process.port_in_use`, `process.address_unavailable`, `redis.embedded`) and the peer a
# request came from (`source` of `ratelimit.throttled`). Kept when the value is one IP address, whole, as the ipaddress
# module reads it; anything else under them is scrubbed as any value is. Scrubbed, an IPv4 address of 9 digits or more
# (10.255.255.1) read as `[phone]`, and an operator could not tell where the gateway listened or whom it throttled.
# No phone number as people write it passes: the module refuses a leading zero (0812.3456.7890, 081.234.56.78) and a
# "+", and a mobile number in international form (62 8..., 11 digits or more) fits no four parts of at most 255. An
# IPv6 zone (`fe80::1%eth0`) may be any text: refused. Only by the key, and only on the gateway's own lines: the same
# address in free text or a message is scrubbed, for no pattern tells it from a number typed with dots, unless the
# settings name it as one of the deployment's own endpoints (`_own_hosts`).
NETWORK_ADDRESS_KEYS = frozenset({"host", "source"})

# An optional "+", then 9 to 17 digits with a short separator between digits: +62 812-3456-7890,
# 0812.3456.7890, (0812) 3456 7890, 0812 - 3456 - 7890, 0812/3456/7890, 6281234567890. Tracking IDs (8 digits)
# and ports stay readable. Numbers written next to each other ("6281234567890 (0812 3456 7890)") go as one: a
# cap at one number's length would leave the tail of the second readable. The separated part is bounded, so that a
# long run costs little, and what follows a run cut at the bound is taken with it (_PHONE_TAIL); a longer run of
# plain digits (after a "+" too) is taken whole, possessively, so that one followed by a letter costs no
# backtracking (four numbers typed together, 52 digits, went wholly unredacted).
# A number may begin right after a "+" that cannot begin it itself ("HP+62812...", a form body's "saya+0812...",
# "+62812...+62813..."): all three went unredacted.
# A time as the status views write it, `2026-12-02 01:06:30Z` (a rate limit's end in a `channel.health` line), is
# no number: its date and hour read as one would, and the line said "until [phone]:06:30Z". Only a real date and
# time: a number typed in that shape with no month 23 ("6281-23-45 67:89") still goes.
# Percent-encoded, as a URL or a request body quoted back carries it (the aggregator's send URL writes the number
# "to=%2B6281234567890"): a number may begin right after an escape, and an escaped space, parenthesis or slash
# separates its digits, but an escape's own digits begin none ("%2010000004" is a Tracking ID after a space).
# "%2B62..." went out whole, its "B" taken for a word's letter.
# The other marks people type between groups are separators too: "_", "*", "~", a middle dot, a bullet, a minus sign
# (0812_3456_7890, 0812*3456*7890, +62 812·3456·7890), the fullwidth and small forms of each mark (０８１２－３４５６,
# （0812）３４５６), percent-encoded as a URL carries them (%2A, %5F, %7E, %C2%B7, a dash's or bullet's %E2%80%..);
# all went out whole. Not ",", ":" nor "'": a list of counts or IDs ("10000004, 10000012"), a time or an amount
# ("1'000") would read as a number. A run may end before a "_" as before any other mark (_RUN_END): "_" is a word's
# character, and 0812_3456_7890_ (or 6281234567890_budi) went out whole; and a run may begin after one
# ("foto_081234567890.jpg", "budi_6281234567890"): those went out whole too.
_RUN_END = r"(?![^\W_])"
_SEPARATOR_MARKS = with_compatibility_forms("().-/_*~\u00b7\u30fb") + "\u2212\u2022\u2027\u2219\u22c5\uff65"
_SEPARATOR = (rf"(?:[\s{re.escape(_SEPARATOR_MARKS)}\u2010-\u2015\u200b-\u200d\u2060\ufeff]"
              r"|%(?:2[089AaFf]|5[Ff]|7[Ee]|[Cc]2%[Bb]7|[Ee]2%80%(?:9[0-5]|[Aa][27])|[Ee]2%88%92))")
_PHONE = re.compile(r"(?:(?<![^\W_])(?<!%)(?<!%[0-9A-Fa-f])|(?<=%[0-9A-Fa-f]{2}))(?:\+?\d{41,}+" + _RUN_END + "|"
                    r"(?!\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[ T](?:[01]\d|2[0-3]):[0-5]\d)"
                    rf"\+?\(?\d(?:{_SEPARATOR}{{0,3}}\d){{8,40}}{_RUN_END})")
# An Indonesian mobile number (08..., 628..., +628..., 10 to 14 digits, separated as any) run into a word on either
# side: "hp081234567890", "WA:0812-3456-7890a.n. Budi", "wa6281234567890ya". `_PHONE` leaves a run that touches a
# letter whole (a digest's or an id's digits are no number), and these went out whole; a mobile number's own prefix
# tells them apart. A zero-width space or joiner between groups (text pasted from a chat) separates them too.
_GLUED_MOBILE = re.compile(rf"(?<![\d+])(?:\+?62|0)8(?:{_SEPARATOR}{{0,3}}\d){{8,12}}(?!\d)")
# A run of hex digits this long is a digest, not a word a number was typed into ("dede081234567890": Dede is a name).
_DIGEST_RUN = 20
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# What goes on after a run: found only where the bound cut it (the bounded run takes whatever follows it otherwise).
_PHONE_TAIL = re.compile(rf"(?:{_SEPARATOR}{{0,3}}\d){{1,40}}{_RUN_END}")
# An address, its domain a name or an address literal (siti@[203.0.113.5]: the sender's own server), as a relay's
# refusal quotes it. A quoted local part ("siti aminah"@desa.id) has its own pattern, tried only when the text has
# '"@': as an alternative within the first pattern it made every scrubbed line a third slower.
# The "@" percent-encoded too ("siti%40desa.id", in a URL's query), and as an Asian phone keyboard types it, fullwidth
# "＠" or small "﹫", its dots fullwidth, small or ideographic ("budi＠gmail．com", "budi﹫gmail。com"): those went
# out whole.
_AT_SIGNS = "@\uff20\ufe6b"
_DOTS = ".\uff0e\ufe52\u3002\uff61"
# Alternatives, not a class: after a long run without an "@" a class made a line's search a quarter slower.
_EMAIL_DOMAIN = rf"(?:@|%40|\uff20|\ufe6b)(?:[\w-]+(?:[{_DOTS}][\w-]+)+|\[[^\]\s]{{1,64}}\])"
# Tried only where a local part begins: from every character of a long run without an "@" it was quadratic (a
# 40,000-character token in a line took 9 s of CPU); now it is linear, and finds the same addresses.
_EMAIL_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~\-\uff0e\ufe52\uff0b\uff0d\uff3f]"  # with "．", "﹒", "＋", "－", "＿"
_EMAIL = re.compile(rf"(?<!{_EMAIL_LOCAL}){_EMAIL_LOCAL}+" + _EMAIL_DOMAIN)
# An address that begins where the one before it ended ("siti@desa.id/budi@desa.id", "...?cc=budi@desa.id"): there
# the lookbehind sees the first one's last character, and the second went unredacted (_redact_addresses).
_EMAIL_NEXT = re.compile(f"({_EMAIL_LOCAL}+)" + _EMAIL_DOMAIN)  # its group: the local part's run (_address_in_url)
# An address in a URL, as a library or a provider's answer quotes a request ("GET https://host/p?email=budi@x.id&x=1
# failed"): a local part's characters ("/", "?", "=", "&"...) ran back over the whole URL, and the line read
# "GET https:[email]&x=1 failed", without the host and path an operator needs. In a URL (after "scheme://" and its
# host, or a request's path from its "/") an address begins after the last "/" of the path, or in the query after the
# "?" or the last "&" or "#", and a parameter's plain name stays with its "=": "?email=[email]&x=1". What follows the
# name goes whole, "=" and "+" in it too: a bounce address carries the citizen's in its local part
# (bounces+budi=desa.id@lists.example). An address in the URL's authority (https://budi@desa.id/) still takes the URL
# from "//" on, and one in a URL without a scheme (desa.id/p?to=budi@x.id) the URL from its start, as before.
_URL_SCHEME = "://"
# A URL's user and password ("https://kannel:s3cret@sms.example.id/send", "redis://:pw@10.0.0.1:6379"), as a library
# quotes a request or a client its connection: taken for an address, the line read "https://kannel:[email]/send",
# the user shown and the host gone. Replaced up to the first "@" (RFC 3986 has none raw in a password; run to the
# last, it took a citizen's address further on for the host: `"https://u:p@cs.id","email":"budi@desa.id"` kept
# `desa.id`), the user never past a quote, an angle bracket or a comma (the password may hold them), the host kept.
# Only with a ":" in it: "https://budi@desa.id/" may be a citizen's address, which goes as any address.
_URL_CREDENTIALS = re.compile(r"(?<=://)[^\s/?#@\"'<>,]*:[^\s/?#@]*@")
_SCHEME_LOOKBACK = 256  # a host and port (at most 253 and 6 characters) between a scheme and the run
_AUTHORITY_SO_FAR = re.compile(r"[^\s/?#]*")
_URL_MARK = _AUTHORITY_END = re.compile(r"[/?#]")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-\[\]]{0,31}=")
_QUOTED_EMAIL = re.compile(r'"[^"\r\n]{1,64}"' + _EMAIL_DOMAIN)
# An address written against harvesters, as citizens write their own: "budi [at] desa [dot] id",
# "budi(at)desa(titik)id", "budi at desa dot id", "budi @ desa . id", "budi at yahoo.co.id". Each went out whole. A
# plain " at " with plain dots is an address only when it ends in a mail domain's usual last label (`_MAIL_TLD`):
# "raised at gateway.intake" and "retry at 10.5 s" stay readable. Looked for only where the text has such an "at"
# (`_MAYBE_OBFUSCATED`).
_MAIL_TLD = r"(?:com|net|org|id|co|ac|go|sch|or|info|biz|edu|gov)"
_OBFUSCATED_AT = rf"\s?[\[({{<]\s?(?:at|[{_AT_SIGNS}])\s?[\])}}>]\s?"
_SPACED_AT = rf"(?:\s+[{_AT_SIGNS}]\s*|[{_AT_SIGNS}]\s+)"
_WORD_AT = r"\s+at\s+"
_OBFUSCATED_DOT = r"(?:\s?[\[({<]\s?(?:dot|titik|\.)\s?[\])}>]\s?|\s+(?:dot|titik)\s+)"
_ANY_DOT = rf"(?:{_OBFUSCATED_DOT}|\s?[{_DOTS}]\s?)"
# A local part's own dots written out ("budi dot santoso at gmail dot com": "budi dot" went out before "[email]"), at
# most two: a run of them unbounded, tried from each word of a long "a dot a dot ..." value, took its scrub minutes.
_OBFUSCATED_LOCAL_DOTS = rf"(?:{_OBFUSCATED_DOT}[\w+\-]+){{0,2}}"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.+\-])[\w.+\-]+{_OBFUSCATED_LOCAL_DOTS}"
    rf"(?:(?:{_OBFUSCATED_AT}|{_WORD_AT})[\w\-]+(?:{_OBFUSCATED_DOT}[\w\-]+)+"
    rf"|(?:{_OBFUSCATED_AT}|{_WORD_AT}|{_SPACED_AT})[\w\-]+(?:{_ANY_DOT}[\w\-]+)*{_ANY_DOT}{_MAIL_TLD})(?!\w)",
    re.IGNORECASE)
_MAYBE_OBFUSCATED = re.compile(rf"[\[({{<]\s?(?:at|[{_AT_SIGNS}])\s?[\])}}>]|\sat\s|\s[{_AT_SIGNS}]|[{_AT_SIGNS}]\s",
                               re.IGNORECASE)
# Integers this long are phone numbers written as numbers, not counters.
_PHONE_INT_FLOOR = 100_000_000
# A run of digits alone this long is no phone number (E.164 allows 15 digits; with the international prefix "00",
# 17): an Instagram or X id (a user, post or comment, 17 to 19 digits). Redacted all the same, as `[id]`, so an
# operator reading `deadletters show` or a log line is not told it was a number to call.
_ID_DIGITS = 16
_ID_INT_FLOOR = 10 ** (_ID_DIGITS - 1)


def _number_label(found: str) -> str:
    """What a number found in free text is replaced by: `[id]` for a provider's id, `[phone]` for anything else. Ids
    joined by "_" (a Graph API post's, `<page>_<post>`) are one id."""
    digits = found.replace("_", "") if "_" in found else found
    is_id = digits.isdigit() and len(digits) >= _ID_DIGITS and not (digits.startswith("00") and len(digits) <= 17)
    return "[id]" if is_id else "[phone]"

# Values known to be a citizen's (the text and sender of the message in hand): removed wherever they appear.
# None outside every `sensitive_values()` block: `add_sensitive_values` then keeps nothing.
_SENSITIVE: ContextVar[tuple[str, ...] | None] = ContextVar("lapor_sensitive_values", default=None)
_MIN_SENSITIVE_LENGTH = 4
# A value's first characters, this many, found in a line: removed with as much of the value as follows them. A
# downstream's answer quoting a report is cut to 200 characters before it is logged (a dead letter's detail), and
# the cut text, no longer the whole value, went out as it was.
_CUT_PREFIX = 24
# And its last characters, this many, with as much of the value as precedes them: a library that shortens what it
# quotes keeps both ends (pydantic's `input_value='Pungli di kantor kelurah...sana oleh oknum petugas'`), and the tail
# went out as it was.
_CUT_TAIL = 16


# A phone number needs a digit and an address an "@": text with neither (event names, states, reasons) skips both.
_MAYBE_NUMBER_OR_ADDRESS = re.compile(rf"[\d{_AT_SIGNS}]")


def scrub(text: str) -> str:
    """Replace phone numbers, e-mail addresses and the bound sensitive values inside free text."""
    # Bytes that came in undecodable (surrogate escapes) would make the JSON line itself fail: show them escaped.
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    for value in _SENSITIVE.get() or ():
        if value in text:
            text = text.replace(value, REDACTED)
        else:
            if len(value) > _CUT_PREFIX and value[:_CUT_PREFIX] in text:
                text = _redact_cut(text, value)
            if len(value) > _CUT_TAIL and value[-_CUT_TAIL:] in text:
                text = _redact_cut_tail(text, value)
    if "://" in text and "@" in text:
        text = _URL_CREDENTIALS.sub("[credentials]@", text)
    if _maybe_obfuscated(text):
        text = _OBFUSCATED_EMAIL.sub("[email]", text)
    if _MAYBE_NUMBER_OR_ADDRESS.search(text) is None:
        return text
    text = _redact_addresses(text)
    if '"@' in text or (not text.isascii() and ('"\uff20' in text or '"\ufe6b' in text)):
        text = _QUOTED_EMAIL.sub("[email]", text)
    return _redact_numbers(text)


# How many words in a row of a report's own text make a quote of it (`withhold_quoted`).
QUOTED_WORDS = 3
_WORD = re.compile(r"\w+")


def withhold_quoted(said: str, *texts: str | None) -> str:
    """`said` (what a system downstream said about a report: a case store's refusal, its error for one report)
    with each run of QUOTED_WORDS or more of its words that a text of the report holds (case and spacing aside)
    replaced by `[redacted]`, word for word, punctuation aside. `scrub` takes a sensitive value quoted whole, or cut
    at its start or end; a quote from its middle ("could not index 'kepala desa menerima suap'") went into dead
    letters, the views and log lines."""
    folded = [f" {' '.join(_WORD.findall(text.casefold()))} " for text in texts if text]
    words = list(_WORD.finditer(said)) if folded else []
    parts, position, index = [], 0, 0

    def quoted(first: int, last: int) -> bool:  # word for word: "is not a" is in "this is not an accident" no more
        run = f" {' '.join(word.group().casefold() for word in words[first:last + 1])} "
        return any(run in text for text in folded)

    while index + QUOTED_WORDS <= len(words):
        last = index + QUOTED_WORDS - 1
        if not quoted(index, last):
            index += 1
            continue
        while last + 1 < len(words) and quoted(index, last + 1):
            last += 1
        parts += (said[position:words[index].start()], REDACTED)
        position, index = words[last].end(), last + 1
    return "".join(parts) + said[position:] if parts else said


def _maybe_obfuscated(text: str) -> bool:
    """Whether `text` may hold an address written against harvesters (`_MAYBE_OBFUSCATED`): looked for by substring
    first, as most values have neither an at sign nor "at" (the search alone doubled a short value's scrub)."""
    if not ("at" in text or "AT" in text or "At" in text or "aT" in text or "@" in text
            or (not text.isascii() and ("\uff20" in text or "\ufe6b" in text))):
        return False
    return _MAYBE_OBFUSCATED.search(text) is not None


def _redact_cut(text: str, value: str) -> str:
    """`value` quoted in part, from its start (cut short, or up to a character quoted otherwise), replaced."""
    parts, position, head = [], 0, value[:_CUT_PREFIX]
    while (start := text.find(head, position)) != -1:
        end, limit = start + _CUT_PREFIX, min(len(text), start + len(value))
        while end < limit and text[end] == value[end - start]:
            end += 1
        parts += (text[position:start], REDACTED)
        position = end
    return "".join(parts) + text[position:]


def _redact_cut_tail(text: str, value: str) -> str:
    """`value` quoted in part, up to its end (its start cut off), replaced."""
    parts, position, tail = [], 0, value[-_CUT_TAIL:]
    while (start := text.find(tail, position)) != -1:
        begin, floor = start, max(position, start + _CUT_TAIL - len(value))
        while begin > floor and text[begin - 1] == value[len(value) - _CUT_TAIL - (start - begin) - 1]:
            begin -= 1
        parts += (text[position:begin], REDACTED)
        position = start + _CUT_TAIL
    return "".join(parts) + text[position:]


def _redact_addresses(text: str) -> str:
    """`_EMAIL`'s matches replaced, and an address that follows one at once (`_EMAIL_NEXT`) with it; in a URL, from
    where the address begins (`_address_in_url`)."""
    parts, position = [], 0
    while (match := _EMAIL.search(text, position)) is not None:
        begin, url_part = match.start(), None
        if _URL_MARK.search(text, begin, match.end()) is not None:  # most addresses have none: no more work for them
            begin, url_part = _address_in_url(text, begin, None)
        parts += (text[position:begin], "[email]")
        position = match.end()
        while (following := _EMAIL_NEXT.match(text, position)) is not None:
            if url_part is not None:
                begin, url_part = _address_in_url(text, position, url_part)
                parts.append(text[position:begin])
            parts.append("[email]")
            position = following.end()
    return "".join(parts) + text[position:] if parts else text


def _address_in_url(text: str, start: int, url_part: str | None) -> tuple[int, str | None]:
    """Where the address found from `start` begins, and the part of a URL it is in ("path", "query"; None: in none,
    and the address is the whole match). `url_part` is the part the address before it, ending at `start`, was in (an
    address that follows one at once); None for the first of a run. Called only for a match with "/", "?" or "#"."""
    found = _EMAIL_NEXT.match(text, start)  # the match found there again, for its group: where its "@" is
    at = start if found is None else found.end(1)
    if url_part is None:
        path = _path_in_run(text, start, at)
        if path == -1:
            return start, None
        start = path
    question = text.find("?", start, at)
    if question == -1 and url_part != "query":
        return max(text.rfind("/", start, at), text.rfind("#", start, at)) + 1, "path"
    begin = max(text.rfind("&", start, at), text.rfind("#", start, at), question) + 1
    name = _PARAMETER_NAME.match(text, begin, at)
    return (begin if name is None else name.end()), "query"


def _path_in_run(text: str, start: int, at: int) -> int:
    """Where a URL's path begins in the run `text[start:at]`; -1 if the run is not a URL's, or its "@" is in the
    URL's authority (the run ends before any path)."""
    authority = start + 2 if text.startswith("//", start) else start  # "scheme://", "//host"
    if authority == start:
        if text.startswith("/", start):  # a request's path
            return start
        # Or the run begins within an authority, after its ":" (a port, "user:password@host").
        scheme = text.rfind(_URL_SCHEME, max(0, start - _SCHEME_LOOKBACK), start)
        if scheme == -1 or _AUTHORITY_SO_FAR.fullmatch(text, scheme + len(_URL_SCHEME), start) is None:
            return -1
    path = _AUTHORITY_END.search(text, authority, at)
    return -1 if path is None else path.start()


# A UUID, as RQ names its jobs: no phone number, kept whole. Its first groups (`54351668-1642-4c09-...`) read as one,
# and a line naming the job (`worker.reap_job_unreadable`, RQ's own) named none an operator could find.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


# The hosts of the deployment's own endpoints (`Settings.own_hosts`: the case store, Redis, the providers' base URLs,
# the mail relay...) that the number rule would take, as one pattern; None: none. Set by `configure_logging` from the
# settings of the process. Scrubbed, a case store at 192.168.100.200 or a Redis at 10.255.255.1 read as `[phone]` in a
# reason, a dead letter's detail or an exception's message about them ("case store at http://[phone]:8080 refused"),
# and an operator could not tell which endpoint failed. Kept where the text has one whole, as written (any case): not
# within a longer name or address (10.255.255.10, 5.10.255.255.1), and not run into a number by the marks that join
# its groups (0812 192.168.100.200, 10.255.255.1-0812: scrubbed whole, as before). Nothing else: another address, or a
# number typed with dots (0812.3456.7890, 081.234.56.78), is scrubbed as before. Only a host that is one: an IP
# address, or a name whose last label has a letter; a number pasted into a host setting
# (LAPOR_EMAIL_RELAY_HOST=0812.3456.7890) let every citizen's same number through.
_own_hosts: _OwnHosts | None = None
# A digit before a kept host, or after it, with the marks that may join two groups of a number between (`_SEPARATOR`).
_JOINED_BEFORE = re.compile(rf"\d(?:{_SEPARATOR}){{0,3}}\Z")
_JOINED_AFTER = re.compile(rf"(?:{_SEPARATOR}){{0,3}}\d")
_JOIN_LOOKBACK = 32  # three separators (percent-encoded, 9 characters each) and a digit


@dataclass(frozen=True, slots=True)
class _OwnHosts:
    names: tuple[str, ...]  # lower case: a text that holds none of them is not searched (a third of a scrub's time)
    pattern: re.Pattern[str]


_HOST_NAME = re.compile(r"(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*\.?")


def _is_host(host: str) -> bool:
    """An IP address, or a name whose last label has a letter (a number with dots has none)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _HOST_NAME.fullmatch(host) is not None
    return True


def _own_hosts_pattern(hosts: Iterable[str]) -> _OwnHosts | None:
    """Those of `hosts` the number rule would take (the others need no keeping, and a deployment whose hosts have no
    such number pays nothing) and that are hosts (`_is_host`); None if none are."""
    taken = sorted({host for host in hosts if _is_host(host) and _redact_glued(_redact_number_runs(host)) != host},
                   key=len, reverse=True)
    if not taken:
        return None
    return _OwnHosts(tuple(host.lower() for host in taken), re.compile(
        rf"(?<![\w.\-])(?:{'|'.join(map(re.escape, taken))})(?![\w\-]|\.\w)", re.IGNORECASE))


def _own_host_spans(text: str, own_hosts: _OwnHosts) -> list[tuple[int, int]]:
    """Where `text` names one of the deployment's own hosts whole (`_own_hosts`)."""
    lowered = text.lower()
    if not any(name in lowered for name in own_hosts.names):
        return []
    spans = []
    for found in own_hosts.pattern.finditer(text):
        start, end = found.span()
        if text[start].isdigit() and _JOINED_BEFORE.search(text[max(0, start - _JOIN_LOOKBACK):start]) is not None:
            continue
        if text[end - 1].isdigit() and _JOINED_AFTER.match(text, end) is not None:
            continue
        spans.append((start, end))
    return spans


def _redact_numbers(text: str) -> str:
    """`_PHONE`'s matches replaced, a run the bound cut taken whole (`_PHONE_TAIL`); UUIDs and the deployment's own
    hosts (`_own_hosts`) left as they are, the text around each redacted on its own (a number typed right before one
    is still a number)."""
    kept = [found.span() for found in _UUID.finditer(text)] if "-" in text else []
    if _own_hosts is not None:
        kept = sorted(kept + _own_host_spans(text, _own_hosts))
    if not kept:
        return _redact_glued(_redact_number_runs(text))
    pieces, position = [], 0
    for start, end in kept:
        if start < position:  # within one kept already
            continue
        pieces += (_redact_glued(_redact_number_runs(text[position:start])), text[start:end])
        position = end
    return "".join(pieces) + _redact_glued(_redact_number_runs(text[position:]))


def _redact_glued(text: str) -> str:
    """A mobile number run into a word (`_GLUED_MOBILE`), which `_PHONE` leaves: replaced; not digits inside a hex
    digest (`_in_digest`)."""
    if "8" not in text:
        return text
    return _GLUED_MOBILE.sub(lambda found: found.group() if _in_digest(text, found) else "[phone]", text)


def _in_digest(text: str, found: re.Match[str]) -> bool:
    """Whether `found`, digits alone, lies in a run of hex digits as long as `_DIGEST_RUN` (a sha256 or sha1, an id
    built on one: a reply's `email-<digest>`, a Twilio SID): about one sha256 in 500 has "08" and 8 to 12 more digits
    between letters, and was cut in a log line, so the id an operator requeues by was no longer in it."""
    if not found.group().isdigit():
        return False
    start, end = found.start(), found.end()
    while start > 0 and text[start - 1] in _HEX_DIGITS:
        start -= 1
    while end < len(text) and text[end] in _HEX_DIGITS:
        end += 1
    return end - start >= _DIGEST_RUN


def _redact_number_runs(text: str) -> str:
    parts, position = [], 0
    while (match := _PHONE.search(text, position)) is not None:
        end = match.end()
        while (tail := _PHONE_TAIL.match(text, end)) is not None:  # only where the bound cut the run
            end = tail.end()
        parts += (text[position:match.start()], _number_label(match.group()))
        position = end
    return "".join(parts) + text[position:] if parts else text


def loggable_host(host: str) -> str:
    """The host name as a name built from it (a spool file's, a worker's) shows it in a log line: as it is, unless
    it reads as a phone number itself (ip-172-31-45-101), then `h` and its CRC-32, so the name is still whole and
    the same in every line."""
    return host if scrub(host) == host else f"h{zlib.crc32(host.encode()):08x}"


# Text that JSON (ASCII or not) and repr quote as it is: printable ASCII without a quote or a backslash.
_QUOTES_AS_IT_IS = re.compile(r"[ !#-&(-\[\]-~]*")


def _sensitive_parts(values: Iterable[str | None]) -> tuple[str, ...]:
    """Each value and each of its lines (an exception often quotes one line of a message), each also as a quoted
    string shows it: in JSON (quotes and control characters escaped, and accents too in ASCII-only JSON) and in
    Python's repr (a downstream's answer, a dict, made text). Quoted so, a text with a quote, a tab or an accent went
    out whole."""
    parts: set[str] = set()
    for value in values:
        if not value:
            continue
        candidates = [value, *value.splitlines(), value.strip()]
        plain = {part.strip() for part in candidates if len(part.strip()) >= _MIN_SENSITIVE_LENGTH}
        parts.update(plain)
        if _QUOTES_AS_IT_IS.fullmatch(value):  # most texts, and then each of their parts: quoted as they are
            continue
        for part in plain:
            parts.update((orjson.dumps(part).decode()[1:-1], json.dumps(part)[1:-1], repr(part)[1:-1]))
    return tuple(sorted(parts, key=len, reverse=True))


class sensitive_values:
    """While handling one message, remove its text and sender from every log line, whatever the key or form.

    The regexes catch numbers and addresses; only this catches the citizen's words (in an exception message, a
    library's log line...). Nested uses add up. A class rather than a generator context manager: it is entered
    once per webhook, and the generator machinery cost twice the rest of it.
    """

    __slots__ = ("_parts", "_token")

    def __init__(self, *values: str | None) -> None:
        self._parts = _sensitive_parts(values)
        self._token: Token[tuple[str, ...] | None] | None = None

    def __enter__(self) -> None:
        self._token = _SENSITIVE.set((_SENSITIVE.get() or ()) + self._parts)

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _SENSITIVE.reset(self._token)
            self._token = None


def job_sensitive_values() -> AbstractContextManager[None]:
    """The block a job keeps the values it learns in (`add_sensitive_values`): the one already open, or a new one.
    A worker opens one around each job and the handling of its failure (`workers.run`): RQ logs and stores a failed
    job's traceback after the job returned, and a block of the job's own had ended with it, the citizen's words
    quoted in an exception message going out in RQ's line and its record of the failure."""
    return nullcontext() if _SENSITIVE.get() is not None else sensitive_values()


def add_sensitive_values(*values: str | None) -> None:
    """Like `sensitive_values`, for code that learns the values midway: lasts until the enclosing
    `sensitive_values()` block ends (open one, even empty, around each job and round, with its error lines). Outside
    every block it keeps nothing: kept, the values of every message a thread ever handled (a test calling a poller
    directly, a caller that forgot its block) piled up on its context for good, and every later line was scrubbed of
    them."""
    current = _SENSITIVE.get()
    if current is not None:
        _SENSITIVE.set(current + _sensitive_parts(values))


def _scrub_value(value: Any) -> Any:
    if value is None or value is True or value is False:  # most values of a line; the checks below cost more
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < _PHONE_INT_FLOOR:
            return value
        return "[id]" if abs(value) >= _ID_INT_FLOOR else "[phone]"
    if isinstance(value, float):  # a whole one is a number written as a float; inf and nan are not whole
        return "[phone]" if abs(value) >= _PHONE_INT_FLOOR and value.is_integer() else value
    if isinstance(value, (dict, Mapping)):  # dict first: the ABC check on Mapping is slow
        # Keys are data too ({number: count}), and a key that is not a string would break the JSON line.
        return {scrub(str(key)): _redact_item(str(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub_value(item) for item in value]
    return value


def _redact_item(key: str, value: Any) -> Any:
    if value is None or key in VERBATIM_KEYS:
        return value
    if key in TRACKING_ID_KEYS and _is_tracking_id(value):
        return value
    if key not in SAFE_KEYS and key.lower() in SENSITIVE_KEYS and value not in ("", [], {}):
        return REDACTED
    return _scrub_value(value)


def _is_tracking_id(value: Any) -> bool:
    """A Tracking ID as the gateway writes it: ASCII digits only (not "0812-..." nor "+62..."), its check digit
    holding. By the key, not by the look of a number in free text, which cannot tell an ID from a phone number."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and is_valid_tracking_id(value)


def redact_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` as a log line would show them: for what operators see outside the logs (the CLI, the status)."""
    return {key: _redact_item(key, value) for key, value in fields.items()}


def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no citizen's number, address or words leave the process in a log line."""
    if "logger" in event_dict:
        return {key: _redact_item(key, value) for key, value in event_dict.items()}
    return {key: value if (kept := _KEPT_ON_OWN_LINES.get(key)) is not None and kept(value)
            else _redact_item(key, value) for key, value in event_dict.items()}


def channel_as_the_views_name_it(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: a line's `channel` as the status views name it (`health_channel`: `x` for `x-mentions`,
    `x-reply` and the envelope's `twitter`, `email` for `email-imap`...), the name it was logged with kept as `source`
    when it differs, so that one filter on `channel` finds every line of a channel. After `redact`: the name kept is
    the one the line shows. A line's own `source` (the peer `ratelimit.throttled` names) is left as it is."""
    channel = event_dict.get("channel")
    if isinstance(channel, str):
        named = health_channel(channel)
        if named != channel:
            event_dict["channel"] = named
            event_dict.setdefault("source", channel)
    return event_dict


def _is_own_name(value: Any) -> bool:
    return isinstance(value, str) and _OWN_NAME.fullmatch(value) is not None


def is_ip_address(value: Any) -> bool:
    """One IP address and nothing else, without an IPv6 zone (`%` and any text)."""
    if not isinstance(value, str) or "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# What keeps a key's value whole on the gateway's own lines (OWN_NAME_KEYS, NETWORK_ADDRESS_KEYS): one lookup a key.
_KEPT_ON_OWN_LINES: dict[str, Callable[[Any], bool]] = {
    **dict.fromkeys(OWN_NAME_KEYS, _is_own_name), **dict.fromkeys(NETWORK_ADDRESS_KEYS, is_ip_address),
}


def _as_text(value: Any) -> str:
    """What JSON cannot carry as it is (bytes, an exception, a path...) goes as text, scrubbed like any other."""
    if isinstance(value, (bytes, bytearray)):
        return scrub(bytes(value).decode("utf-8", "backslashreplace"))
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return scrub(str(value))


def _orjson_dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=_as_text).decode()


class _UnparsableRequestFilter(logging.Filter):
    """aiohttp's line for a request its parser refused (400 before any handler: a line or header too long, a body
    past its Content-Length read as the next request, a chunk size not hex) was an error with a traceback whose
    message quoted the bytes it choked on, a citizen's text among them. It is one warning naming the parser's error
    instead, none of the request's bytes: a client's mistake, not the gateway's."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        structlog.get_logger().warning("http.bad_request", error=type(error).__name__, status=error.code)
        return False


_UNPARSABLE_REQUESTS = _UnparsableRequestFilter()


class LineLogger:
    """Writes each rendered line and its newline in one write, to `stream` or to whatever `sys.stdout` is then.

    structlog's PrintLogger printed the line, then the newline: with PYTHONUNBUFFERED set (many container images)
    each went out alone, and processes sharing a stdout (make run's) ran two lines into one no parser could read."""

    _lock = threading.Lock()

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg

    @classmethod
    def _new_lock(cls) -> None:
        """A forked child's lock (a worker forks RQ's retry scheduler): one another thread held as it forked stays
        held in the child for good, and its first line would wait forever."""
        cls._lock = threading.Lock()


os.register_at_fork(after_in_child=LineLogger._new_lock)


def configure_logging(level: str = "info", stream: TextIO | None = None, own_hosts: Iterable[str] = ()) -> None:
    """JSON lines on stdout (or `stream`), shared by structlog and the standard library's loggers. `own_hosts`: the
    hosts of the deployment's own endpoints (`Settings.own_hosts`), kept whole wherever free text is scrubbed, in the
    logs and in every view that scrubs its text with `scrub`; without them, none is."""
    global _own_hosts
    _own_hosts = _own_hosts_pattern(own_hosts)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False, max_frames=20)
        ),
        redact,
        channel_as_the_views_name_it,
        structlog.processors.JSONRenderer(serializer=_orjson_dumps),
    ]
    global _configuration
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    line_logger = LineLogger(stream)  # one for every logger: it holds nothing but where it writes
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=lambda *_: line_logger,
        cache_logger_on_first_use=False,
    )
    _configuration += 1
    # Libraries (aiohttp, rq) log through the standard library: render them the same way, redacted too.
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *processors,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric_level, logging.INFO))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(_UNPARSABLE_REQUESTS)
    # httpx logs every request URL at INFO: query strings carry numbers, texts and provider credentials.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _install_exception_hooks()


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    """An exception nobody caught still leaves as one redacted JSON line, not a raw traceback on stderr."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    structlog.get_logger().error("process.uncaught_exception", exc_info=(kind, value, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _install_exception_hooks() -> None:
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


# Bumped by every `configure_logging`: module loggers assemble their bound logger again after it.
_configuration = 0


class _ModuleLogger:
    """What `get_logger` returns: structlog's logger as last configured, assembled once per configuration.

    structlog's own lazy proxy assembles a new bound logger (and output logger) on every call unless loggers are
    cached on first use, and cached ones would keep the first configuration; this process and the tests configure
    logging again (another level, another stream). Assembling took a third of an accepted report's log line."""

    __slots__ = ("_bound", "_configuration", "_initial")

    def __init__(self, initial: dict[str, Any]) -> None:
        self._initial = initial
        self._configuration = -1
        self._bound: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # an unset slot (copy, pickle): not a logging method
            raise AttributeError(name)
        configuration = _configuration  # read first: a configuration made while assembling is picked up next time
        if self._configuration != configuration:
            self._bound = structlog.get_logger(**self._initial).bind()
            self._configuration = configuration
        return getattr(self._bound, name)


def get_logger(**initial: Any) -> structlog.stdlib.BoundLogger:
    return _ModuleLogger(initial)  # type: ignore[return-value]


def bind_message_context(**values: Any) -> None:
    """Bind `channel`, `tracking_id`... for every line logged while handling this message."""
    structlog.contextvars.bind_contextvars(**values)


def clear_message_context() -> None:
    structlog.contextvars.clear_contextvars()


@contextmanager
def context_of_its_own(**values: Any) -> Iterator[None]:
    """A unit of work with a log context of its own (a poller's round, `channel` bound): nothing bound before it shows
    on its lines, `values` show on every one of them, a library's too, and nothing of it on the lines after it."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()


def message_context() -> dict[str, Any]:
    """What is bound now (a poller round's `channel`): what `restore_message_context` binds again once the lines of
    one message in it are done."""
    return structlog.contextvars.get_contextvars()


def restore_message_context(context: Mapping[str, Any]) -> None:
    """Exactly `context` bound again: what one message bound after it (its Tracking ID) goes, the round's stays."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**context)
