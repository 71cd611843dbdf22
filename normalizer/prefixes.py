"""The reply and forward prefixes mail clients put before a subject: one list, read four ways.

The parse asks whether a mail is a forward (its first prefix is a forward's: a header block in its body then starts the
forwarded message, the report, and is kept); the reply strips every prefix stacked before our tag; the normalizer reads
a subject's flags past them ("Fwd: ANONIM ..."); the e-mail guards ask whether a mail answers another (an
autoresponder's). Kept in one place so they never disagree on what a prefix looks like, and in the normalizer, which
the e-mail channel imports (never the other way round: data flows one way).
"""

from __future__ import annotations

import re

from normalizer.text import with_compatibility_forms

# The prefixes Outlook's localizations write (Wikipedia's "List of email subject abbreviations"), Indonesian first.
# Forward prefixes: Trs/Terusan (Indonesian Outlook), Fwd/FW (English), WG (German), TR (French), RV (Spanish), ENC
# (Portuguese), VS (Danish and Norwegian; Finnish writes VS for a reply, read as a forward: its quoted history is then
# kept, never a report lost), VB (Swedish), VL (Finnish), Doorst (Dutch), I (Italian), PD (Polish), FS (Icelandic),
# İLT (Turkish; "ilt" matches "İLT" without case).
FORWARD_WORDS = ("trs", "terusan", "fwd", "fw", "wg", "tr", "rv", "enc", "vs", "vb", "vl", "doorst", "i", "pd", "fs",
                 "ilt")
# Reply prefixes: Balas/Bls (Indonesian Outlook), Re, AW (German), SV (Danish, Norwegian, Swedish, Icelandic), Antw
# (Dutch), RES (Portuguese), R/RIF (Italian), Odp (Polish), YNT (Turkish).
REPLY_WORDS = ("balas", "bls", "re", "aw", "sv", "antw", "res", "r", "rif", "odp", "ynt")

# A counter some clients add ("Re[2]:", "FW(3):", "Re^2:"), and the colon as a fullwidth keyboard types it too ("：").
_COUNTER = r"(?:\[\d+\]|\(\d+\)|\^\d+)"
_COLON = "".join(map(re.escape, with_compatibility_forms(":")))


def _one_prefix(words: tuple[str, ...]) -> str:
    """One prefix. The spaces before a counter and before the colon are one run when there is no counter: two
    adjacent runs would try every split of a long run of spaces ("Fwd" and 100 000 spaces), time quadratic in it."""
    return rf"(?:{'|'.join(words)})\s*(?:{_COUNTER}\s*)?[{_COLON}]\s*"


# A subject that starts with a forward prefix ("Fwd: ...", "FW[2]: ...", "TRS：...").
FORWARD_SUBJECT = re.compile(rf"^\s*{_one_prefix(FORWARD_WORDS)}", re.IGNORECASE)
# One that starts with a reply prefix ("Re: ...", "Balas: ..."): the e-mail guards read another system's X-Loop on an
# answer as its autoresponder's.
REPLY_SUBJECT = re.compile(rf"^\s*{_one_prefix(REPLY_WORDS)}", re.IGNORECASE)
# The reply and forward prefixes before a subject, stacked however deep ("RE: AW: Fwd[2]: ...").
STACKED_PREFIXES = re.compile(rf"^\s*(?:{_one_prefix(REPLY_WORDS + FORWARD_WORDS)})+", re.IGNORECASE)
