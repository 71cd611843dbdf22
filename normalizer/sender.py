"""Senders in normal form: E.164 for phone numbers, lowercased addresses for mail."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from gateway.errors import RejectedInput
from normalizer.envelope import Sender, SenderKind
from normalizer.text import clean_text

# An Indonesian mobile number as SMS providers send it, unseparated: "+62" or "62" or (in Indonesia) "0", then 8 and
# 8 to 11 digits. phonenumbers answers "+62" + the digits after the prefix for every such string (a property test
# holds this to it), at 60 us a number: a flood of new senders is mostly made of these.
_PLAIN_ID_MOBILE = re.compile(r"(?:\+?62|(0))(8[0-9]{8,11})")
# A provider's address scheme before the number ("tel:", Twilio's "whatsapp:"): the number is what follows it. Only
# these: any word before a colon read as one, a sender ID "BCA:1500888" was the number +621500888, someone else's.
_SCHEME = re.compile(r"(?:tel|sms|whatsapp):", re.IGNORECASE)


@lru_cache(maxsize=16384)  # a pure function of its arguments; a flood repeats senders (retries, several messages)
def normalize_msisdn(raw: str, default_region: str = "ID") -> str:
    """`0812-3456-789`, `62812...`, `+62 812 ...` -> `+628123456789`; RejectedInput when it is no number."""
    candidate = raw.strip()
    plain = _PLAIN_ID_MOBILE.fullmatch(candidate)
    if plain is not None and (plain.group(1) is None or default_region == "ID"):
        return "+62" + plain.group(2)
    return _normalize_with_phonenumbers(candidate, default_region)


def msisdn_or_as_given(raw: str, default_region: str = "ID") -> str:
    """`raw` in E.164 (`normalize_msisdn`), or as it was given when it is no number: what counts or keys a sender
    before the normalizer refuses it (`bad_sender`), as flood control does and an aggregator's retry's dedup."""
    try:
        return normalize_msisdn(raw, default_region)
    except RejectedInput:
        return raw


def _normalize_with_phonenumbers(candidate: str, default_region: str) -> str:
    # A sender ID with letters ("3636INFO", "BCA1500888") is a name: phonenumbers reads letters off a keypad, or skips
    # those before the digits, and made someone else's number the report's sender and its reply's recipient.
    scheme = _SCHEME.match(candidate)
    if any(ch.isalpha() for ch in candidate[scheme.end() if scheme else 0:]):
        raise RejectedInput("sender is a name, not a phone number", reason="bad_sender")
    digits = "".join(ch for ch in candidate if ch.isdigit())
    # Aggregators often drop the "+": a bare country code is still international.
    if not candidate.startswith(("+", "0")) and digits.startswith("62") and len(digits) >= 10:
        candidate = "+" + digits
    # "00" is the international prefix most of the world dials, and no Indonesian national number opens with it (a
    # trunk "0" and then an area code or a mobile prefix, never "0"): "0062 812-3456-7890" is +6281234567890. Read by
    # phonenumbers as a national number of Indonesia's, it was no possible number, and the citizen's report was
    # refused `bad_sender`.
    elif candidate.startswith("00") and digits.startswith("00") and digits[2:3] not in ("", "0"):
        candidate = "+" + digits[2:]
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as error:
        raise RejectedInput("sender is not a phone number", reason="bad_sender") from error
    # Possible with its area code, not only locally ("62812" read as a local number gave "+6262812"); and a national
    # "0" kept in the E.164 form ("08123" -> "+6208123") only where the number is valid so
    # (Italy's "+3906..."): else an id no reply reaches and no follow-up matches.
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE or (
            number.italian_leading_zero and not phonenumbers.is_valid_number(number)):
        raise RejectedInput("sender is not a possible phone number", reason="bad_sender")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_sender(kind: SenderKind, raw: str, display_name: str | None, default_region: str = "ID") -> Sender:
    if kind is SenderKind.MSISDN:
        identity = normalize_msisdn(raw, default_region)
    elif kind is SenderKind.EMAIL:
        identity = raw.strip().lower()
        if "@" not in identity:
            raise RejectedInput("sender is not an e-mail address", reason="bad_sender")
    else:
        identity = raw.strip()
        if not identity:
            raise RejectedInput("sender id is empty", reason="bad_sender")
    return Sender(kind=kind, id=identity, display_name=display_name_of(display_name))


def display_name_of(raw: str | None) -> str | None:
    """A display name cleaned as the text is (`clean_text`) on one line; None when nothing is left. As the provider
    gave it, a bidi override or a zero-width character reached the case store's operators in it."""
    return " ".join(clean_text(raw or "").split()) or None
