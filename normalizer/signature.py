"""What a mail's signature holds below the From's name: its contacts, no words of the citizen's
(channels/email/processor.py `signs_off_alone`: "-- \nBudi Santoso\n0812-3456-7890" over the quoted history adds
nothing to a report). Read with config/identity.toml's contact tables, as an anonymous mail's signature is
(workers/own_identity.py, which the channels do not import). Narrowly: a role or an address below the name is not
told from a headline of news ("Ketua RT 03" from "RT 03 Banjir 1 Meter", "Jl. Melati 5" from "No. Rekening Pak
Hendra 1234567890"), and a mail of news dropped as empty loses the citizen's words; such a signature is filed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers

from gateway.settings import CONFIG_DIR
from normalizer.text import fold_word

# An e-mail address to its last letter (a domain of any length: "dewi@kantor.example"), and an @handle: a contact of a
# line (workers/own_identity.py reads a signature's lines with them too).
MAIL_ADDRESS = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.\w+")
HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}")
# What separates the words of a contact's label: "No. HP/WA", "Telp / WA", "HP & WA".
_LABEL_PARTS = re.compile(r"[\s./&+]+")
# What joins a name's label to a contact's: a mark ("Nama/HP", "Nama & No. WA", "Nama, HP", "Nama; HP", "Nama|HP") or
# a word ("Nama dan Alamat", "Nama serta HP"), or the contact's in brackets after it ("Nama (HP)").
# workers/own_identity.py reads a joined label's line with the same.
JOINING_MARKS = "/&+,;|-\u2013\u2014"
JOINING_WORDS = ("dan", "serta")
_MAILBOX_WORD = re.compile(r"[^\W\d_]+")
_MIN_MAILBOX_NAME_WORD = 3


@dataclass(frozen=True, slots=True)
class SignatureWords:
    """config/identity.toml's tables a signature's lines are read with, compiled once."""

    # `[contact_labels]` labels and the words a label made only of is one too, lowercase.
    contact_labels: frozenset[str]
    contact_label_words: frozenset[str]
    # A name's label, joined to a contact's (`joined_name_labels`), lowercase: "nama", "nama pelapor", "identitas".
    name_labels: frozenset[str]
    # A mailbox's ordinary words (`[not_a_name]`), folded: "warga@", "info@" spell no name.
    not_a_name: frozenset[str]


@lru_cache(maxsize=1)
def signature_words(path: Path = CONFIG_DIR / "identity.toml") -> SignatureWords:
    """config/identity.toml compiled into `SignatureWords`, once per path."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return SignatureWords(
        contact_labels=frozenset(label.lower() for label in raw["contact_labels"]["labels"]),
        contact_label_words=frozenset(word.lower() for word in raw["contact_labels"]["words"]),
        name_labels=frozenset(label.lower() for label in joined_name_labels(raw["own_name"])),
        not_a_name=frozenset(fold_word(word) for word in raw["not_a_name"]["words"]),
    )


def joined_name_labels(own_name: Mapping[str, list[str]]) -> list[str]:
    """The labels a name's is when a contact's is joined to it ("Nama/HP:", "Nama Pelapor/HP:", "Identitas/HP:"), from
    config/identity.toml's `[own_name]`: sign_off_name_labels, reporter_labels and joined_name_labels (one a name's only
    so: "Identitas:" alone heads details)."""
    return [*own_name["sign_off_name_labels"], *own_name["reporter_labels"], *own_name["joined_name_labels"]]


def signature_line(line: str) -> bool:
    """Whether a line below a signature's name is the signature's own, no words of the citizen's: a contact alone, under
    a contact's label at most (`[contact_labels]`: "0812-3456-7890", "HP: 0812...", "budi@example.net"). Anything
    else may be news (module docstring), and someone else's number ("Kades Hendra 0813-...", "WA penipu 0813-...") is
    the citizen's evidence."""
    words = signature_words()
    label = _without_contacts(line.strip())
    if label is None:
        return False
    label = label.strip().rstrip(":").strip().lower()
    return not any(char.isalnum() for char in label) or is_contact_label(label, words.contact_labels,
                                                                           words.contact_label_words, words.name_labels)


def _without_contacts(line: str) -> str | None:
    """The line without its contacts (phone numbers read as Indonesian, e-mail addresses, @handles); None for a line
    with none."""
    spans = [match.span() for pattern in (MAIL_ADDRESS, HANDLE) for match in pattern.finditer(line)]
    spans += [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(line, "ID")]
    if not spans:
        return None
    return "".join(char for at, char in enumerate(line) if not any(start <= at < end for start, end in spans))


def is_contact_label(label: str, labels: frozenset[str], label_words: frozenset[str],
                     name_labels: frozenset[str] = frozenset()) -> bool:
    """Whether a line's label (lowercase) is a contact's: one of `[contact_labels]` (`labels`), or made only of their
    `words` (`label_words`: "no. hp/wa", "nomor whatsapp", "kontak pelapor"), a name's label joined to them too
    (`name_labels`, `JOINING_MARKS`, `JOINING_WORDS`: "nama/hp", "nama & no. wa", "nama dan alamat", "nama, hp",
    "nama (hp)", "identitas/hp": a name and a contact, as a signature gives them; a space or a dot joins them too)."""
    if label in labels:
        return True
    if name_labels and (joined := _joined_name_label(name_labels).match(label)) is not None:
        rest = label[joined.end():]
        if joined.group("bracket") is not None:
            rest = rest.removesuffix(")") if rest.endswith(")") else ""
        if rest.strip():
            label = rest
    parts = [part for part in _LABEL_PARTS.split(label) if part]
    return bool(parts) and all(part in label_words for part in parts)


@lru_cache(maxsize=4)
def _joined_name_label(name_labels: frozenset[str]) -> re.Pattern[str]:
    """One of `name_labels` opening a label and what joins a contact's to it (`JOINING_MARKS`, `JOINING_WORDS`, a space
    or a dot), or the bracket opening the contact's (group `bracket`)."""
    names = "|".join(r"\s+".join(map(re.escape, name.split())) for name in sorted(name_labels, key=len, reverse=True))
    joining = "|".join(map(re.escape, JOINING_WORDS))
    return re.compile(rf"(?:{names})(?:[\s.]*(?:[{re.escape(JOINING_MARKS)}]|(?:{joining})(?=[\s.]))[\s.]*"
                      r"|[\s.]*(?P<bracket>\()[\s.]*|[\s.]+)")


def mailbox_name(address: str) -> tuple[frozenset[str], str | None]:
    """The name a From's address spells when the From gives none: its mailbox's words of letters ("budi.santoso87@":
    "budi", "santoso"; without a `+tag`), folded, but its ordinary words (`[not_a_name]`: "warga@", "info@" name no
    one); and the mailbox's one word when it is all there is but digits ("budisantoso87@": "budisantoso"), the name's
    words written together."""
    mailbox = address.rpartition("@")[0].split("+", 1)[0]
    found = _MAILBOX_WORD.findall(mailbox)
    not_a_name = signature_words().not_a_name
    words = frozenset(word for word in map(fold_word, found)
                      if len(word) >= _MIN_MAILBOX_NAME_WORD and word not in not_a_name)
    alone = fold_word(found[0]) if len(found) == 1 and re.sub(r"\d", "", mailbox) == found[0] else None
    return words, alone if alone in words else None
