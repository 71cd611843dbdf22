"""An anonymous report's own words, without the identity its sender gave the gateway.

A citizen who asks for anonymity often still writes who they are: a mail closes with "Salam, Budi Santoso" (the name
the From header carries) and its address, an SMS ends "balas ke 0812 3456 7001", a post says "cc @budi_rahasia" or
links to x.com/budi_rahasia. The envelope's sender is replaced by a reply handle (workers/report_payload.py); left in
the text, these would name the sender to the case store all the same. So the case store gets the text and the subject
with each form of the sender's own number, address, handle, user id and full display name replaced by `[anonim]`.
A mail's sender gave more of their own: the Reply-To our replies go to and the envelope sender are their addresses
too, and so is each address and name of the fields that name a sender (Sender, Return-Path, X-Sender, a read
receipt's Disposition-Notification-To...: channels/email/parse.py SENDER_HEADERS, kept in the envelope's channel_meta
for the gateway alone); an address also travels in a link's query as `budi%40desa.id` (html_text shows a link's
address) and is written against harvesters as `budi at desa dot id`; a From of "Santoso, Budi" is signed "Budi
Santoso", and one of "André Núñez" often "Andre Nunez".

Only what the gateway knows to be the sender's own is replaced: another number (an official's, a bank account), a
name the sender did not send under, and, in the report's words, a one-word display name or a single word of the name
(`Budi` would take "Pak Budi", often the official the report is about) stay as written. The gateway's envelope copy
keeps the text whole.

Where a mail is signed, its name is the sender's however it is written: in the mail's sign-off (the short lines
after a closing phrase, "Hormat saya,", "Salam,", "Terima kasih,", "Regards,", among its last CLOSING_TAIL_LINES
lines, and a line of the name alone among its last SIGN_OFF_LINES), the From name (and each a sender field gave) is
replaced in its other orders and with initials ("Rahayu, Siti", "RAHAYU Siti", "Rahayu S.", "S. Rahayu"), a word of
it alone ("Salam, Siti"), and a one-word display name ("Salam, Joko"). Not after a form of address ("Terima kasih,
Pak Joko": the official thanked), and not a display name that is a mailbox's ordinary word ("Warga", "Admin",
"Info"), which names no one. A mail that gives no name (a From of an address alone, or of an ordinary word) is signed
with the name its address spells: "siti_rahayu88@..." signs "Salam,\nSiti Rahayu" (`address_spelling`), read in
the sign-off alone as a one-word From is; "s.rahayu@..." signs "Siti Rahayu" too (a capitalized word before the
family name, opening with the initial), and "sitirahayu88@..." (words that together spell its one word). The
sender's other addresses (Reply-To, Sender, the envelope sender...) spell it the same way, also where only the From
gives a name: a site's form or a relay sends from its own named address, the citizen's bare one as its Reply-To. The
closing phrases, forms of address and ordinary words, as every word set this module reads with (someone else's words,
her pleas, money asked for: `[payments]`), are config/identity.toml's.

A mail's signature is the sender's own too. Below RFC 3676's `-- ` the parse has cut it already; typed by hand or in
a webmail editor the delimiter often loses its space, and a line of `--` alone is also a citizen's divider with the
report below it, so the parse keeps what follows it. In an anonymous mail the case store gets `[anonim]` for each
signature below the last `--`, among the mail's last SIGNATURE_TAIL_LINES lines (a signature ends a mail): a run of
paragraphs none of whose lines is the citizen's writing (prose, a long line, a list's item), at most
SIGNATURE_MAX_LINES lines, with a phone number, an e-mail address or an @handle among them ("Budi Santoso / Staf TU
SDN 3 / Jl. Merdeka No. 10 ... / 0812-3456-7890 / budi@sdn3.sch.id"). A work signature runs to ten lines and more, a
line of it past 80 characters, a disclaimer below it: each once kept the whole signature.
A divider above the citizen's words ("--\nSaksi: 2 orang."), their sentences below it with an official's number in
them, and a disclaimer stay. Most citizens type no `--` at all: a sign-off that ends the mail with a contact in it
("Terima kasih,\nDewi L.\nJl. Melati No. 12, Bekasi\nHP 0813-9876-5432") goes whole as such a short tail does
(`without_sign_off_contacts`), and so does a signature with no closing phrase opened by a line of the name alone
(Outlook's: "Rudi Hartono\nGuru Honorer SMPN 2\nHP/WA: 0852...", `without_signed_name`). A signature of one line
("Siti Rahayu, 0812-3456-7890") goes with the lines below it that carry it on (a post, an address, a contact); the
report's lines below it stay ("Kepala desa Agus\n0812-1111-2222", "Mohon ditindak"), but not the sender's contact.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from itertools import dropwhile, islice, pairwise, takewhile
from pathlib import Path
from typing import Any

import phonenumbers

from gateway.settings import CONFIG_DIR
from gateway.tracking import ascii_digits, is_valid_tracking_id
from normalizer.envelope import (
    EVERY_ADDRESS,
    NAMED_ADDRESS,
    SENDER_IDENTITIES,
    WRITTEN_ADDRESS,
    Channel,
    SenderKind,
)
from normalizer.quoted_posts import without_quoted_post_addresses, without_relayed_authors
from normalizer.signature import (
    HANDLE,
    JOINING_MARKS,
    JOINING_WORDS,
    MAIL_ADDRESS,
    is_contact_label,
    joined_name_labels,
)
from normalizer.text import phrase_pattern

OWN_IDENTITY = "[anonim]"
# A list's mark or number opening a line, and the spaces after it: "- ", "* ", "• ", "1. ", "2) ", "1.1 ", "(3) ",
# "[4] ", "a. ", "b) ", "(c) ", "ii. ", and the marks a phone's keyboard or a copied document lists with ("– ", "● ",
# "▪ ", "◆ ", "★ ", "➤ ", "➡️ ", "👉🏻 ", "✅ ", "☑ ", "📌 ", "👤 ", "📞 ", "🏠 ", "📍 "): her details listed so
# reached the case store whole, her name and address under their labels read as no label.
_LIST_MARK = (r"(?:(?:\d{1,3}[.)]|\d{1,3}\.\d{1,2}[.)]?(?=[^\S\n])|[(\[](?:\d{1,3}|[A-Za-z])[)\]]"
              r"|(?:[A-Za-z]|[ivxIVX]{2,4})[.)](?=[^\S\n])"
              r"|[-*\u2022\u2013\u2014\u2212\uff0d\u00b7\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u25c6\u25c7\u25e6\u25b6"
              r"\u25b8\u25b9\u25ba\u2023\u2043\u2192\u2794\u27a2\u27a4\u27a1\u2796\u2605\u2606\u2611\u2713\u2714"
              r"\u2705\u261e\u260e\u2709\U0001f449\U0001f539\U0001f538\U0001f4cc\U0001f4cd\U0001f4de\U0001f4f1"
              r"\U0001f3e0\U0001f464\U0001f4e7][\U0001f3fb-\U0001f3ff]?\ufe0f?)[^\S\n]*)")
# What may stand between the digits of a number as people write it: 0812-3456-7001, (0812) 3456 7001, +62 812.3456,
# any dash (en dash, minus sign), and the fullwidth forms of an Asian phone keyboard (０８１２－３４５６, （０８１２）);
# the other marks a keypad or a habit puts between groups too (0812_3456_7001, 0812*3456*7001, 0812:3456:7001,
# 0812,3456, 0812'3456, 0812·3456): each number so written reached the case store whole.
# Its digits are read in any script (without_own_identity matches the text with gateway.tracking.ascii_digits applied).
_NUMBER_GAP = r"[\s().\-/\u2010-\u2015\u2212\uff08\uff09\uff0d\uff0e\uff0f_*~:,'\u00b7\u2019]{0,3}"
_PLUS = "[+\uff0b]"
# A handle's characters (X: letters, digits, _; Instagram also "."): a handle ends where none follows.
_HANDLE_CHAR = r"[A-Za-z0-9_]"
# What starts a mention: "@", an Asian phone keyboard's fullwidth "＠" and the small "﹫" (X reads them as "@").
_AT_SIGN = "[@\uff20\ufe6b]"
# An address's local part is a word of its own only when it has no dot, digit, underscore or hyphen ("budi"): then it
# may be anyone's name in the text, and only the whole address is replaced.
_DISTINCT_LOCAL_PART = re.compile(r"[._\d-]")
_MIN_LOCAL_PART = 4
# An address's "@" and "." as people write them to keep the address from harvesters: "budi at desa dot id",
# "budi [at] desa [dot] id", "budi(at)desa(titik)id" (Indonesian), spaces around the "@", a fullwidth ＠ and ．; and
# the "@" as a link's query carries it, %40.
_AT = r"(?:\s?" + _AT_SIGN + r"\s?|%40|\s?[\[({<]\s?at\s?[\])}>]\s?|\s+at\s+)"
_DOT = r"(?:[.\uff0e]|\s?[\[({<]\s?(?:dot|titik)\s?[\])}>]\s?|\s+(?:dot|titik)\s+)"
_MIN_DISPLAY_NAME_WORDS = 2
# The combining accents (U+0300-U+036F) a letter may carry written decomposed (NFD, as macOS writes names).
_ACCENTS = r"[\u0300-\u036f]*"
# What a directory adds to a display name in brackets: an office, a unit ("Budi Santoso (Dinas PU)").
_BRACKETED = re.compile(r"[(\[][^()\[\]]*[)\]]")
# Fewer digits than this, a number (a phone's national number, an account's numeric user id) would match ordinary
# figures in a report (an amount, a house number, a date): it is not looked for.
_MIN_IDENTITY_DIGITS = 5
# A signature below a "--" line (see the module): its most lines (blank ones not counted; a company's, with its
# address, phone, fax, mobile, mail and web, runs to 10 or 12) and its longest line (a line longer is prose).
SIGNATURE_MAX_LINES = 15
SIGNATURE_MAX_LINE = 120
# Where no signature is found, a short tail below the last `--` with a contact goes whole, whatever its words: at
# most this many lines (blank ones not counted), none longer than this. A signature typed in lowercase ("budi santoso
# / staf tu / hp 0812..."), with dashes before its lines, or saying "hubungi saya di 0812..." reads as the citizen's
# writing to the rule above, and so does an official's number given in a sentence: the two cannot be told apart, and
# an anonymous reporter's number must not reach the agency (the gateway's copy keeps the text whole).
SHORT_TAIL_MAX_LINES = 6
SHORT_TAIL_MAX_LINE = 80
# A postal address's line in that tail (`[address_lines]`) may be this long: a full one runs past 80.
ADDRESS_LINE_MAX = 200
# ... holding this many of an address's parts besides its opening word (`_address_parts`); one with fewer is the
# report's.
ADDRESS_LINE_MIN_PARTS = 2
# ... and, written in lowercase, no more than this many words between its words and parts or after them, the names of
# its road, estate and areas ("griya asri", "cempaka putih timur"): a line running on longer is a sentence ("jalan raya
# no 5 rt 3 kel sukamaju sudah dua bulan rusak ..."), the report's.
ADDRESS_NAME_MAX_WORDS = 4
# A line "Label: value" is the citizen's (a structured report: "Nama pelaku: ...", "Lokasi: ...", "Saksi: ...") unless
# its label is a signature's contact label (`[contact_labels]` in config/identity.toml).
_LABELLED_LINE = re.compile(r"\s*([A-Za-z][A-Za-z ./-]{0,24}?)\s*:\s+\S")  # a space after: not a link's scheme
# The last lines of a mail read for signatures (blank ones counted): a signature, its disclaimer and the citizen's
# closing words fit many times over, and the rest of a long mail costs nothing to read.
SIGNATURE_TAIL_LINES = 100
# A line of at least this many words, most of them lowercase, is prose (_is_citizens_line).
_PROSE_MIN_WORDS = 5
# A mail's sign-off (see the module): a closing phrase opening a line or a sentence among the last CLOSING_TAIL_LINES
# lines that are not blank, with at most CLOSING_MAX_LINES lines after it, and a line of the name alone among the last
# SIGN_OFF_LINES. Such a line is read for the name when the words after its closing phrase are few (a name and what
# its owner adds: "Siti Rahayu, warga RT 03"); a longer one is the citizen's prose ("P.S. ...") and stays as written.
# Only these few lines are read, from the text's end (str.rsplit): the cost does not grow with the mail.
CLOSING_TAIL_LINES = 8
CLOSING_MAX_LINES = 4
SIGN_OFF_LINES = 3
SIGN_OFF_MAX_WORDS = 6
# How far before a line's end its closing phrase is looked for: the few words after it fit many times over, and a
# long line costs no more than a short one.
_CLOSING_REACH = 160
_ADDRESS_REACH = 12  # how far before a name a form of address is looked for ("saudari  ")


@dataclass(frozen=True, slots=True)
class IdentityWords:
    """The word tables a mail's sign-off and signature are read with (config/identity.toml), compiled once."""

    # A closing phrase (`[closings]`) opening a line or a sentence, as a whole word.
    closing: re.Pattern[str]
    # A letter's last sentence's opening (`[closings]` letter_openers: "Demikian", "Atas perhatian") and its thanks
    # (`letter_thanks`), read by `_letter_closing`: a sign-off's closing where no `closing` is (see `_sign_off`).
    letter_opener: re.Pattern[str]
    letter_thanks: re.Pattern[str]
    # A form of address (`[forms_of_address]`) ending the text before a name, a dot after it or none.
    addressed: re.Pattern[str]
    # Its abbreviations (`[forms_of_address]` abbreviations), whose dot ends no clause, lowercase.
    address_abbreviations: frozenset[str]
    # A mailbox's ordinary words (`[not_a_name]`), folded (`_folded`).
    not_a_name: frozenset[str]
    # A signature's contact labels (`[contact_labels]`), lowercase; and the words a label made only of is one too.
    contact_labels: frozenset[str]
    contact_label_words: frozenset[str]
    other_part_words: frozenset[str]  # `[own_name]` other_part_words, folded
    # A name's label (`normalizer.signature.joined_name_labels`: "nama", "nama pelapor", "identitas"), lowercase: one
    # joined to a contact's words is a contact's ("Nama/HP", `normalizer.signature.is_contact_label`).
    name_labels: frozenset[str]
    # A word of someone else's, the one reported (`[someone_else]`), as a whole word; its group `victim` the word
    # before it that makes it the sender's own description ("korban penipu"): see `_about_someone_else`.
    someone_else: re.Pattern[str]
    # Words before one of theirs marking a number or an address theirs (`[someone_else]` belongings: "nomor", "rumah").
    belongings: frozenset[str]
    # Words saying whose the words before them were (`[someone_else]` attribution: "kata", "isi sms"), lowercase.
    attribution: frozenset[str]
    # Words opening what someone else said after their word (`[someone_else]` speech_openers: "kata pelaku saya ..."),
    # a determiner between or none (`determiners`: "itu"), lowercase.
    speech_openers: frozenset[str]
    determiners: frozenset[str]
    # Words right after a contact claiming what follows (`[someone_else]` claims: "0813... ngaku dari BRI"), the words
    # that may stand before such a claim or a word of someone else's (`claim_lead`: "0813... itu no penipunya"), and
    # the forms of address in such a label (`label_addressing`: "... milik pak Kades Hendra"), lowercase.
    claims: frozenset[str]
    # Words right after a bare number that accuse it (`[someone_else]` accusing: "0813... menipu saya").
    accusing: frozenset[str]
    claim_lead: frozenset[str]
    label_addressing: frozenset[str]
    # Words that ask to be reached (`[own_contact]`), as whole words; and the words that may stand between them and
    # the contact they give (its `connectors`, and a contact label's words), lowercase.
    own_contact: re.Pattern[str]
    own_contact_connectors: frozenset[str]
    # After words naming her own number, "di" and one of these end their reach (`[own_contact]` reached_by: "hp ku di
    # sms 0813...", the number that reached hers); words opening with `asking` ask to be reached and are not such.
    own_contact_reached_by: frozenset[str]
    own_contact_asking: frozenset[str]
    # Words of a label in brackets after her number that, with `self_words`, make it her other one (`[own_contact]`
    # other_of_hers: "0813... (nomor saya yg lain)"), lowercase.
    other_of_hers: frozenset[str]
    # Words of a label after a number that make it hers ("0812... (my number)", "(pribadi)"), with `self_words`.
    hers_in_label: frozenset[str]
    # Between contacts listed together on a line (`[own_contact]` list_joining or a list's mark: "0857... / 0813...",
    # "0857..., 0813... dan @olshop"), and across lines too (between her known number's OWN_IDENTITY and the next).
    listed_after: re.Pattern[str]
    known_listed: re.Pattern[str]
    # A comma ending a clause that gave someone else's contact, the words after it opening the next (`[own_contact]`
    # next_clause: "Nomor penipu 0813..., nomor saya 0812...", "..., sedangkan nomor saya ..."), and a plea's or a
    # condition's there (next_clause_pleas: "..., bisa hubungi saya di ...").
    clause_after_contact: re.Pattern[str]
    plea_after_contact: re.Pattern[str]
    # Someone else reaching her right before a number (`[own_contact]` reached_her: "Penipu menelpon 0812..."), at
    # the end of the text read.
    reached_her: re.Pattern[str]
    # Words telling the contact right before them as someone else's (`[own_contact]` telling_tags: "... katanya").
    telling_tag: re.Pattern[str]
    # Words giving the sender's account on a social network (`[own_contact]` handles, also in `own_contact`), as a
    # whole: a handle right after them is theirs written without its @ too ("IG saya siti.rahma.wb").
    own_handle: re.Pattern[str]
    # Words giving the sender's own name (`[own_name]`), as whole words; the words that join a name's (`joining`).
    own_name: re.Pattern[str]
    own_name_joining: frozenset[str]
    # A line opening with the reporter's own label and its colon (`[own_name]` reporter_labels: "Nama Pelapor: ...").
    reporter_label: re.Pattern[str]
    # The same of a label that is hers only in a sign-off (`[own_name]` sign_off_reporter_labels: "Pelapor: ...").
    sign_off_reporter_label: re.Pattern[str]
    # The same of a name's label that names no one, hers below a closing alone (`[own_name]` sign_off_name_labels).
    sign_off_name_label: re.Pattern[str]
    # One of those, a reporter's or `[own_name]` joined_name_labels joined to a contact's label's words ("Nama/HP:",
    # "Nama & No. WA:", "Nama, HP:", "Nama (HP):", "Identitas/HP:"): her name and contact after it.
    joined_name_label: re.Pattern[str]
    # Words opening a line that heads someone else's details below a closing (`[own_name]` detail_headings: "Data").
    detail_headings: frozenset[str]
    # Words ending a line of theirs that leads into a form giving no name below it (`[own_name]` address_leads: "di").
    address_leads: frozenset[str]
    # The labels of her account of what happened in a form of her details (`[own_name]` account_labels), folded.
    account_labels: frozenset[str]
    # A word of a label of the accused (`[own_name]` other_party_labels: "terlapor", "tersangka"), as a whole word, a
    # number after it or none ("Terlapor-1"): a line opening with such a label (`_other_party_label`) among the mail's
    # last lines makes a "Pelapor:" there a pasted report's.
    other_party_label: re.Pattern[str]
    # A heading of her own details opening a line (`[own_name]` reporter_headings: "Data pelapor:").
    reporter_heading: re.Pattern[str]
    # A line opening what was pasted below a closing ("Berikut laporannya", `[own_name] pasted_openers`).
    pasted_opener: re.Pattern[str]
    # The words of a plea or a negation, no name's (`[own_name]` plea_words: "Nama saya jangan disebut").
    own_name_plea: frozenset[str]
    # A plea's words before the words giving her name (`[own_name]` pleas_before: "rahasiakan nama saya Pak. ..."),
    # which make a form of address after them the reader's, not her name's title; folded.
    own_name_pleas_before: frozenset[str]
    # Titles written with a dot before a name's first word (`[own_name]` titles: "Hj.", "Drs."), folded.
    own_name_titles: frozenset[str]
    # An office or a relation after a title's dot, which then ends the name (`[own_name]` after_title and the one-word
    # `[someone_else]` offices: "Bpk. Camat"), folded.
    own_name_offices: frozenset[str]
    # Words of her own relation or post (`[own_name]` describing: "istri", "staf"), folded: an office after them is
    # hers.
    own_name_describing: frozenset[str]
    # Words ending a lowercase name as a mark does (`[own_name]` after_name: "dari", "warga"), lowercase.
    own_name_after: frozenset[str]
    # "Saya" opening a sentence or a clause before a capitalized word (`[own_name]` self_words), its group 1 the word,
    # the handles a mention opens with before it too (`_MENTIONS`); and the words after it that make no name
    # (`not_after_self`), folded.
    self_intro: re.Pattern[str]
    not_after_self: frozenset[str]
    # A verb by its prefix opening a word (`[own_name]` verb_prefixes: "meng", "ber"), lowercase, and the names such a
    # prefix opens (`verb_like_names`: "bernadus"), folded: see `_verb_by_prefix`.
    verb_prefixes: tuple[str, ...]
    verb_like_names: frozenset[str]
    # Words before a bare "Saya" in its paragraph that make it someone else's words passed on (`told_before_self`).
    told_before_self: frozenset[str]
    # Labels that may follow her name on its line ("Alamat:", "Korban:": `[own_name]` labels_after), lowercase.
    own_name_labels_after: frozenset[str]
    # Words after a bare "Saya"'s name that make it hers (`[own_name]` hers_after: "warga"), lowercase.
    own_name_hers_after: frozenset[str]
    # An SMS's or a mention's sign-off's opening (`[own_name]` message_sign_offs: thanks, a greeting), as a whole word;
    # and the words of a message passing on someone else's (`quoting_words`), lowercase.
    message_sign_off: re.Pattern[str]
    quoting_words: frozenset[str]
    # Words before a quoting word ending its line that make it the way her own words came (`[own_name]` by_way_of:
    # "lapor penipuan lewat sms\n..."), lowercase.
    by_way_of: frozenset[str]
    # Words a pasted message says to its reader, below a line naming what came (`[own_name]` pasted_to_the_reader).
    pasted_to_the_reader: frozenset[str]
    # Words opening her own line, no message pasted (`[own_name]` own_line_openers: "Mohon anda ...", "Tapi anda ..."),
    # and her greetings, hers unless a pasted message's words to its reader follow (`greetings`).
    own_line_openers: frozenset[str]
    greetings: frozenset[str]
    # Two words in which a pasted message's writer introduces themself after a greeting (`[own_name]` introducing).
    introducing: frozenset[str]
    # A neighbourhood's words after those two that make them her own (`[own_name]` neighbourhoods: "ini dari warga RT
    # 03"), lowercase.
    neighbourhoods: frozenset[str]
    # What makes a line name a message that came, pasted below it (`[own_name]` pasted_messages, received, sent,
    # pointing; `self_words`, whose "kirim" is hers), lowercase.
    pasted_messages: frozenset[str]
    received: frozenset[str]
    sent: frozenset[str]
    pointing: frozenset[str]
    as_follows: frozenset[str]
    self_words: frozenset[str]
    # Those who sent a message themselves besides `self_words` (`[own_name]` first_person: "kami"); forwarding words
    # (`forwarding`), not asked for (after `action_pleas` or `forward_pleas`) nor sent on (`destination` after them);
    # the words between a message's word and its writer (`before_writer`: "sms dari penipu"), and a scam's (`scams`),
    # lowercase.
    first_person: frozenset[str]
    forwarding: frozenset[str]
    forward_pleas: frozenset[str]
    destination: frozenset[str]
    before_writer: frozenset[str]
    scams: frozenset[str]
    # Words ending a name in capitals besides `not_after_self`'s (`[own_name]` capitals_name_end: "ANGGOTA").
    capitals_name_end: frozenset[str]
    # Words or phrases saying she reports after an office under her label, that make it her own post (`[own_name]`
    # post_before: "Pelapor: Siti Rahayu Sekdes Sukamaju mengadukan kades"), folded, a phrase's words one space apart.
    post_before: frozenset[str]
    # Words right after those thanks saying nothing of whom (`[own_name]` after_thanks: "ya", "banyak"), lowercase.
    after_thanks: frozenset[str]
    # A date after such a sign-off (`[own_name]` weekdays, months: "Senin, 12 Maret 2024", "Jakarta, 12/03/2024").
    sign_off_date: re.Pattern[str]
    # Her plea for the authorities to act on the line before those thanks (`[own_name]` action_pleas, then a word of
    # `action_asked`: "Mohon ditindak pak"), folded.
    action_pleas: frozenset[str]
    action_asked: frozenset[str]
    # One of `[own_name]` to_the_reader among the first two words at a position ("Selamat anda ...", "Yth nasabah").
    to_the_reader: re.Pattern[str]
    # `[address_lines]` sentence_words, lowercase: a word no name holds either ("oleh", "dari", "untuk").
    sentence_words: frozenset[str]
    # A word opening a postal address's line (`[address_lines]`), a dot after it or none.
    address_line: re.Pattern[str]
    # An address's label opening a line and its colon (`[address_lines]` labels: "Alamat:", "- Domisili :").
    address_label: re.Pattern[str]
    # A label of a form of details opening a line and its colon: a name's, an address's or a contact's (`[own_name]`
    # sign_off_name_labels, `[address_lines]` labels, `[contact_labels]` labels: "Nama:", "Alamat:", "No. HP:").
    form_label: re.Pattern[str]
    # What parts one of them (or a bare one before a number: "HP 0857...") from the value before it in a line: a bar,
    # a slash, a dash between spaces, or spaces ("Nama: Siti Rahayu HP: 0857...", "Nama: Siti Rahayu - HP: ...");
    # not a comma or a semicolon, whose clauses the line's own reading tells hers or someone else's ("..., dihubungi
    # penipu Budi, HP: 0813...").
    form_label_within: re.Pattern[str]
    # `[own_name]` before_bare_labels ending a text, a full stop and spaces after it or none: a word making a bare
    # label after it part of a value ("atas nama Budi", "a.n. Budi").
    before_bare_label: re.Pattern[str]
    # `[own_name]` label_compounds, lowercase: a word after a bare label's making a compound of them ("Nama baik").
    label_compounds: frozenset[str]
    # `[own_name]` bare_form_labels opening a line (a list's mark before it or none) without a colon, a dash, an equals
    # sign or a full stop after it or spaces alone, then a value ("Nama Siti Rahayu", "HP - 0812..."): groups `label`
    # and `gap`; and one within a line past a comma, a semicolon or spaces (", HP 0812...").
    bare_form_label: re.Pattern[str]
    bare_form_label_within: re.Pattern[str]
    # An address's parts in such a line (`[address_lines]` numbered, areas; a postal code): group `part` names which.
    address_part: re.Pattern[str]
    # A word of `[address_lines]` openers anywhere in a line, a dot after it or none.
    address_word: re.Pattern[str]
    # A sentence's word no address holds (`[address_lines]` sentence_words, or one ending in a sentence_suffixes's),
    # as a whole word.
    sentence_word: re.Pattern[str]
    # An office the accused holds (`[someone_else]` offices: "Kades", "Kepala Desa") opening what sets a name off
    # ("Hendra Gunawan (Kades Sukamaju)"), after its marks.
    office_after_name: re.Pattern[str]
    # Money asked for after a plea's word (`[payments]` asking, money; paying and those asked between: asked; collecting
    # before an amount), unless asked undone (`undoing` not after `negating`, a pair of `held_to_due`) before a word
    # of `clause_on` carries the sentence on; folded.
    payment_asking: frozenset[str]
    money: frozenset[str]
    payment_asked: frozenset[str]
    paying: frozenset[str]
    collecting: frozenset[str]
    undoing: frozenset[str]
    held_to_due: frozenset[tuple[str, str]]
    clause_on: frozenset[str]
    negating: frozenset[str]


# The handles a mention opens with, addressed to ("@LAPOR1708 @polres Saya Ahmad Fauzi ..."): no mark ends a clause
# before its "Saya", and her full name after it reached the case store.
_MENTIONS = r"(?:[^\S\n]*" + _AT_SIGN + _HANDLE_CHAR + r"+(?=[^\S\n]))*"


def _label_opening_a_line(labels: list[str]) -> re.Pattern[str]:
    """One of `labels` opening a line and its colon: a list's mark or number before it too (`_LIST_MARK`: "- Nama
    Pelapor:", "1. Nama Pelapor:", "a. Nama Pelapor:"), and bold's asterisks around it ("*Nama Pelapor:*", "**Nama
    Pelapor**:")."""
    return re.compile(r"[^\S\n]*" + _LIST_MARK + r"?\*{0,2}(?:"
                      + "|".join(map(phrase_pattern, labels)) + r")\*{0,2}[^\S\n]*:\*{0,2}", re.IGNORECASE)


def _joined_label_opening_a_line(labels: list[str], contact_words: list[str]) -> re.Pattern[str]:
    """One of `labels` joined to a run of `contact_words` by a mark or a word (`normalizer.signature.JOINING_MARKS`,
    `JOINING_WORDS`: "Nama/HP:", "Nama & No. WA:", "Nama, HP:", "Nama - HP:", "Nama|HP:", "Nama dan Alamat:", "Nama
    serta HP:"), or the run in brackets after it ("Nama (HP):"), opening a line as `_label_opening_a_line` reads it,
    and its colon."""
    word = r"(?:" + "|".join(re.escape(word) for word in sorted(contact_words, key=len, reverse=True)) + r")\.?"
    # What joins them: the spaces before a mark or a word all read before it, those after it after it.
    # A mark, a word, or a mark and a word ("Nama, HP, dan Alamat:").
    word_joining = r"\b(?:" + "|".join(map(re.escape, JOINING_WORDS)) + r")\b"
    joining = r"[^\S\n]*(?:[" + re.escape(JOINING_MARKS) + r"](?:[^\S\n]*" + word_joining + r")?|" + word_joining \
        + r")[^\S\n]*"
    # Between two words of the run the same, or spaces alone ("Nama, HP, Alamat:", "Nama/No HP dan Alamat:"): one way
    # to read each space. An optional space on either side of an optional slash read the spaces of "Nama/hp hp hp ...
    # x" in 2^n ways, a worker held for seconds by an SMS of a hundred characters.
    between = r"(?:" + joining + r"|[^\S\n]+|(?<=\.))"
    run = word + r"(?:" + between + word + r")*"
    bracketed = r"[^\S\n]*\([^\S\n]*" + run + r"[^\S\n]*\)"
    # Searched for, never from within a run of spaces: read from each of them, a text of spaces took n^2 steps.
    return re.compile(r"(?<![^\S\n])[^\S\n]*" + _LIST_MARK + r"?\*{0,2}(?:"
                      + "|".join(map(phrase_pattern, labels)) + r")(?:" + joining + run + r"|" + bracketed
                      + r")\*{0,2}[^\S\n]*:\*{0,2}", re.IGNORECASE)


def _bare_label(labels: list[str], self_words: list[str], before: str) -> re.Pattern[str]:
    """One of `labels` after `before` (the longest first: "Alamat rumah Jl. ..." is no "Alamat" of "rumah Jl. ..."), one
    of `self_words` after it or none ("HP saya 0812...": given as hers, as "HP saya:" is), then a dash, an equals sign
    or a full stop with spaces after it or a capital, a digit or a bracket ("HP-0812...", "Nama-Siti"; not "nama-nama",
    a plural), or spaces alone (group `gap`), then a value."""
    longest_first = sorted(labels, key=len, reverse=True)
    return re.compile(before + r"(?P<label>(?:" + "|".join(map(phrase_pattern, longest_first)) + r")(?:[^\S\n]+(?:"
                      + "|".join(map(re.escape, self_words)) + r")(?!\w))?)"
                      + r"(?P<gap>[^\S\n]*[-=.\u2013\u2014](?:[^\S\n]+|(?=(?-i:[A-Z0-9+(\[])))|[^\S\n]+)"
                      + r"(?=[^\s:=\-.])", re.IGNORECASE)


@lru_cache(maxsize=4)
def load_identity_words(path: Path = CONFIG_DIR / "identity.toml") -> IdentityWords:
    """config/identity.toml compiled into `IdentityWords`, once per path: every anonymous mail is read with them, and
    the processes load and check the table at start (`gateway.tables`), so a mistake in it stops the start instead of
    the first anonymous report's forward."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    # Longest first: "Salam hormat," is one closing phrase, not "Salam" and a word after it.
    phrases = sorted(raw["closings"]["phrases"], key=lambda phrase: (len(phrase.split()), len(phrase)), reverse=True)
    forms = "|".join(re.escape(word) for word in raw["forms_of_address"]["words"])
    return IdentityWords(
        closing=re.compile(r"(?:^[^\w\n]*|(?<=[.!?] ))(?:" + "|".join(map(phrase_pattern, phrases)) + r")(?!\w)",
                           re.IGNORECASE),
        letter_opener=re.compile(r"(?:^[^\w\n]*|(?<=[.!?] ))(?:" + "|".join(map(
            phrase_pattern, raw["closings"]["letter_openers"])) + r")", re.IGNORECASE),
        letter_thanks=re.compile(r"(?<!\w)(?:" + "|".join(map(phrase_pattern, raw["closings"]["letter_thanks"]))
                                 + r")(?!\w)", re.IGNORECASE),
        addressed=re.compile(rf"(?<!\w)(?:{forms})\.?\s*$", re.IGNORECASE),
        address_abbreviations=frozenset(word.lower() for word in raw["forms_of_address"]["abbreviations"]),
        not_a_name=frozenset(_folded(word) for word in raw["not_a_name"]["words"]),
        contact_labels=frozenset(label.lower() for label in raw["contact_labels"]["labels"]),
        contact_label_words=frozenset(word.lower() for word in raw["contact_labels"]["words"]),
        other_part_words=frozenset(_folded(word) for word in raw["own_name"]["other_part_words"]),
        name_labels=frozenset(label.lower() for label in joined_name_labels(raw["own_name"])),
        someone_else=re.compile(r"(?<!\w)(?:(?P<victim>" + "|".join(map(phrase_pattern, raw["someone_else"]["victim"]))
                                + r")\s+)?(?:" + "|".join(map(phrase_pattern, raw["someone_else"]["words"]))
                                + r")(?!\w)",
                                re.IGNORECASE),
        belongings=frozenset(word.lower() for word in raw["someone_else"]["belongings"]),
        attribution=frozenset(word.lower() for word in raw["someone_else"]["attribution"]),
        speech_openers=frozenset(word.lower() for word in raw["someone_else"]["speech_openers"]),
        determiners=frozenset(word.lower() for word in raw["someone_else"]["determiners"]),
        claims=frozenset(word.lower() for word in raw["someone_else"]["claims"]),
        accusing=frozenset(word.lower() for word in raw["someone_else"]["accusing"]),
        claim_lead=frozenset(word.lower() for word in raw["someone_else"]["claim_lead"]),
        label_addressing=frozenset(word.lower() for word in raw["someone_else"]["label_addressing"]),
        own_contact=re.compile(r"(?<!\w)(?:" + "|".join(map(phrase_pattern, [*raw["own_contact"]["phrases"],
                                                                              *raw["own_contact"]["handles"]]))
                               + r")(?!\w)", re.IGNORECASE),
        own_handle=re.compile(r"(?:" + "|".join(map(phrase_pattern, raw["own_contact"]["handles"])) + r")",
                              re.IGNORECASE),
        own_contact_connectors=frozenset(word.lower() for word in [*raw["own_contact"]["connectors"],
                                                                   *raw["contact_labels"]["words"]]),
        own_contact_reached_by=frozenset(word.lower() for word in raw["own_contact"]["reached_by"]),
        own_contact_asking=frozenset(word.lower() for word in raw["own_contact"]["asking"]),
        other_of_hers=frozenset(word.lower() for word in raw["own_contact"]["other_of_hers"]),
        hers_in_label=frozenset(word.lower() for word in raw["own_contact"]["hers_in_label"]),
        listed_after=_list_join(raw["own_contact"]["list_joining"], r"[^\S\n]"),
        known_listed=_list_join(raw["own_contact"]["list_joining"], r"\s"),
        clause_after_contact=_after_comma(raw["own_contact"]["next_clause"]),
        reached_her=re.compile(r"(?<!\w)(?:" + "|".join(map(phrase_pattern, raw["own_contact"]["reached_her"]))
                               + r")[^\w+\uff0b(\uff08]*$", re.IGNORECASE),
        telling_tag=re.compile(r"[^\w\n]*(?:" + "|".join(map(phrase_pattern, raw["own_contact"]["telling_tags"]))
                               + r")(?!\w)", re.IGNORECASE),
        plea_after_contact=_after_comma(raw["own_contact"]["next_clause"], raw["own_contact"]["next_clause_pleas"]),
        own_name=re.compile(r"(?<!\w)(?:" + "|".join(map(phrase_pattern, raw["own_name"]["phrases"]))
                            + r")(?!\w)", re.IGNORECASE),
        own_name_joining=frozenset(word.lower() for word in raw["own_name"]["joining"]),
        reporter_label=_label_opening_a_line(raw["own_name"]["reporter_labels"]),
        sign_off_reporter_label=_label_opening_a_line(raw["own_name"]["sign_off_reporter_labels"]),
        sign_off_name_label=_label_opening_a_line(raw["own_name"]["sign_off_name_labels"]),
        joined_name_label=_joined_label_opening_a_line(joined_name_labels(raw["own_name"]),
                                                       raw["contact_labels"]["words"]),
        detail_headings=frozenset(word.lower() for word in raw["own_name"]["detail_headings"]),
        address_leads=frozenset(word.lower() for word in raw["own_name"]["address_leads"]),
        account_labels=frozenset(_folded(word) for word in raw["own_name"]["account_labels"]),
        other_party_label=re.compile(r"(?<![^\W\d_])(?:" + "|".join(
            map(phrase_pattern, raw["own_name"]["other_party_labels"])) + r")(?![^\W\d_])", re.IGNORECASE),
        reporter_heading=_label_opening_a_line(raw["own_name"]["reporter_headings"]),
        pasted_opener=re.compile(r"[^\S\n]*(?:" + "|".join(map(phrase_pattern, raw["own_name"]["pasted_openers"]))
                                 + r")(?!\w)", re.IGNORECASE),
        own_name_plea=frozenset(_folded(word) for word in raw["own_name"]["plea_words"]),
        own_name_pleas_before=frozenset(_folded(word) for word in raw["own_name"]["pleas_before"]),
        own_name_titles=frozenset(_folded(word) for word in raw["own_name"]["titles"]),
        own_name_offices=frozenset(_folded(word) for word in [*raw["someone_else"]["offices"],
                                                              *raw["own_name"]["after_title"]] if " " not in word),
        own_name_describing=frozenset(_folded(word) for word in raw["own_name"]["describing"]),
        own_name_after=frozenset(word.lower() for word in raw["own_name"]["after_name"]),
        # "Saya Siti Rahayu", "Saya, Siti Rahayu", "Saya,Siti Rahayu" (no space after its comma)
        self_intro=re.compile(r"(?:^|(?<=[.!?;,]\s)|(?<=\n))" + _MENTIONS + r"[^\S\n]*(" + "|".join(map(
            phrase_pattern, raw["own_name"]["self_words"])) + r")(?:,[^\S\n]*|[^\S\n]+)(?=[A-Z]|"
                              + re.escape(OWN_IDENTITY) + ")", re.IGNORECASE),
        not_after_self=frozenset(_folded(word) for word in raw["own_name"]["not_after_self"]),
        verb_prefixes=tuple(word.lower() for word in raw["own_name"]["verb_prefixes"]),
        verb_like_names=frozenset(_folded(word) for word in raw["own_name"]["verb_like_names"]),
        told_before_self=frozenset(word.lower() for word in raw["own_name"]["told_before_self"]),
        own_name_labels_after=frozenset(word.lower() for word in raw["own_name"]["labels_after"]),
        own_name_hers_after=frozenset(word.lower() for word in raw["own_name"]["hers_after"]),
        message_sign_off=re.compile(r"(?<!\w)(?:" + "|".join(map(phrase_pattern, raw["own_name"]["message_sign_offs"]))
                                    + r")(?!\w)", re.IGNORECASE),
        quoting_words=frozenset(word.lower() for word in raw["own_name"]["quoting_words"]),
        by_way_of=frozenset(word.lower() for word in raw["own_name"]["by_way_of"]),
        pasted_to_the_reader=frozenset(word.lower() for word in raw["own_name"]["pasted_to_the_reader"]),
        own_line_openers=frozenset(word.lower() for word in raw["own_name"]["own_line_openers"]),
        greetings=frozenset(word.lower() for word in raw["own_name"]["greetings"]),
        introducing=frozenset(" ".join(phrase.lower().split()) for phrase in raw["own_name"]["introducing"]),
        neighbourhoods=frozenset(word.lower() for word in raw["own_name"]["neighbourhoods"]),
        pasted_messages=frozenset(word.lower() for word in raw["own_name"]["pasted_messages"]),
        received=frozenset(word.lower() for word in raw["own_name"]["received"]),
        sent=frozenset(word.lower() for word in raw["own_name"]["sent"]),
        pointing=frozenset(word.lower() for word in raw["own_name"]["pointing"]),
        as_follows=frozenset(word.lower() for word in raw["own_name"]["as_follows"]),
        self_words=frozenset(word.lower() for word in raw["own_name"]["self_words"]),
        first_person=frozenset(word.lower() for word in raw["own_name"]["first_person"]),
        forwarding=frozenset(word.lower() for word in raw["own_name"]["forwarding"]),
        forward_pleas=frozenset(word.lower() for word in [*raw["own_name"]["action_pleas"],
                                                          *raw["own_name"]["forward_pleas"]]),
        destination=frozenset(word.lower() for word in raw["own_name"]["destination"]),
        before_writer=frozenset(word.lower() for word in raw["own_name"]["before_writer"]),
        scams=frozenset(word.lower() for word in raw["own_name"]["scams"]),
        capitals_name_end=frozenset(_folded(word) for word in raw["own_name"]["capitals_name_end"]),
        post_before=frozenset(_folded(word) for word in raw["own_name"]["post_before"]),
        after_thanks=frozenset(word.lower() for word in raw["own_name"]["after_thanks"]),
        sign_off_date=_date_pattern(raw["own_name"]["weekdays"], raw["own_name"]["months"]),
        action_pleas=frozenset(_folded(word) for word in raw["own_name"]["action_pleas"]),
        action_asked=frozenset(_folded(word) for word in raw["own_name"]["action_asked"]),
        to_the_reader=re.compile(r"\s*(?:\w+\s+)?(?:" + "|".join(map(phrase_pattern, raw["own_name"]["to_the_reader"]))
                                 + r")(?!\w)", re.IGNORECASE),
        sentence_words=frozenset(word.lower() for word in raw["address_lines"]["sentence_words"]),
        address_line=re.compile(r"\s*(?:" + _LIST_MARK + r"?\*{0,2}(?:"
                                + "|".join(map(phrase_pattern, raw["address_lines"]["labels"]))
                                + r")\*{0,2}\s*:\*{0,2}\s*)?(?:"
                                + "|".join(map(re.escape, raw["address_lines"]["openers"]))
                                + r")(?:\.|(?!\w))", re.IGNORECASE),
        address_label=_label_opening_a_line(raw["address_lines"]["labels"]),
        form_label=_label_opening_a_line(form_labels := [
            *raw["own_name"]["sign_off_name_labels"], *raw["address_lines"]["labels"], *raw["contact_labels"]["labels"],
            *raw["own_name"]["bare_form_labels"]]),
        form_label_within=re.compile(
            r"(?:[^\S\n]*[|/\u2013\u2014][^\S\n]*|[^\S\n]+-[^\S\n]+|(?<![,;])(?<![^\S\n])[^\S\n]+)(?=" + _LIST_MARK
            + r"?\*{0,2}(?:(?:" + "|".join(map(phrase_pattern, form_labels)) + r")\*{0,2}[^\S\n]*:|(?:"
            + "|".join(map(phrase_pattern, raw["own_name"]["bare_form_labels"])) + r")(?:[^\S\n]*[-=.\u2013\u2014])?"
            + r"[^\S\n]*(?=[+(\d\[])))", re.IGNORECASE),
        label_compounds=frozenset(word.lower() for word in raw["own_name"]["label_compounds"]),
        before_bare_label=re.compile(r"(?<!\w)(?:" + "|".join(map(
            phrase_pattern, raw["own_name"]["before_bare_labels"])) + r")\.?[^\S\n]*$", re.IGNORECASE),
        bare_form_label=_bare_label(raw["own_name"]["bare_form_labels"], raw["own_name"]["self_words"],
                                    r"[^\S\n]*" + _LIST_MARK + "?"),
        # from a comma or the first space of a run, never from within one (from each space, a run of them took n^2)
        bare_form_label_within=_bare_label(raw["own_name"]["bare_form_labels"], raw["own_name"]["self_words"],
                                           r"(?:[,;][^\S\n]*|(?<![^\S\n])[^\S\n]+)"),
        address_part=re.compile(
            r"(?<!\w)(?:(?P<numbered>" + "|".join(map(re.escape, raw["address_lines"]["numbered"]))
            + r")\.?\s*[a-z]?\d|(?P<area>" + "|".join(map(re.escape, raw["address_lines"]["areas"]))
            + r")(?:\.|(?!\w))|(?P<postal>\d{5})(?!\w))", re.IGNORECASE),
        address_word=re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, raw["address_lines"]["openers"]))
                                + r")(?:\.|(?!\w))", re.IGNORECASE),
        sentence_word=re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, raw["address_lines"]["sentence_words"]))
                                 + r"|[^\W\d_]{2,}(?:" + "|".join(map(re.escape,
                                                                       raw["address_lines"]["sentence_suffixes"]))
                                 + r"))(?!\w)", re.IGNORECASE),
        office_after_name=re.compile(r"[^\w\n]*(?:" + "|".join(map(phrase_pattern, raw["someone_else"]["offices"]))
                                     + r")(?!\w)", re.IGNORECASE),
        payment_asking=frozenset(_folded(word) for word in raw["payments"]["asking"]),
        money=frozenset(_folded(word) for word in raw["payments"]["money"]),
        payment_asked=frozenset(_folded(word) for word in raw["payments"]["asked"]),
        paying=frozenset(_folded(word) for word in raw["payments"]["paying"]),
        collecting=frozenset(_folded(word) for word in raw["payments"]["collecting"]),
        undoing=frozenset(_folded(word) for word in raw["payments"]["undoing"]),
        held_to_due=frozenset(map(_word_pair, raw["payments"]["held_to_due"])),
        clause_on=frozenset(_folded(word) for word in raw["payments"]["clause_on"]),
        negating=frozenset(_folded(word) for word in raw["payments"]["negating"]),
    )


def _after_comma(joining: list[str], pleas: list[str] | None = None) -> re.Pattern[str]:
    """A comma ending a text, maybe one of `joining` after it, and one or two of `pleas` when given."""
    join = "|".join(map(phrase_pattern, joining))
    plea = "" if pleas is None else r"(?:(?:" + "|".join(map(phrase_pattern, pleas)) + r")[^\S\n]+){1,2}"
    return re.compile(rf",[^\S\n]*(?:(?:{join})[^\S\n]+)?{plea}$", re.IGNORECASE)


def _list_join(joining: list[str], space: str) -> re.Pattern[str]:
    """Between contacts listed together: a list's mark or one of `joining`, spaces of `space` around."""
    words = "|".join(map(phrase_pattern, joining))
    return re.compile(rf"{space}*(?:[,/;&\-]{space}*|(?:{words}){space}+)?", re.IGNORECASE)


def _date_pattern(weekdays: list[str], months: list[str]) -> re.Pattern[str]:
    """A date as written below a letter or a message: a day of the month with a month's name ("12 Maret 2024", "12
    Mar") or its number ("12/03/2024"), or a month's name with the year ("Maret 2024", "March 12, 2024"), a day's name
    maybe before it, and a place's capitalized name (up to three words) opening its line before that, a comma after
    it, the date ending the line ("Jakarta, Senin 12 Maret 2024")."""
    day = "|".join(map(re.escape, sorted({word.lower() for word in weekdays}, key=len, reverse=True)))
    month = "|".join(map(re.escape, sorted({word.lower() for word in months}, key=len, reverse=True)))
    apart = r"[^\S\n]*[,.\-/]?[^\S\n]*"
    # a day and a month in figures that could be one, not right after an area code in brackets: "(0274) 55.12.34",
    # "0857 24-68-1357", "(021) 29.10.2024" are numbers
    figures = r"(?<!\d)(?<!\d\)[^\S\n])(?:[0-2]?\d|3[01])[/.\-](?:0?\d|1[0-2])[/.\-](?:\d{4}|\d{2})(?!\d)"
    date = (rf"(?:(?:{day}){apart})?(?:{figures}"
            rf"|\d{{1,2}}{apart}(?:{month})\.?(?:{apart}\d{{4}})?"
            rf"|(?:{month})\.?[^\S\n]+\d{{1,2}}(?:st|nd|rd|th)?,?[^\S\n]+\d{{4}}|(?:{month})\.?[^\S\n]+\d{{4}})")
    # the place opens its line, a comma after it, and the date ends the line ("Penipu Budi 0813... Senin 12 Maret",
    # "Penipu, 12 Maret 2024, 0813..." have no place in them: his label, read as one, let his number go as hers)
    place = r"(?<![^\n])[^\S\n]*[A-Z][\w'.\-]*(?:[^\S\n]+[A-Z][\w'.\-]*){0,2}[^\S\n]*,[^\S\n]*"
    # marks, or a time after it, may end the line too ("Bandung, 12 Maret 2024.", "..., 12/03/2024 10:30")
    line_end = r"(?=(?:[^\S\n]+\d{1,2}[.:]\d{2})?[^\S\n]*[.!;,]*[^\S\n]*$)"
    return re.compile(rf"(?<![\w/.\-])(?:(?P<place>{place})(?i:{date}){line_end}|(?i:{date}))(?![\w/\-]|\.\d)",
                      re.MULTILINE)


def _in_spans(position: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether `position` falls within one of `spans`."""
    return any(start <= position < stop for start, stop in spans)


def _into_dates(read: str, found: tuple[int, int], dates: list[tuple[int, int]]) -> bool:
    """Whether the number at `found` in `read` starts before a date of `dates` and runs into it: a number whose last
    groups look like a date ("021 31.12.2024"), not a date read as a number, a bracket before it or not
    ("(12.03.24)"), nor a whole number before it (seven digits or more, the last group of three or more) that ends its
    line above the date or stands before a day a month's name follows: the date is whole ("Siti 0857...\n12 Maret",
    "Siti 0857-2468-1357 12 Maret": read with her number, the day went with it, and the month left alone was a word of
    another sign-off: her name and number stayed). After a group of one or two digits the day may be her number's last
    group ("(0274) 24 68 13 Maret 2024", "0857 2468 13 57 Maret 2024"), and below an area code alone its rest ("021\n
    31.12.2024"): read into it, as before."""
    first = _FIRST_DIGIT.search(read, found[0], found[1])
    begin = first.start() if first is not None else found[0]
    return not _in_spans(begin, dates) and any(
        begin < stop and start < found[1]
        and not (("\n" in read[begin:start] or _NAMED_MONTH.match(read, start, stop))
                 and _whole_number(read[begin:start]))
        for start, stop in dates)


def _whole_number(before: str) -> bool:
    """Whether the figures before a date are a number by themselves: seven digits or more, the last group of three or
    more (not an area code alone, nor a number grouped in pairs whose last pair the date's day may be)."""
    return sum(character.isdigit() for character in before) >= 7 and _LAST_GROUP.search(before) is not None


# A date whose figures a word follows: a day and its month's name ("12 Maret", "1 Mei 2025").
_NAMED_MONTH = re.compile(r"[^\d\n]*\d+[^\S\n]*[,.\-/]?[^\S\n]*[^\W\d_]")
# A number's last group of three digits or more, what stands before a date after it (its marks, spaces).
_LAST_GROUP = re.compile(r"\d{3}\D*$")


_FIRST_DIGIT = re.compile(r"\d")


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` in order, those that overlap joined into one."""
    joined: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if joined and start < joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], stop))
        else:
            joined.append((start, stop))
    return joined


def _undated(words: IdentityWords, text: str, found: list[re.Match[str]] | None = None) -> str:
    """`text` with its dates (`sign_off_date`, or those `found` in it already) blanked out, each character a space: a
    date's figures are no number and its words no words of a sign-off. A place's words before it stay where one names
    someone else or an office ("Penipu Budi, Maret 2024\n0813...": his label, which the number below it needs)."""
    parts, position = [], 0
    for date in words.sign_off_date.finditer(text) if found is None else found:
        place = date.group("place") or ""
        kept = place if any(_someone_elses_or_office(words, word) for word in _WORD.findall(place)) else ""
        parts += (text[position:date.start()], kept, " " * (len(date.group()) - len(kept)))
        position = date.end()
    return "".join(parts) + text[position:]


def _word_pair(phrase: str) -> tuple[str, str]:
    """A phrase of two words, folded, as `_asks_it_undone` reads two words in a row ("sesuai tarif")."""
    first, second = map(_folded, phrase.split())  # a phrase of another length is a mistake in the table
    return first, second


_LIST_ITEM = re.compile(r"\s*(?:\d{1,3}[.)]|[-*\u2022])\s")


def _spaced_digits(digits: str) -> str:
    """A pattern of `digits` with any _NUMBER_GAP between each two: "0812" also matches "08-12" and "0 8 1 2"."""
    return _NUMBER_GAP.join(re.escape(digit) for digit in digits)


def _number_pattern(e164: str) -> str | None:
    """The sender's number in any way it is written: +62 812-3456-7001, 62812..., 0812 3456 7001, 812 3456 7001, and
    with the trunk 0 kept after the country code (+620812..., +62 (0)812...), as many type it in a form's +62 field."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if len(national) < _MIN_IDENTITY_DIGITS:
        return None
    country = str(number.country_code)
    prefix = rf"[(\uff08]?(?:(?:{_PLUS}\s?|00\s?)?{_spaced_digits(country)}(?:{_NUMBER_GAP}0)?|0){_NUMBER_GAP}"
    return rf"(?<![\d+\uff0b])(?:{prefix})?{_spaced_digits(national)}(?!\d)"


def _handle_patterns(handle: str) -> list[str]:
    """`@handle`, the handle as a path segment of a link (x.com/handle, instagram.com/handle/), and the handle alone
    when it is distinct, as an e-mail's local part (a dot, an underscore or a digit in it: `rina.rahasia`, `budi_99`):
    written without its @ after "IG:" or "akun saya", it is no other word."""
    bare = handle.lstrip("@")
    escaped = re.escape(bare)
    end = rf"(?!{_HANDLE_CHAR}|\.{_HANDLE_CHAR})"
    patterns = [rf"(?<!{_HANDLE_CHAR}){_AT_SIGN}{escaped}{end}", rf"(?<=/){escaped}{end}"]
    if len(bare) >= _MIN_LOCAL_PART and _DISTINCT_LOCAL_PART.search(bare):
        patterns.append(rf"(?<![\w.]){escaped}{end}")
    return patterns


# The domains of Gmail's mailboxes: one mailbox whatever dots its local part has (`sitirahayu88@`, `s.i.t.i.rahayu88@`
# and `siti.rahayu88@gmail.com` are one), and at either domain (googlemail.com is gmail.com's older name).
_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def _local_pattern(part: str, gmail: bool) -> str:
    """A local part as a pattern: as written, or, at Gmail, with any dots or none between its characters."""
    if not gmail:
        return re.escape(part)
    return r"\.?".join(map(re.escape, part.replace(".", "")))


def _address_patterns(address: str) -> list[str]:
    """The address, also with its `@` written `%40` as a link's query carries it (`?email=budi%40desa.id`, after
    another %-escape too) or its `@` and dots written against harvesters (`budi at desa dot id`: _AT, _DOT), its
    mailbox with any tag or none (RFC 5233: `budi.santoso+lapor@gmail.com` is `budi.santoso@gmail.com`'s mailbox, the
    address its owner gives out), at Gmail with any dots or none in its local part and at either of its domains
    (_GMAIL_DOMAINS), and its local part and its mailbox's when they are distinct (see _DISTINCT_LOCAL_PART)."""
    local, _, domain = address.partition("@")
    mailbox = local.split("+", 1)[0] or local
    gmail = domain.lower() in _GMAIL_DOMAINS
    domain_pattern = (rf"(?:gmail|googlemail){_DOT}com" if gmail
                      else _DOT.join(re.escape(label) for label in domain.split(".")))
    patterns = [rf"(?:(?<![\w.+-])|(?<=%[0-9a-f]{{2}})){_local_pattern(mailbox, gmail)}(?:\+[\w.+-]*)?{_AT}"
                rf"{domain_pattern}(?![\w-])"]
    for part in dict.fromkeys((local, mailbox)):
        if len(part) >= _MIN_LOCAL_PART and _DISTINCT_LOCAL_PART.search(part) \
                and len(part.replace(".", "") if gmail else part) >= _MIN_LOCAL_PART:
            patterns.append(rf"(?<![\w.+-]){_local_pattern(part, gmail)}(?![\w-]|\.\w)")
    return patterns


def _display_name_pattern(name: str | None) -> str | None:
    """The full name, its words in its order; for a name written "Last, First" (Outlook's directories) also in the
    order its owner signs it, "First Last"; and the name alone, as its owner signs it, without what a directory adds
    around it: degrees and titles (`Dr. Budi Santoso, M.Si.`: every word with a dot), an office in brackets or after
    a bar (`Budi Santoso (Dinas PU)`, `Budi Santoso | SDN 3`), an X or Instagram name's emoji (`Budi Santoso 🇮🇩`),
    when two words or more are left; each also with its words turned round, the family name first ("Santoso Budi",
    "Santoso, Budi", as a form or a roll writes it). Its letters with or without their accents (`_name_word`)."""
    words = (name or "").split()
    if len(words) < _MIN_DISPLAY_NAME_WORDS:
        return None
    orders = [words]
    last, comma, first = (name or "").partition(",")
    if comma and first.split() and last.split():
        orders.append([*first.split(), *last.split()])
    unadorned = _BRACKETED.sub(" ", (name or "").split("|")[0])
    alone = [word for word in (word.strip(",") for word in unadorned.split())
             if "." not in word and any(character.isalnum() for character in word)]
    if len(alone) >= _MIN_DISPLAY_NAME_WORDS and alone not in orders:
        orders.append(alone)
    # Its other orders ("Rahayu Siti", "RAHAYU Siti" for "Siti Rahayu") on one line: a name ending a line and another
    # opening the next ("B. Santoso\nbudi.kantor@...") are two lines, not the name turned round. A comma may follow the
    # family name, as a directory or a form writes it ("Rahayu, Siti"): it reached the case store whole.
    plain = [[word.strip(",") for word in order] for order in orders]
    turned = [list(other) for other in dict.fromkeys(tuple(order[turn:] + order[:turn])
                                                     for order in orders for turn in range(1, len(order)))
              if [word.strip(",") for word in other] not in plain]
    return "|".join(r"(?<!\w)" + separator.join(_name_word(word) for word in order) + r"(?!\w)"
                    for separator, group in ((r"\s+", orders), (r",?[^\S\n]+", turned)) for order in group)


# An address in brackets, as a mail's header field and a forward's quoted header write one beside its owner's name:
# `<siti.r@...>`, `(siti.r@...)`, Outlook's `[mailto:siti.r@...]`.
_BRACKETED_ADDRESS = r"[<(\[][^\S\n]*(?:mailto:)?" + WRITTEN_ADDRESS + r"[^\S\n]*[>)\]]"


def _with_address_beside(name: str | None, key: int) -> str | None:
    """A name's pattern (`_display_name_pattern`) with the address written beside it, which is its owner's: in brackets
    after it (`Siti Rahmawati <siti.r@kantor.go.id>`, the name quoted too: `"Siti Rahmawati" <...>`) or before it
    (`(siti.r@...) Siti Rahmawati`, `<siti.r@...> Siti Rahmawati`), after it on the next line too (a long quoted
    `To:` wrapped before it). A forward's quoted `To: Siti Rahmawati <siti.r@...>` reached the case store as
    `To: [anonim] <siti.r@...>`: the sender's work address beside the marker. Other names' addresses stay. The name
    is written once (its letters' classes cost most of compiling the pattern), `key` naming its group apart from
    another name's in one pattern. The spaces before the next line's are read once: read on either side of an optional
    line break, a run of spaces after the name took time quadratic in it (100,000: 45 s)."""
    if name is None:
        return None
    quoted = f"quoted_{key}"
    return (rf"(?:(?P<{quoted}>[\"\u201c])|{_BRACKETED_ADDRESS}[^\S\n]*)?(?:{name})"
            rf"(?({quoted})[\"\u201d][^\S\n]*{_BRACKETED_ADDRESS}|(?:[^\S\n]*(?:\n[^\S\n]*)?{_BRACKETED_ADDRESS})?)")


def _folded(word: str) -> str:
    """A word as a name is compared: without its accents and case ("José", "JOSE", "Jose\u0301" are one)."""
    return "".join(char for char in unicodedata.normalize("NFD", word) if not unicodedata.combining(char)).casefold()


def signed_name_words(names: Iterable[str]) -> frozenset[str]:
    """The words of the sender's names as they are signed (see the module), folded (`_folded`): each name's words as
    _display_name_pattern reads a name alone, without degrees, titles and an office; a one-word name's too, but not
    a mailbox's ordinary word (`[not_a_name]`). A set, not a pattern: nothing to compile per mail."""
    not_a_name = load_identity_words().not_a_name
    words: set[str] = set()
    for name in names:
        for word in _BRACKETED.sub(" ", name.split("|")[0]).split():
            word = _folded(word.strip(",;"))
            if "." not in word and len(word) > 1 and any(char.isalpha() for char in word) and word not in not_a_name:
                words.add(word)
    return frozenset(words)


# A word of an address's local part: a run of letters between its dots, underscores, hyphens and digits, at least
# _MIN_ADDRESS_NAME_WORD of them ("siti.rahayu88", "siti_rahayu": "siti", "rahayu"; "a.rahayu": "rahayu").
_ADDRESS_WORD = re.compile(r"[^\W\d_]+")
_MIN_ADDRESS_NAME_WORD = 3


@dataclass(frozen=True, slots=True)
class SpelledName:
    """What an address's mailbox spells of its owner's name (`address_spelling`): its words, an initial written before
    one of them ("s.rahayu": ("s", "rahayu"), signed "Siti Rahayu"), and the mailbox's one word when it is the name
    written without a separator ("sitirahayu88": "sitirahayu", signed "Siti Rahayu")."""

    words: frozenset[str] = frozenset()
    initialled: frozenset[tuple[str, str]] = frozenset()
    joined: str | None = None

    def shares(self, given: frozenset[str]) -> bool:
        """Whether it spells a word of the name given: the word itself ("budi.santoso87" for "Budi"), its initial
        before another word ("s.rahayu" for "Siti"), or the word opening or closing its joined name ("budisantoso"
        for "Budi")."""
        joined = self.joined or ""
        return bool(self.words & given) \
            or any(word.startswith(initial) for initial, _ in self.initialled for word in given) \
            or any(joined.startswith(word) or joined.endswith(word) for word in given if joined)


def address_spelling(address: str) -> SpelledName:
    """The name the sender's address spells, for a mail that gives no name (a From without a display name, or one of
    a mailbox's ordinary words): its mailbox's words (`_ADDRESS_WORD`, without a `+tag`), folded, but a mailbox's
    ordinary words (`[not_a_name]`: "info", "warga123", "pengaduan.kota" name no one); a letter alone before a word
    (an initial) and a mailbox of one word (digits aside) are kept for the sign-off's "Siti Rahayu" (`_name_runs`).
    Read in the sign-off alone, as a one-word From is: in the report's words "Bu Siti" may be the official it is
    about."""
    not_a_name = load_identity_words().not_a_name
    mailbox = address.rpartition("@")[0].split("+", 1)[0]
    found = _ADDRESS_WORD.findall(mailbox)
    words = frozenset(word for word in map(_folded, found)
                      if len(word) >= _MIN_ADDRESS_NAME_WORD and word not in not_a_name)
    initialled = frozenset((_folded(text), _folded(after)) for text, after in pairwise(found)
                           if len(text) == 1 and _folded(after) in words)
    alone = _folded(found[0]) if len(found) == 1 and re.sub(r"\d", "", mailbox) == found[0] else None
    joined = alone if alone in words else None
    return SpelledName(words, initialled, joined)


@dataclass(frozen=True, slots=True)
class _SignedName:
    """What a sign-off is read for (`_name_runs`): the name's words, the capitals an initial of it may be, and what
    the sender's addresses spell besides (`SpelledName`)."""

    words: frozenset[str]
    initials: frozenset[str]
    initialled: frozenset[tuple[str, str]]
    joined: frozenset[str]

    @classmethod
    def of(cls, words: frozenset[str], spelled: Iterable[SpelledName]) -> _SignedName:
        """The name's words with what the addresses spell: an initial may stand for a word of either ("S." for the
        "siti" of "s.rahayu@")."""
        spelled = list(spelled)
        initialled = frozenset(pair for spelling in spelled for pair in spelling.initialled)
        return cls(words, frozenset(word[0] for word in words) | {initial for initial, _ in initialled}, initialled,
                   frozenset(spelling.joined for spelling in spelled if spelling.joined))


# A word of a line and the accents written apart after its letters (NFD).
_WORD = re.compile(r"\w[\w\u0300-\u036f]*")
_RUN_GAP = re.compile(r"[\s,]{1,3}")
_DEGREE_AFTER = re.compile(r"\.\w+\.")  # "S.Pd.": a degree, not an initial "S."


def _name_runs(name: _SignedName, line: str, start: int) -> list[tuple[int, int]]:
    """The (start, end) of each run in `line` from `start` on of the name's words and initials (a capital alone or
    with a dot, not a degree's first letter), in any order, commas or spaces between them ("Rahayu, Siti", "S.
    Rahayu", "S.Rahayu", "Rahayu S."), holding a word of the name (initials alone name no one) and not after a form
    of address ("Pak Joko"). What an address spells is read too (`SpelledName`): a capitalized word directly before
    a word of it that the address writes after its initial ("Siti Rahayu" at "s.rahayu@"), and words that together
    spell its mailbox's one word ("Siti Rahayu" at "sitirahayu88@")."""
    addressed = load_identity_words().addressed
    runs: list[tuple[int, int]] = []
    run: list[int] = []  # start, end, whether a word of the name is in it

    def close(run: list[int]) -> None:
        """Keep the run that ends here if it holds a word of the name and no form of address stands before it."""
        if run and run[2] and not addressed.search(line, max(0, run[0] - _ADDRESS_REACH), run[0]):
            runs.append((run[0], run[1]))

    position = start
    while (token := _WORD.search(line, position)) is not None:
        text, end = token.group(), token.end()
        folded = _folded(text)
        spelled = _joined_end(name, line, token)
        if spelled is not None:
            named, end = 1, spelled
        elif folded in name.words:
            named = 1
        elif len(text) == 1 and text.isupper() and folded in name.initials and not _DEGREE_AFTER.match(line, end):
            named, end = 0, end + line.startswith(".", end)
        elif _before_initialled(name, line, token):
            named = 0  # as an initial: the word after it names the sender
        else:
            named = -1
        position = end
        joined = run and (_RUN_GAP.fullmatch(line, run[1], token.start()) is not None
                          or (run[1] == token.start() and line[run[1] - 1] == "."))
        if named >= 0 and joined:
            run[1], run[2] = end, max(run[2], named)
            continue
        close(run)
        run = [token.start(), end, named] if named >= 0 else []
    close(run)
    return runs


_WORD_GAP = re.compile(r"[^\S\n]+")  # the spaces between two words of a name written in full


def _next_word(line: str, end: int) -> re.Match[str] | None:
    """The word after the spaces that follow `end`, if any do."""
    gap = _WORD_GAP.match(line, end)
    return _WORD.match(line, gap.end()) if gap else None


def _before_initialled(name: _SignedName, line: str, token: re.Match[str]) -> bool:
    """Whether `token` is a capitalized word, no form of address ("Bu"), directly before a word the sender's address
    writes after that word's first letter: "Siti" in "Siti Rahayu" at "s.rahayu@"."""
    text = token.group()
    if not name.initialled or len(text) < 2 or not text[0].isupper() \
            or load_identity_words().addressed.fullmatch(text):
        return False
    after = _next_word(line, token.end())
    return after is not None and (_folded(text)[0], _folded(after.group())) in name.initialled


def _joined_end(name: _SignedName, line: str, token: re.Match[str]) -> int | None:
    """Where the words from `token` on end that together spell the sender's mailbox of one word ("Siti Rahayu" at
    "sitirahayu88@"), two words or more with spaces between them, none a form of address first nor a mailbox's
    ordinary word; None where they do not."""
    if not name.joined or load_identity_words().addressed.fullmatch(token.group()):
        return None
    not_a_name = load_identity_words().not_a_name
    spelled, count, word = "", 0, token
    while word is not None and _folded(word.group()) not in not_a_name:
        spelled, count = spelled + _folded(word.group()), count + 1
        if count > 1 and spelled in name.joined:
            return word.end()
        if not any(joined.startswith(spelled) for joined in name.joined):
            return None
        word = _next_word(line, word.end())
    return None


def _signed_name(name: _SignedName, line: str, start: int = 0, alone: bool = False) -> str:
    """`line` with each run of the name's words from `start` on (`_name_runs`) replaced by OWN_IDENTITY; with `alone`,
    only when the runs are all the line holds but punctuation ("Joko", "- Joko -")."""
    runs = _name_runs(name, line, start)
    kept, position = [], 0
    for run_start, run_end in runs:
        kept += [line[position:run_start], OWN_IDENTITY]
        position = run_end
    kept.append(line[position:])
    if not runs or (alone and any(_WORD.search(part) for part in kept[::2])):
        return line
    return "".join(kept)


# What ends a name opening a longer sign-off line: punctuation before what its owner adds (a middle dot or a bullet, as
# html_text joins an HTML signature's table cells), or the line's end.
_SET_OFF_NAME = re.compile(r"\s*(?:[,;(\[/|\-\u2013\u2014\u00b7\u2022]|$)")


def _signed_opening(name: _SignedName, line: str, start: int) -> str:
    """`line` with a run of the name's words (`_name_runs`) that opens it from `start` on and is set off from what
    follows ("Rahayu, Siti (warga ...)", "Siti Rahayu - warga ...") replaced by OWN_IDENTITY; the rest of the line as
    written. A name going on into a sentence ("Siti dan Rahayu di kantor desa juga ...") is the report's."""
    first = _WORD.search(line, start)
    # A name is short: its run is read in the line's opening alone, and a long line costs no more than a short one (a
    # word cut at that end is followed by its letters, no name set off: the line stays).
    runs = _name_runs(name, line[:first.end() + SIGNATURE_MAX_LINE], start) if first is not None else []
    if not runs or runs[0][0] != first.start() or not _SET_OFF_NAME.match(line, runs[0][1]):
        return line
    return line[:runs[0][0]] + OWN_IDENTITY + line[runs[0][1]:]


def _sign_off(text: str) -> tuple[list[str], list[int], tuple[int, list[re.Match[str]]] | None]:
    """A mail's last lines (`str.rsplit`: lines[0] holds the rest of a longer text), the indexes of those that are not
    blank, and its sign-off's closing: the line of the last closing phrase among the last CLOSING_TAIL_LINES lines
    that are not blank, with the phrases found in it (None: no sign-off). Where none is, a letter's last sentence
    with its thanks further in (`_letter_closing`: "Demikian laporan ini saya sampaikan, atas perhatiannya saya ucapkan
    terima kasih.", the line read whole however long): missed there, the name and number signed below it reached the
    case store. Only where none is: a "Demikian juga ..., terima kasih" further down than her "Salam," (a P.S., a
    forwarded letter's end) hid her sign-off."""
    scan = CLOSING_TAIL_LINES * 3
    lines = text.rsplit("\n", scan)
    first = 0 if len(lines) <= scan else 1
    written = [index for index in range(first, len(lines)) if lines[index].strip()]
    words = load_identity_words()
    closing = next(((index, found) for index in reversed(written[-CLOSING_TAIL_LINES:])
                    for found in [[*words.closing.finditer(lines[index], max(0, len(lines[index]) - _CLOSING_REACH))]]
                    if found), None) \
        or next(((index, found) for index in reversed(written[-CLOSING_TAIL_LINES:])
                 for found in [_letter_closing(words, lines[index])] if found), None)
    return lines, written, closing


def _letter_closing(words: IdentityWords, line: str) -> list[re.Match[str]]:
    """The line's last thanks (`letter_thanks`), after a comma or a space, in a sentence opening with `letter_openers`
    ("Demikian pengaduan dari saya sebagai pelapor, atas perhatian Bapak/Ibu saya ucapkan terima kasih."), no colon
    between (a label's, or words quoted); none if not so. The line is read once each way, however long: a regular
    expression reaching over it backtracked from every opener (33 s on one line of "Demikian. " repeated)."""
    thanks = None
    for thanks in words.letter_thanks.finditer(line):  # noqa: B007  # the last one
        pass
    if thanks is None or not thanks.start() or line[thanks.start() - 1] not in ", \t":
        return []
    opener = words.letter_opener.search(line, 0, thanks.start())
    return [thanks] if opener is not None and ":" not in line[opener.start():thanks.start()] else []


_AFTER_CLOSING = re.compile(r"[^\w\n]*")  # the punctuation and spaces after a closing phrase ("Salam, ")
# The same across line breaks: an SMS's sign-off on the lines below its thanks ("Terima kasih\nSiti Rahayu\n0813...").
_BELOW_CLOSING = re.compile(r"[^\w]*")
_BEFORE_NAME = re.compile(r"[^\w\n\[]*")  # the same, up to a name already OWN_IDENTITY ("Salam, [anonim]")


def without_sign_off_contacts(text: str) -> str:
    """A mail's text with the contacts of its sign-off replaced by OWN_IDENTITY: the short lines after the closing
    phrase that ends the mail ("Terima kasih,\nDewi\nJl. Melati No. 12, Bekasi\nHP 0813-9876-5432"), at most
    SHORT_TAIL_MAX_LINES lines of at most SHORT_TAIL_MAX_LINE characters, go as one OWN_IDENTITY when they hold a
    phone number, an e-mail address or an @handle, as a short tail with a contact below a `--` does; so do the words
    after the phrase on its own line when they hold one ("Salam, Dewi 0813-9876-5432"). A signature typed without a
    `--` above it, as most citizens type theirs, put the anonymous sender's number and home address in the case store;
    the name in it alone was taken out. Citizen's words after the closing (a long line, more lines, a sentence, a list's
    item or a labelled line whose label is no contact's: "Nomor pelaku: 0812...", a line about someone else: "WA
    penipu 0812...", `_is_report_line`) stay, the perpetrator's number with them."""
    lines, written, closing = _sign_off(text)
    if closing is None:
        return text
    line, phrases = closing
    after = [index for index in written if index > line]
    opening = lines[line][:_AFTER_CLOSING.match(lines[line], phrases[-1].end()).end()]
    rest = lines[line][len(opening):]
    long_lines = {_long_line(lines[index]) for index in after}
    if len(after) > SHORT_TAIL_MAX_LINES or LongLine.TOO_LONG in long_lines \
            or len(rest) > SHORT_TAIL_MAX_LINE or len(rest.split()) > SIGN_OFF_MAX_WORDS \
            or not _has_contact("\n".join([rest, *(lines[index] for index in after)])):
        return text
    if LongLine.REPORT in long_lines or any(_is_report_line(lines[index]) for index in after) \
            or _about_someone_else(rest):
        # The report's own lines stay; a line of nothing but a contact among them is the sender's ("Dewi\nsaya guru
        # honorer di sini\n0813-9876-5432": kept whole, the number reached the case store). Her contacts after her
        # name on such a line go once her name is read (`without_contacts_after_signed_name`).
        _withhold_bare_contacts(lines, after)
        return "\n".join(lines)
    if rest.strip() and (not after or _has_contact(rest)):
        lines[line] = opening + OWN_IDENTITY
    if after:
        lines[after[0]:] = [OWN_IDENTITY]
    return "\n".join(lines)


class LongLine(Enum):
    """What a line below a closing phrase longer than a sign-off's is (`_long_line`)."""

    ADDRESS = "address"  # a postal address's: the signature's, however long
    REPORT = "report"  # the report's, opening with an address's word but no address
    TOO_LONG = "too_long"  # too long for a sign-off's: the tail is the citizen's writing


def _long_line(line: str) -> LongLine | None:
    """What a line below a closing phrase is when it is longer than a sign-off's (SHORT_TAIL_MAX_LINE; None for a
    shorter one), read once for both uses: a postal address's (ADDRESS: opening with an address's word,
    `[address_lines]`, holding ADDRESS_LINE_MIN_PARTS of its parts besides, at most ADDRESS_LINE_MAX long: "Jl.
    Melati No. 12 RT 05 RW 02, Kel. ..., Kota Bandung 40123"), the report's (REPORT: opening with an address's word
    with fewer parts, a line in Title Case or capitals, "Jalan Raya Bogor KM 30 Depan Pasar Rusak Parah ...", that
    `_is_citizens_line` does not read as prose), or too long for a sign-off (TOO_LONG: any other). A full address read
    as the citizen's words kept the whole signature, the anonymous sender's number and e-mail below it too; a report's
    line taken for the signature's address went with the whole tail, the citizen's words lost."""
    if len(line) <= SHORT_TAIL_MAX_LINE:
        return None
    parts = None if len(line) > ADDRESS_LINE_MAX else _address_part_count(line)
    if parts is None:
        return LongLine.TOO_LONG
    return LongLine.REPORT if parts < ADDRESS_LINE_MIN_PARTS else LongLine.ADDRESS


def _address_part_count(line: str) -> int | None:
    """How many kinds of an address's parts (`_address_parts`: numbered ones count once, "No. 12 RT 05") a line opening
    with an address's word (`[address_lines]`, after its label or none) holds besides that word; None for a line
    opening with none."""
    words = load_identity_words()
    opener = words.address_line.match(line)
    return None if opener is None else len(_address_parts(line[opener.end():], words.address_part))


def _written_as_an_address(line: str) -> bool:
    """Whether a line is a postal address's as a citizen types it in lowercase ("komplek griya asri blok c no 4 rt 3 rw
    5 kel sukamaju"): opening with an address's word, holding ADDRESS_LINE_MIN_PARTS of its parts besides, as one in
    Title Case is (`_long_line`), no run of more than ADDRESS_NAME_MAX_WORDS words between them or after them, as
    a sentence has ("jalan raya no 5 rt 3 kel sukamaju sudah dua bulan rusak dan belum diperbaiki"), and no word of a
    sentence's that no address holds (`[address_lines]` sentence_words: "jalan rusak di rt 3 kel sukamaju", "jl raya
    bogor no 5 kel sukamaju lampunya mati"). Taken for the sign-off's address, the report's short sentence below the
    closing went with the sender's number."""
    parts = _address_part_count(line)
    if parts is None or parts < ADDRESS_LINE_MIN_PARTS:
        return False
    words = load_identity_words()
    if words.sentence_word.search(line):
        return False  # "rt 05 rw 02 minta uang ke warga kel sukamaju": a sentence's words, few as they are
    pieces = _ADDRESS_SEPARATOR.split(words.address_word.sub(",", words.address_part.sub(",", line)))
    return all(sum(any(char.isalpha() for char in token) for token in piece.split()) <= ADDRESS_NAME_MAX_WORDS
               for piece in pieces)


_ADDRESS_SEPARATOR = re.compile(r"[,;]")


def _address_parts(text: str, part: re.Pattern[str]) -> set[str]:
    """The kinds of an address's parts in `text`: "numbered" once however many ("No. 12 RT 05"), each area word
    ("kel", "kota"), "postal". A report's line in Title Case opening with a road's name holds fewer than two."""
    found = set()
    for match in part.finditer(text):
        kind = match.lastgroup or ""
        found.add(match.group("area").lower() if kind == "area" else kind)
    return found


def without_signed_name(text: str, words: frozenset[str], spelled: Iterable[SpelledName] = ()) -> str:
    """A mail's text with the sender's name replaced by OWN_IDENTITY in its sign-off (see the module): the short lines
    after the last closing phrase (opening a line or after a sentence: "... dipotong. Salam, Siti") among its last
    CLOSING_TAIL_LINES lines, and a line of the name alone among its last SIGN_OFF_LINES. `words` are the name's,
    `spelled` what the sender's addresses spell of it besides (`SpelledName`)."""
    name = _SignedName.of(words, spelled)
    lines, written, closing = _sign_off(text)
    read: set[int] = set()
    if closing is not None:
        line, phrases = closing
        for index in [line, *[index for index in written if index > line][:CLOSING_MAX_LINES]]:
            start = phrases[-1].end() if index == line else 0
            after_phrase = _BEFORE_NAME.match(lines[index], start).end()
            if index == line and _is_signed_contact_line(name, lines[index][after_phrase:]):
                # A signature of one line after the phrase ("Hormat saya, S. Rahayu | Jl. Mawar 3 | HP 0812..."):
                # too many words for a sign-off's, its name went and its address and number reached the case store.
                lines[index] = lines[index][:after_phrase] + OWN_IDENTITY
                read.add(index)
                continue
            if len(lines[index]) - start <= SIGNATURE_MAX_LINE \
                    and len(lines[index][start:].split()) <= SIGN_OFF_MAX_WORDS:
                lines[index] = _signed_name(name, lines[index], start)
                read.add(index)
            else:
                # A longer line is prose, but a name opening it is signed ("Rahayu, Siti (warga RT 03 RW 05
                # Kelurahan ...)": kept whole, the name reached the agency).
                lines[index] = _signed_opening(name, lines[index], start)
    for index in written[-SIGN_OFF_LINES:]:
        if index not in read and len(lines[index]) <= SHORT_TAIL_MAX_LINE \
                and not _names_someone_else(name, lines, index):  # a line of a name is short
            lines[index] = _signed_name(name, lines[index], alone=True)
    # A signature with no closing phrase and no `--` above it (Outlook's, and any typed by hand): a line of the name
    # alone opening the mail's last short lines, with a contact below it, goes with them ("Dewi Lestari\nStaf TU SDN
    # 5\nHP 0813-9876-5432": the name went, and the number reached the case store); so does a line opening with the
    # name set off from a contact on that line ("Dewi Lestari, 0813-9876-5432", "D. Lestari | Jl. Melati 12 | 0813...",
    # an HTML signature's cells "Dewi Lestari · HP 0813...": `_is_signed_contact_line`), with the lines below it that
    # carry it on; the report's lines below it stay (`_without_one_line_signature`).
    tail = written[-(SHORT_TAIL_MAX_LINES + 1):]
    for position, index in enumerate(tail):
        below = [lines[item] for item in tail[position + 1:]]
        line = lines[index]
        if _names_someone_else(name, lines, index):
            continue  # "Yang menipu:\nBudi, 0812...": the perpetrator's name and number, not the sender Budi Santoso
        if _is_signed_contact_line(name, line):
            # Above the report's long lines too ("Siti Rahayu, 0812...\nMohon segera ditindak karena ...": skipped
            # for them, the sender's number reached the case store).
            lines[index:] = _without_one_line_signature(line, lines[index + 1:])
            break
        if len(line) > SHORT_TAIL_MAX_LINE or any(len(item) > SHORT_TAIL_MAX_LINE for item in below):
            continue
        signed = _signed_name(name, line, alone=True)
        if (line.strip() != OWN_IDENTITY and signed == line) or not _has_contact("\n".join(below)):
            continue
        if any(map(_is_report_line, below)):
            # The report's lines below the name stay, but not a line of nothing but a contact among them: the
            # sender's ("Dewi Lestari\nwarga yang tinggal di sini\n0813-9876-5432": it reached the case store).
            lines[index] = signed
            _withhold_bare_contacts(lines, tail[position + 1:])
        else:
            lines[index:] = [OWN_IDENTITY]
        break
    return "\n".join(lines)


def _names_someone_else(name: _SignedName, lines: list[str], index: int) -> bool:
    """Whether a line opens with one word of the sender's name alone ("Budi", not "Budi Santoso" nor "B. Santoso")
    right below a label about someone else with no value of its own ("Yang menipu:", "Pelaku:", `[someone_else]`):
    the one reported shares the sender's first name ("Yang menipu:\nBudi, 0812-1111-2222" from Budi Santoso: read as
    the sender's signature, the perpetrator's number was lost to the agency)."""
    above = lines[index - 1].strip() if index > 0 else ""
    if not above.endswith(":") or not _about_someone_else(above) or _has_contact(above):
        return False
    runs = _name_runs(name, lines[index], 0)
    first = _WORD.search(lines[index])
    if not runs or first is None or runs[0][0] != first.start():
        return False
    return runs[0][1] == first.end() and _folded(first.group()) in name.words


def _without_one_line_signature(signature: str, below: list[str]) -> list[str]:
    """A signature of one line (`_is_signed_contact_line`) and the lines below it as OWN_IDENTITY and what stays of
    them: the lines that carry the signature on (`_continues_signature`: "Kader PKK RT 03", "Jl. Mawar 3", "WA
    0813...") go with it; from the first that does not on, the report's lines stay ("Kepala desa Agus\n0812-1111-2222",
    "Bukti transfer ke 0812...", "Mohon ditindak": taken for the signature, the report's facts were lost to the
    agency), but not a line of the sender's contact (`_is_senders_line_below`) nor the signature's own number or
    address written again."""
    kept, blanks, carried = [OWN_IDENTITY], [], True
    for line in below:
        if not line.strip():
            blanks.append(line)
            continue
        if carried and _continues_signature(line):
            blanks = []
            continue
        carried = False
        above = next(item for item in reversed(kept) if item.strip())
        senders = _is_senders_line_below(line, above)
        kept += [*blanks, OWN_IDENTITY if senders else _without_contacts_of(signature, line)]
        blanks = []
    return kept if carried else [*kept, *blanks]


def _continues_signature(line: str) -> bool:
    """Whether a line below a signature of one line is more of it: no report's line (`_is_report_line`), and a
    contact, a sentence asking to be reached, or no word written lowercase, as a signature's post, office and address
    are written and the citizen's words are not ("Kader PKK RT 03", "Jl. Mawar 3, Coblong"; "Mohon ditindak")."""
    if _is_report_line(line):
        return False
    if _is_bare_contact(line) or load_identity_words().own_contact.search(line):
        return True
    return not any(word[0].islower() for word in _WORD.findall(line) if word[0].isalpha())


def _is_senders_line_below(line: str, above: str) -> bool:
    """Whether a line among the report's lines below a signature of one line is the sender's contact: a sentence
    asking to be reached (`[own_contact]`), or a line of nothing but a contact (`_is_senders_bare_contact`), but for
    a number alone, unlabelled, below a line of the report's with no contact of its own: that line's ("Kepala desa
    Agus\n0812-1111-2222"; the sender gave theirs on the signature's line)."""
    if load_identity_words().own_contact.search(line):
        return True
    if not _is_senders_bare_contact([above, line], 1):
        return False
    return not (_is_bare_number(line) and above != OWN_IDENTITY and not _has_contact(above))


def _is_bare_number(line: str) -> bool:
    """Whether a line is a phone number alone, with no label, address or handle."""
    if MAIL_ADDRESS.search(line) or HANDLE.search(line):
        return False
    spans = [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(line, "ID")]
    kept = "".join(char for at, char in enumerate(line) if not any(start <= at < end for start, end in spans))
    return bool(spans) and not any(char.isalnum() for char in kept)


def _without_contacts_of(signature: str, line: str) -> str:
    """`line` with each phone number and e-mail address the signature gives replaced by OWN_IDENTITY: the sender's,
    written again below it ("Mohon ditindak, hubungi 0812-3456-7890" below "Siti Rahayu, 0812-3456-7890")."""
    own = {match.number.national_number for match in phonenumbers.PhoneNumberMatcher(signature, "ID")}
    spans = [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(line, "ID")
             if match.number.national_number in own]
    addresses = {found.lower() for found in MAIL_ADDRESS.findall(signature)}
    spans += [match.span() for match in MAIL_ADDRESS.finditer(line) if match.group().lower() in addresses]
    for start, end in sorted(spans, reverse=True):
        line = line[:start] + OWN_IDENTITY + line[end:]
    return line


def _is_signed_contact_line(name: _SignedName, line: str) -> bool:
    """Whether a short line is a signature of one line: the sender's name opening it (as signed, `_signed_opening`, or
    already OWN_IDENTITY: the From name written in full), set off from the rest or the rest a bare contact ("Dewi
    Lestari 0813-..."), and the rest a contact of the sender's that no sentence, list item, report's label or line about
    someone else holds (`_is_report_line`: "Dewi Lestari, bendahara, meminta uang lewat nomor 0812...", "... - nomor
    pelaku 0812..." stay)."""
    if len(line) > SHORT_TAIL_MAX_LINE:
        return False
    opened = line.lstrip()
    if not opened.startswith(OWN_IDENTITY):
        opened = _signed_opening(name, opened, 0)
        if not opened.startswith(OWN_IDENTITY):
            return False
    rest = opened[len(OWN_IDENTITY):]
    set_off = _SET_OFF_NAME.match(rest)
    if set_off is None and not _is_bare_contact(rest):
        return False
    rest = rest[set_off.end():] if set_off else rest  # without it: " - 0813..." reads as a list's item
    return _has_contact(rest) and not _is_report_line(rest)


def _accented_forms() -> dict[str, str]:
    """Each Latin letter (lowercase) and its forms with accents, composed: "e" -> "EeÈÉÊ...èéê...ẹẻẽ..."."""
    forms: dict[str, set[str]] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFD", chr(code))
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and base.isalpha() \
                and all(unicodedata.combining(mark) for mark in decomposed[1:]):
            forms.setdefault(base.lower(), {base.lower(), base.upper()}).add(chr(code))
    return {base: "".join(sorted(chars)) for base, chars in forms.items()}


_ACCENTED_FORMS = _accented_forms()


def _name_word(word: str) -> str:
    """A word of a name, each Latin letter with or without its accents, composed or not: a name with accents is
    signed without them on a phone's keyboard ("Andre Nunez" for "André Núñez"), and a Mac sends them decomposed.
    A letter that may be written with an accent, and any other letter outside ASCII, may also be a U+FFFD: a mail's
    text reads a byte its charset cannot read as one (channels/email/parse.py), and an old client's Latin-1 "é" in
    a UTF-8 text made "Jos\ufffd Ramírez", which matched the sender's "José Ramírez" nowhere."""
    parts: list[str] = []
    for char in unicodedata.normalize("NFC", word):
        if unicodedata.combining(char) and parts and parts[-1].endswith(_ACCENTS):
            continue  # a further accent on a letter already matched with any
        forms = _ACCENTED_FORMS.get(unicodedata.normalize("NFD", char)[0].lower())
        if forms:
            parts.append(f"[{re.escape(forms)}\ufffd]{_ACCENTS}")
        else:
            parts.append(re.escape(char) if char.isascii() else f"(?:{re.escape(char)}|\ufffd)")
    return "".join(parts)


def _user_id_pattern(identity: str) -> str | None:
    """An account's numeric user id (X's, an Instagram commenter's) as a whole number; None for a short or
    non-numeric id, which would match ordinary figures."""
    return rf"(?<!\d){identity}(?!\d)" if len(identity) >= _MIN_IDENTITY_DIGITS and identity.isdigit() else None


def own_identity_patterns(envelope: Mapping[str, Any]) -> re.Pattern[str] | None:
    """One pattern for every form of the sender's identity the envelope holds; None when it holds none."""
    sender = envelope.get("sender") or {}
    kind, identity = sender.get("kind"), str(sender.get("id") or "")
    patterns: list[str | None] = [_with_address_beside(_display_name_pattern(sender.get("display_name")), 0)]
    if kind == SenderKind.MSISDN.value:
        patterns.append(_number_pattern(identity))
    elif kind == SenderKind.EMAIL.value:
        patterns += _address_patterns(identity)
        meta = envelope.get("channel_meta") or {}
        addresses, names = mail_identities(meta)
        for other in sorted(addresses - {identity}):
            patterns += _address_patterns(other)
        patterns += [_with_address_beside(_display_name_pattern(name), key) for key, name in enumerate(names, start=1)]
        if (meta.get(SENDER_IDENTITIES) or {}).get(EVERY_ADDRESS):
            patterns.append(NAMED_ADDRESS)
    elif kind == SenderKind.IG_USER.value and identity:
        # The id is the user id and the display name the username (a comment), or both are the username (a post, a
        # report stored before comments were read with their author's id).
        patterns += _handle_patterns(identity)
        if sender.get("display_name"):
            patterns += _handle_patterns(str(sender["display_name"]))
        patterns.append(_user_id_pattern(identity))
    elif kind == SenderKind.X_USER.value:
        patterns.append(_user_id_pattern(identity))
    username = (envelope.get("channel_meta") or {}).get("username")
    if username:
        patterns += _handle_patterns(str(username))
    found = [pattern for pattern in patterns if pattern]
    return re.compile("|".join(f"(?:{p})" for p in found), re.IGNORECASE) if found else None


def mail_identities(meta: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """The sender's other addresses (lowercased) and display names a mail gave, from its `channel_meta`: where our
    replies go (Reply-To), its envelope sender, and what the fields that name a sender say (SENDER_IDENTITIES: Sender,
    Return-Path, X-Original-From, a read receipt's address... channels/email/parse.py SENDER_HEADERS)."""
    given = meta.get(SENDER_IDENTITIES)
    given = given if isinstance(given, Mapping) else {}
    addresses = [meta.get("reply_to"), meta.get("envelope_sender"), *(given.get("addresses") or [])]
    names = [str(name) for name in given.get("names") or [] if name]
    return {str(address).lower() for address in addresses if address and "@" in str(address)}, names


# A phone number as `without_given_contacts` reads one after words asking to be reached: 8 to 18 digits (read in any
# script; 16: a NIK, the national identity number, given as "NIK saya ..."; 18: a civil servant's NIP, "NIP saya
# 19880101 201001 2 003", whose last digits reached the case store) with the marks people type between their groups; not
# a comma, colon or apostrophe, which there more often end the number than split it ("WA saya 0813-9876-5432, 2 orang
# saksi"). A slash or a line break joins groups as any mark does ("(0274)/512345", "0813 / 4444 5555", "NIK saya
# 3201/2345/6789/0001", "512345 / 0812...", "0857 2468\n1357" wrapped by a mail client). But a whole number, its trunk's
# 0 or country code first and eight digits or more (`_LISTED`), ends before a slash and another such number
# ("0274-512345 / 0274-512346", "... / 0645-41234"), as any of eight digits or more does before a slash and a mobile's
# ("telp saya 12345678 / 0812-3456-7890" kept "7890"), and at its line's end before a line opening with no digit, a date
# or another whole number ("0857-2468-1357\n12/03/2024", "Pelaku: 0813...\n0812... nomor saya"): read as one, past the
# most digits a number has, the second one's last digits stayed. Other digits opening the next line may end her number,
# wrapped ("0857 2468 13\n57"): they go with it ("...\n2 juta hilang" loses its "2", "...\n12 Maret 2024" its day:
# "0812 3456 78\n90 Terima kasih" is her number's end).
_GAP_MARK = r"[\s().\-/\u2010-\u2015\u2212\uff08\uff09\uff0d\uff0e\uff0f_*~\u00b7]"
_GIVEN_GAP = rf"{_GAP_MARK}{{0,3}}"
_SLASH = r"[/\uff0f]"
_TRUNK_ZERO = r"[0\uff10\u0660\u06f0\u0966]"  # in the scripts a number is read in (ASCII, fullwidth, Arabic-Indic...)
# A slash between two numbers of a list, marks around it.
_LIST_SLASH = rf"(?:(?!{_SLASH}){_GAP_MARK}){{0,2}}{_SLASH}{_GAP_MARK}{{0,2}}"
_LIST_SEPARATOR = re.compile(_LIST_SLASH)
_IN_NUMBER_GAP = rf"(?!{_LIST_SLASH}{_TRUNK_ZERO})(?:(?!\n){_GAP_MARK}){{0,3}}"
_WHOLE_START = rf"(?:(?<=[+\uff0b(\uff08])|(?={_TRUNK_ZERO}|62))"
# What opens the next line after a whole number that ends at its line's end: no digit or a date; or another whole
# number, of nine digits after a mobile's ten and more ("0857-2468-1357\n0645-41234"), of ten after eight or nine (a
# mobile of eight digits may go on on the next line, wrapped: "0857 2468\n0135 ...").
_NEXT_LINE_APART = r"[^\S\n]*\n[^\S\n]*(?:(?!\d)|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d))"
_NEXT_LINE = r"[^\S\n]*\n[^\S\n]*"
# That number ends at a sentence's full stop ("0135. 6454...") and before a space and another trunk's 0 ("0135
# 0813-...": her wrapped number's last digits, then someone else's).
_NEXT_LINE_GAP = rf"(?!\.\s)(?![^\S\n]+{_TRUNK_ZERO}){_IN_NUMBER_GAP}"
_LISTED = (rf"{_WHOLE_START}\d(?:{_IN_NUMBER_GAP}\d){{7,17}}"
           rf"(?={_LIST_SLASH}{_TRUNK_ZERO}(?:{_IN_NUMBER_GAP}\d){{7}}|{_NEXT_LINE_APART})"
           rf"|{_WHOLE_START}\d(?:{_IN_NUMBER_GAP}\d){{9,17}}(?={_NEXT_LINE}{_TRUNK_ZERO}(?:{_NEXT_LINE_GAP}\d){{8}})"
           rf"|{_WHOLE_START}\d(?:{_IN_NUMBER_GAP}\d){{7,8}}(?={_NEXT_LINE}{_TRUNK_ZERO}(?:{_NEXT_LINE_GAP}\d){{9}})"
           rf"|\d(?:{_IN_NUMBER_GAP}\d){{7,17}}(?={_LIST_SLASH}{_TRUNK_ZERO}(?:{_IN_NUMBER_GAP}\d){{9}})")
_GIVEN_NUMBER = re.compile(rf"(?<![\d+\uff0b])[+\uff0b]?[(\uff08]?(?:{_LISTED}|\d(?:{_GIVEN_GAP}\d){{7,17}}(?!\d))")
# What a contact's start may hold that is no part of it (an address's match may open with a colon or a quote).
_NOT_CONTACT_START = re.compile(r"[^\w+\uff0b(\uff08@\uff20]+")
# The words and marks between words asking to be reached and the contact they give (`_gives_contact`).
_GAP_TOKEN = re.compile(r"\s+|[^\w\s]+|\w[\w-]*")
# What may end the clause of words asking to be reached after a contact ("0812... nomor saya, ...", "(WA saya)").
_CLAUSE_END = re.compile(r"[^\S\n]*(?:[,.;!?)\]}\n]|$)")
_SENTENCE_END = re.compile(r"[.!?;]")
# Where a sentence ends within a line (`_quoted` reads the one a phrase is in).
_SENTENCE_BREAK = re.compile(r"[.!?;]\s")
_DIGIT_OR_AT = re.compile(r"[\d@\uff20]")
# The most digits a Tracking ID has for years to come (a billion reports); a mobile number has 10 to 13.
_TRACKING_ID_MAX_DIGITS = 10
# How far after those words (or a contact they gave) the next contact is looked for.
_GIVEN_CONTACT_REACH = 80


def without_given_contacts(text: str) -> str:
    """`text` with each contact its sender gives as their own replaced by OWN_IDENTITY: a phone number (or NIK), an
    e-mail address or an @handle right after words asking to be reached or giving the sender's own (`[own_contact]`:
    "hubungi saya di 0813...", "WA saya: 0813...", "email saya dewi@...", "my number is ...", "NIK saya ..."), with
    only `connectors`, a contact label's words and punctuation between them, and each contact right after it so
    ("WA saya 0813... atau 0857..."). Wherever it
    stands: the gateway does not know the number of a mail's sender, nor a second number of an SMS's, and the
    sign-off (`without_sign_off_contacts`) reads only a mail's last lines; "Kalau perlu info, hubungi saya di
    0813..." in an anonymous report's body reached the case store. Another word between ends their reach ("nomor
    saya dipakai penipu 0813...": the scammer's number, which the agency needs, stays), and words the sender quotes
    are not theirs (`_quoted`: a scam message forwarded as evidence keeps its number)."""
    words = load_identity_words()
    if words.own_contact.search(text) is None:
        return text
    read = ascii_digits(text)
    spans: list[tuple[int, int]] = []
    for phrase in words.own_contact.finditer(text):
        quoted = _quoted(text, phrase.start(), phrase.end())
        if quoted and _quoted(text, phrase.start(), phrase.end(), labelling=True):
            continue
        before = _contact_before(read, phrase)
        if before is not None and (not spans or before[0] >= spans[-1][1]) \
                and (not quoted or _reached_or_listed(words, read, before[0])):
            spans.append(before)
        position = phrase.end()
        if quoted:  # a label of the contact before it only: the contacts after are the sentence's
            continue
        if spans and position < spans[-1][1]:
            continue
        if words.own_handle.fullmatch(phrase.group()) and (bare := _bare_handle(read, position, words)) is not None:
            spans.append(bare)
            position = bare[1]
        reached_by = frozenset() if phrase.group().split()[0].lower() in words.own_contact_asking \
            else words.own_contact_reached_by
        chained = False  # a contact after hers given as someone else's ends them ("..., kantor 022... milik pelaku")
        while (found := _next_contact(read, position)) is not None and (
                _listed_after_known(words, read, position, found) if OWN_IDENTITY in read[position:found[0]]
                else _gives_contact(read[position:found[0]], words.own_contact_connectors,
                                    reached_by if _clause_names_someone_else(words, read, found[1]) else frozenset())
                and not (chained and _labels_as_someone_elses(words, read, found[1]))):
            spans.append(found)
            position, chained = found[1], True
    spans.sort()
    for start, end in reversed(spans):
        text = text[:start] + OWN_IDENTITY + text[end:]
    return text


# How far before a number the words of someone else reaching her are read (`_reached_or_listed`).
_REACHED_REACH = 40
# A slash after another number, ending the text read (`_reached_or_listed`).
_AFTER_LISTED = re.compile(rf"\d{_LIST_SLASH}$")


def _reached_or_listed(words: IdentityWords, read: str, start: int) -> bool:
    """Whether the number at `start`, given as hers by words after it in a sentence naming someone else, is one he
    reached her on (`reached_her`: "Penipu menelpon 0812... nomor saya") or listed after another with a slash, whose
    label the first had ("No penipu 0813... / 0812... nomor saya"): hers. Any other there is in his words ("Penipu sms
    minta transfer pulsa ke 0813... nomor saya")."""
    head = read[max(0, start - _REACHED_REACH):start]
    return _AFTER_LISTED.search(head) is not None or words.reached_her.search(head) is not None


def _listed_after_known(words: IdentityWords, read: str, position: int, found: tuple[int, int]) -> bool:
    """Whether the contact `found` is listed after her number the gateway knows, replaced before by OWN_IDENTITY
    ("WA saya 0812-3456-7001 / 0857...", "... atau 0857..."): hers, where its word ended the list and the next stayed.
    Only a list's marks or "dan"/"atau" between, and not given as someone else's after it ("... / 0813... ngaku dari
    BRI", "... / 0813..., itu nomor penipu"), which stays as before."""
    before, _, between = read[position:found[0]].rpartition(OWN_IDENTITY)
    return _gives_contact(before, words.own_contact_connectors) and words.known_listed.fullmatch(between) is not None \
        and not _clause_names_someone_else(words, read, found[1]) \
        and not _labels_as_someone_elses(words, read, found[1]) and not _labelled_after_comma(words, read, found[1])


def _labelled_after_comma(words: IdentityWords, read: str, end: int) -> bool:
    """Whether a comma or a dash after the contact ending at `end` opens a label of it as someone else's, no contact
    after it in its clause ("0813..., itu nomor penipu", "0813... - nomor pelaku"; ", nomor penipu 0813..." labels the
    next)."""
    comma = _COMMA.match(read, end)
    if comma is None:
        return False
    clause = re.split(r"[.!?;\n]", read[comma.end():comma.end() + SENTENCE_REACH], maxsplit=1)[0]
    return _DIGIT_OR_AT.search(clause) is None and _labels_as_someone_elses(words, read, comma.end())


_COMMA = re.compile(r"[^\S\n]*(?:,|[^\S\n][-\u2013\u2014])[^\S\n]*")  # ", itu nomor penipu", " - nomor pelaku"


# How far before and after a contact phrase its sentence is read for someone else named in it (`_quoted`).
SENTENCE_REACH = 400


def _quoted(text: str, position: int, end: int | None = None, labelling: bool = False) -> bool:
    """Whether `position` is in words the sender quotes, not their own: a quoted line ("> ...": a post quoted, a mail
    answered), within quotation marks on its line (a scam SMS forwarded as evidence: "Selamat! ... hubungi saya di
    0813..."), or after words of its sentence naming someone else (`[someone_else]`: "SMS penipu: hubungi saya di
    0813..."). The number there is the one reported, which the agency needs."""
    start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[start:line_end if line_end != -1 else len(text)]
    before = text[start:position]
    if _in_quotes(text, position):
        return True
    # The sentence read no further than SENTENCE_REACH either side: a text of one unbroken sentence ("WA saya 0812..."
    # written over and over) was read whole at each phrase, 6 s a forward try at 32,000 characters. After the phrase
    # someone else named is her report's ("WA saya 0812..., pelaku masih bebas", "Nama saya Siti Rahayu, pelaku pungli
    # adalah oknum polisi" kept them) unless words say the phrase was theirs ("..., kata penipu itu").
    opening = [found.end() for found in _SENTENCE_BREAK.finditer(before, max(0, len(before) - SENTENCE_REACH))]
    begin = opening[-1] if opening else max(0, len(before) - SENTENCE_REACH)
    after_start = (end or position) - start  # after the phrase: its own words are hers
    after = line[after_start:after_start + SENTENCE_REACH]
    closing = _SENTENCE_BREAK.search(after)
    asking = end is not None and text[position:end].split()[0].lower() in load_identity_words().own_contact_asking
    told, said = before[begin:], after[:closing.start()] if closing else after
    # Her contact given after theirs is hers ("Nomor penipu 0813..., nomor saya 0812..."), unless words after it say
    # whose they were as `_attributed` reads them ("... kata penipu itu"); a bare "kata" there may be her own sentence's
    # ("... kata kunci akun saya diganti", "IG saya @siti_r kata teman saya bagus").
    # Words ending their clause right after a contact label it (`labelling`): hers, whoever the sentence named before
    # ("No penipu 0813... / 0812... nomor saya", "Penipu menelpon 0812... nomor saya" kept hers), but for words of
    # theirs a colon opens or a word tells ("SMS penipu: transfer ke 0813... nomor saya", "Penipu bilang ...").
    if labelling:
        named = _about_someone_else(told) and (":" in told or any(
            word.lower() in load_identity_words().attribution for word in _WORD.findall(told)))
    else:
        named = _about_someone_else(told) and not _listed_after_theirs(told, said)
    return named or _attributed(said, asking)


# The most words besides contacts between someone else's word and the comma before a plea (`_listed_after_theirs`).
_PLEADED_AFTER_WORDS = 3


def _without_contacts(text: str) -> str:
    """`text` with its phone numbers, addresses and handles blanked out."""
    for pattern in (MAIL_ADDRESS, HANDLE, _GIVEN_NUMBER):
        text = pattern.sub(" ", text)
    return text


def _listed_after_theirs(told: str, said: str = "") -> bool:
    """Whether the words before a phrase asking to be reached (`told`, from its sentence's start) end with someone
    else's contact, a comma and the phrase opening the next clause ("Nomor penipu 0813-1111-2222, nomor saya
    0812...", "IG penipu @olshop, IG saya @siti"): her own, listed after theirs, which stayed as if the phrase were
    theirs. Not words of theirs opened by a colon ("SMS penipu: ..., hubungi saya di 0813...") or told ("Penipu
    bilang 0813..., hubungi saya ..."), nor after a word of the clause ("..., bilang hubungi saya di 0857...")."""
    identity = load_identity_words()
    clause_end = identity.clause_after_contact.search(told)
    pleaded = clause_end is None
    if pleaded:
        clause_end = identity.plea_after_contact.search(told)
    named = [match for match in identity.someone_else.finditer(told) if match.group("victim") is None]
    if clause_end is None or not named:
        return False
    theirs = told[named[-1].end():clause_end.start()]
    given = _next_contact(said, 0)
    if pleaded and (len(_WORD.findall(_without_contacts(theirs))) > _PLEADED_AFTER_WORDS or any(
            word.lower() in identity.pasted_to_the_reader for word in _WORD.findall(told))
            or (given is not None and identity.telling_tag.match(said, given[1]) is not None)):
        # a scam's plea after its words pasted ("... Selamat anda menang ..., silakan hubungi saya"), or told after
        # it ("..., bisa hubungi saya di 0821... katanya")
        return False
    if ":" not in theirs and not any(word.lower() in identity.attribution for word in _WORD.findall(theirs)) \
            and any(pattern.search(theirs) is not None for pattern in (_GIVEN_NUMBER, MAIL_ADDRESS, HANDLE)):
        return True
    # or a clause of their contact, a contact label's words before it, and a label after it ("0813-1111-2222 itu
    # nomor penipu, nomor saya 0812...", "IG @olshop punya penipu, ..."), no word of theirs opened by a colon or told
    # before it ("SMS penipu: ...", "Penipu bilang ...")
    clause = told[:clause_end.start()]
    if ":" in clause or any(word.lower() in identity.attribution for word in _WORD.findall(clause)):
        return False
    clause = clause.rpartition(",")[2]
    return any((found := pattern.search(clause)) is not None
               and all(word.lower() in identity.contact_label_words for word in _WORD.findall(clause, 0, found.start()))
               and _labels_as_someone_elses(identity, clause, found.end())
               for pattern in (_GIVEN_NUMBER, MAIL_ADDRESS, HANDLE))


def _contact_before(read: str, phrase: re.Match[str]) -> tuple[int, int] | None:
    """The span of a contact the words `phrase` say is the sender's from after it: "0812-3456-7890 nomor saya, ...",
    "0857 1234 9876 (WA saya)", the phrase ending its clause, only spaces and marks between. Not when words follow
    the phrase ("0813-1111-2222 nomor saya dicatut": the number that misused the sender's)."""
    if _CLAUSE_END.match(read, phrase.end()) is None:
        return None
    head = read[max(0, phrase.start() - _GIVEN_CONTACT_REACH - 254):phrase.start()]
    if _DIGIT_OR_AT.search(head) is None:  # no contact to find (most texts): the patterns below cost more
        return None
    numbers = list(_GIVEN_NUMBER.finditer(head))
    last = None
    for matches in (numbers, MAIL_ADDRESS.finditer(head), HANDLE.finditer(head)):
        for match in matches:
            if head[match.end():].strip(" \t([{:-\u2013\u2014") == "" and not _is_tracking_id(match.group()) \
                    and (last is None or match.end() > last.end()):
                last = match
    if last is None:
        return None
    first = _first_listed(head, numbers[:numbers.index(last) + 1]) if last.re is _GIVEN_NUMBER else last
    lead = _NOT_CONTACT_START.match(first.group())
    offset = phrase.start() - len(head)
    return offset + first.start() + (lead.end() if lead else 0), offset + last.end()


def _first_listed(text: str, numbers: list[re.Match[str]]) -> re.Match[str]:
    """The first of the numbers listed with slashes on its line that the last of `numbers` (those of `text` up to it)
    ends ("0645-41234 / 0645-41235 nomor saya": both hers, one number to the phrase as they were before a slash ended
    a number), not one after a word of its clause ("Pak Lurah 0813... / 0812... nomor saya": the Lurah's) nor on a
    line above ("Pelaku: 0813...\n/ 0812...")."""
    first = len(numbers) - 1
    while first > 0 and (separator := _LIST_SEPARATOR.fullmatch(text, numbers[first - 1].end(),
                                                                 numbers[first].start())) is not None \
            and "\n" not in separator.group():
        first -= 1
    connectors = load_identity_words().own_contact_connectors
    if first < len(numbers) - 1 and any(
            word.lower() not in connectors for word in _NAME_WORD.findall(
                _CLAUSE_SO_FAR.search(text, 0, numbers[first].start()).group())):
        first += 1  # the list's first number is labelled ("Kades 0274.../0812.../0857... (no saya)"): it stays
    return numbers[first]


# What a clause says before a position, from its last mark.
_CLAUSE_SO_FAR = re.compile(r"[^,.;:!?\n]*$")


# A slash and another whole number after a number (`_next_contact`: "55512347 / 0812...", "... / +62 812...").
_LISTED_NEXT = re.compile(rf"{_LIST_SLASH}(?:[+\uff0b(\uff08]?{_TRUNK_ZERO}|[+\uff0b]62)")


def _next_contact(read: str, position: int) -> tuple[int, int] | None:
    """The span of the first phone number, e-mail address or @handle within reach after `position` in `read`."""
    window = read[position:position + _GIVEN_CONTACT_REACH + 254]  # room for an address that starts within reach
    if _DIGIT_OR_AT.search(window) is None:
        return None
    # Digits a Tracking ID's check holds are a number of hers listed before another ("Rina 55512347 / 0812...").
    found = [match for pattern in (_GIVEN_NUMBER, MAIL_ADDRESS, HANDLE)
             if (match := pattern.search(window)) is not None and match.start() <= _GIVEN_CONTACT_REACH
             and not (_is_tracking_id(match.group()) and _LISTED_NEXT.match(window, match.end()) is None)]
    if not found:
        return None
    first = min(found, key=lambda match: match.start())
    lead = _NOT_CONTACT_START.match(first.group())
    start = first.start() + (lead.end() if lead else 0)
    # A sentence's full stop after a handle is no part of it ("IG saya @siti.rahma.wb. Terima kasih").
    end = first.end() - (len(first.group()) - len(first.group().rstrip("."))) if first.re is HANDLE else first.end()
    return position + start, position + end


# A social network's handle written without its @ (Instagram's, TikTok's, Facebook's: letters, digits, "_" and "."),
# read only right after words giving it as the sender's (`[own_contact]` handles): one with a dot, an underscore or a
# digit inside ("siti.rahma.wb", "siti_rahma", "sitirahma88"); a plain word there is the sentence's ("IG saya dibajak").
_BARE_HANDLE = re.compile(r"(?<![\w.@])[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*(?![\w@])")
_HANDLE_MARK = re.compile(r"[._\d]")


def _bare_handle(read: str, position: int, words: IdentityWords) -> tuple[int, int] | None:
    """The span of a handle written without its @ right after `position` (`_BARE_HANDLE`), with only connectors and
    punctuation between (`_gives_contact`), if one is there."""
    for found in _BARE_HANDLE.finditer(read, position, position + _GIVEN_CONTACT_REACH):
        if not _gives_contact(read[position:found.start()], words.own_contact_connectors):
            return None
        if found.group().lower() in words.own_contact_connectors:
            continue
        return found.span() if _HANDLE_MARK.search(found.group()) and not found.group().isdigit() else None
    return None


def _is_tracking_id(found: str) -> bool:
    """Whether a number found is a Tracking ID ("nomor laporan saya 10000004"), no phone number: its digits alone,
    its check digit holding, shorter than a mobile number and not opening as one does (0, 62)."""
    return found.isdigit() and len(found) <= _TRACKING_ID_MAX_DIGITS and not found.startswith(("0", "62")) \
        and is_valid_tracking_id(found)


def _gives_contact(gap: str, connectors: frozenset[str], reached_by: frozenset[str] = frozenset()) -> bool:
    """Whether the text between words asking to be reached and a contact holds only punctuation and connectors, and
    no sentence's end ("(WA saya). 0813... nomor saya dicatut": the next sentence's number), but for a label's
    abbreviation ("hubungi saya di no. 0813...", "telp. 0813..."), nor open with "di" and one of `reached_by` ("hp ku
    di sms 0813...": the number that reached hers; "nomor saya yaitu di telp 0857..." is hers)."""
    tokens = _GAP_TOKEN.findall(gap)
    words = [token.lower() for token in tokens if token[0].isalnum()]
    if words[:1] == ["di"] and words[1:2] and words[1] in reached_by:
        return False
    for index, token in enumerate(tokens):
        if token[0].isalnum():
            if token.lower() not in connectors:
                return False
        elif _SENTENCE_END.search(token) and index + 1 < len(tokens) and not (
                token == "." and index and tokens[index - 1].lower() in connectors):
            return False
    return True


# Between words giving the sender's name and the name: a colon or a dash, "adalah" ("nama saya adalah ...").
_NAME_LEAD = re.compile(r"[^\S\n]*(?:[:\-\u2013\u2014,][^\S\n]*)?(?:(?:adalah|ialah)[^\S\n]+)?", re.IGNORECASE)
# A word of a name: letters, with an apostrophe, a hyphen or a dot in it or after it ("B.", "Ma'ruf", "Siti-Aminah").
_NAME_WORD = re.compile(r"[^\W\d_][\w'\u2019.\-]*")
_NAME_SPACE = re.compile(r"[^\S\n]+")
_GIVEN_NAME_MAX_WORDS = 4
_GIVEN_LOWERCASE_NAME_WORDS = (2, 3)


def without_given_name(text: str) -> str:
    """`text` with the name its sender gives as their own replaced by OWN_IDENTITY: the name right after words giving
    it (`[own_name]`: "Nama saya Budi Santoso, warga RT 03", "my name is ..."), wherever it stands. The gateway knows no
    name of an SMS's sender, nor a mail's sender's name when the From gives another; "Nama saya Budi Santoso" in an
    anonymous SMS reached the case store. The name is the run of capitalized (or capital) words after them, at most
    `_GIVEN_NAME_MAX_WORDS`, or 2 or 3 lowercase words ending the sentence or the line ("nama saya budi santoso,
    ..."); lowercase words running on are the citizen's sentence and stay ("nama saya dicatut oleh oknum ...")."""
    words = load_identity_words()
    phrases = [(phrase.start(), phrase.end(), False) for phrase in words.own_name.finditer(text)]
    phrases += [(intro.start(1), intro.end(), True) for intro in words.self_intro.finditer(text)]
    if not phrases:
        return text
    read = ascii_digits(text)
    spans: list[tuple[int, int]] = []
    for start, end, bare in sorted(phrases):
        if _quoted(text, start, end):
            continue
        lead = _NAME_LEAD.match(text, end).end()  # type: ignore[union-attr]  # matches empty at least
        if text.startswith(OWN_IDENTITY, lead):  # her name replaced before (a mail's sender's): her contacts after it
            named = lead + len(OWN_IDENTITY)
            spans += [(lead, named), *(_contacts_after_unaccused(words, read, named)
                                       or _contacts_after_description(words, read, named))]
            continue
        span = _given_name(words, text, end, _pleads_before(words, text, start))
        # "Saya, Ibu Yanti, dan adik ditipu ...": the names listed with hers after "Saya," are the others'
        if span is not None and bare and "," in text[start:end] and _LISTED_AFTER.match(text, span[1]):
            continue
        if span is None or (bare and (not _full_name(words, text, span) or (
                _told_by_someone_else(words, text, start) and not _her_words_after(words, text, span[1])))):
            continue
        spans += [span, *(_contacts_after(words, read, span[1]) or _contacts_after_description(words, read, span[1]))]
    return _replaced_spans(text, spans)


# A list's joining word after a name, a comma before it or none ("..., dan adik", "... dan Joko Susilo").
_LISTED_AFTER = re.compile(r"[^\S\n]*,?[^\S\n]*(?:dan|serta|&)(?!\w)", re.IGNORECASE)


def _contacts_after_unaccused(identity: IdentityWords, read: str, position: int) -> list[tuple[int, int]]:
    """The contacts right after `position` (`_contacts_after`), unless one of the first two words after the last
    accuses it (`[someone_else]` accusing: "Saya [anonim], 0813... menipu saya", "..., 0813... terus meneror saya"):
    a bare number there is the accused's."""
    contacts = _contacts_after(identity, read, position)
    if contacts:
        clause = re.split(r"[.!?;,\n|:/]| - ", read[contacts[-1][1]:contacts[-1][1] + SENTENCE_REACH], maxsplit=1)[0]
        if any(word.lower() in identity.accusing for word in _WORD.findall(clause)[:2]):
            return []
    return contacts


# How far after her name her own description's clause may end (`_contacts_after_description`).
_DESCRIPTION_REACH = 60


def _contacts_after_description(identity: IdentityWords, read: str, position: int) -> list[tuple[int, int]]:
    """Her contacts in the clause after her own description right after her name at `position` (`hers_after`: "Saya
    Siti Rahayu warga RT 03 RW 07, WA 0821...": her number stayed beside her name's `[anonim]`), no contact nor
    someone else named in the description, no word accusing them after (`_contacts_after_unaccused`)."""
    if not _her_words_after(identity, read, position):
        return []
    comma = read.find(",", position, position + _DESCRIPTION_REACH)
    described = read[position:comma]
    if comma < 0 or re.search(r"[.!?;:\n]", described) or _next_contact(described, 0) is not None \
            or _about_someone_else(described):
        return []
    return _contacts_after_unaccused(identity, read, comma)


def _full_name(identity: IdentityWords, text: str, span: tuple[int, int]) -> bool:
    """Whether the words of `span`, after a bare "Saya", are a full name: two or more, or one with a phone number right
    after it ("saya Rina 0812-3456-7001") or her membership or place ("SAYA BUDI ANGGOTA LINMAS", `_member_after`),
    each capitalized or in capitals,
    no word of `not_after_self` nor a verb by its prefix first (`_verb_by_prefix`) and no plea's or passive verb's
    among them ("Saya Ahmad Fauzi", "SAYA AHMAD FAUZI WARGA RT 03": a feature phone's user types in capitals, and her
    name reached the case store; not "Saya Mau Lapor", "SAYA SUDAH LAPOR", "Saya Telepon Budi Santoso", "Saya Ditipu
    Budi Santoso", "SAYA MENGURUS KTP DI KELURAHAN", "SAYA PENSIUNAN PNS GAJI BELUM CAIR"). In capitals every word is
    capitalized: a name there ends where a word ending a name stands (`_given_name`), not at the most words a name
    holds ("SAYA KEHILANGAN MOTOR HONDA BEAT MERAH" stays)."""
    names = _NAME_WORD.findall(text, *span)
    if any(_in_capitals(name) for name in names) and len(names) >= _GIVEN_NAME_MAX_WORDS \
            and (space := _NAME_SPACE.match(text, span[1])) is not None and _NAME_WORD.match(text, space.end()):
        return False
    first = _folded(names[0].rstrip(".")) if names else ""
    one = len(names) == 1 and (_number_after(text, span[1]) or _member_after(identity, text, span[1]))
    return (len(names) >= 2 or (one and not _passive(first))) \
        and all(name[0].isupper() and (_in_capitals(name) or not name[1:2].isupper()) for name in names) \
        and first not in identity.not_after_self | identity.own_name_offices \
        and not (_verb_by_prefix(identity, first) and _reads_as_verb(identity, text, span, names[0])) \
        and not any(_folded(name.rstrip(".")) in identity.own_name_plea for name in names)


def _member_after(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether her membership or her place follows one name word at `position`: a word of `hers_after` ("Saya Mulyadi
    warga RT 03"), or of `capitals_name_end` in capitals ("SAYA BUDI ANGGOTA LINMAS", "SAYA BUDI NASABAH BRI"), right
    after it or after words of `not_after_self` ("SAYA BUDI TETAP WARGA SINI")."""
    for _ in range(_MEMBER_AFTER_WORDS):
        word = _next_name_word(text, position)
        if word is None:
            return False
        if word.group().lower() in identity.own_name_hers_after or (
                _in_capitals(word.group()) and _folded(word.group()) in identity.capitals_name_end):
            return True
        if _folded(word.group()) not in identity.not_after_self:
            return False
        position = word.end()  # "SAYA BUDI TETAP WARGA SINI", "SAYA SITI MANTAN ANGGOTA BPD"
    return False


# Her place or membership may follow a one-word name after this many words at most, the others `not_after_self`'s.
_MEMBER_AFTER_WORDS = 3


# Between a one-word name and her number right after it ("saya Rina 0812-3456-7001", "Saya Rina, 0812..."): many
# Indonesians have a single name, and with her number beside it, it reached the case store.
_NUMBER_AFTER_NAME = re.compile(r"[^\S\n]*,?[^\S\n]*")
# The fewest letters after a passive's "di" for one word to be no name ("Ditelepon", "Dihubungi"; not "Dimyati").
_PASSIVE_ROOT_MIN = 6


def _number_after(text: str, position: int) -> bool:
    """Whether a phone number, or one already OWN_IDENTITY (the sender's own), follows `position` (`_full_name`)."""
    after = _NUMBER_AFTER_NAME.match(text, position).end()
    return text.startswith(OWN_IDENTITY, after) or _GIVEN_NUMBER.match(text, after) is not None


def _passive(word: str) -> bool:
    """Whether `word` (folded) reads as a passive verb by its "di" ("Saya Ditelepon 0813... ngaku dari bank")."""
    return word.isalpha() and word.startswith("di") and len(word) - 2 >= _PASSIVE_ROOT_MIN


# The fewest letters after a verb's prefix (`_verb_by_prefix`): "MENGURUS", "MEMBELI"; not "Memed", "Menik".
_VERB_ROOT_MIN = 4


def _reads_as_verb(identity: IdentityWords, text: str, span: tuple[int, int], first: str) -> bool:
    """Whether a first word a prefix opens (`_verb_by_prefix`) is read as the verb it looks like: in a sentence
    written in capitals ("SAYA MENGURUS KTP DI ...") unless her own words follow, or capitalized word by word ("Saya
    Mengurus Ktp Di ...") unless her own words or a number follow. In a sentence of lowercase words the capitalized
    ones are a name ("Saya Bernike Sari warga RT 03", "Saya Teressa Manurung, kades minta uang": names of Batak, Manado
    and Flores families stayed)."""
    if _her_words_after(identity, text, span[1]):
        return False
    if _in_capitals(first):
        return True
    following = _NAME_WORD.match(text, _AFTER_CLOSING.match(text, span[1]).end())  # type: ignore[union-attr]
    return not _number_after(text, span[1]) and following is not None and following.group()[0].isupper()


def _verb_by_prefix(identity: IdentityWords, word: str) -> bool:
    """Whether `word` (folded) is a verb by its prefix (`[own_name]` verb_prefixes), no name's first word after a bare
    "Saya": the prefix and `_VERB_ROOT_MIN` letters or more after it, all letters ("SAYA MENGURUS KTP DI KELURAHAN",
    "Saya Membayar Pajak Motor" went as "SAYA [anonim] DI KELURAHAN"), not a name of `verb_like_names` ("Bernadus",
    "Mentari")."""
    return word.isalpha() and word not in identity.verb_like_names and any(
        word.startswith(prefix) and len(word) - len(prefix) >= _VERB_ROOT_MIN for prefix in identity.verb_prefixes)


def _in_capitals(word: str) -> bool:
    """Whether `word` is written in capitals, more than an initial ("AHMAD"; not "A.", "Ahmad")."""
    return len(word.rstrip(".")) > 1 and word.isupper()


# How far before a bare "Saya" the words saying it is someone else's are looked for (`_told_by_someone_else`).
_TOLD_REACH = 200


def _her_words_after(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether her own description follows a name at `position` ("Saya Siti Rahayu warga RT 03": `hers_after`), which
    makes it hers whatever words came before."""
    following = _NAME_WORD.match(text, _AFTER_CLOSING.match(text, position).end())  # type: ignore[union-attr]
    return following is not None and following.group().lower() in identity.own_name_hers_after


def _told_by_someone_else(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether a bare "Saya" at `position` opens someone else's words the sender passes on: after a line opening what
    was pasted ("Berikut surat dari kepala desa ...:"), or words of a letter or of someone speaking in its paragraph
    (`[own_name]` told_before_self: "Surat pernyataan kades. Saya Hendra Gunawan menyatakan ...", "Dia ngaku, Saya
    Budi Santoso Dari Kejaksaan"): the accused's name, the evidence, went as hers."""
    if _after_pasted_opener(identity.pasted_opener, text, position):
        return True
    # Its own sentence and the one before, in its paragraph: "Mau lapor soal surat tanah. Saya Siti Rahayu warga RT
    # 03" is hers, "surat" two sentences back. A paragraph's break further back than `_TOLD_REACH` changes nothing.
    paragraph = text.rfind("\n\n", max(0, position - _TOLD_REACH - 1), position)
    begin = max(paragraph + 1 if paragraph >= 0 else 0, position - _TOLD_REACH)
    breaks = [found.end() for found in _SENTENCE_BREAK.finditer(text, begin, position)]
    begin = breaks[-2] if len(breaks) >= 2 else begin
    return any(word.lower() in identity.told_before_self for word in _WORD.findall(text, begin, position))


def _after_pasted_opener(opener: re.Pattern[str], text: str, position: int) -> bool:
    """Whether a line of `text` before `position`, or the words of its own line before it, open what was pasted
    (`_told_by_someone_else`). The lines are read once for a text, not again for each bare "Saya" in it: a mail of
    thousands of them took seconds."""
    first, starts, ends = _pasted_opener_lines(opener, text)
    if position >= first:
        return True
    line = bisect_left(starts, position) - 1
    return line >= 0 and position < ends[line] and opener.match(text, starts[line], position) is not None


@lru_cache(maxsize=1)
def _pasted_opener_lines(opener: re.Pattern[str], text: str) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """The lines of `text` as `str.splitlines` splits them (where each starts, where its words end before its line
    break) and the first position from which a whole line opening what was pasted stands before it (past the text's
    end for none): `_after_pasted_opener`."""
    starts: list[int] = []
    ends: list[int] = []
    first = len(text) + 1
    start = 0
    for line, kept in zip(text.splitlines(), text.splitlines(keepends=True), strict=True):
        starts.append(start)
        ends.append(start + len(line))
        if first > len(text) and opener.match(line):
            first = max(start + 1, start + len(line))
        start += len(kept)
    return first, tuple(starts), tuple(ends)


def _contacts_after(identity: IdentityWords, read: str, position: int) -> list[tuple[int, int]]:
    """The phone numbers and addresses right after her name at `position`, with only a contact label's words,
    connectors and punctuation between ("Nama saya Rudi Hartono, HP 0812...", "Pelapor: Siti Rahayu 0857...": her
    number reached the case store beside her name's `[anonim]`); not one the words right after give as someone
    else's ("0813... itu no penipunya", "..., di sms 0813... ngaku dari BRI"), nor one after hers labelled as an
    office's ("0812... / 0274-599999 milik Kades": as after words asking to be reached), nor a handle not set off
    ("@budi_penipu menipu saya"; "Pelapor: Siti Rahayu @sitirahayu88" goes)."""
    spans = []
    while (found := _next_contact(read, position)) is not None \
            and (read[found[0]] not in "@\uff20\ufe6b" or _SET_OFF_NAME.match(read, found[1])) \
            and _gives_contact(read[position:found[0]], identity.own_contact_connectors) \
            and not _clause_names_someone_else(identity, read, found[1]) \
            and not (spans and (_labels_as_someone_elses(identity, read, found[1])
                                or _bracketed_theirs(identity, read, found[1]))):
        spans.append(found)
        position = found[1]
    return spans


def _clause_names_someone_else(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether the words right after a contact at `position` give it as someone else's: a claim ("0813... ngaku dari
    BRI") or a word of `[someone_else]` first, or after words pointing at the number ("0813... itu no penipunya"); not
    one further on ("0812... mau lapor penipu online": hers), nor her own description ("korban penipu"). A mark, a
    bar, a dash or a label's colon ends the words read (`[someone_else]` claims, claim_lead)."""
    clause = re.split(r"[.!?;,\n|:/]| - ", text[position:position + SENTENCE_REACH], maxsplit=1)[0]
    for word in _WORD.findall(clause)[:4]:
        lowered = word.lower()
        if lowered in identity.claims or _someone_elses(identity, word):
            return True
        if lowered not in identity.claim_lead:
            return False
    return False


def _labels_as_someone_elses(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether the clause right after a contact at `position` is only a label giving it as someone else's or an
    office's, claims' words before it ("kantor 022... milik pelaku", "@budi_olshop itu akun penipunya", "022... itu no
    kades"); not the next sentence's subject, a message without a mark being no label ("0813... penipu sudah kabur",
    "IG @sitirahayu88 pelaku belum ditangkap": hers)."""
    clause = re.split(r"[.!?;,\n|:/]| - ", text[position:position + SENTENCE_REACH], maxsplit=1)[0]
    if (listed := _next_contact(clause, 0)) is not None:  # the next contact listed ends it: "... milik Kades 0857..."
        clause = clause[:listed[0]]
    said = _WORD.findall(clause)
    while said and said[-1].lower() in identity.own_contact_connectors:  # "... milik Kades dan 0857...": "dan"
        said.pop()
    if not 0 < len(said) <= _LABEL_WORDS:
        return False
    named = False
    for word in said:
        if _someone_elses_or_office(identity, word):
            named = True
        elif word.lower() not in identity.claim_lead and word.lower() not in identity.label_addressing \
                and not (named and word[:1].isupper()):  # the office holder's name: "milik Kades Hendra"
            return False
    return named


# The most words a label after a contact may have ("0813... itu nomor si pelaku", "... milik pak Kades Hendra"); the
# forms of address in it are `[someone_else]` label_addressing.
_LABEL_WORDS = 5


def _replaced_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each of `spans` replaced by OWN_IDENTITY, one overlapping an earlier one left out."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start >= position:  # one overlapping an earlier one left out
            parts += (text[position:start], OWN_IDENTITY)
            position = end
    return "".join(parts) + text[position:]


# How far before the words giving her name a plea's words are looked for in their clause (`_pleads_before`).
_PLEA_REACH = 60
_CLAUSE_BREAK = re.compile(r"[.!?;,]\s")


def _pleads_before(identity: IdentityWords, text: str, position: int) -> bool:
    """Whether a plea's word stands before `position` in its clause ("Mohon rahasiakan nama saya ..."; not "Mohon
    bantuannya, nama saya ...")."""
    begin = max(0, position - _PLEA_REACH)
    breaks = [found.end() for found in _CLAUSE_BREAK.finditer(text, begin, position)]
    begin = max(breaks[-1] if breaks else begin, text.rfind("\n", begin, position) + 1)
    return any(_folded(word) in identity.own_name_pleas_before for word in _WORD.findall(text, begin, position))


def _given_name(identity: IdentityWords, text: str, position: int, pleaded: bool = False,
                offices_end: bool = True) -> tuple[int, int] | None:
    """The span of the name right after `position` (see `without_given_name`), if one is there; `pleaded` when a
    plea's words stand before the words giving it (a form of address after them is the reader's). With `offices_end`
    an office after the name's first word opens the accused's; under her own label ("Pelapor: Siti Kades Sukamaju")
    it is hers."""
    start = position = _NAME_LEAD.match(text, position).end()  # type: ignore[union-attr]  # matches empty at least
    words: list[re.Match[str]] = []
    titles = 0  # the titles opening the name, which no limit on its words counts ("Drs. H. Ahmad Fauzi Rahman")
    ended = False  # the words end at a mark or the line's end, not at a space before another word
    addressed = False  # a form of address opens them as a title ("Nama saya Bu Siti Rahayu.", `_addresses_name`)
    office_after = False  # the words end before an office, the accused's (`_opens_accuseds_name`)
    while len(words) - titles < _GIVEN_NAME_MAX_WORDS and (word := _NAME_WORD.match(text, position)) is not None:
        plain = word.group().rstrip(".")
        if words and text.startswith(":", word.end()) and (
                plain.lower() in identity.contact_label_words or identity.other_party_label.fullmatch(plain)
                or _someone_elses(identity, plain) or plain.lower() in identity.own_name_labels_after):
            ended = True  # the next label's word ("Pelapor: Siti Rahayu Pelaku: Kades Hendra" lost "Pelaku")
            break
        if words and word.group().endswith(".") and plain.lower() in identity.contact_label_words:
            ended = True  # a contact's dotted label ("Terima kasih, Dewi Hp. 0812...": "Hp" read as her name's)
            break
        if _folded(plain) in identity.own_name_plea:
            if words or not _addresses_name(identity, text, word, pleaded):
                ended = True  # a plea after the name ends it ("nama saya siti rahma, tolong ..."); opening it, no name
                break
            addressed = True
        if _folded(plain) in identity.not_a_name or plain.lower() in identity.sentence_words \
                or identity.address_word.fullmatch(word.group()):
            ended = plain.lower() in identity.own_name_after  # "nama saya siti rahayu dari desa ...": her name's end
            break
        if len(words) > titles and (_opens_accuseds_name(identity, text, word, words[-1]) if offices_end
                                    else _someone_elses(identity, plain)):
            ended = office_after = True
            break
        # In capitals every word is capitalized: a verb or a word no name opens with ends it ("SAYA AHMAD FAUZI
        # MELAPORKAN KADES ..." went as "[anonim] KADES ...", "SAYA BUDI SANTOSO NASABAH BRI ..." kept her name).
        if words and _in_capitals(word.group()) and (_folded(plain) in identity.not_after_self
                                                     or _folded(plain) in identity.capitals_name_end):
            ended = True
            break
        words.append(word)
        space = _NAME_SPACE.match(text, word.end())
        # A dotted word ends the sentence, but for the titles opening a name ("Nama saya Hj. Siti Rahayu" went as
        # "[anonim]. Siti Rahayu"): a title after the name's first word is someone else's ("Siti Drs. Ahmad ...").
        if titles == len(words) - 1 and _folded(plain) in identity.own_name_titles:
            titles += 1
        following = _NAME_WORD.match(text, space.end()) if space is not None else None
        # An office or a relation after a title's dot is the next sentence's or someone else's ("Perkenalkan, saya
        # Bpk. Camat Budi Hartono minta uang" went as "[anonim] minta uang"): the dot ends the name there.
        title_dot = titles == len(words) and following is not None \
            and _folded(following.group().rstrip(".")) not in identity.own_name_offices
        sentence_end = word.group().endswith(".") and not title_dot \
            and (len(word.group().rstrip(".")) > 1 or titles == len(words))  # not an initial's, a title's ("H.")
        if space is None or sentence_end or following is None:
            ended = True
            break
        position = space.end()
    if not words:
        return None
    if words[0].group()[0].isupper():
        taken = []
        for index, word in enumerate(words):
            joins = (word.group().lower() in identity.own_name_joining and index + 1 < len(words)
                     and words[index + 1].group()[0].isupper())
            if not (word.group()[0].isupper() or joins):
                break
            taken.append(word)
        if addressed and (len(taken) < len(words) or len(taken) == titles):
            return None  # a sentence's word after it: "Nama saya Pak Budi coret dari daftar", Pak Budi struck it
    elif ended and (len(words) in _GIVEN_LOWERCASE_NAME_WORDS or _lowercase_after_titles(identity, words, titles)
                    or (office_after and len(words) - titles == 1)):
        taken = words
    else:
        return None
    last = taken[-1].group()
    # A sentence's full stop after the name stays; an initial's dot is the name's ("Budi S.").
    end = taken[-1].end() - (len(last) - len(last.rstrip(".'\u2019-")) if len(last.rstrip(".")) > 1 else 0)
    return start, end


def _opens_accuseds_name(identity: IdentityWords, text: str, word: re.Match[str], before: re.Match[str]) -> bool:
    """Whether `word`, after a word of her name (`before`), opens the accused's name ("Nama saya Siti Kades Hendra
    minta uang", "nama saya siti rahayu kades minta uang" went as "[anonim] minta uang": his office, the evidence,
    lost): an office of `[someone_else]` offices ("Kepala Desa" too) or a word of `[someone_else]` ("Oknum Polisi
    Andi"), not after a word of her own relation or post (`describing`: "Siti Adik Kades Hendra", "Siti Staf Kades
    Sukamaju" describe her, and go with her name)."""
    if _folded(before.group().rstrip(".")) in identity.own_name_describing:
        return False
    if identity.office_after_name.match(text, word.start()) is not None:
        return True
    other = identity.someone_else.match(text, word.start())
    return other is not None and other.group("victim") is None


def _lowercase_after_titles(identity: IdentityWords, words: list[re.Match[str]], titles: int) -> bool:
    """Whether `words` are a lowercase name after the `titles` opening them, which the words' count leaves out: 1 to 3
    words ("nama saya hj. siti nur aisyah."), each lowercase, the first no office's ("nama saya ibu Lurah Andi
    Saputra", "nama saya dr. kades hendra." stay, as they do without a title)."""
    name = words[titles:]
    return bool(titles) and 0 < len(name) <= max(_GIVEN_LOWERCASE_NAME_WORDS) \
        and all(word.group().islower() for word in name) \
        and _folded(name[0].group().rstrip(".")) not in identity.own_name_offices


def _addresses_name(identity: IdentityWords, text: str, word: re.Match[str], pleaded: bool) -> bool:
    """Whether `word`, a form of address among the titles ("Bu", "Pak": a plea's words too, "nama saya ya pak"), opens
    the name given as its title: before a word no plea's nor an office's, both capitalized ("Nama saya Bu Siti Rahayu"
    kept her name; "Nama saya Pak Kades ..." names no one) or, with no plea before (`pleaded`), both lowercase ("nama
    saya bu siti rahayu.") or with its dot ("Nama saya Bu. Siti Rahayu"): after a plea that is said to the reader."""
    if pleaded and word.group().endswith("."):
        return False  # "rahasiakan nama saya Pak. Hendra Gunawan, Kades ...": a vocative ending its sentence
    space = _NAME_SPACE.match(text, word.end())
    following = _NAME_WORD.match(text, space.end()) if space is not None else None
    capitalized = word.group()[0].isupper() and following is not None and following.group()[0].isupper()
    lowercase = not pleaded and word.group().islower() and following is not None  # "bu siti", "bu. Siti"
    if following is None or not (capitalized or lowercase):
        return False
    folded = _folded(following.group().rstrip("."))
    return _folded(word.group().rstrip(".")) in identity.own_name_titles and folded not in identity.own_name_plea \
        and folded not in identity.own_name_offices


def _closes(words: IdentityWords, line: str) -> bool:
    """Whether `line` holds a sign-off's closing phrase ("Salam,", "Terima kasih. Semoga segera ditindaklanjuti.",
    "Demikian laporan saya. Terima kasih."), no label's colon after it ("Pengirim: Sekdes Budi" opens a forwarded
    chat) and no "Pelapor:" of its own. Privacy first: whatever its words, the lines below it are read as hers."""
    if words.sign_off_reporter_label.match(line):
        return False
    phrases = [*words.closing.finditer(line, max(0, len(line) - _CLOSING_REACH))] or _letter_closing(words, line)
    return bool(phrases) and ":" not in line[phrases[-1].start():]


def without_reporter_label(text: str) -> str:
    """A mail's text with the name after a sign-off's label of the reporter's own replaced by OWN_IDENTITY (`[own_name]`
    reporter_labels: "Nama Pelapor: Siti Rahayu", among the mail's last CLOSING_TAIL_LINES lines not blank, opening its
    line), whatever the From says: the label says whose it is. A From of "Warga Peduli" signed "Nama Pelapor: Siti
    Rahayu" and the name reached the case store. The one reported on ("Nama Terlapor:", "Nama Pelaku:") stays, and so
    does a quoted line ("> Nama Pelapor: ...") and a plea or an ordinary word in place of a name ("Nama Pelapor:
    rahasia", "Pelapor: warga"). "Pelapor:" alone is hers below the sign-off's first closing (`_closes`), whatever
    lines are between, privacy first, unless something marks what is below as pasted: a label of the accused opening a
    line below the closing (`_other_party_label`: "Terlapor: ...", "Terlapor 1: ..."; the word in a sentence is none),
    or between them a heading with its colon ("Laporan polisi:") or a line opening what was pasted ("Berikut ...",
    `pasted_opener`): a police report pasted there names its own reporter so, the accused (a police report's number
    alone marks nothing: her own report's stands there too). Narrower readings (the line right below a closing alone on
    its line) leaked her name below everyday closings ("Terima kasih. Semoga segera ditindaklanjuti.", "Salam,\nWarga
    yang resah"); with nothing marking it, a pasted report's reporter goes as hers. A heading of her own details
    between is hers too ("Data pelapor:", `reporter_heading`), and so is the name on the line after the label alone
    there ("Salam,\nPelapor:\nSiti Rahayu"; not one set off by an office, "Hendra Gunawan (Kades)"). Her handle in place
    of a name goes too ("Pelapor: @sitirahayu"), and so does her address under its label on the line right below her
    label's ("Alamat: Jl. Melati 5 RT 03/RW 02 Sukamaju", `[address_lines]`). A name's label that names no one
    ("Nama:", `sign_off_name_label`) is hers there as "Pelapor:" is, down to a heading or a label of someone else's
    (`_heads_someone_elses`: "Data pelaku", "Penipu:"): "Hormat saya,\nNama : Siti Rahayu\nAlamat : ..." sent both."""
    words = load_identity_words()
    lines, written, _ = _sign_off(text)  # lines[0] holds the rest of a longer text: not read
    written = written[-CLOSING_TAIL_LINES:]
    signed_below: set[int] = set()
    named_below: set[int] = set()  # those of them a name's label alone is hers on
    for place, above in enumerate(written):
        if not _closes(words, lines[above]):
            continue
        # Her sign-off's lines: those below the closing, down to a heading of what was pasted ("Laporan polisi:",
        # a line ending in its colon that is no label of hers) or a line opening it ("Berikut ..."). A police report's
        # number there is no such mark: her own report's above her label is as likely ("Salam,\nNo. LP: LP/B/45/...
        # \nPelapor: Siti Rahayu" kept her name). Another party's label below the closing makes it a pasted report's,
        # but for her plea on her label's line ("Pelapor: Siti Rahayu (mohon dirahasiakan)"): a report names its
        # reporter so.
        below: list[int] = []
        for index in written[place + 1:]:
            line = lines[index]
            heading = line.rstrip().endswith(":") and not any(_alone_on_its_line(label, line) for label in (
                words.sign_off_reporter_label, words.sign_off_name_label, words.reporter_label,
                words.reporter_heading))
            if heading or words.pasted_opener.match(line):
                break
            below.append(index)
        # "Nama:" names no one: hers down to a heading or label of someone else's ("Data pelaku", "Penipu:",
        # "Terlapor:", which below it makes no pasted report of her details), one the closing's line ends with too
        # ("Terima kasih, berikut data pelaku"), the first such label alone (a second below it names the one
        # reported: "Nama: Siti Rahayu\nHP: ...\nNama: Hendra Gunawan\nHP: ...").
        if not named_below and not _heads_someone_elses(words, _after_closing(words, lines[above]), closing=True):
            unheaded = takewhile(lambda index: not _heads_someone_elses(words, lines[index]), below)
            named_below.update(islice((index for index in unheaded if words.sign_off_name_label.match(lines[index])),
                                      1))
        if any(_other_party_label(words, lines[index]) for index in written if index > above) \
                and not any(_pleads_after_label(words, lines[index]) for index in below
                            if words.sign_off_reporter_label.match(lines[index])):
            continue
        signed_below.update(below)
        break  # the first closing's: a closing's words further down are hers too
    hers: list[int] = []
    for index in written:
        named = words.sign_off_name_label.match(lines[index]) if index in named_below else None
        label = words.reporter_label.match(lines[index]) or (
            words.sign_off_reporter_label.match(lines[index]) if index in signed_below else None) or named
        if label is not None:
            hers.append(index)
        span = None if label is None else _labelled_name(words, lines[index], label.end()) if named \
            else _given_name(words, lines[index], label.end(), offices_end=False)
        if span is None:
            continue
        # her number right after her name ("Pelapor: Siti Rahayu 0812...": the name went, the number stayed where a
        # line of the report below kept the sign-off's contacts, "Pelaku: Kades Hendra 0813...")
        if (number := _NUMBER_BESIDE_NAME.match(lines[index], span[1])) is not None:
            span = (span[0], number.end())
        lines[index] = lines[index][:span[0]] + OWN_IDENTITY + lines[index][span[1]:]
    # The label alone on its line there, the name on the next ("Salam,\nPelapor:\nSiti Rahayu"), set off as a
    # sign-off's is ("Siti Rahayu, warga RT 03"; not "Kades Hendra minta uang ...", a sentence's), but by an office
    # ("Hendra Gunawan (Kades Sukamaju)": a pasted report's reporter, the accused, went as "[anonim] (Kades ...)").
    for index, below in pairwise(written):
        if ((index in signed_below and any(_alone_on_its_line(label, lines[index]) for label in (
                    words.sign_off_reporter_label, words.reporter_label, words.reporter_heading)))
                or (index in named_below and _alone_on_its_line(words.sign_off_name_label, lines[index]))) \
                and _LABELLED_LINE.match(lines[below]) is None \
                and (span := _given_name(words, lines[below], 0)) is not None \
                and _SET_OFF_NAME.match(lines[below], span[1]) \
                and not words.office_after_name.match(lines[below], span[1]):
            lines[below] = lines[below][:span[0]] + OWN_IDENTITY + lines[below][span[1]:]
    # Her handle in place of the name ("Pelapor: @sitirahayu"), and her address under its label on the line right
    # below ("Alamat: Jl. Melati 5 RT 03/RW 02"): her own sign-off's, as the name is.
    for index in hers:
        value = _LABEL_VALUE.match(lines[index])
        if value is not None and (handle := HANDLE.match(lines[index], value.end())) is not None \
                and _SET_OFF_NAME.match(lines[index], handle.end()):
            lines[index] = lines[index][:handle.start()] + OWN_IDENTITY + lines[index][handle.end():]
        if index + 1 < len(lines) and (value_at := _labelled_address(words, lines[index + 1])) is not None:
            lines[index + 1] = lines[index + 1][:value_at] + OWN_IDENTITY
    return "\n".join(lines)


def without_details_below_her_labels(text: str) -> str:
    """An SMS's or a mention's text with her details below her own label replaced by OWN_IDENTITY, as a mail's
    sign-off's are (`without_reporter_label`): the address under its label on the line right below her name replaced
    under a reporter's label ("Nama Pelapor: [anonim]\nAlamat: Jl. Mawar 3": the address reached the case store), and
    the name under a name's label opening the run of labelled lines right below a heading of her details alone on its
    line ("Data pelapor:\nNama: Siti Rahayu\nAlamat: ...": the name and the address reached it; her form's other
    details then go as beside her name, `without_names_in_her_details`). Not a quoted line, nor below a heading or a
    label of someone else's in the run (`_heads_someone_elses`), nor a heading below a line leading into someone
    else's or opening what was pasted ("Berikut laporan polisinya\nData pelapor:\n..."), nor one not saying the
    reporter's below a line naming someone else ("Ini KTP yang dikirim penipu.\nData diri:\n..."), nor anything in a
    pasted report naming its parties ("Terlapor: ...")."""
    words = load_identity_words()
    lines = text.split("\n")
    if any(_other_party_label(words, line) for line in lines):
        return text
    for index, line in enumerate(lines[:-1]):
        if line.lstrip().startswith(">") or lines[index + 1].lstrip().startswith(">"):
            continue
        label = words.reporter_label.match(line) or words.sign_off_reporter_label.match(line)
        if label is not None and line[label.end():].strip(" \t:").startswith(OWN_IDENTITY):
            below = lines[index + 1]
            value_at = _labelled_address(words, below)
            if value_at is not None and not below.startswith(OWN_IDENTITY, value_at):
                kept = below[value_at:_hers_end(words, below, value_at)].rstrip()
                lines[index + 1] = below[:value_at] + OWN_IDENTITY + below[value_at + len(kept):] if kept else below
        elif _alone_on_its_line(words.reporter_heading, line):
            above = next((lines[place] for place in range(index - 1, -1, -1) if lines[place].strip()), "")
            # a heading not saying the reporter's ("Data diri:") below a line naming someone else ("Ini KTP yang
            # dikirim penipu.") heads theirs
            if _leads_into_theirs(words, above) or words.pasted_opener.match(above) \
                    or _heads_someone_elses(words, above) or ("pelapor" not in line.lower() and any(
                        _someone_elses(words, word) for word in _WORD.findall(above))):
                continue
            # the run of her form's lines, down to the next heading alone on its line: each heading's run read once
            for place in range(index + 1, min(len(lines), index + 1 + _FORM_MAX_LINES)):
                opening = _OPENING_LABEL.match(lines[place])
                if opening is None or not lines[place][opening.end():].strip(" \t*") \
                        or _heads_someone_elses(words, lines[place]):
                    break
                if (name_label := words.sign_off_name_label.match(lines[place])) is not None:
                    span = _labelled_name(words, lines[place], name_label.end())
                    if span is not None:
                        lines[place] = lines[place][:span[0]] + OWN_IDENTITY + lines[place][span[1]:]
                    break
    return "\n".join(lines)


# The most lines of a form of her details read below its heading for her name.
_FORM_MAX_LINES = 12


def _labelled_address(words: IdentityWords, line: str) -> int | None:
    """Where the address of a line opening with an address's label and word starts ("Alamat: Jl. Melati 5", after its
    colon and spaces); None for any other line (`[address_lines]`)."""
    address = words.address_line.match(line)
    value = _LABEL_VALUE.match(line) if address is not None else None
    return value.end() if value is not None and value.end() <= address.end() else None  # type: ignore[union-attr]


# Where a label may open a clause of a message: its start, a line's, after a sentence's or a clause's mark, a colon, a
# dash, a bar or a bracket ("Re: Pelapor: ...", "Laporan pungli - Pelapor: ...", "(Pelapor: ...)"), or a capitalized
# label after a space ("kades minta uang 5jt Pelapor: Siti Rahayu").
_CLAUSE_START = re.compile(r"\n|[.!?;,:|\-\u2013\u2014\]][^\S\n]+|[(\[|][^\S\n]*"
                           r"|[^\S\n]+(?=(?:Nama |Identitas )?Pelapor)")


def without_reporter_labels_in_message(text: str) -> str:
    """An SMS's or a mention's text (or a mail's subject) with the name after the reporter's own label replaced by
    OWN_IDENTITY ("Nama Pelapor: Siti Rahayu", `reporter_labels`, and "Pelapor: ...", `sign_off_reporter_labels`)
    opening the text, a line or a clause anywhere in it ("kades minta uang 5jt. Pelapor: Siti Rahayu. Terlapor: Kades
    Hendra"), and her handle in its place ("Pelapor: @sitirahayu"): a message to the gateway is its reporter's own, with
    no sign-off and no report pasted below one as a mail may hold, and the name reached the case store. A quoted line or
    words in quotation marks are someone else's and stay, and so does a plea or an ordinary word in place of a name
    ("Pelapor: rahasia", "Pelapor: warga"). An office after her name there is her post ("Pelapor: Siti Kades
    Sukamaju"), but for the accused's with a sentence running on after it ("Pelapor: Siti Rahayu Kades Hendra minta
    uang": his office and name stay)."""
    words = load_identity_words()
    if "pelapor" not in text.lower():
        return text
    read = ascii_digits(text)
    spans: list[tuple[int, int]] = []
    for start in [0, *(found.end() for found in _CLAUSE_START.finditer(text))]:
        label = words.reporter_label.match(text, start) or words.sign_off_reporter_label.match(text, start)
        if label is None or _in_quotes(text, start):
            continue
        span = _given_name(words, text, label.end(), offices_end=False)
        mark = _LINE_SPACE.match(text, label.end()).end()  # type: ignore[union-attr]  # matches empty
        if span is None and text.startswith(OWN_IDENTITY, mark):  # her name replaced before (her display name's)
            post = _her_post_end(words, text, mark + len(OWN_IDENTITY))
            spans += [(mark, post)] if post is not None else []
            continue
        # The accused's office after her name opens his when the sentence runs on after it ("Pelapor: Siti Rahayu
        # Kades Hendra minta uang" went as "Pelapor: [anonim] minta uang"); ending its clause it is her post.
        # But for a word of hers after the office and its place ("Pelapor: Siti Rahayu Kades Sukamaju melaporkan
        # sekdes": her post, `_her_post_end`).
        if span is not None and _RUNS_ON.match(text, span[1]) is not None:
            span = _given_name(words, text, label.end())
            if span is not None and (post := _her_post_end(words, text, span[1])) is not None:
                span = span[0], post
        span = span or _labelled_handle(text, label.end())
        if span is not None:
            spans += [span, *_contacts_after(words, read, span[1])]
    return _replaced_spans(text, spans)


# Spaces on a line.
_LINE_SPACE = re.compile(r"[^\S\n]*")
# A word after a name on its line with no mark between: the sentence runs on ("... Kades Hendra minta uang").
_RUNS_ON = re.compile(r"[^\S\n]+[^\W\d_]")
# The most words of an office and its place after her name under her label ("Bendahara Desa Sukamaju").
_POST_MAX_WORDS = 4


def _her_post_end(words: IdentityWords, text: str, position: int) -> int | None:
    """Where the office after her name at `position` and its place end when they are her own post: an office
    (`office_after_name`) and capitalized words after it, on its line, then words saying she reports (`post_before`:
    "Kades Sukamaju melaporkan ...", "Bendahara Desa Sukamaju ingin melapor", "Sekdes Sukamaju yg melapor"), compared
    folded, as in capitals ("KADES SUKAMAJU MELAPORKAN ...": every word there is capitalized); None for the accused's
    sentence running on, one of `not_after_self` too ("Kades Hendra minta uang", "Kades Hendra sudah minta uang")."""
    space = _NAME_SPACE.match(text, position)
    if space is None or words.office_after_name.match(text, space.end()) is None:
        return None
    end, count = position, 0
    while (space := _NAME_SPACE.match(text, end)) is not None and (word := _NAME_WORD.match(text, space.end())):
        if count and _says_she_reports(words, text, end):
            return end
        if not word.group()[0].isupper() or count == _POST_MAX_WORDS:
            return None
        end, count = word.end(), count + 1
    return None


def _says_she_reports(words: IdentityWords, text: str, position: int) -> bool:
    """Whether the words after `position`, on its line, open with one of `post_before` ("melaporkan", "yg melapor",
    "MAU LAPOR"), folded, whole words."""
    read: list[str] = []
    most = max(phrase.count(" ") + 1 for phrase in words.post_before)
    while len(read) < most and (space := _NAME_SPACE.match(text, position)) is not None \
            and (word := _NAME_WORD.match(text, space.end())) is not None:
        read.append(_folded(word.group().rstrip(".")))
        if " ".join(read) in words.post_before:
            return read[-1] not in words.payment_asking or not _asks_for_money(words, text, word.end())
        position = word.end()
    return False


def _asks_for_money(words: IdentityWords, text: str, position: int) -> bool:
    """Whether the words after `position` ask for money (`[payments]` money) or a payment (`paying`), those asked named
    between (`asked`: "mohon warga bayar 100rb" was read as her post asking for help, and the accused went), and
    their clause does not ask it undone (`undoing`: "... mohon warga iuran 50rb dihapus" is her plea, her post)."""
    collecting = False
    for _ in range(_ASKED_MAX_WORDS):
        if collecting and _AMOUNT.match(text, position):  # "mohon warga kumpul Rp 100.000", "kumpulkan 200 ribu"
            return not _asks_it_undone(words, text, position)
        word = _next_name_word(text, position)
        if word is None:
            return False
        folded = _folded(word.group())
        if folded in words.money or folded in words.paying:
            return not _asks_it_undone(words, text, word.end())
        if folded not in words.payment_asked and folded not in words.collecting:
            return False
        position, collecting = word.end(), folded in words.collecting
    return False


def _asks_it_undone(words: IdentityWords, text: str, position: int) -> bool:
    """Whether the clause from `position` to its sentence's end holds a word of `[payments]` undoing not negated ("uang
    tidak dikembalikan" is the pungli) or a pair of `held_to_due`, before a word of `clause_on` carries the sentence on
    to a condition, a purpose or the fact against it ("bayar 100rb, kalau tidak BLT dihentikan", "bayar 50rb utk KTP
    padahal gratis", "transfer 2jt agar uang jaminan dikembalikan": his demand, his threat, the fact reported)."""
    clause = re.split(r"[.!?;\n]", text[position:position + SENTENCE_REACH], maxsplit=1)[0]
    said: list[str] = []
    for word in _WORD.findall(clause):
        if (folded := _folded(word)) in words.clause_on:
            break
        said.append(folded)
    return any(word in words.undoing and before not in words.negating for before, word in pairwise(["", *said])) \
        or any(pair in words.held_to_due for pair in pairwise(said))


# An amount of money right after collecting: digits, "Rp" before them.
_AMOUNT = re.compile(r"[^\S\n]+(?:rp\.?[^\S\n]*)?\d", re.IGNORECASE)
# The most words read after a plea's word for the money asked (`[payments]`: "mohon semua warga bayar").
_ASKED_MAX_WORDS = 4


def _next_name_word(text: str, position: int) -> re.Match[str] | None:
    """The word right after `position`, spaces on its line between (`_NAME_SPACE`, `_NAME_WORD`)."""
    space = _NAME_SPACE.match(text, position)
    return _NAME_WORD.match(text, space.end()) if space is not None else None


# At most this many words after an SMS's or a mention's closing phrase, to its end, are read as its sign-off (its
# numbers aside).
MESSAGE_SIGN_OFF_WORDS = 8


def without_message_sign_off(text: str) -> str:
    """An SMS's or a mention's text with the name and contacts signed after its last thanks or greeting
    (`message_sign_offs`) replaced by OWN_IDENTITY, when they end the message ("... Terima kasih, Wulan 0813..." reached
    the case store; a mail's sign-off is read by its lines). Not after words opening someone else's words that run on to
    it (`_passes_on_words`: "Penipu sms: Selamat anda menang ... Terima kasih, Budi Santoso 0813..." is the scammer's,
    the evidence); a form of address, an office or someone else's word after the phrase thanks or names someone else
    ("Terima kasih Pak Kades", "Salam, Kades Hendra 0813...") and stays, and so does anything but a capitalized name and
    contacts there ("terima kasih atas perhatiannya"), and a date after them, or someone else's contact labelled so
    ("..., Siti 0857...\nSenin, 12 Maret 2024", "..., penipu 0821..."). The name may open the line below the thanks, its
    contacts on the lines below it, as a phone's SMS app breaks them ("Terima kasih\nSiti Rahayu\n0813...": read on the
    thanks' line alone, her name and number reached the case store); the same words stay there as on its line ("Terima
    kasih\nPak Kades Hendra", "ttd\nHendra Gunawan", a name a sentence runs on after), and a quoted line's sign-off is
    its author's ("> Terima kasih\n> Budi Santoso 0813...": a scam post quoted, the evidence)."""
    words = load_identity_words()
    phrases = [*words.message_sign_off.finditer(text, max(0, len(text) - _CLOSING_REACH))]
    if not phrases or (not _signed_with_her_own(words, text[phrases[-1].end():])
                       and not _pleads_for_action_before(words, text, phrases[-1].start())
                       and _passes_on_words(words, text[:phrases[-1].start()])):
        return text
    below = _BELOW_CLOSING.match(text, phrases[-1].end()).end()  # type: ignore[union-attr]  # matches empty
    position = _said_to_the_reader(words, text, below)
    if _in_quotes(text, position):  # a post quoted ("> ... Terima kasih\n> Budi Santoso"): its signer's, the evidence
        return text
    # Her name under a name's label ("Hormat saya,\nNama: Siti Rahayu\nHP: 0857...", `sign_off_name_labels`), read as
    # the name alone there is (both reached the case store), in lowercase too: the label says it is a name. Before
    # anything else (her handle, her number: "Nama: @sitirahayu88") the label is read as her sign-off's word.
    labelled = False
    if (label := words.sign_off_name_label.match(text, position)) is not None:
        named = _BELOW_CLOSING.match(text, label.end()).end()  # type: ignore[union-attr]  # matches empty
        if _given_name(words, text, named) is not None or text.startswith(OWN_IDENTITY, named - 1):
            position, labelled = named, True
    # Her address's lines below her name are hers as her numbers there are, and no words of another sign-off
    # ("Terima kasih\nSiti Rahayu\nAlamat: Jl. Mawar 3 RT 02/05\nHP: 0857...": read as words, all of it stayed).
    addresses = _her_address_lines(words, text, position)
    blanked = _blanked(text, addresses)
    tail = blanked[position:]
    signer = phrases[-1].group().lower().startswith("hormat")  # "Hormat saya, Bpk Andi Wijaya": the signer's title
    # Numbers are contacts, not words: "HP saya 0812..., nomor pelaku 0857-2222-3333" counted its groups of digits.
    # Only beside her own number: a pasted scam's "CS Joko 0813... / 0812... / 0856..." is no one's sign-off of hers.
    # Her contacts' lines below the name count none either ("Siti Rahayu\nHP 0857... / 0813..." from another phone).
    # her name replaced before (her display name's): read from its bracket ("Salam\nNama: [anonim], HP 0857...\nWA
    # ...": from inside it her numbers counted as words)
    replaced = bool(position) and text.startswith(OWN_IDENTITY, position - 1)
    if replaced:
        tail = blanked[position - 1:]
    if OWN_IDENTITY in tail:  # nor her own, replaced, nor her handles beside it ("... / @sitirahayu88 (IG saya)")
        counted = _SIGNED_HANDLE.sub(" ", _GIVEN_NUMBER.sub(" ", ascii_digits(tail).replace(OWN_IDENTITY, " ")))
    else:
        below_name = tail.find("\n", len(tail) - len(tail.lstrip()))
        below_name = len(tail) if below_name < 0 else below_name
        counted = tail[:below_name] + _GIVEN_NUMBER.sub(" ", ascii_digits(tail[below_name:]))
    if len(_WORD.findall(_without_own_labels(words, words.sign_off_date.sub(" ", counted)))) > MESSAGE_SIGN_OFF_WORDS \
            or _opens_with_someone_else(words, text, position, signer):
        return text
    span = _given_name(words, text, position)
    if replaced:  # her contacts after it
        span = (position - 1, position - 1 + len(OWN_IDENTITY))
    elif span is None and (lowercase := _lowercase_name_before_her_own(words, text, position)) is not None:
        span = lowercase
    elif span is None or not (text[span[0]].isupper() or labelled or _HER_OWN_ENDING.match(text, span[1])):
        return text  # lowercase there: "terima kasih atas perhatiannya", "makasih, yg nelpon 0813..."
    read = ascii_digits(blanked)
    # A date's figures are no number ("...\nSenin, 12 Maret 2024"; "Siti\n12/03/2024\n0857-..." read the date with her
    # number, and its last digits stayed), and a label is read past a date between it and its number ("Penipu, 12
    # Maret 2024 0813...": his; read as one number, it went as hers).
    found_dates = list(words.sign_off_date.finditer(read))
    undated = _undated(words, read, found_dates)
    # and a number read where dates are not blanked that runs into one: her number's last groups may look like a
    # date ("Siti 021 31.12.2024": blanked, her number stayed)
    dates = [date.span() for date in found_dates]
    contacts = _merged([*_contacts_after(words, undated, span[1]),
                        *(found for found in _contacts_after(words, read, span[1]) if _into_dates(read, found, dates))])
    end = contacts[-1][1] if contacts else span[1]
    rest = blanked[end:]
    # A date someone else's label stands before is theirs as their number would be ("Penipu (12.03.2024)").
    dated = {date: label for date in found_dates if date.start() >= end
             and (label := _their_label(words, undated, date.start() + len(date.group("place") or ""))) is not None}
    if OWN_IDENTITY in rest or contacts or dated:
        more, rest = _after_her_contacts(words, read, undated, dates, dated, end, known=OWN_IDENTITY in rest)
        contacts += more
    if any(not word.isdigit() and word.lower() not in words.contact_label_words  # nor a date's, nor a bare label
           for word in _WORD.findall(_without_own_labels(words, _undated(words, rest)))):
        return text
    return _replaced_spans(text, [span, *contacts, *addresses])


# Her own identity, replaced before (the number she sent from), right after a name and ending the message: a name in
# lowercase there is hers too ("thx, siti 0857..." from 0857... kept "siti"); lowercase words before someone else's
# number stay ("makasih, yg nelpon 0813...").
_HER_OWN_ENDING = re.compile(r"[^\S\n]*[,:]?[^\S\n]*" + re.escape(OWN_IDENTITY) + r"[\s.!]*\Z")


def _lowercase_name_before_her_own(words: IdentityWords, text: str, position: int) -> tuple[int, int] | None:
    """The span of one or two lowercase words at `position` right before her own identity ending the message
    (`_HER_OWN_ENDING`: "thx, siti [anonim]"), none a contact's label, her own word or someone else's ("nomor saya",
    "penipu")."""
    name = _TWO_WORDS.match(text, position)
    if name is None or not _HER_OWN_ENDING.match(text, name.end()):
        return None
    said = [word.lower() for word in _WORD.findall(name.group())]
    if any(word in words.contact_label_words or word in words.self_words or _someone_elses_or_office(words, word)
           for word in said):
        return None
    return name.span()


_TWO_WORDS = re.compile(r"[^\W\d_]+(?:[^\S\n]+[^\W\d_]+)?")


def _her_address_lines(words: IdentityWords, text: str, position: int) -> list[tuple[int, int]]:
    """The spans of the postal addresses on the lines below the one `position` stands on (her name's, in an SMS's
    sign-off): a line opening with an address's word under its label ("Alamat: Jl. Mawar 3", `[address_lines]`
    labels), or without it and with an address's part after it but a postal code ("Jl. Melati No. 12 RT 05", "Perum
    Griya Asri Blok C4"; not "No tiket 12345"), no sentence's word in it ("jl raya bogor no 5 lampunya mati": the
    report's), from its label's colon on; down to a line with a word of someone else's ("Penipu: ...")."""
    spans = []
    start = text.find("\n", position) + 1
    while start > 0:
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if any(_someone_elses(words, word) for word in _WORD.findall(line)):
            break  # "Penipu: Budi 0813...\nAlamat: Jl. Kenanga 7": his, and what follows
        opener = words.address_line.match(line)
        value_at = _labelled_address(words, line)
        if opener is not None and not words.sentence_word.search(line) \
                and (value_at is not None or _address_parts(line[opener.end():], words.address_part) - {"postal"}):
            spans.append((start + (value_at if value_at is not None else len(line) - len(line.lstrip())),
                          start + len(line)))
        start = end + 1
    return spans


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each of `spans` made spaces, every other character in its place."""
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _after_her_contacts(words: IdentityWords, read: str, undated: str, dates: list[tuple[int, int]],
                        dated: dict[re.Match[str], int], end: int, known: bool) -> tuple[list[tuple[int, int]], str]:
    """Her further contacts after those read beside her name in an SMS's sign-off (ending at `end`), and the words
    left after them and after what someone else's labels give as theirs (`without_message_sign_off`). `undated` is
    `read` with its dates blanked, `dates` their spans, `dated` the dates someone else's label opens a line with,
    `known` whether her number the gateway knows (OWN_IDENTITY) is among them."""
    # Her own number or handle, replaced before (the sender's), may end the sign-off, a contact's label before it
    # and her other numbers and handles beside it: "Terima kasih\nSiti Rahayu\n0812..." from 0812... kept her
    # name when it saw a word after it, and "... [anonim] / 0857..." her second number, "... / IG @sitirahayu88"
    # her handle. A number labelled as someone else's stays ("HP saya 0812..., nomor pelaku 0857...", "No penipu:
    # 0857..."), its label no word of another sign-off: her name stayed beside it. So after the contacts read
    # beside her name ("Terima kasih, Siti 0857..., penipu 0821..." from another phone kept her name and number),
    # and a date's words are none either ("Senin, 12 Maret 2024": its figures are no number of hers), nor a line
    # their label and a date open ("Penipu (12.03.2024)": read as a number of theirs before dates were read).
    # theirs: from the label of each contact of someone else's to its line's end, what that line says of it
    # ("No penipu: 0857... sudah diblokir"); listed: where a number or handle of theirs ended
    theirs: list[tuple[int, int]] = []
    contacts: list[tuple[int, int]] = []
    kept, listed = end, -1
    numbers = _merged([*(found.span() for found in _GIVEN_NUMBER.finditer(undated, end)),
                       *(found.span() for found in _GIVEN_NUMBER.finditer(read, end)
                         if _into_dates(read, found.span(), dates))])
    found_all = sorted([*((start, stop, None) for start, stop in numbers),
                        *((found.start(), found.end(), None) for found in _SIGNED_HANDLE.finditer(undated, end)),
                        *((date.start(), date.end(), label) for date, label in dated.items())])
    for start, stop, dated_label in found_all:
        if start < kept:
            continue
        line_end = read.find("\n", stop)
        line_end = len(read) if line_end < 0 else line_end
        if dated_label is not None:  # the line their label and a date open is theirs ("Penipu, 12 Maret, 0813...")
            theirs.append((dated_label, line_end))
            kept = line_end
            continue
        if listed >= 0 and words.listed_after.fullmatch(read, listed, start) \
                and not _labelled_hers_after(words, read, stop):
            kept = listed = stop  # "No penipu: 0857... / 0813...", "... 0857... / @olshop": theirs
            continue
        label = _their_label(words, undated, start)
        if label is None and (_labels_as_someone_elses(words, undated, stop)
                              or _bracketed_theirs(words, undated, stop)):
            label = start  # labelled after it: "... / 0813... (penipu) 12 Maret 2024", "(WA penipu)"
        if label is None and not known and theirs:
            # Without her number the gateway knows, a contact after someone else's is theirs too, on its line or
            # below it ("No penipu: 0813...\n0821...", "Pelaku 0813... rek 1234...", "... kantor 021-..."): no
            # label of theirs may be read before it, and it went as hers.
            theirs.append((read.rfind("\n", 0, start) + 1, line_end))
            kept = listed = stop
        elif label is None:
            contacts.append((start, stop))
            listed = -1
        else:
            theirs.append((label, line_end))
            kept = listed = stop
    outside, at = [], end
    for start, stop in sorted(theirs):
        outside.append(read[at:start])
        at = max(at, stop)
    # what is left read for dates as a text of its own: a place and a date right after her contacts on their
    # line are a dateline too ("Tks, Rina 0821... Jakarta, 12 Maret 2024")
    rest = _WORD.sub(lambda word: "" if word.group().lower() in words.contact_label_words else word.group(),
                     _SIGNED_HANDLE.sub("", _GIVEN_NUMBER.sub("", _without_own_labels(
                         words, _undated(words, "".join([*outside, read[at:]])))))
                     .replace(OWN_IDENTITY, ""))
    return contacts, rest


# The words right after a number up to its clause's end (`_bracketed_theirs`).
_CLAUSE_AFTER = re.compile(r"[^.!?;,\n|:/()]{0,40}")
# Any words in brackets (`_without_own_labels`), and such a label right after a number ("0813... (WA saya)", "022...
# (kantor saya)").
_IN_BRACKETS = re.compile(r"[(\uff08]([^)\uff09\n]{1,40})[)\uff09]")
_BRACKETED_LABEL = re.compile(r"[^\S\n]*" + _IN_BRACKETS.pattern)


def _says_hers(words: IdentityWords, said: Iterable[str]) -> bool:
    """Whether a label's words say what it labels is hers: a word of her own ("saya pegawai", "my official number")."""
    return any(word.lower() in words.self_words or word.lower() in words.hers_in_label for word in said)


def _without_own_labels(words: IdentityWords, text: str) -> str:
    """`text` without the labels in brackets that say something is hers ("0812... (saya pegawai)", "(WA kantor, saya
    kades)"): her post in them is no word of another sign-off, and her name stayed beside her numbers."""
    return _IN_BRACKETS.sub(lambda label: " " if _says_hers(words, _WORD.findall(label.group(1))) else label.group(),
                            text)


def _bracketed_theirs(words: IdentityWords, text: str, end: int) -> bool:
    """Whether the number or handle ending at `end` is labelled someone else's right after it, in brackets or to its
    clause's end, a contact label's words beside theirs ("0813... (WA penipu)", "0813... WA penipu 12.03.24")."""
    label = _BRACKETED_LABEL.match(text, end)
    said = _WORD.findall(label.group(1) if label is not None else _CLAUSE_AFTER.match(text, end).group())  # type: ignore[union-attr]
    # hers where a word of it is her own ("(saya pegawai)", "(my official number)"), and an office or a post alone
    # may be hers ("(WA petugas)"): only a word of `[someone_else]` makes it theirs
    if _says_hers(words, said):
        return False
    return any(_someone_elses(words, word) for word in said) and all(
        _someone_elses_or_office(words, word) or word.lower() in words.contact_label_words
        or word.lower() in words.claim_lead or word.lower() in words.label_addressing for word in said)


def _labelled_hers_after(words: IdentityWords, text: str, end: int) -> bool:
    """Whether the number or handle ending at `end` is labelled hers in brackets after it ("No penipu: 0857... /
    0813... (nomor saya yg lain)": hers, not listed with theirs)."""
    label = _BRACKETED_LABEL.match(text, end)
    said = [word.lower() for word in _WORD.findall(label.group(1))] if label is not None else []
    # a label's words alone ("WA saya", "nomor saya yg lain"); "(yg sms saya)" says what the scammer did
    return any(word in words.self_words for word in said) and all(
        word in words.self_words or word in words.contact_label_words or word in words.other_of_hers for word in said)


# A handle beside her number in her sign-off ("0812... / IG @sitirahayu88").
_SIGNED_HANDLE = re.compile(r"(?<![\w@])@\w[\w.]*\w|(?<![\w@])@\w")
# How many words before a number may label it as someone else's ("nomor si pelaku 0857..."), of them their name's.
_THEIR_LABEL_WORDS = 3
_THEIR_NAME_WORDS = 2


def _their_label(words: IdentityWords, text: str, start: int) -> int | None:
    """Where the words right before the number at `start`, on its line, begin when they label it as someone else's
    (contact labels and at least one word of `[someone_else]`: "nomor pelaku 0857...", "No penipu: 0857..."), their
    capitalized name maybe after them ("Pelaku Budi 0813...", "Kades Hendra, 12/03/2024"); None when they do not."""
    line = text.rfind("\n", 0, start) + 1
    label, theirs, named = None, False, 0
    for word in reversed([*_WORD.finditer(text, line, start)][-_THEIR_LABEL_WORDS:]):
        someone_elses = _someone_elses_or_office(words, word.group())  # "No HP kades: 0857...", "Telp kantor kades"
        if word.group().lower() not in words.contact_label_words and not someone_elses \
                and word.group().lower() not in words.label_addressing:  # "Pak Kades, 12/03/2024"
            if label is None and named < _THEIR_NAME_WORDS and word.group()[:1].isupper():
                named += 1
                continue
            break
        label, theirs = word.start(), theirs or someone_elses
    return label if theirs else None


def _signed_with_her_own(words: IdentityWords, tail: str) -> bool:
    """Whether the words after the last thanks carry her own number or handle (replaced before: the sender's) with no
    other number on a line above hers: the sign-off is hers, whatever came above it ("penipu kirim sms\n...\nTerima
    kasih\nSiti Rahayu\n0812..." from 0812...), her other numbers on or below that line with it ("Telp 022...
    HP 0812...", "0812... / 0857..."). Not with a number on a line above hers: the scammer's sign-off, hers added
    below it ("Terima kasih\nJoko Susilo\n0812-1112-2233\nnomor saya 0812..." lost his name and number)."""
    mark = tail.find(OWN_IDENTITY)
    if mark < 0:
        return False
    line = tail.rfind("\n", 0, mark) + 1
    if _GIVEN_NUMBER.search(ascii_digits(tail[:line])) is not None:
        return False
    # "Joko Susilo 0813-1112-2233 nomor saya 0812...": her number added after the scammer's on his line
    return not any(words.self_words.intersection(word.lower() for word in _WORD.findall(tail, found.end() + line, mark))
                   for found in _GIVEN_NUMBER.finditer(ascii_digits(tail[line:mark])))


# A clause's end after a form of address said to the reader: a comma, "!", a line break (a dot is the word's own); or
# a slash before another form of address ("Bapak/Ibu, ...": the next is read as this one is).
_VOCATIVE_END = re.compile(r"[^\S\n]*(?:[,!/]|\n|$)")


def _said_to_the_reader(words: IdentityWords, text: str, position: int) -> int:
    """Where an SMS's sign-off opens after its thanks at `position`: past words saying nothing of whom (`after_thanks`:
    "ya", "banyak") and a form of address ending its clause, said to the reader ("Terima kasih ya pak. Siti Rahayu
    0813...", "Makasih bu,\nWulan": "pak" was read as a thanked official's title, and her name and number stayed). Not
    a form of address before a name ("Terima kasih Pak Hendra": the official thanked), nor an abbreviation's dot
    ("Terima kasih Bpk. Hendra")."""
    while (word := _NAME_WORD.match(text, position)) is not None:
        plain, dotted = word.group().rstrip(".").lower(), word.group().endswith(".")
        vocative = words.addressed.fullmatch(word.group()) is not None and (
            plain not in words.address_abbreviations if dotted else _VOCATIVE_END.match(text, word.end()) is not None)
        if not vocative and (dotted or plain not in words.after_thanks):
            return position
        position = _BELOW_CLOSING.match(text, word.end()).end()  # type: ignore[union-attr]  # matches empty
    return position


def _pleads_for_action_before(words: IdentityWords, text: str, start: int) -> bool:
    """Whether the line before the closing phrase at `start` (or its own line's words before it) is her plea for the
    authorities to act (`action_pleas`, then one of `action_asked`: "Mohon ditindak pak", "Tolong segera diusut"): the
    pasted message above it ended, the sign-off below hers ("Saya forward sms penipu ke LAPOR\n<the scam>\n\nMohon
    ditindak pak\nTerima kasih\nSiti Rahayu" kept her name)."""
    before = text[max(0, start - SENTENCE_REACH):start].rstrip()
    line = before[before.rfind("\n") + 1:]
    said = [_folded(word) for word in _WORD.findall(line)]
    return bool(said) and said[0] in words.action_pleas and not words.action_asked.isdisjoint(said[1:])


def _passes_on_words(words: IdentityWords, text: str) -> bool:
    """Whether `text`, a message before its sign-off, opens someone else's words that run on to it: a quotation left
    open, or a word of `quoting_words` ("sms", "isi", "surat") with at most three words and a colon after it ("Penipu
    sms: ...", "ada sms masuk: ...", "Isi surat: ..."). Such a word anywhere else is her report's ("Saya ditipu penipu
    online ... Terima kasih. Siti Rahayu" kept her sign-off), and so is a label of the accused ("Pelaku: kades minta
    5jt"), but before words said to the reader (`to_the_reader`: "Penipu: Selamat anda menang ...")."""
    if text.count('"') % 2 or text.count("\u201c") > text.count("\u201d") or \
            text.count("\u2018") > text.count("\u2019"):
        return True
    if _pasted_below_a_quoting_line(words, text):
        return True
    for opener in _QUOTE_OPENER.finditer(text):
        if opener.group(1).lower() in words.quoting_words:
            return True
        # The accused's label before words said to the reader: a scam message pasted ("Penipu: Selamat anda menang").
        if _someone_elses(words, opener.group(1)) and words.to_the_reader.match(text, opener.end(2)):
            return True
    return False


def _pasted_below_a_quoting_line(words: IdentityWords, text: str) -> bool:
    """Whether a line of `text` names a message that came and the next line of words below it opens that message, pasted
    as a phone pastes it: its sign-off its own writer's, the scammer's name and number the evidence. A line naming what
    came (`_names_what_came`: "penipu kirim sms", "saya terima sms penipuan td pagi") opens what follows unless her own
    words open the line below (`own_line_openers`: "Mohon anda tindak kades", her thanks), or her greeting with no words
    of a pasted message to its reader after it nor its writer introducing themself (`greetings`: "Selamat pagi pak,
    kades ..."; not "Selamat siang, anda menang ...", "Pagi bu, ini dari kelurahan ..."). A quoting word anywhere on a
    line opens what follows where the line below opens with words said to its reader (`pasted_to_the_reader` among its
    first two: "Selamat anda menang ...", "Nasabah yth, ..."). Not after a word saying how her own words came
    (`by_way_of`: "lapor penipuan lewat sms")."""
    lines = [line for line in text.split("\n") if line.strip()]
    for line, below in pairwise(lines):
        first = [word.group().lower() for word in islice(_WORD.finditer(below), _GREETING_READ_WORDS)]
        if not first:
            continue
        opening = (first[0], " ".join(first[:2]))
        said = [word.lower() for word in _WORD.findall(line)]
        came = _names_what_came(words, said)
        if any(word in words.greetings for word in opening):
            introduced = _introduces_a_writer(words, first)
            if not (came and (introduced or words.pasted_to_the_reader.intersection(first))):
                continue
        elif any(word in words.own_line_openers for word in opening):
            continue
        quoting = any(word in words.quoting_words and (index == 0 or said[index - 1] not in words.by_way_of)
                      for index, word in enumerate(said))
        if came or (quoting and words.pasted_to_the_reader.intersection(first[:2])):
            return True
    return False


def _introduces_a_writer(words: IdentityWords, first: list[str]) -> bool:
    """Whether a greeting line's first words introduce a pasted message's writer (`introducing`: "Pagi bu, ini dari
    kelurahan"), not after her own words ("Selamat pagi pak, saya mau lapor, ini dari ...") nor before her place
    ("Pagi pak, ini dari warga RT 03 mau lapor": she introduces herself)."""
    for index, pair in enumerate(pairwise(first)):
        if words.self_words.intersection(pair):
            return False
        if " ".join(pair) in words.introducing:
            following = first[index + 2] if index + 2 < len(first) else ""
            return following not in words.own_name_hers_after and following not in words.neighbourhoods
    return False


def _names_what_came(words: IdentityWords, said: list[str]) -> bool:
    """Whether a line's lowercase words `said` name a message that came to her, pasted below it: with `pointing` before
    a word of `pasted_messages` ("ini sms nya pak", "begini isi sms nya"), a word of `[someone_else]` right after one
    opening a line of four words at most ("Sms penipu"; not "sms penipu makin banyak pak"), or `pointing` one or two
    words after it with a word of `received` on the line or of `sent` not hers ("saya dapat sms ini"), `as_follows`
    without ("isi sms nya sbb"), none of her own words after it in each ("Berikut isi laporan saya", "Pesan berikut saya
    sampaikan"); with one among the line's last four and such a word on the line ("saya terima sms penipuan td pagi",
    "penipu kirim sms"; "kami warga RT 03 sudah kirim sms" is hers), or anywhere with one of `received` right after it
    ("ada sms masuk ke hp saya"). Not a message word after `by_way_of` ("lewat sms") nor before `self_words` ("chat saya
    dengan kades", hers), and not hers shown ("Mohon sms ini dirahasiakan")."""
    came, hers_before = False, False
    hers_first = []  # whether her own words stand before each position
    # Whether a destination stands after each position, read once from the end as `hers_after` below.
    sent_on = [False] * (len(said) + 1)
    for index in range(len(said) - 1, -1, -1):
        sent_on[index] = sent_on[index + 1] or said[index] in words.destination
    writer_named = _names_its_writer(words, said)  # "saya forward sms penipu ke LAPOR": the scam came to her
    for index, word in enumerate(said):
        hers_first.append(hers_before)
        forwarded = word in words.forwarding and not writer_named and (
            (index and said[index - 1] in words.forward_pleas) or sent_on[index + 1])
        if (word in words.received and not forwarded) or (word in words.sent and not hers_before):
            came = True
        hers_before = hers_before or word in words.self_words or word in words.first_person
    # Whether her own words stand after each position: read once from the end (per message word, quadratic).
    hers_after = [False] * (len(said) + 1)
    for index in range(len(said) - 1, -1, -1):
        hers_after[index] = hers_after[index + 1] or said[index] in words.self_words
    for index, word in enumerate(said):
        after = said[index + 1] if index + 1 < len(said) else ""
        if word not in words.pasted_messages or (index and said[index - 1] in words.by_way_of) \
                or after in words.self_words:
            continue
        # "berikut" after a message she sent is hers to show ("saya kirim pesan berikut ke camat")
        following = words.pointing if came else words.as_follows if not hers_first[index] else frozenset()
        pointed_after = following.intersection(said[index + 1:index + 3])
        if not hers_after[index + 1] and ((index and said[index - 1] in words.pointing) or pointed_after):
            return True
        if index == 0 and after and _someone_elses(words, after) and len(said) <= _QUOTING_TAIL_WORDS:
            return True
        if after in words.received or (came and index >= len(said) - _QUOTING_TAIL_WORDS):
            return True
    return False


def _names_its_writer(words: IdentityWords, said: list[str]) -> bool:
    """Whether a message's word on a line is followed by its writer, someone else (`[someone_else]`, an office, a
    scam: "sms penipu", "sms dari penipu", "pesan dari pak kades", "sms penipuan"), "dari" and a form of address
    between at most."""
    for index, word in enumerate(said):
        if word not in words.pasted_messages:
            continue
        for after in said[index + 1:index + 1 + _WRITER_READ_WORDS]:
            if after in words.before_writer or words.addressed.fullmatch(after):
                continue
            if _someone_elses(words, after) or _folded(after) in words.own_name_offices or after in words.scams:
                return True
            break
    return False


_WRITER_READ_WORDS = 3


# A message's word among a line's last this many words may name what is pasted below it ("penipu kirim sms").
_QUOTING_TAIL_WORDS = 4
# The words of a line a greeting opens read for a pasted message's words to its reader ("Selamat siang, anda ...")
# and its writer introducing themself ("Maaf ganggu bu, ini pak RT").
_GREETING_READ_WORDS = 8


# A word, at most three more and a colon: what may open words passed on ("Penipu sms:", "ada sms masuk:"); one before a
# line's end is read with the line below it (`_pasted_below_a_quoting_line`).
_QUOTE_OPENER = re.compile(r"(?<!\w)(\w+)(?=(?:[^\S\n]+\w+){0,3}[^\S\n]*(:))")


def _someone_elses(words: IdentityWords, word: str) -> bool:
    """Whether `word` is one of `[someone_else]`, "-nya" after it too ("Penipunya")."""
    lowered = word.lower()
    return bool(words.someone_else.fullmatch(lowered) or words.someone_else.fullmatch(lowered.removesuffix("nya")))


def _someone_elses_or_office(words: IdentityWords, word: str) -> bool:
    """Whether `word` is one of `[someone_else]` (`_someone_elses`) or an office the accused holds ("kades")."""
    return _someone_elses(words, word) or words.office_after_name.fullmatch(word) is not None


def _opens_with_someone_else(words: IdentityWords, text: str, position: int, signer: bool = False) -> bool:
    """Whether the words at `position` open with a form of address (not after `signer`'s "Hormat saya,", which the
    signer's own title follows), an office or a word of someone else's ("Pak Kades", "Kades Hendra", "pelaku ...")."""
    first = _NAME_WORD.match(text, position)
    if first is None:
        return False
    plain = first.group().rstrip(".")
    if words.addressed.search(plain + " "):  # after "Hormat saya," the words after the title tell: "Bpk Kades Hendra"
        after = _AFTER_CLOSING.match(text, first.end()).end()  # type: ignore[union-attr]  # matches empty at least
        return not signer or _opens_with_someone_else(words, text, after)
    if _folded(plain) in words.own_name_offices:
        return True
    return words.office_after_name.match(text, position) is not None or words.someone_else.match(text, position) \
        is not None or _someone_elses(words, first.group())


def _labelled_handle(text: str, position: int) -> tuple[int, int] | None:
    """The span of a handle right after a label's colon at `position`, set off as a name is or ending its sentence
    ("Pelapor: @sitirahayu.": the full stop stays)."""
    handle = HANDLE.match(text, _NAME_LEAD.match(text, position).end())  # type: ignore[union-attr]  # matches empty
    if handle is None:
        return None
    end = handle.start() + len(handle.group().rstrip("."))
    return (handle.start(), end) if _SET_OFF_NAME.match(text, end) or text[end:end + 1] in ".!?" else None


def _in_quotes(text: str, position: int) -> bool:
    """Whether `position` is on a quoted line ("> ...") or within quotation marks on its line."""
    before = text[text.rfind("\n", 0, position) + 1:position]
    return before.lstrip().startswith((">", "\uff1e")) or before.count('"') % 2 == 1 \
        or before.rfind("\u201c") > before.rfind("\u201d")


# A line's label, its colon (bold's asterisks after it) and the spaces after it: "Alamat: ", "*Alamat:* ".
_LABEL_VALUE = re.compile(r"[^:\n]*:\**[^\S\n]*")


# A label opening a line and its colon, a list's mark or number before it or none: "Terlapor 1:", "- Pihak Terlapor :".
_OPENING_LABEL = re.compile(r"[^\S\n]*" + _LIST_MARK + r"?([^:\n]{1,60}?):")
# The most words a label of another party holds ("Nama Terlapor 1", "Terlapor dan Saksi"); more are a sentence's.
_OTHER_PARTY_LABEL_MAX_WORDS = 4


def _other_party_label(words: IdentityWords, line: str) -> bool:
    """Whether `line` opens with a label of the accused: at most _OTHER_PARTY_LABEL_MAX_WORDS words before its colon,
    one of them `[own_name]` other_party_labels's, numbered or not ("Terlapor:", "Pihak Terlapor:", "Terlapor 1:",
    "Terlapor (1):", "Terlapor-1:", "Terlapor I:", "Nama Terlapor 1:", "Terlapor/Tersangka:"). The word after another
    label ("Laporan terkait: terlapor ...") or in a sentence is none, nor are "Korban:", "Saksi:", "Pelaku:": a citizen
    writes them in her own sign-off ("Pelapor: Siti Rahayu\nSaksi: Joko Susilo" kept her name with them)."""
    label = _OPENING_LABEL.match(line)
    return label is not None and len(re.findall(r"[^\W_]+", label.group(1))) <= _OTHER_PARTY_LABEL_MAX_WORDS \
        and words.other_party_label.search(label.group(1)) is not None


def _heads_someone_elses(words: IdentityWords, line: str, closing: bool = False) -> bool:
    """Whether `line` heads or labels someone else's details: a label of at most _OTHER_PARTY_LABEL_MAX_WORDS words,
    one of them `[someone_else]`'s ("Penipu: ...", "Nama pelaku: ...", "Data terlapor:"), or a line of at most
    _HEADING_MAX_WORDS with no colon, holding one or an office ("Data pelaku", "Oknum Kades"), of two words at most or
    opening with a word of `detail_headings` or holding one of `as_follows` ("Identitas pelaku sebagai berikut", "Data
    pelaku sbb"); only those two after a closing phrase on its line (`closing`: "Terima kasih, berikut data pelaku";
    not "Terima kasih pak kades"). A sentence's word is none ("Semoga pelaku dihukum"), and neither is her own as the
    victim ("Korban penipu", "Saya korban pinjol")."""
    label = _OPENING_LABEL.match(line)
    said = [word.lower() for word in re.findall(r"[^\W\d_]+", label.group(1) if label is not None else line)]
    if not said or any(match.group("victim") for match in words.someone_else.finditer(line.lower())):
        return False
    following = not words.as_follows.isdisjoint(said)  # "Saya melaporkan oknum berikut:"
    if not words.self_words.isdisjoint(said):
        # her own words head someone else's only naming them before "berikut", none of hers after it ("Saya staf
        # kades, berikut data saya": her post and her details)
        after = said[max(index for index, word in enumerate(said) if word in words.as_follows) + 1:] if following \
            else []
        if not following or not words.self_words.isdisjoint(after) \
                or not any(_someone_elses(words, word) for word in said):
            return False
    if label is not None:
        return len(said) <= _OTHER_PARTY_LABEL_MAX_WORDS and any(_someone_elses(words, word) for word in said)
    # An office alone is her post as well ("Bendahara Desa\nNama: Siti Rahayu": an insider's): a heading's word or
    # "berikut" with it, or someone else's word ("Oknum Kades").
    headed = said[0] in words.detail_headings or following
    return len(said) <= _HEADING_MAX_WORDS and (
        (headed and any(_someone_elses_or_office(words, word) for word in said))
        or (len(said) <= 2 and not closing and any(_someone_elses(words, word) for word in said)))


# The most words a line heading someone else's details holds ("Data si penipu nya pak"); more are a sentence's.
_HEADING_MAX_WORDS = 6


def _leads_into_theirs(words: IdentityWords, line: str) -> bool:
    """Whether `line`, above a form giving no name, leads into someone else's details: at most _HEADING_MAX_WORDS words,
    a word of someone else's among them (not her own as the victim; not an office, maybe her post: "Pegawai kecamatan
    di", an insider's), none of hers, ending with a word of `address_leads` or `as_follows` or a colon ("Penipu tinggal
    di", "Data penipu sbb"; not "Penipu minta transfer 200rb", a sentence of her report)."""
    said = _WORD.findall(line)
    if not said or len(said) > _HEADING_MAX_WORDS or _theirs_after(words, line, 0, offices=False) is None \
            or not words.self_words.isdisjoint(word.lower() for word in said):
        return False
    return said[-1].lower() in words.address_leads or said[-1].lower() in words.as_follows \
        or line.rstrip().endswith(":")


def _after_closing(words: IdentityWords, line: str) -> str:
    """What a line holding a closing phrase says after its last one ("berikut data pelaku" of "Terima kasih, berikut
    data pelaku")."""
    phrases = [*words.closing.finditer(line, max(0, len(line) - _CLOSING_REACH))]
    return line[phrases[-1].end():] if phrases else ""


def _labelled_name(words: IdentityWords, line: str, start: int) -> tuple[int, int] | None:
    """The span of the name after a name's label that names no one ("Nama: Siti Rahayu", ending at `start`), but for
    one an office opens or someone else's word follows in its clause ("Nama: Kades Hendra", "Nama: Hendra Gunawan
    (pelaku)": the one reported, the evidence). An office after it is her post, as under "Pelapor:" ("Nama: Siti
    Rahayu (Sekdes)": an insider's, the whistleblower most at risk)."""
    span = _given_name(words, line, start, offices_end=False)
    if span is None or _opens_with_someone_else(words, line, span[0]):
        return None
    # Someone else's word in the name's clause ("Hendra Gunawan (pelaku)") or opening the next one ("Joko Susilo,
    # penipu", "..., yang memeras warga"); not further ("Siti Rahayu, melaporkan oknum kades"), nor a victim's.
    clause = _NAME_CLAUSE.match(line, span[1])
    own = clause.group(1)  # type: ignore[union-attr]  # matches empty
    if line.startswith(":", clause.end(1)):  # type: ignore[union-attr]
        own = own[:len(own.rstrip()) - len(own.split()[-1])] if own.split() else own  # the next label's word
    following = clause.group(2) or ""  # type: ignore[union-attr]
    if line.startswith(":", clause.end(2)):  # type: ignore[union-attr]  # the next label ("Siti Rahayu, Pelaku: ...")
        following = ""
    following = _POINTING_TO_HIM.sub("", following, count=1)  # "Joko Susilo, dia penipu"
    said = (own + " " + following[:_OPENING_REACH]).lower()
    if any(found.group("victim") is None and (found.start() < len(own) or found.start() == len(own) + 1)
           for found in words.someone_else.finditer(said)):
        return None
    number = _NUMBER_BESIDE_NAME.match(line, span[1])  # her number on her name's line ("Nama: Siti Rahayu 0813...")
    return (span[0], number.end()) if number is not None else span


# A phone number right after a name on its line, a comma, a slash or a dash between or none.
_NUMBER_BESIDE_NAME = re.compile(r"[^\S\n]*[,/\-]?[^\S\n]*(?:" + _GIVEN_NUMBER.pattern + ")")
# What follows a name on its line: the rest of its clause (group 1), and after a comma or a semicolon the next clause
# (group 2), up to a mark or a label ("Siti Rahayu. Pelaku: Kades ...": "Pelaku" is that label's).
_NAME_CLAUSE = re.compile(r"([^,.;:!?\n]*)(?:[,;][^\S\n]*([^,.;:!?\n]*))?")
# How far into the next clause a word of someone else's may open it ("yang memeras").
_OPENING_REACH = 30
# A pronoun opening that clause, before the word saying who he is ("dia penipu", "ia pelakunya").
_POINTING_TO_HIM = re.compile(r"^(?:dia|ia|beliau|orang ini|org ini)[^\S\n]+", re.IGNORECASE)


def _pleads_after_label(words: IdentityWords, line: str) -> bool:
    """Whether `line` is "Pelapor:" and a name, and nothing after the name but a plea's words (`[own_name]`
    plea_words: "Pelapor: Siti Rahayu (mohon dirahasiakan)"), hers whatever labels follow."""
    label = words.sign_off_reporter_label.match(line)
    span = _given_name(words, line, label.end(), offices_end=False) if label is not None else None
    after = re.findall(r"[^\W\d_]+", line[span[1]:]) if span is not None else []
    return bool(after) and all(_folded(word) in words.own_name_plea for word in after)


def _alone_on_its_line(label: re.Pattern[str], line: str) -> bool:
    """Whether `line` is `label` and its colon alone ("Data pelapor:", "Pelapor :")."""
    found = label.match(line)
    return found is not None and not line[found.end():].strip(" \t:*")


# A national identity number (NIK, 16 digits) under its label: "NIK: 3201 2345 6789 0001", "No. KTP 3201...".
_NIK = re.compile(r"(?<!\w)(?:NIK|(?:No\.?|Nomor)?\s*KTP)\s*[:.]?\s*\d{4}(?:[\s.\-]?\d{4}){3}(?!\d)", re.IGNORECASE)
# A civil servant's number (NIP, 18 digits: birth date, appointment's month, sex, serial) under its label, as it is
# printed: "NIP: 19880101 201001 2 003", "NIP. 198801012010012003". It names its holder as surely as a NIK, and goes
# from a sign-off as a NIK does: the official's a mail names below its thanks goes with it (privacy first).
_NIP = re.compile(r"(?<!\w)NIP\s*[:.]?\s*\d{8}[\s.\-]?\d{6}[\s.\-]?\d[\s.\-]?\d{3}(?!\d)", re.IGNORECASE)


def _has_contact(block: str) -> bool:
    """Whether a signature holds a way to reach or name its writer: a phone number (read as Indonesian when written
    without a country code), an e-mail address, an @handle, or a NIK or a NIP under its label (`_NIK`, `_NIP`: a
    sign-off's "NIK: 3201..." or "NIP: 19880101 201001 2 003" below the name reached the case store, the name alone
    replaced)."""
    return bool(MAIL_ADDRESS.search(block) or HANDLE.search(block) or _NIK.search(block) or _NIP.search(block)) \
        or phonenumbers.PhoneNumberMatcher(block, "ID").has_next()


def _is_bare_contact(line: str) -> bool:
    """Whether a line is nothing but a way to reach someone (`_has_contact`), under a contact's label at most
    (`[contact_labels]`): "0813-9876-5432", "HP: 0813-9876-5432", "dewi@example.net", "NIK: 3201...", "NIP: ..."."""
    spans = [match.span() for pattern in (MAIL_ADDRESS, HANDLE, _NIK, _NIP) for match in pattern.finditer(line)]
    spans += [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(line, "ID")]
    if not spans:
        return False
    kept = "".join(char for at, char in enumerate(line) if not any(start <= at < end for start, end in spans))
    label = kept.strip().rstrip(":").strip().lower()
    return not any(char.isalnum() for char in label) or _is_contact_label(label)


def without_contacts_after_signed_name(text: str) -> str:
    """A mail's text with the contacts right after her signed name, already OWN_IDENTITY, on the first line of a
    sign-off kept as the report's for someone else named there (`without_sign_off_contacts`), replaced by OWN_IDENTITY:
    "Best regards\nSiti Rahayu, 0812..., no pelaku 0811..." kept hers beside the perpetrator's. Not one the words
    right after it give as someone else's ("[anonim] 0812... itu nomor penipu"), nor on a line her name does not open
    ("Budi Santoso 0812... adalah penipu", "Kantor Desa 0812..., pelaku ...", "> [anonim] ...")."""
    lines, written, closing = _sign_off(text)
    if closing is None:
        return text
    line, phrases = closing
    start = _AFTER_CLOSING.match(lines[line], phrases[-1].end()).end()  # type: ignore[union-attr]  # matches empty
    if not lines[line][start:].strip():
        below = [index for index in written if index > line]
        if not below:
            return text
        line, start = below[0], 0
    signed = lines[line][start:]
    lead = len(signed) - len(signed.lstrip())
    if not signed.startswith(OWN_IDENTITY, lead) or not _about_someone_else(signed):
        return text
    words = load_identity_words()
    contacts = _contacts_after(words, ascii_digits(signed), lead + len(OWN_IDENTITY))
    lines[line] = lines[line][:start] + _replaced_spans(signed, contacts)
    return "\n".join(lines)


def _withhold_bare_contacts(lines: list[str], indexes: Iterable[int]) -> None:
    """Each of `lines` at `indexes` that is the sender's contact alone (`_is_senders_bare_contact`) replaced by
    OWN_IDENTITY, among a sign-off's report lines that stay."""
    for index in indexes:
        if _is_senders_bare_contact(lines, index):
            lines[index] = OWN_IDENTITY


def _is_senders_bare_contact(lines: list[str], index: int) -> bool:
    """Whether a line among a sign-off's report lines is the sender's contact: one of nothing but a contact
    (`_is_bare_contact`), not the value of the line above it: a label naming someone else, with no value of its own
    ("Nomor WA pelaku:\n0812-1111-2222", "No HP penipu\n0812-1111-2222": withheld, the perpetrator's number was
    lost to the agency)."""
    if not _is_bare_contact(lines[index]):
        return False
    above = lines[index - 1].strip() if index > 0 else ""
    if not _about_someone_else(above) or _has_contact(above):
        return True
    contact_words = load_identity_words().someone_else.sub("", above).strip().rstrip(":").strip().lower()
    return not (above.endswith(":") or _is_contact_label(contact_words))


def _is_contact_label(label: str) -> bool:
    """Whether a line's label (lowercase) is a signature's contact's (`normalizer.signature.is_contact_label`)."""
    words = load_identity_words()
    return is_contact_label(label, words.contact_labels, words.contact_label_words, words.name_labels)


def _is_citizens_line(line: str) -> bool:
    """Whether a line below a `--` is the citizen's writing, never a signature's: longer than a signature's line, an
    item of a numbered or bulleted list, or prose (most of its words lowercase, as a sentence is and a signature's
    names, titles and places are not: "Staf Tata Usaha SD Negeri 3", "Jl. Merdeka No. 10, Kel. Sukajadi"), but a
    postal address typed in lowercase (`_written_as_an_address`: "komplek griya asri blok c no 4 rt 3 rw 5 kel
    sukamaju"). Read as prose, such an address below an anonymous mail's closing reached the case store."""
    if len(line.strip()) > SIGNATURE_MAX_LINE or _LIST_ITEM.match(line):
        return True
    labelled = _LABELLED_LINE.match(line)
    if labelled and not _is_contact_label(labelled.group(1).strip().lower()):
        return True
    words = [token for token in line.split() if token[:1].isalpha()]
    return len(words) >= _PROSE_MIN_WORDS and 2 * sum(word[0].islower() for word in words) > len(words) \
        and not _written_as_an_address(line)


def _is_report_line(line: str) -> bool:
    """Whether a line below a sign-off's closing or signed name is the report's, never the sign-off's: the citizen's
    writing (`_is_citizens_line`: a sentence, an item of a list, a `Label: value` line whose label is no contact's,
    "Nomor pelaku: 0812...") or a line about someone else (`[someone_else]`: "WA penipu 0812..."). Read as a
    sign-off's, the complaint's last lines and the perpetrator's number were withheld. A sentence asking to be reached
    ("bisa hubungi saya di 0813...", `[own_contact]`) is the sign-off's, someone else named in it or not ("... kalau
    perlu saksi untuk pelaku": kept, the sender's number reached the case store)."""
    if load_identity_words().own_contact.search(line):
        return False
    return _is_citizens_line(line) or _about_someone_else(line)


def _attributed(text: str, asking: bool = False) -> bool:
    """Whether `text` says whose the words before it were: a word of `[someone_else]` with a word of `attribution` at
    most two words before it ("kata penipu itu", "begitu isi sms penipu"), numbers not counted as words; not one that
    opens what they said (`speech_openers` after it: "kata pelaku saya akan dilaporkan balik", "kata pelaku, saya
    ...", "kata pelaku: saya ..." are his threat, told after her own number, which stayed as his). After words asking
    to be reached (`asking`: "hubungi saya di 0813...", a scam's own words) the tag right after the number is the
    scammer's whatever follows it ("... kata penipu dia dari bank BRI", "... kata penipu saya langsung percaya": his
    number went as hers); after a comma there only words right after his, spaces between, open what he said
    ("hubungi saya di 0857..., katanya oknum itu bahwa laporan saya percuma" is hers; "..., kata penipu, saya
    langsung percaya" his)."""
    words = load_identity_words()
    for match in words.someone_else.finditer(text):
        before = [word for word in _WORD.findall(text, 0, match.start()) if not word.isdigit()]
        if match.group("victim") is None and any(word.lower() in words.attribution for word in before[-3:]) \
                and not ((not asking or "," in text[:match.start()])
                         and _opens_speech(words, text, match.end(), marks=not asking)):
            return True
    return False


def _opens_speech(words: IdentityWords, text: str, position: int, marks: bool = True) -> bool:
    """Whether the words at `position`, after someone else's word, open what they said: a word of `speech_openers`,
    after a determiner or none, spaces between or with `marks` a comma or a colon ("pelaku saya akan ...", "oknum itu
    bahwa ...", "pelaku, saya akan ...", "pelaku: saya ...")."""
    for _ in range(2):
        word = (_MARKED_WORD if marks else _SPACED_WORD).match(text, position)
        if word is None:
            return False
        if word.group(1).lower() not in words.determiners:
            return word.group(1).lower() in words.speech_openers
        position = word.end()
    return False


_SPACED_WORD = re.compile(r"[^\S\n]+(\w+)")
_MARKED_WORD = re.compile(r"[^\S\n]*[,:]?[^\S\n]+(\w+)")


def _about_someone_else(text: str) -> bool:
    """Whether a text names someone else, the one reported (`[someone_else]`: "WA penipu 0812..."), not as what the
    sender was to them ("korban penipu", "victim of a scammer": `victim`, the sender's own description)."""
    return any(match.group("victim") is None for match in load_identity_words().someone_else.finditer(text))


def _paragraphs(lines: list[str], top: int) -> list[tuple[int, int]]:
    """The (start, end) indexes of each run of lines that are not blank, from line `top` on."""
    found: list[tuple[int, int]] = []
    start: int | None = None
    for index in range(top, len(lines) + 1):
        written = index < len(lines) and bool(lines[index].strip())
        if written and start is None:
            start = index
        elif not written and start is not None:
            found.append((start, index))
            start = None
    return found


def _signatures(lines: list[str]) -> list[tuple[int, int]]:
    """The (start, end) indexes of each signature in the lines below a `--`, among their last SIGNATURE_TAIL_LINES
    (a signature ends a mail; what is above them is the citizen's, and is not read): a run of paragraphs none of whose
    lines is the citizen's (`_is_citizens_line`), at most SIGNATURE_MAX_LINES lines that are not blank, with a
    contact."""
    top = max(0, len(lines) - SIGNATURE_TAIL_LINES)
    runs: list[list[tuple[int, int]]] = [[]]
    for start, end in _paragraphs(lines, top):
        # A paragraph begun above the lines read, or longer than a signature, is the citizen's: no need to read it.
        if (start == top and top and lines[top - 1].strip()) or end - start > SIGNATURE_MAX_LINES \
                or any(_is_citizens_line(line) for line in lines[start:end]):
            runs.append([])
        else:
            runs[-1].append((start, end))
    return [(run[0][0], run[-1][1]) for run in runs
            if run and sum(end - start for start, end in run) <= SIGNATURE_MAX_LINES
            and _has_contact("\n".join(lines[run[0][0]:run[-1][1]]))]


def without_dashed_signature(text: str) -> str:
    """A mail's text with each signature below its last line of `--` replaced by OWN_IDENTITY (see the module and
    `_signatures`): the citizen's words there, and a disclaimer, stay."""
    lines = text.split("\n")
    last = next((index for index in range(len(lines) - 1, -1, -1) if lines[index].strip() == "--"), None)
    if last is None:
        return text
    below = lines[last + 1:]
    signatures = _signatures(below)
    if not signatures:
        written = [line for line in below if line.strip()]
        if written and len(written) <= SHORT_TAIL_MAX_LINES \
                and all(len(line) <= SHORT_TAIL_MAX_LINE for line in written) and _has_contact("\n".join(written)):
            return "\n".join([*lines[:last + 1], OWN_IDENTITY])  # a short tail with a contact: SHORT_TAIL_MAX_LINES
        return text
    kept, position = lines[:last + 1], 0
    for number, (start, end) in enumerate(signatures):
        # The blank lines between the `--` and a signature right below it, and after one that ends the text, go with
        # it ("--\n[anonim]").
        if number == 0 and not any(line.strip() for line in below[:start]):
            start = 0
        if number == len(signatures) - 1 and not any(line.strip() for line in below[end:]):
            end = len(below)
        kept += [*below[position:start], OWN_IDENTITY]
        position = end
    return "\n".join([*kept, *below[position:]])


# Gmail's plain text in place of an inline image, in English and in Indonesian: `[image: <alt>]`, its alt text the
# image's file name unless its writer changed it.
_IMAGE_NAMED = re.compile(r"\[(image|gambar): [^\]\n]{1,255}\]")


def without_image_names(text: str) -> str:
    """A mail's text with the file names Gmail's placeholders of inline images give left out (`[image]`). A mailed
    file is often named after its sender ("KTP Budi Santoso.jpg"), and an anonymous report's files go to the case store
    without their names (workers/report_payload.py): the name still reached it in the report's text."""
    return _IMAGE_NAMED.sub(r"[\1]", text) if ": " in text else text


def without_own_identity(envelope: Mapping[str, Any], fields: Iterable[str] = ("text", "subject")) -> dict[str, Any]:
    """The envelope's `fields` with the sender's own identity replaced by OWN_IDENTITY, and a mail's text without its
    signature's contacts, the name it is signed with (see the module) and its images' names (`without_image_names`)."""
    kept = {field: envelope[field] for field in fields if isinstance(envelope.get(field), str)}
    mail_text = envelope.get("channel") == Channel.EMAIL.value and "text" in kept
    if mail_text:
        kept["text"] = without_image_names(without_sign_off_contacts(without_dashed_signature(kept["text"])))
    pattern = own_identity_patterns(envelope)
    if pattern is not None:
        kept = {field: _replaced(pattern, value) for field, value in kept.items()}
    sender = envelope.get("sender") or {}
    if mail_text and sender.get("kind") == SenderKind.EMAIL.value:
        own = str(sender.get("id") or "")
        addresses, field_names = mail_identities(envelope.get("channel_meta") or {})
        given = signed_name_words((str(sender.get("display_name") or ""), *field_names))
        # The name as an address spells it where the mail gives none, or where it spells the name given and more
        # ("Budi <budi.santoso87@...>" signed "Budi Santoso": "Santoso" went to the case store). An address that
        # shares no word with the name given may be an office's ("sr.kantor@..."): the name given is the one signed.
        # The sender's other addresses (Reply-To, Sender, the envelope sender...) are read as the From's is, and
        # also where only the From gives a name, or where the From's address spells none of the names given: a
        # form's or a relay's From ("Formulir Pengaduan <no-reply@...>", maybe named in its Sender too) with the
        # citizen's bare address as its Reply-To.
        spellings = list(map(address_spelling, [own, *sorted(addresses - {own})]))
        read_others = not signed_name_words(field_names) or not spellings[0].shares(given)
        spelled = [spelling for index, spelling in enumerate(spellings)
                   if spelling.words and (not given or spelling.shares(given) or (index and read_others))]
        words = given.union(*(spelling.words for spelling in spelled))
        if words:
            kept["text"] = without_contacts_after_signed_name(without_signed_name(kept["text"], words, spelled))
    # A mail's text is read for its sign-off's label; any other text (an SMS's, a mention's, a subject) whole, and for
    # a sign-off ending it.
    kept = {field: without_reporter_label(value) if mail_text and field == "text"
            else without_message_sign_off(without_details_below_her_labels(without_reporter_labels_in_message(value)))
            for field, value in kept.items()}
    if envelope.get("channel") == Channel.TWITTER.value and "text" in kept:
        kept["text"] = without_quoted_post_addresses(kept["text"])
    social = envelope.get("channel") in (Channel.TWITTER.value, Channel.INSTAGRAM.value)
    if social:
        kept = {field: without_relayed_authors(value, OWN_IDENTITY) for field, value in kept.items()}
    # Last: the sign-off's lines are read whole above ("HP saya: 0813..." is a line of the sender's contact); her
    # contacts replaced, the form of her details they stand in is read for her name (not in a post's, where a relayed
    # author is OWN_IDENTITY too).
    return {field: (without_given_name(without_given_contacts(value)) if social
                    else without_names_in_her_details(without_given_name(without_given_contacts(value))))
            for field, value in kept.items()}


def without_names_in_her_details(text: str) -> str:
    """`text` with the name under a name's label that names no one (`sign_off_name_labels`: "Nama: Siti Rahayu") and
    the address under its label replaced by OWN_IDENTITY, in a run of labelled lines holding a contact of hers replaced
    before (the number she sent from, "HP saya: ...", or the name a mail's From gives): a form of her own details
    ("Nama: Siti Rahayu\nHP: 0857...\nAlamat: ...\nLaporan: ..." from 0857... sent her name and address, its number
    alone replaced; from "Siti Rahayu <...>" her number and address), with a name's label or not ("Alamat: ...\nHP saya:
    ..."). Not from a heading or a label of someone else's in the run down (`_heads_someone_elses`: "Penipu:\nNama:
    Budi\nHP: 0813...\nNo saya: ...": the scammer's, the evidence)."""
    words = load_identity_words()
    if OWN_IDENTITY not in text:
        return text
    form = _form_lines(words, text)
    lines = [line.read for line in form]
    # A form of hers may give no name, her address beside her contact ("Alamat: Jl. Mawar 3\nHP saya: [anonim]"). The
    # labels are looked for with each run of spaces made one: searched from within a long run, their patterns took
    # time quadratic in it (8,000 spaces in an SMS held a worker 9 s).
    squeezed = _WORD_GAP.sub(" ", "\n".join(lines))
    if (words.sign_off_name_label.search(squeezed) is None and words.joined_name_label.search(squeezed) is None
            and not any(_labelled_address(words, line) is not None for line in lines)):
        return text
    # A line of hers replaced whole ("NIK: 3201..." as "[anonim]") is one of the run; a quoted one is someone else's
    # ("> Nama: Budi\n> HP: 0896...").
    labelled = [((_OPENING_LABEL.match(line) is not None or line.strip() == OWN_IDENTITY)
                 and not line.lstrip().startswith(">")) or part.aside for line, part in zip(lines, form, strict=True)]
    # An address's line right below an address under its label is one of their run, replaced with it below
    # ("Alamat: Jl. Mawar 3\nKel. Sukamaju, Kec. Cibinong"); so is a blank line between two labelled lines where it
    # parts no block of their own (`_joining_blank_lines`: "Nama: Siti Rahayu\n\nHP: [anonim]\n\nAlamat: ...": each
    # line a run of its own, her name and address stayed).
    continued = [False] * len(lines)
    for index in range(1, len(lines)):
        if not labelled[index] and (continued[index - 1] or _labelled_address(words, lines[index - 1]) is not None):
            labelled[index] = continued[index] = _continues_address(words, lines[index])
    labelled = [hers or joining for hers, joining in zip(labelled, _joining_blank_lines(words, lines, labelled),
                                                         strict=True)]
    written = list(lines)
    start = 0
    while start < len(lines):
        end = start + 1
        while end < len(lines) and labelled[end] == labelled[start]:
            end += 1
        # the line of words above the run may head it as someone else's ("Data penipu\nNama: ...")
        above = next((lines[index] for index in range(start - 1, -1, -1) if lines[index].strip()), "")
        if labelled[start] and not _heads_someone_elses(words, above):
            # down to a heading of someone else's, or of another part of the message ("Lokasi kejadian:\n- Alamat:
            # Jl. Kenanga 12": the incident's place, not hers), but hers ("Data pelapor:")
            run = [start, *takewhile(lambda index: not _heads_someone_elses(words, lines[index])
                                     and not _heads_another_part(words, lines[index]), range(start + 1, end))]
            run = run if not _heads_someone_elses(words, lines[start]) else []
            # a form giving no name below a line of theirs leading into it is theirs, down to a label of hers
            # ("Penipu tinggal di\nAlamat: Jl. Kenanga 12\nAlamat saya: ...\nHP: [anonim]": hers from there on)
            if _leads_into_theirs(words, above) and not any(
                    words.sign_off_name_label.match(lines[index]) or words.joined_name_label.match(lines[index])
                    for index in run):
                run = [*dropwhile(lambda index: not _label_says_hers(words, lines[index]), run)]
            # Each name's label opens the details of its own: hers those beside her contact ("Nama: Hendra Gunawan\n
            # HP: 0812...\nNama: Siti Rahayu\nHP: [anonim]" kept the first).
            named = _name_openers(words, [lines[index] for index in run])
            # the lines above the first name (no name of anyone's) and the name's details are one's where either holds
            # her contact ("Alamat: ...\nHP: [anonim]\nNama: Siti Rahayu": her name went on alone; a mail's "HP:
            # 0857...\nNama: [anonim]", her From's name: her number), but where the name's details give again what
            # those above gave ("Alamat: ...\n[anonim]\nNama: Joko\nAlamat: ...": another's details)
            if named and named[0] and _one_persons(words, [lines[index] for index in run], named):
                named = named[1:]
            for index in run:
                lines[index] = _joined_details_without_hers(words, lines[index])
            first_named = named[0] if named else 0  # the first name's details (a heading above it: "Data pelapor:")
            for first, last in pairwise([0, *(place for place in named if place), len(run)] if run else []):
                details = [lines[index] for index in run[first:last]]
                if _beside_her_contact(words, details, first=first in (0, first_named)):
                    for index in run[first:last]:
                        lines[index] = _details_line_without_hers(words, lines[index])
        start = end
    for index in range(1, len(lines)):
        if continued[index] and lines[index - 1] != written[index - 1] and lines[index - 1].endswith(OWN_IDENTITY):
            lines[index] = lines[index][:len(lines[index]) - len(lines[index].lstrip())] + OWN_IDENTITY
    return "".join(line.written(read) + line.after for line, read in zip(form, lines, strict=True))


def _joining_blank_lines(words: IdentityWords, lines: list[str], labelled: list[bool]) -> list[bool]:
    """Which of `lines` are blank lines between two `labelled` ones that part no blocks of their own: not above a
    heading alone on its line ("Pelapor:", "Data saya:") or a label of another part of the message ("TKP: Pasar
    Cibinong\nAlamat: ...", "Lokasi kejadian:"), nor between a block of someone else's (headed so above it or in it)
    and another's details (`_anothers_below`: "Data penipu\nNama: Budi\n\nNama: Siti ...": one run read as his, hers
    went with it); the rest of his joins his ("Penipu:\n\nNama: Budi\n\nAlamat: Jl. Kenanga 12")."""
    below: list[int | None] = [None] * len(lines)  # the next line of words below each
    following = None
    for index in range(len(lines) - 1, -1, -1):
        below[index] = following
        following = index if lines[index].strip() else following
    joining = [False] * len(lines)
    above = ""  # the last line of words
    theirs = False  # whether the block of labelled lines going on is someone else's
    for index, line in enumerate(lines):
        if not line.strip():
            next_line = below[index]
            joining[index] = index > 0 and (labelled[index - 1] or joining[index - 1]) \
                and next_line is not None and labelled[next_line] and not _opens_apart(words, lines[next_line]) \
                and not (theirs and _anothers_below(words, lines, next_line))
            continue
        if labelled[index] and (index == 0 or not (labelled[index - 1] or joining[index - 1])):
            theirs = _heads_someone_elses(words, above) or _leads_into_theirs(words, above)  # a block's first line
        theirs = theirs or (labelled[index] and _heads_someone_elses(words, line))
        above = line
    return joining


def _anothers_below(words: IdentityWords, lines: list[str], start: int) -> bool:
    """Whether the lines from `start` down to the next blank one hold the details of another than a block of someone
    else's above them: a name's label, a label saying hers ("HP saya:"), or her contact replaced before ("Terlapor:\n
    Nama: Budi\n\nAlamat: Jl. Mawar 3\nHP: [anonim]": read as his, her address went with it)."""
    for line in takewhile(str.strip, islice(lines, start, None)):
        if OWN_IDENTITY in line or _label_says_hers(words, line) or words.sign_off_name_label.match(line) is not None \
                or words.joined_name_label.match(line) is not None:
            return True
    return False


def _opens_apart(words: IdentityWords, line: str) -> bool:
    """Whether a labelled line below a blank one opens a block of its own: a heading alone on its line, someone
    else's, or a label of another part of the message (`_labels_another_part`: "TKP: ...", "Kantor: ...")."""
    return _OPENING_LABEL.match(line) is not None and (
        _alone_on_its_line(_OPENING_LABEL, line) or _heads_someone_elses(words, line)
        or _labels_another_part(words, line))


# The most characters of an address's line below her address's.
_ADDRESS_LINE_MAX = 80


def _continues_address(words: IdentityWords, line: str) -> bool:
    """Whether `line` reads as a line of a postal address below another, no label's and no quoted one's: opening with
    an address's word or holding its parts ("Kel. Sukamaju, Kec. Cibinong", "Kota Bogor 16911"), no sentence's word
    ("RT 05 sering banjir" is the report's)."""
    stripped = line.strip()
    if not stripped or len(stripped) > _ADDRESS_LINE_MAX or stripped.startswith(">") \
            or _OPENING_LABEL.match(line) is not None or words.sentence_word.search(line) \
            or _GIVEN_NUMBER.search(ascii_digits(line)) is not None \
            or any(_someone_elses_or_office(words, word) for word in _WORD.findall(line)):
        return False
    # the parts of an address below its street's: its neighbourhood, area, town, postal code ("No HP ...", "Jl.
    # Kenanga 12" and "Pasar Cibinong Blok A" open another's)
    parts = _address_parts(line, words.address_part) - {"numbered"}
    return bool(parts) or _NEIGHBOURHOOD.match(line) is not None


# A neighbourhood's number opening a line ("RT 02 RW 05").
_NEIGHBOURHOOD = re.compile(r"\s*(?:rt|rw)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _FormLine:
    """A line of a text as a form of details is read (`_form_lines`): `read`, and `after` it what followed it in the
    text; where its label was read otherwise than written, the label as read (`label_read`: "Nama: ") and as written
    (`label_written`: "Nama:\n" above its value, "Nama - " or "Nama " without a colon)."""

    read: str
    after: str
    label_read: str = ""
    label_written: str = ""
    aside: bool = False  # the report's sentence within a line of a form: one of the form's run, read as no label's

    def written(self, read: str) -> str:
        """`read` (this line as read, its value replaced or not) as the text had it."""
        if self.label_read and read.startswith(self.label_read):
            return self.label_written + read[len(self.label_read):]
        return read


# A sentence's end and the spaces after it, where a name's label may open a form of details in a line of prose; a
# word of prose before it (not a list's letter: "a. Nama: ..." is one line of a list).
_SENTENCE_GAP = re.compile(r"[.!?][^\S\n]+")
_PROSE_WORD = re.compile(r"[^\W\d_]{3}")


def _form_lines(words: IdentityWords, text: str) -> list[_FormLine]:
    """The lines of `text` as a form of details is read in them: a name's label after a sentence's end opening a line
    of its own ("Pungli di pasar. Nama: Siti Rahayu, HP: ...": an SMS is one line, her name and address stayed), a
    form's labels typed without their colon read with one (`_with_bare_labels`: "Nama Siti Rahayu HP 0812..."), and
    the value on the line below a name's or an address's label alone on its line read on the label's ("Nama:\nSiti
    Rahayu\nAlamat:\nJl. Mawar 3"): each reached the case store."""
    split = _with_bare_labels(words, _split_at_sentences(words, text))
    form: list[_FormLine] = []
    index = 0
    while index < len(split):
        line = split[index]
        below = split[index + 1] if index + 1 < len(split) and line.after.endswith("\n") else None
        if below is not None and not line.label_read and not below.label_read \
                and _value_below(words, line.read, below.read):
            value = below.read.lstrip()
            form.append(_FormLine(f"{line.read} {value}", below.after, f"{line.read} ",
                                  line.read + line.after + below.read[:len(below.read) - len(value)]))
            index += 2
        else:
            form.append(line)
            index += 1
    return form


def _split_at_sentences(words: IdentityWords, text: str) -> list[_FormLine]:
    """The lines of `text` (a carriage return before a line's end read as part of it), each split where a name's
    label or a bare one (`_with_bare_labels`) may open a form after a sentence's end in it, and in such a form where
    another of its labels does ("Nama: Siti Rahayu. HP: 0857.... Alamat: ...": each read as a line of its own, as the
    same form on lines is)."""
    split: list[_FormLine] = []
    for line in text.split("\n"):
        ending = "\r\n" if line.endswith("\r") else "\n"
        line = line.removesuffix("\r")
        start = read = 0  # the line's part not yet split off; how far it was read for a word of prose
        prose = aside = False  # whether that part holds a word of prose; whether it is the report's within a form
        opening = _form_opening(words, line, 0)  # the label of a form opening the part of the line going on
        if not line.lstrip().startswith(">"):
            for gap in _SENTENCE_GAP.finditer(line):
                prose = prose or _PROSE_WORD.search(line, read, gap.start()) is not None
                read = gap.start()
                # matched from the mark: a joined label is never read from within a run of spaces; in a form, after
                # its value whatever it is ("HP: 0857.... Alamat: ..."), and before the report's sentence
                opens = prose and any(label.match(line, gap.start() + 1) is not None for label in (
                    words.sign_off_name_label, words.joined_name_label, words.bare_form_label))
                in_form = opening is not None and opening.end() <= gap.start()
                following = _form_opening(words, line, gap.start() + 1) if in_form else None
                follows = following is not None and not _within_a_label(words, line, gap.start(), following.end())
                report = in_form and not (opens or follows) and _sentence_after(words, line, gap)
                if opens or follows or report:
                    # the sentence's mark read with what follows it, not as the end of a value ("Siti Rahayu.")
                    split.append(_FormLine(line[start:gap.start()], line[gap.start():gap.end()], aside=aside))
                    start = read = gap.end()
                    prose, aside = False, report
                    opening = _form_opening(words, line, start)
        split.append(_FormLine(line[start:], ending, aside=aside))
    split[-1] = replace(split[-1], after="")
    return [part for line in split for part in _split_at_labels(words, line)]


def _form_opening(words: IdentityWords, line: str, position: int) -> re.Match[str] | None:
    """A form's label at `position` in `line`, with its colon or typed without one (`bare_form_label`: "- NIK =
    3201...", "HP 0812..."), but a name's joined to a contact's ("Nama & No. WA: ...": one label)."""
    if words.joined_name_label.match(line, position) is not None:
        return None
    return words.form_label.match(line, position) or words.bare_form_label.match(line, position)


def _sentence_after(words: IdentityWords, line: str, gap: re.Match[str]) -> bool:
    """Whether the sentence after `gap` (a full stop and spaces in a form's value) is the report's, not more of the
    value: a sentence's word in it, no address's word opening it, and no abbreviation's full stop ("Alamat: Jl. Mawar
    3. Pak Budi minta 2jt." lost the report's words with her address; "Jl. Mawar 3. Kel. Sukamaju" is one address)."""
    before = _LAST_TOKEN.search(line, max(0, gap.start() - _ABBREVIATION_MAX - 1), gap.start())
    if before is not None and before.group().isalpha() and len(before.group()) <= _ABBREVIATION_MAX:
        return False  # "Jl.", "Gg.", "No.", "Bpk."
    following = _SENTENCE_GAP.search(line, gap.end())
    end = following.start() if following is not None else len(line)
    return words.address_word.match(line, gap.end()) is None and words.sentence_word.search(line, gap.end(), end) \
        is not None


# The word before a full stop, and the most letters of one the full stop abbreviates ("Jl.", "Kec.", "Bpk.").
_LAST_TOKEN = re.compile(r"\w+$")
_ABBREVIATION_MAX = 3


def _split_at_labels(words: IdentityWords, line: _FormLine) -> list[_FormLine]:
    """`line`, where it opens with a form's label (`form_label`), split before each of its labels after that one
    parted from the value before it by spaces, a bar, a slash or a dash (`form_label_within`: "Nama: Siti Rahayu HP:
    0857... Alamat: ..."): each read as the same form on lines is (a mail's number after her name in one line
    reached the case store)."""
    opening = words.form_label.match(line.read)
    if opening is None or line.read.lstrip().startswith(">"):
        return [line]
    parts, start, position = [], 0, opening.end()
    while (separator := words.form_label_within.search(line.read, position)) is not None:
        label = _form_opening(words, line.read, separator.end())  # the label the separator's lookahead read
        position = label.end() if label is not None else separator.end() + 1
        if _within_a_label(words, line.read, separator.start(), position):
            continue  # the space of "No HP:" ("..., No HP: ..." kept "No" on the name's value)
        parts.append(_FormLine(line.read[start:separator.start()], separator.group()))
        start = separator.end()
    return [*parts, _FormLine(line.read[start:], line.after)]


# How far before a label a longer one holding it is looked for ("Nomor HP:" of "HP:").
_LONGER_LABEL_REACH = 12


def _within_a_label(words: IdentityWords, line: str, position: int, label_end: int) -> bool:
    """Whether a form's label starting at a word just before `position` runs on to `label_end`: the space at
    `position` is one within a label ("No HP:", "Nomor HP:")."""
    for word in _LABEL_WORD.finditer(line, max(0, position - _LONGER_LABEL_REACH), position):
        if not word.group()[:2].isalpha():
            continue  # a number or a list's letter ("3. HP:" is a house number and a label)
        longer = words.form_label.match(line, word.start())
        if longer is not None and longer.end() >= label_end:
            return True
    return False


_LABEL_WORD = re.compile(r"(?<![\w.])[\w.]+")


def _with_bare_labels(words: IdentityWords, lines: list[_FormLine]) -> list[_FormLine]:
    """`lines` with a form's labels typed without a colon (`[own_name]` bare_form_labels: "Nama Siti Rahayu", "HP -
    0812...", "Alamat = Jl. Mawar 3"; a colon takes keys on a phone's keypad) read with one, each on a line of its own
    ("Nama Siti Rahayu, HP 0812..., Alamat Jl. Mawar 3"): where a line opens with one and another follows in it, or the
    line of words next to it opens with a label; each value without a sentence's word ("Nama pelakunya tidak tahu")."""
    found = [_bare_labels(words, line.read) if not (line.label_read or line.aside) else [] for line in lines]
    opens = [bool(labels) or _OPENING_LABEL.match(line.read) is not None for labels, line in zip(found, lines,
                                                                                                strict=True)]
    worded = [index for index, line in enumerate(lines) if line.read.strip()]
    read: list[_FormLine] = []
    for index, (line, labels) in enumerate(zip(lines, found, strict=True)):
        place = bisect_left(worded, index)
        beside = any(opens[other] for other in (worded[place - 1] if place else None,
                                                worded[place + 1] if place + 1 < len(worded) else None)
                     if other is not None and abs(other - index) <= _BLANK_LINES_APART + 1)
        if not labels or (len(labels) == 1 and not beside):
            read.append(line)
            continue
        start = 0  # where each label's part begins: the line's start, then the label itself past its separator
        for label, next_label in zip(labels, [*labels[1:], None], strict=True):
            as_read = f"{line.read[start:label.start('gap')]}: "
            if next_label is None:
                value_end, after = len(line.read), line.after
            else:
                value_end, after = next_label.start(), line.read[next_label.start():next_label.start("label")]
            read.append(_FormLine(as_read + line.read[label.end():value_end], after, as_read,
                                  line.read[start:label.end()]))
            start = next_label.start("label") if next_label is not None else start
    return read


# The most blank lines between two lines of a form typed without colons.
_BLANK_LINES_APART = 2


def _bare_labels(words: IdentityWords, line: str) -> list[re.Match[str]]:
    """The bare labels of a form in `line` (`_with_bare_labels`): one opening it, and each after it past a comma, a
    semicolon or spaces, but after a word making it the value's (`[own_name]` before_bare_labels: "atas nama Budi",
    "a.n. Budi"); none where the line has a colon's label or is quoted, a label is a compound's word (`_compound`:
    "Nama baik", "Nama desa ...", "WA grup ..."), or a value holds a sentence's word."""
    if line.lstrip().startswith(">") or _OPENING_LABEL.match(line) is not None:
        return []
    opening = words.bare_form_label.match(line)
    if opening is None or _compound(words, opening):
        return []
    # searched from past the opening label's spaces: a label's word right after it is its value's ("Nama Wa Ode ...")
    found = [opening, *(label for label in words.bare_form_label_within.finditer(line, opening.end())
                        if not _compound(words, label) and not _value_word_before(words, line, label.start()))]
    ends = [label.start() for label in found[1:]] + [len(line)]
    if any(words.sentence_word.search(line, label.end(), end) for label, end in zip(found, ends, strict=True)):
        return []
    return found


def _compound(words: IdentityWords, label: re.Match[str]) -> bool:
    """Whether a bare label's word is a compound's with the word after it (`[own_name]` label_compounds: "Nama baik
    keluarga", "Nama rekening Budi", "WA grup RT"), not a label; any other word is its value, in lowercase too ("Nama
    siti rahayu": a phone capitalizes a line's first letter alone; "Nama pelaku Budi": the accused's)."""
    after = _WORD.match(label.string, label.end())
    return after is not None and after.group().lower() in words.label_compounds


# How far before a bare label a word making it part of the value is looked for ("atas nama ", "a.n. ").
_VALUE_WORD_REACH = 12


def _value_word_before(words: IdentityWords, line: str, position: int) -> bool:
    """Whether the word right before `position` makes the bare label after it part of a value (`[own_name]`
    before_bare_labels: "WA 0813... atas nama Budi Santoso": the scammer's name, not a label of hers)."""
    return words.before_bare_label.search(line, max(0, position - _VALUE_WORD_REACH), position) is not None


def _value_below(words: IdentityWords, line: str, below: str) -> bool:
    """Whether `line` is a name's or an address's label alone on its line ("Nama:", "Alamat :") and `below` its value:
    a line of words, no label nor a quoted line's."""
    if line.lstrip().startswith(">") or not below.strip() or below.lstrip().startswith(">") \
            or _OPENING_LABEL.match(below) is not None:
        return False
    return any(_alone_on_its_line(label, line)
               for label in (words.sign_off_name_label, words.joined_name_label, words.address_label))


def _one_persons(words: IdentityWords, run: list[str], named: list[int]) -> bool:
    """Whether the lines of `run` above its first name's label (`named[0]`) and that name's details are one person's:
    either holds her contact, and no label above is given again below it; not below a line ending in a heading ("No
    saya ... Pelakunya:\nNama: Budi"), nor with a number left above beside hers ("HP: [anonim]\nHP: 0813...\nNama:
    Budi": another's)."""
    details_end = named[1] if len(named) > 1 else len(run)
    above_name = run[named[0] - 1]
    if above_name.rstrip(" \t*").endswith(":"):
        return False
    hers_above = any(_holds_her_contact(words, line) for line in run[:named[0]])
    # her contact above, and a phone's number not hers with it (her NIK is hers)
    left = _NIK.sub(" ", ascii_digits("\n".join(run[:named[0]]).replace(OWN_IDENTITY, " ")))
    if hers_above and _GIVEN_NUMBER.search(left) is not None:
        return False
    if not hers_above and not any(_holds_her_contact(words, line) for line in run[named[0]:details_end]):
        return False
    above = {_label_words(line) for line in run[:named[0]]} - {""}
    return above.isdisjoint(_label_words(line) for line in run[named[0] + 1:details_end])


def _label_words(line: str) -> str:
    """A line's label as its words, folded ("No. HP :" as "no hp"); "" for a line with none."""
    label = _OPENING_LABEL.match(line)
    return " ".join(_folded(word) for word in _WORD.findall(label.group(1))) if label is not None else ""


def _heads_another_part(words: IdentityWords, line: str) -> bool:
    """Whether `line` is a heading alone on its line (a label and its colon, nothing after them) of another part of
    the message (`_labels_another_part`: "Lokasi kejadian:", "TKP:", "Kronologi:"). Any other ("Pekerjaan:", an empty
    field of her form; "Biodata:") leaves her details running on below it."""
    return _alone_on_its_line(_OPENING_LABEL, line) and _labels_another_part(words, line)


def _labels_another_part(words: IdentityWords, line: str) -> bool:
    """Whether `line` opens with a label of another part of the message (`[own_name]` other_part_words among its
    words)."""
    return not words.other_part_words.isdisjoint(_label_words(line).split())


def _joined_details_without_hers(words: IdentityWords, line: str, in_her_form: bool = False) -> str:
    """A line under a name's label joined to a contact's (`joined_name_label`: "Nama/HP: Siti Rahayu / 0857...") opening
    with her name or her contact replaced before, her contact right after her name, or in a form of her details
    (`in_her_form`): all it gives is hers, her number beside her name, her name beside her number ("Nama/HP: Siti
    Rahayu / [anonim]" sent her name; a mail's "Nama/HP: [anonim] / 0857..." her number; "Nama/Alamat: Siti Rahayu,
    Jl. Mawar 3\nHP: [anonim]" both). Not someone else's (`_joined_someone_elses`), nor with hers further on alone
    ("Nama/HP: Hendra Gunawan / 0813..., menelpon saya di [anonim]": his, the evidence)."""
    label = words.joined_name_label.match(line)
    if label is None or _joined_someone_elses(words, line):
        return line
    value = line[label.end():]
    if not value.lstrip().startswith(OWN_IDENTITY):
        # no name read there ("Nama/WA: siti / [anonim]", not someone else's): nothing on it is anyone else's
        name = _labelled_name(words, line, label.end())
        if not in_her_form and (OWN_IDENTITY not in value if name is None
                                else _HERS_BESIDE_NAME.match(line, name[1]) is None and not _listed_whole(value)):
            return line
    return line[:label.end()] + value[:len(value) - len(value.lstrip())] + OWN_IDENTITY


# Her contact already replaced right after a name, her post in brackets ("Siti Rahayu (Sekdes) / ..."), a mark
# between (a comma, a semicolon, a colon, a full stop, a slash, a dash of any length, a bar) or none.
_HERS_BESIDE_NAME = re.compile(r"[^\S\n]*(?:\([^()\n]{1,40}\))?[^\S\n]*[,;:./\-|\u2013\u2014]?[^\S\n]*"
                               + re.escape(OWN_IDENTITY))


# What parts the items of a joined label's value: "Siti Rahayu, Jl. Mawar 3; [anonim] / ...".
_VALUE_ITEMS = re.compile(r"[,;/|]")


def _listed_whole(value: str) -> bool:
    """Whether her contact replaced before is one item of a joined label's value, and no other number is left in it:
    the label's items in its order ("Nama, Alamat, HP: Siti Rahayu, Jl. Mawar 3, [anonim]": her name and address
    stayed), not a clause of someone else's ("..., menelpon saya di [anonim]")."""
    return any(_LISTED_HERS.fullmatch(item) for item in _VALUE_ITEMS.split(value)) \
        and _GIVEN_NUMBER.search(ascii_digits(value.replace(OWN_IDENTITY, " "))) is None


# An item of a joined label's value that is her contact replaced before alone, a word in brackets after it or a full
# stop ending it or none ("[anonim] (WA).").
_LISTED_HERS = re.compile(r"\s*" + re.escape(OWN_IDENTITY) + r"[^\S\n]*(?:\([^()\n]{1,20}\))?[^\S\n]*\.?\s*")


def _joined_someone_elses(words: IdentityWords, line: str) -> bool:
    """Whether `line` is a joined name's label (`joined_name_label`) and someone else's details: a word of someone
    else's after it ("Nama/HP: Budi Santoso (penipu) / 0813..."), or a name that is the one reported's
    (`_labelled_name`: "Nama/HP: Kades Hendra / 0813...")."""
    label = words.joined_name_label.match(line)
    if label is None:
        return False
    return any(_someone_elses(words, word) for word in _WORD.findall(line, label.end())) \
        or _reported_after(words, line, label.end())


def _name_openers(words: IdentityWords, run: list[str]) -> list[int]:
    """The places in a run of labelled lines where a name's label opens details of their own: each "Nama:", and each
    joined one ("Nama/HP:") giving a name that shares no word with the name above it; one giving none or the same
    name again is a line of the details it stands in ("Nama: Siti Rahayu\nAlamat: ...\nNama/HP: Siti / 0812...":
    read apart, her name and address above stayed); so is one below her name replaced under "Nama:" (a mail's From's,
    whose words are gone: "Nama: [anonim]\nNama, HP: Siti / 0857..." kept her number and address)."""
    openers: list[int] = []
    above: set[str] = set()
    hers_above = False
    for place, line in enumerate(run):
        label = words.sign_off_name_label.match(line) or words.joined_name_label.match(line)
        span = _given_name(words, line, label.end(), offices_end=False) if label is not None else None
        given = {word.lower() for word in _WORD.findall(line, *span)} if span is not None else set()
        named = label is not None and label.re is words.sign_off_name_label
        if named or (given and given.isdisjoint(above) and not hers_above):
            openers.append(place)
        if named:
            hers_above = _HER_NAME_WHOLE.match(line[label.end():].lstrip()) is not None  # type: ignore[union-attr]
        above = given or above
    return openers


def _names_the_one_reported(words: IdentityWords, line: str) -> bool:
    """Whether `line` is a name's label and a name that is the one reported's (`_labelled_name`)."""
    label = words.sign_off_name_label.match(line)
    return label is not None and _reported_after(words, line, label.end())


def _reported_after(words: IdentityWords, line: str, start: int) -> bool:
    """Whether a name is read after a name's label ending at `start` and it is the one reported's (`_labelled_name`
    reads none there)."""
    return _given_name(words, line, start, offices_end=False) is not None and _labelled_name(words, line, start) is None


def _beside_her_contact(words: IdentityWords, details: list[str], first: bool) -> bool:
    """Whether the lines of one name's details hold a contact of hers replaced before (OWN_IDENTITY under a label no
    name's: "HP: [anonim]", not "Pelapor: [anonim]"; a line replaced whole only in the first name's details: a mail's
    sign-off replaces every contact line in it, the accused's below hers too). Not where each is given as hers ("HP
    saya: [anonim]") beside a phone number left: the form is someone else's ("Nama: Budi\nRek: BCA ...\nHP: 0813...
    \nHP saya: [anonim]": the scammer's details, her number given beside them); under a bare label her contact is the
    form's ("Nama: Siti Rahayu\nNIK: 3201...\nHP: [anonim]": her NIK is no one else's number), her address with it
    whoever the name is."""
    contacts = [line for line in details if _holds_her_contact(words, line) and (first or line.strip() != OWN_IDENTITY)]
    if not contacts:
        return False
    given_as_hers = all(_label_says_hers(words, line) for line in contacts)
    # Given as hers beside the one reported ("Nama: Joko Susilo, penipu\nAlamat: ...\nNo saya: [anonim]"): his
    # details, his address too.
    return not given_as_hers or (
        _GIVEN_NUMBER.search(ascii_digits("\n".join(details).replace(OWN_IDENTITY, " "))) is None
        and not any(_names_the_one_reported(words, line) for line in details))


def _label_says_hers(words: IdentityWords, line: str) -> bool:
    """Whether `line` opens with a label one of her own words is in ("HP saya:", "Alamat saya:")."""
    label = _OPENING_LABEL.match(line)
    return label is not None and not words.self_words.isdisjoint(word.lower() for word in _WORD.findall(label.group(1)))


def _holds_her_contact(words: IdentityWords, line: str) -> bool:
    """Whether `line` holds OWN_IDENTITY other than a name replaced under a reporter's label ("Nama: [anonim], HP:
    [anonim]" does, "Pelapor: [anonim]" does not), or her name replaced under a name's label (a mail's "Nama:
    [anonim]": the From's name, her number unknown to the gateway); under a joined one, read as hers whole
    (`_joined_details_without_hers`: "Nama/HP: [anonim]", not "Nama/HP: Hendra / 0813..., menelpon saya di
    [anonim]")."""
    if (joined := words.joined_name_label.match(line)) is not None:  # hers read whole, not further on alone
        return line[joined.end():].strip() == OWN_IDENTITY
    label = words.reporter_label.match(line) or words.sign_off_reporter_label.match(line) \
        or words.sign_off_name_label.match(line)
    if label is None:
        return OWN_IDENTITY in line
    value = line[label.end():].lstrip()
    # Her name replaced whole under a name's label: only the name she is known by is (a mail's From, whose number the
    # gateway does not know); a reporter's label's name is replaced whoever it is
    if label.re is words.sign_off_name_label and _HER_NAME_WHOLE.match(value) is not None:
        return True
    return OWN_IDENTITY in value.removeprefix(OWN_IDENTITY)


# A name's value that is her name replaced and nothing more of its clause but her post in brackets ("[anonim]",
# "[anonim], HP: ...", "[anonim] (Sekdes), HP: ..."), or the next item's number of a list in one line ("[anonim] 2").
_HER_NAME_WHOLE = re.compile(re.escape(OWN_IDENTITY) + r"[^\S\n]*(?:\([^()\n]{1,40}\)[^\S\n]*)?(?:[,;.]|\d{1,3}$|$)")


def _details_line_without_hers(words: IdentityWords, line: str) -> str:
    """A line of her details' form with the name after a name's label, the address after an address's label or her
    numbers replaced by OWN_IDENTITY ("Nama: Siti Rahayu, HP: [anonim]", "Alamat: Jl. Mawar 3 RT 02", "NIK: 3201..."),
    but for the one reported (`_labelled_name`) and what a word of someone else's or an office marks theirs on the line
    (`_theirs_after`: "Alamat: Jl. Kenanga 12 (rumah kades)", "HP: 0813... (nomor penipu)")."""
    if words.joined_name_label.match(line) is not None:  # hers whole, but someone else's
        return _joined_details_without_hers(words, line, in_her_form=True)
    if (label := words.sign_off_name_label.match(line)) is not None:
        span = _labelled_name(words, line, label.end())
        if span is None and _given_name(words, line, label.end(), offices_end=False) is None:  # no name read there
            span = _few_plain_words(words, line, label.end())
        line = line if span is None else line[:span[0]] + OWN_IDENTITY + line[span[1]:]
        if not line[label.end():].lstrip().startswith(OWN_IDENTITY):  # the one reported's: his numbers after it
            return line
        return _contact_clauses_without_hers(words, line, label.end())
    if (value_at := _labelled_address(words, line)) is not None:
        if line.startswith(OWN_IDENTITY, value_at):
            return line
        hers_end = _hers_end(words, line, value_at)
        kept = line[value_at:hers_end].rstrip()
        return line if not kept else line[:value_at] + OWN_IDENTITY + line[value_at + len(kept):]
    # her other numbers there: a second phone's, her NIK, her account's ("HP 2: 0813...", "NIK: 3201...", "Rek saya:
    # ..."); not those her account of what happened gives, under its label (`account_labels`: "Laporan: penipu
    # menelpon dari 0812...") or beside a word of someone else's ("No HP penipu: ..."), or an office in its label ("HP
    # kades: ..."; one after the number may be her post, "NIK: 3201... (Sekdes)")
    label = _OPENING_LABEL.match(line)
    if label is None or any(_folded(word) in words.account_labels or _someone_elses(words, word)
                            for word in _WORD.findall(line)[:_ACCOUNT_LABEL_WORDS]) \
            or any(words.office_after_name.fullmatch(word) for word in _WORD.findall(label.group(1))):
        return line
    read = ascii_digits(line)
    hers_end = _hers_end(words, line, label.end())
    return _replaced_spans(line, [found.span() for pattern in (_GIVEN_NUMBER, _NIK)
                                  for found in pattern.finditer(read, 0, hers_end)])


def _hers_end(words: IdentityWords, line: str, start: int) -> int:
    """Where what is hers on a line of her form ends, from `start` (a label's value), at a word of someone else's or an
    office: `start` itself before a bracket or a clause marking what stands before it theirs (`_marks_theirs`: "Jl.
    Kenanga 12 (rumah kades)", "0813..., nomor penipu"); the clause holding it where that has a number of its own or is
    a sentence (", No penipu: 0813...", "(penipu tinggal di Jl. Kenanga 12)", ". Kades minta ..."); else the line's end:
    words describing hers are hers with it ("Jl. Mawar 3 (dekat rumah kades)", "0857... (pernah ditelpon penipu)"), and
    so is her own as the victim ("korban penipu")."""
    theirs = _theirs_after(words, line, start)
    opener = None if theirs is None else _last_opener(line, start, theirs)
    if theirs is None or opener is None:
        return len(line)
    if opener.group() == ".":  # a sentence after hers ("HP: 0857.... Kades minta pungli")
        return opener.start()
    clause = line[opener.end():_clause_end(line, theirs)]
    if opener.group() in "(," and _marks_theirs(words, clause, opener.group() == "("):  # ";" opens an item of its own
        return start
    return opener.start() if any(char.isdigit() for char in ascii_digits(clause)) else len(line)


def _last_opener(line: str, start: int, end: int) -> re.Match[str] | None:
    """The last mark opening a clause (`_CLAUSE_OPENER`) between `start` and `end` on `line`."""
    return next(reversed([*takewhile(lambda found: found.start() < end, _CLAUSE_OPENER.finditer(line, start))]), None)


def _clause_end(line: str, at: int) -> int:
    """Where the clause holding `at` ends: a closing bracket, a comma, a semicolon or the line's end."""
    return min((found for found in (line.find(mark, at) for mark in "),;") if found >= 0), default=len(line))


def _marks_theirs(words: IdentityWords, clause: str, bracket: bool = False) -> bool:
    """Whether a bracket's or a clause's words mark what stands before them theirs: one of `belongings` and a word of
    someone else's or an office, or that word of someone else's alone, two words after it at most, none of hers, no
    number ("nomor penipu", "rumah kades Hendra", "penipu"; not "kades" alone, maybe her post); a label of theirs in
    a bracket (`bracket`: "(pelaku: Budi)"), but not in a clause, where it opens their own details (", pelaku: Kades
    Hendra")."""
    if bracket:
        clause = clause.replace(":", " ", 1)
    said = [word.lower() for word in _WORD.findall(clause)]
    owned = bool(said) and said[0] in words.belongings
    said = said[1:] if owned else said
    return 0 < len(said) <= 3 and ":" not in clause and words.self_words.isdisjoint(said) \
        and (_someone_elses_or_office(words, said[0]) if owned else _someone_elses(words, said[0])) \
        and not any(char.isdigit() for char in ascii_digits(clause))


def _theirs_after(words: IdentityWords, line: str, start: int, offices: bool = True) -> int | None:
    """Where the first word of someone else's (not her own as the victim: "korban penipu") or an office (`offices`)
    after `start` stands on `line`."""
    found = [match.start() for match in words.someone_else.finditer(line, start) if not match.group("victim")]
    if offices:
        found += [word.start() for word in _WORD.finditer(line, start)
                  if words.office_after_name.fullmatch(word.group())]
    return min(found, default=None)


def _contact_clauses_without_hers(words: IdentityWords, line: str, start: int) -> str:
    """Her name's line in a form of her details with the numbers in its clauses under a contact's label, and the address
    in one under an address's label, after `start` replaced ("Nama: [anonim], HP: 0857..., NIK: 3201..., Alamat: ...":
    a mail's, whose number the gateway does not know), up to the clause of a word of someone else's ("Nama: [anonim],
    Terlapor: Kades Hendra, HP: 0813..."; an office there is her post, "Nama: [anonim], camat desa, HP: ..."), but one
    marked theirs by what follows it (`_marks_theirs`: "HP: 0813... (nomor penipu)") or under a label of someone
    else's ("HP penipu: 0813...")."""
    theirs = _theirs_after(words, line, start, offices=False)
    opener = None if theirs is None else _last_opener(line, start, theirs)
    limit = len(line) if theirs is None else start if opener is None else opener.start()
    read = ascii_digits(line)
    spans: list[tuple[int, int]] = []
    for clause in _CONTACT_CLAUSE.finditer(line, start, limit):
        if _marked_theirs_after(words, line, clause.end()):
            continue
        if _labelled_address(words, line[clause.start(1):clause.end(2)]) is not None:
            # her address as a clause ("Nama: Siti Rahayu, HP: ..., Alamat: Jl. Mawar 3 RT 02"), to the next label's
            labelled = _CONTACT_CLAUSE.search(line, clause.end(2), limit)
            value = line[clause.start(2):labelled.start() if labelled is not None else limit]
            at = clause.start(2) + len(value) - len(value.lstrip())
            spans.append((at, at + len(value.strip())))
        elif _is_contact_label(clause.group(1).strip().lower()):
            spans += [found.span() for pattern in (_GIVEN_NUMBER, _NIK)
                      for found in pattern.finditer(read, clause.start(2), clause.end(2))]
    return _replaced_spans(line, spans) if spans else line


def _marked_theirs_after(words: IdentityWords, line: str, at: int) -> bool:
    """Whether the bracket or the clause right after `at` marks what stands before it theirs (`_marks_theirs`)."""
    following = _NEXT_CLAUSE.match(line, at)
    return following is not None and _marks_theirs(words, following.group(1), "(" in following.group())


# A bracket or a clause right after a value: its words up to its end ("(nomor penipu)", ", rumah kades"; a semicolon
# opens an item of its own).
_NEXT_CLAUSE = re.compile(r"[^\S\n]*[(,]([^(),;\n]*)")
# What opens a clause on a line of her form: a bracket, a comma, a semicolon, a sentence's end (after a number or a word
# longer than an abbreviation's, "Jl. Mawar", before a word).
_CLAUSE_OPENER = re.compile(r"[(,;]|(?:(?<=\d)|(?<=[^\W\d_]{4}))\.(?=[^\S\n]+\w)")
# A clause of a line opening with a label and its colon after a comma or a semicolon (", HP: 0857..."), its value up
# to a bracket ("HP: 0857... (nomor penipu 0813...)").
_CONTACT_CLAUSE = re.compile(r"[,;][^\S\n]*([^:,;(\n]{1,40}):([^,;(\n]*)")


def _few_plain_words(words: IdentityWords, line: str, start: int) -> tuple[int, int] | None:
    """The span of the words after a name's label in a form of her details where no name is read there (`_given_name`:
    "Nama: siti", one word in lowercase, as a feature phone types it; it stayed): hers, up to `_FEW_WORDS` words of
    letters ending the clause, none of someone else's or an office ("Nama: penipu", "Nama: kades" stay)."""
    clause = _PLAIN_CLAUSE.match(line, start)
    end = clause.end()  # type: ignore[union-attr]  # matches empty at least
    if end < len(line) and line[end] not in _CLAUSE_ENDS:  # a bracket, another line: not a clause of words alone
        return None
    found = [*_WORD.finditer(line, start, end)]
    if not 0 < len(found) <= _FEW_WORDS or any(not word.group().isalpha() or _someone_elses_or_office(
            words, word.group()) for word in found):
        return None
    return found[0].start(), found[-1].end()


# The words after a name's label up to the end of their clause (`_CLAUSE_ENDS` or the line's end).
_PLAIN_CLAUSE = re.compile(r"[^,;.!?()\[\]\n]*")
_CLAUSE_ENDS = ",;.!?"
_FEW_WORDS = 3


# The words of a line's start read for a label of her account ("Isi laporan:", "Kronologi kejadian:").
_ACCOUNT_LABEL_WORDS = 3


def own_identity_remover(envelope: Mapping[str, Any]) -> Callable[[str], str]:
    """What `without_own_identity` does to a report's text, for another text of the same report: a plain-text file
    it carries (workers/image_metadata.py), whose words the sender wrote as they wrote the mail's."""
    def remove(text: str) -> str:
        """`text` cleaned as the report's own text is, for the same sender and channel."""
        return str(without_own_identity({**envelope, "text": text}, ("text",))["text"])

    return remove


def _replaced(pattern: re.Pattern[str], value: str) -> str:
    """`value` with `pattern`'s matches replaced by OWN_IDENTITY, its digits read in any script: a number typed
    `０８１２ ３４５６ ７００１` (fullwidth) or `٠٨١٢...` (Arabic-Indic) is the sender's number as `0812...` is.
    ascii_digits keeps every character's place, so a match in the digits read is a match in the text as typed."""
    read = ascii_digits(value)
    parts, position = [], 0
    for match in pattern.finditer(read):
        end = match.end()
        # a number's opening bracket is read with it, and so is its closing one ("(0812-3456-7001)" left "[anonim])")
        if read.startswith(_OPENING_BRACKETS, match.start()) and read.startswith(_CLOSING_BRACKETS, end):
            end += 1
        parts += (value[position:match.start()], OWN_IDENTITY)
        position = end
    return "".join(parts) + value[position:]


_OPENING_BRACKETS = ("(", "\uff08")
_CLOSING_BRACKETS = (")", "\uff09")
