"""Inbound message -> report draft or query, as a short pipeline of named pure steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pydantic import ValidationError

from gateway.errors import RejectedInput
from gateway.logs import get_logger
from gateway.replies import load_replies
from gateway.tracking import MIN_LENGTH
from normalizer.envelope import Channel, ReportDraft, Sender
from normalizer.grammar import Action, Grammar, ParsedText, load_grammar
from normalizer.inbound import InboundMessage
from normalizer.keywords import addition_of_a_status_query, hashtag_flags, parse_text
from normalizer.prefixes import STACKED_PREFIXES
from normalizer.quoted_posts import relayed_words
from normalizer.sender import normalize_sender
from normalizer.signature import signature_line
from normalizer.small_talk import awaits_an_answer, closing_phrase, is_courtesy
from normalizer.text import clean_text, cut_text, fold_word

log = get_logger()

# Channels whose text carries the keyword grammar (mail has a subject and a body instead).
GRAMMAR_CHANNELS = frozenset({Channel.SMS, Channel.TWITTER, Channel.INSTAGRAM})
# Channels of public posts, where a post may relay another's by hand ("RT @handle: ...").
SOCIAL_CHANNELS = frozenset({Channel.TWITTER, Channel.INSTAGRAM})


# Queries left unanswered and unfiled: only thanks, only an opt-out word or only an opt-in word. The reason logged
# for each.
UNANSWERED = {Action.COURTESY: "only_courtesy_words", Action.OPT_OUT: "only_opt_out_words",
              Action.OPT_IN: "only_opt_in_words"}

# Queries answered with how to use 1708: help, and how to ask for a status ("CEK", "cek dong").
_HELP = (Action.HELP, Action.STATUS_HELP)


@dataclass(frozen=True, slots=True)
class Query:
    """A message that is not reported: a status check, a help request, a mistyped ID (answered), a courtesy
    ("Terima kasih", "Ok 👍": left unanswered, as an answer would only draw another), an opt-out ("STOP": left
    unanswered, as the citizen asked for no more messages) or an opt-in ("START": Twilio's word, nothing to answer)."""

    action: Action
    message: InboundMessage
    language: str
    tracking_id: str | None = None


@dataclass(frozen=True, slots=True)
class Normalized:
    """The pipeline's result: exactly one of `draft` (a report or follow-up) and `query` is set. `mistyped_id`: the
    Tracking ID as typed when its check digit failed and a photo sent with it was filed as a new report, so that the
    reply can say the ID was not valid."""

    draft: ReportDraft | None = None
    query: Query | None = None
    language: str = "id"
    mistyped_id: str | None = None
    # A status query whose words after the ID tell the report something ("CEK <id> kepala dinas minta setoran lagi"):
    # filed as a follow-up of it, whose answer says both that the words were added and the status asked for.
    asks_status: bool = False
    # A text cut at the limit (`text_truncated`): its own length and how many of its characters the report kept
    # (`cut_lengths`), which a mail's acknowledgement tells the citizen; None when it was kept whole.
    cut: tuple[int, int] | None = None


def _parse(message: InboundMessage, text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    if message.channel in GRAMMAR_CHANNELS:
        return parse_text(text, grammar, shortest_id=shortest_id)
    # Mail keeps its text whole; the citizen asks for anonymity or confidentiality in the subject ("ANONIM: ...",
    # "#rahasia"), with a hashtag in the body, or with the flag word opening or closing the body as the SMS help
    # teaches ("ANONIM" above the words, "... Terima kasih. ANONIM"): missed, their address went to the agency. The
    # subject is read past the reply and forward prefixes a client put before it ("Fwd: ANONIM pungli", the citizen's
    # own mail sent on): read with them, the flag was missed. The body's hashtags are read by the grammar's own reading
    # (`hashtag_flags`: a "#" in any compatibility form, the word through NFKC, "#WBS_Anonim", "#anonim+rahasia"): read
    # here by a reading of its own, "#WBS_Anonim" was a named report and "#rahasia_negara" ("state secret") one kept
    # from the citizen's own view.
    in_subject = parse_text(clean_text(STACKED_PREFIXES.sub("", message.subject or "")), grammar)
    in_body = parse_text(text, grammar)
    body_flags = hashtag_flags(text, grammar)
    return ParsedText(action=Action.REPORT, text=text, language=in_body.language,
                      anonymous=in_subject.anonymous or in_body.anonymous or "anonymous" in body_flags,
                      confidential=in_subject.confidential or in_body.confidential or "confidential" in body_flags)


@dataclass(frozen=True, slots=True)
class MailQuery:
    """What a mail asks when it only asks the status of one report: `tracking_id`, that report's; or, not `valid`,
    the number as typed where the SMS grammar takes it for a mistyped ID (`Action.BAD_TRACKING_ID`: a check digit
    that fails, a number too short after `CEK`), answered `[bad_tracking_id]` as by SMS. `words`: what the body says
    after the ID (or, the query in the subject, the whole body), "" when that adds nothing (thanks, a sign-off): the
    text of the addition when a file comes with a valid query (by SMS, the words after the ID with a photo)."""

    tracking_id: str
    valid: bool = True
    words: str = ""
    # A status question in a report's thread that is also a grievance about its handling (`thread_grievances`: "Kok
    # belum ditanggapi?"): filed as the citizen's addition, and answered with the status it asks all the same. Given
    # only to a caller that asks for it (`mail_status_query`'s `grievances`).
    grievance: bool = False


def mail_status_query(subject: str, text: str, *, shortest_id: int = MIN_LENGTH, with_a_file: bool = False,
                      thread: str | None = None, signer: frozenset[str] = frozenset(),
                      grievances: bool = False) -> MailQuery | None:
    """The Tracking ID a mail asks the status of when its words are that query and nothing else ("CEK 10000004" in
    the subject, the body or both, naming one ID), or the mistyped ID it asks with ("CEK 10000005": filed, it was a
    new report and acknowledged as one); None for any other mail. `subject`: its words past reply prefixes
    and our tag ("" for none); `text`: the body past quoted history and signature. Read with the SMS grammar, as a
    mail's text otherwise is not (`_parse`): filed, a CEK by mail was a new report (or an addition "CEK <id>") and
    its writer was acknowledged with a Tracking ID instead of the status. A query with words after its ID ("CEK
    10000004 jalan rusak") is filed as before; thanks or a sign-off after it ("CEK 10000004 terima kasih", "Terima
    kasih,\nBudi" below it: `_adds_nothing`) is none, and a body of only those below a subject's query neither; nor is a
    status question without an ID in the other part ("Cek status laporan", "Status" over "CEK 10000004"). Lines below
    a closing are a sign-off when they are the From's name or look like a name (`_signed_name`).

    `with_a_file`: a file comes with the mail, and the query names the report it is for whatever the body says after
    the ID or below the subject's query ("CEK 10000004 lubangnya makin besar", a signature with a phone number), as
    by SMS a photo with those words: read as a query alone, such a mail was a new report, open, its sender's name and
    number beside the ID of their anonymous report. A subject of other words is then the addition's subject.

    `thread`: the report the mail answers in its thread (our tag in its subject, our reply in its references): a
    status question without an ID and nothing else ("CEK", "Bagaimana status laporan saya?") asks that report's
    status. Filed, it went to the agency as the citizen's addition and its writer was told the addition was taken.
    Not a grievance about its handling (`[status_questions] thread_grievances`: "Kok statusnya selesai?"), which
    the agency must read; with `grievances`, such a question is the thread's query all the same, `grievance` (filed,
    and answered with the status too). "Sudah ... belum" is a question, not a grievance ("Laporan saya sudah diproses
    belum ya?": `_grieves`). `signer`: the words of the name the mail's From gives, folded: a last paragraph of thanks
    or a closing with those words below it is no part of the query (`_without_sign_off`), and lines of those words
    below a closing are a name however they are cased (`_signed_name`)."""
    grammar = load_grammar()
    body = clean_text(text)
    words = body.strip()
    asked: set[tuple[str, bool]] = set()
    asked_without_id = False
    grieved = False
    for part, in_body in ((clean_text(subject), False), (body, True)):
        if not part.strip():
            continue
        read = part if with_a_file else _without_sign_off(part, grammar, signer)
        parsed = parse_text(read, grammar, shortest_id=shortest_id)
        said = with_a_file or _adds_nothing(parsed.text, grammar, signer)  # nothing beside the query, or a file's words
        if parsed.action in _MAIL_QUERIES and parsed.tracking_id and said:
            asked.add((parsed.tracking_id, parsed.action is Action.STATUS))
            if in_body:
                words = parsed.text.strip()
        elif parsed.action is Action.STATUS_HELP and not with_a_file:
            # A status question without an ID beside the query asks the same: a subject "Cek status laporan" over a
            # body "CEK <id>" (or "Mohon info status laporan saya" below a subject's "CEK <id>") was a new report,
            # acknowledged with a new Tracking ID instead of the status. (With a file its words stay the addition's.)
            if in_body:
                words = ""
            grieves = _grieves(read, grammar)
            asked_without_id = asked_without_id or not grieves
            grieved = grieved or grieves
        elif not with_a_file and not _adds_nothing(part, grammar, signer):
            return None
    if not asked and asked_without_id and thread and not with_a_file:
        return MailQuery(thread)
    if not asked and grieved and grievances and thread and not with_a_file:
        return MailQuery(thread, grievance=True)
    if len(asked) != 1:
        return None
    tracking_id, valid = asked.pop()
    return MailQuery(tracking_id, valid=valid, words="" if _adds_nothing(words, grammar, signer) else words)


def _closes_a_question(words: list[str], at: int, grammar: Grammar) -> bool:
    """Whether the closing word at `at` ("belum") ends a "sudah ... belum" question: one of `closings_after` before
    it with none of `closings_contrasts` between ("sudah diperbaiki tapi lampunya belum" states, and asks nothing)."""
    for word in reversed(words[:at]):
        if word in grammar.status_question_closings_after:
            return True
        if word in grammar.status_question_closings_contrasts:
            return False
    return False


def _grieves(text: str, grammar: Grammar) -> bool:
    """Whether a status question without an ID says a grievance about the report's handling (`thread_grievances`:
    "Kok statusnya selesai?", "Kenapa belum ditanggapi?"). The "belum" closing a "sudah ... belum" (`closings` after
    one of `closings_after`, nothing after it but the question's other words: "Laporan saya sudah diproses belum
    ya?") is the question's, as the grammar reads it without a "?": read as a grievance, the question was filed as an
    addition and answered that the addition was received, without the status it asked."""
    words = [fold_word(word) for word in _WORD.findall(text)]
    grievances = grammar.status_question_thread_grievances
    for at in range(len(words) - 1, -1, -1):
        if words[at] in grammar.status_question_closings:
            if _closes_a_question(words, at, grammar):
                words = words[:at] + words[at + 1:]
            break
        if words[at] not in grammar.status_question_vocabulary or words[at] in grievances:
            break
    return not grievances.isdisjoint(words)


def closes_asking_if_done(text: str, signer: frozenset[str] = frozenset(), grammar: Grammar | None = None) -> bool:
    """Whether a mail's words close with a "sudah ... belum" question ("Sudah ada tindak lanjut belum?", "Jalan makin
    parah. Sudah diperbaiki belum ya pak?", "sudah belum?"): its last sentence, thanks and a sign-off below it aside
    (`_adds_nothing`, `signer` the From's name's words), ends in one of `closings` after one of `closings_after`, only
    words of a status question after it ("... belum laporan saya?"). Filed in a report's thread, such a mail asks the
    report's status too: answered only that the addition was received, the question went unanswered. A statement
    stays one: "Sudah 3 bulan belum diperbaiki", "sudah rusak parah belum juga diperbaiki?"."""
    grammar = grammar or load_grammar()
    lines = [line.strip() for line in text[-_LAST_WORDS_CHARS:].splitlines() if line.strip()]
    for start in range(max(len(lines) - _SIGNED_NAME_LINES - 1, 1), len(lines)):
        if _adds_nothing("\n".join(lines[start:]), grammar, signer):
            lines = lines[:start]
            break
    sentences = [sentence for sentence in _SENTENCE_END.split("\n".join(lines)) if _WORD.search(sentence)]
    while sentences and is_courtesy(sentences[-1], grammar):
        sentences.pop()
    words = [fold_word(word) for word in _WORD.findall(sentences[-1])] if sentences else []
    for at in range(len(words) - 1, -1, -1):
        if words[at] in grammar.status_question_closings:
            return _closes_a_question(words, at, grammar)
        if words[at] not in grammar.status_question_vocabulary:
            return False
    return False


# How far from its end a mail's last sentence is looked for, and what ends a sentence.
_LAST_WORDS_CHARS = 1000
_SENTENCE_END = re.compile(r"[.!?\n]+")


# What a mail of a status query alone asks: a report's status, or (a mistyped ID) for the ID to be checked.
_MAIL_QUERIES = frozenset({Action.STATUS, Action.BAD_TRACKING_ID})


# A name signed below a closing: up to four words of letters, each opening with a capital ("Budi", "Siti R. Rahayu",
# "BUDI SANTOSO", "Hj. Siti Aminah", "Moh. Rizal", "Nur-Aini", "Ma'ruf"). A line of lowercase words is the citizen's
# sentence ("jalan makin rusak"), and filed. Capitalized news below a closing ("Salam,\nJALAN MASIH RUSAK") reads as
# a name too, and is dropped with the sign-off: a name read as news was filed beside an anonymous report's ID, and no
# table of a complaint's words tells the two apart ("Dan", "Ada", "Yang Li", "Petugas Kebersihan" are signed too).
_NAME_WORD = r"[^\W\d_](?:[^\W\d_]|['\u2019.-])*"
_SIGNED_NAME = re.compile(rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}")
_SIGNED_NAME_LINES = 2
_WORD = re.compile(r"\w+")


def signer_words(name: str | None) -> frozenset[str]:
    """The words of a sender's name, folded: what `mail_status_query` reads a sign-off's name by."""
    return frozenset(fold_word(word) for word in _WORD.findall(name or ""))


def _without_sign_off(text: str, grammar: Grammar, signer: frozenset[str]) -> str:
    """`text` without its last paragraph when that only thanks, or closes with the name of `signer` (the From's
    name's words, folded) below it, or nothing: the grammar reads a query whole, and "Bagaimana status laporan saya?"
    over "Terima kasih,\nBudi" was no status question. Any other lines under a closing may be the citizen's words
    ("Terima kasih,\nSudah Tiga Bulan\nBelum Diperbaiki"), and the text is read whole."""
    head, blank, last = text.strip().rpartition("\n\n")
    if not blank or not head.strip():
        return text
    if is_courtesy(last, grammar):
        return head
    closing, *name = [line.strip() for line in last.splitlines() if line.strip()]
    closes = is_courtesy(closing, grammar) or closing_phrase().fullmatch(closing) is not None
    signed = len(name) <= _SIGNED_NAME_LINES and all(fold_word(word) in signer for line in name
                                                     for word in _WORD.findall(line))
    return head if closes and signed else text


def _adds_nothing(text: str, grammar: Grammar, signer: frozenset[str] = frozenset()) -> bool:
    """Whether what a mail says beside its status query is only thanks (`is_courtesy`: "terima kasih", "makasih
    pak 🙏") or a sign-off: a closing line (thanks, or a closing phrase of config/identity.toml's `[closings]`:
    "Salam,", "Hormat saya,", "Regards,") and at most two lines of a name below it (`_signed_name`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or is_courtesy(text, grammar):
        return True
    return _signs_off(lines, grammar, signer)


def only_signs_off(text: str, signer: frozenset[str], grammar: Grammar | None = None) -> bool:
    """Whether a mail's words are only its sender's sign-off: a closing line that is no thanks ("Salam,", "Hormat
    saya,", "Regards,": `[closings]`) and at most two lines of the From's name's words below it (`signer`, however
    cased: "Salam,\nBudi" from "Budi Santoso"), as `_adds_nothing` reads a status query's. Stricter than that: thanks
    are words of the citizen's (a mail has no courtesy: "Terima kasih,\nBudi" is theirs), and so is a line that only
    looks like a name ("Salam,\nJALAN MASIH RUSAK", a nickname under a From of another name): taken for none, the
    citizen's addition was neither filed nor answered."""
    grammar = grammar or load_grammar()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return bool(lines) and not is_courtesy(lines[0], grammar) and _signs_off(lines, grammar, signer, lookalike=False)


# A degree after a signed name's comma ("Budi Santoso, S.H.", "..., S.Pd., M.Si.", "..., S.Kom"): capitalized pieces
# of a few letters, dotted but the last.
_DEGREE = re.compile(r"(?:[A-Z][a-z]{0,3}\.){1,3}(?:[A-Z][a-z]{0,3}\.?)?")
# The most lines a signature holds below the From's name (its role, address, numbers): a short tail's, less the name.
_SIGNATURE_LINES_BELOW_NAME = 5


def names_the_signer(lines: list[str], signer: frozenset[str], *, joined: str | None = None) -> bool:
    """Whether `lines` (stripped, none blank) are at most two lines of the From's name's words alone (`signer`), or the
    From's name on the first (`_signers_name`: "Budi Santoso, S.H.", "Budi S."; `joined`, the mailbox's one word,
    "budisantoso87@" signed "Budi Santoso") over at most _SIGNATURE_LINES_BELOW_NAME lines `signature_line` reads as
    a signature's (its contacts: "Budi Santoso\n0812-3456-7890"): a signature's lines that are no words of the
    citizen's. Anything else under a signature's "-- " may be ("-- \nJembatan sudah ambruk tadi
    malam": typed below it, or a "--" an editor turned into one), and so may another name's with more ("-- \nSiti
    Rahayu\n0812...")."""
    if 0 < len(lines) <= _SIGNED_NAME_LINES and all(_signed_name(line, signer, lookalike=False) for line in lines):
        return True
    if not lines or len(lines) > 1 + _SIGNATURE_LINES_BELOW_NAME or not _signers_name(lines[0], signer, joined):
        return False
    return all(map(signature_line, lines[1:]))


def _signers_name(line: str, signer: frozenset[str], joined: str | None) -> bool:
    """Whether a signature's first line is the From's name (`signer`, its words folded), degrees after a comma aside
    (`_DEGREE`): its words, one of them perhaps an initial ("Budi S."), at least one whole; or `joined` when it is the
    name's words written together (a mailbox of one word read for a From with no name: "budisantoso87@")."""
    name, comma, degrees = line.partition(",")
    if comma and not all(_DEGREE.fullmatch(degree.strip()) for degree in degrees.split(",")):
        return False
    words = [fold_word(word) for word in _WORD.findall(name)]
    if not words:
        return False
    if joined and "".join(words) == joined:
        return True
    return any(word in signer for word in words) and all(
        word in signer or (len(word) == 1 and any(whole.startswith(word) for whole in signer)) for word in words)


def _signs_off(lines: list[str], grammar: Grammar, signer: frozenset[str], *, lookalike: bool = True) -> bool:
    """Whether `lines` (stripped, none blank) are a closing line and at most two lines of a name below it
    (`_signed_name`; not `lookalike`: the From's name's words alone)."""
    closing, *name = lines
    if len(name) > _SIGNED_NAME_LINES or not (is_courtesy(closing, grammar) or closing_phrase().fullmatch(closing)):
        return False
    return all(_signed_name(line, signer, lookalike=lookalike) for line in name)


def _signed_name(line: str, signer: frozenset[str], *, lookalike: bool = True) -> bool:
    """Whether a line below a closing is a name signed: its words are the From's name's, however cased (`signer`:
    "Salam,\nbudi santoso" from "Budi Santoso"), or with `lookalike` it looks like a name (up to four capitalized
    words: `_SIGNED_NAME`; a nickname under a From of another name, "Salam,\nUcok", is one)."""
    words = [fold_word(word) for word in _WORD.findall(line)]
    if words and signer.issuperset(words):
        return True
    return lookalike and _SIGNED_NAME.fullmatch(line) is not None and all(word[0].isupper() for word in line.split())


def _quotes_someone_else(message: InboundMessage) -> bool:
    """Whether a post the message answers or quotes is not its sender's own (`own_posts`). "ditunggu" under their own
    complaint is a reporter waiting on the report it filed: filed, it added that complaint to its report again with a
    public answer, or (its claim expired) filed it a second time as a new case."""
    referenced = {post for post in (message.replied_to, message.quoted_post) if post}
    return not referenced or not referenced <= set(message.own_posts)


def normalize(message: InboundMessage, *, default_region: str = "ID", shortest_id: int = MIN_LENGTH,
              grammar: Grammar | None = None, max_text_chars: int | None = None) -> Normalized:
    """Clean the text, read the grammar, normalize the sender, and build the draft or the query. `shortest_id`:
    the settings' `intake.shortest_tracking_id` (see `parse_text`); `max_text_chars`: its `intake.max_text_chars`
    (see `cut_to_limit`; None: no limit)."""
    grammar = grammar or load_grammar()
    text = clean_text(message.text)
    parsed = _parse(message, text, grammar, shortest_id)
    if message.provider_action is not None:  # the provider took it as its keyword (`InboundMessage.provider_action`)
        parsed = replace(parsed, action=Action(message.provider_action), tracking_id=None)
    quoted = clean_text(message.quoted_text or "")
    mistyped_id: str | None = None
    asks_status = False
    # A photo is something to report whatever the words beside it: thanks, "STOP", a greeting or a help word sent with
    # one is its report ("Halo" and a photo of the road). So is a post quoted or answered with a greeting or a help word
    # ("@lapor1708 tolong" under a complaint). A courtesy's text is the words as a report keeps them; help's, as typed.
    # A status query with a photo adds it to that report; with a mistyped ID, it is a report of its own.
    # A status question without an ID ("cek dong") is help's: with a photo or under a quoted post, a report of it.
    # So is a wait for our answer under someone else's ("@lapor1708 ditunggu tindak lanjutnya" quoting a complaint);
    # under the sender's own earlier post it stays the courtesy it is (see _quotes_someone_else).
    # So are the parts that came of a concatenated SMS taken without the others (`incomplete`): "[...] mohon
    # bantuannya pak" may close a complaint the network lost, and answered with help or nothing, what came was dropped.
    if ((message.attachments or message.incomplete) and parsed.action in (*UNANSWERED, *_HELP)) or (quoted and (
            parsed.action in _HELP or (parsed.action is Action.COURTESY and awaits_an_answer(text, grammar)
                                       and _quotes_someone_else(message)))):
        parsed = replace(parsed, action=Action.REPORT, text=text if parsed.action in _HELP else parsed.text)
    elif message.attachments and parsed.action in (Action.STATUS, Action.BAD_TRACKING_ID):
        if parsed.action is Action.BAD_TRACKING_ID:
            mistyped_id = parsed.tracking_id
        parsed = _photo_with_a_tracking_id(parsed, text)
    elif (message.channel in GRAMMAR_CHANNELS
          and (added := addition_of_a_status_query(parsed, text, grammar, shortest_id=shortest_id)) is not None):
        # Words after the ID that tell the report something, no photo ("CEK <id> kepala dinas minta setoran lagi"):
        # answered with the status alone, they were dropped. A follow-up of it as with a photo (its flags, typed or
        # asked in words, go with it), whose answer also gives the status asked for. A mail's words are read by the
        # mail channel (`mail_status_query`).
        parsed, asks_status = added, True
    # "@lapor1708" alone under a complaint, or quoting one, asks us to take that post: a report, not a help request.
    # Nothing readable ("\ufffd": a UCS-2 SMS of one broken character) is no text either: filed, it was a case of "?".
    # Nor is a text of no letter or digit at all ("😡😡😡", "🔥🔥", "!!!"): filed, a case of three angry faces,
    # acknowledged as a report; help tells the citizen how to report (with a photo it is the photo's report).
    # Not so for a mail of unreadable characters whose subject (kept beside the text) has words past its reply and
    # forward prefixes: it may hold the complaint. Without such a subject it is nothing to file (filed, a case of "?"),
    # as a mail of no text is (the mail channel makes a subject of words the text of a mail without any).
    readable = _has_words(parsed.text) or (
        message.channel not in GRAMMAR_CHANNELS and parsed.text.strip()
        and _has_words(STACKED_PREFIXES.sub("", message.subject or "")))
    if parsed.action in (Action.STATUS, *_HELP, Action.BAD_TRACKING_ID, *UNANSWERED) or (
        parsed.action is Action.REPORT and not readable and not message.attachments and not quoted
    ):
        action = Action.HELP if parsed.action is Action.REPORT else parsed.action
        return Normalized(query=Query(action, message, parsed.language, parsed.tracking_id), language=parsed.language)

    # A message some of whose parts never came (a concatenated SMS taken without them) may have lost its ANONIM or
    # #anonim with them, or the Tracking ID of the anonymous report it adds to: filed open, the rest carried the
    # sender's number to the agency. Anonymous, privacy first, as a follow-up whose report's flags cannot be read.
    if message.incomplete and not parsed.anonymous:
        parsed = replace(parsed, anonymous=True)
    # A post relaying another's by hand whose relayed words ask anonymity ("RT @warga_ayu: @lapor1708 ANONIM kades
    # ...", the old manual retweet of a whistleblower's report): anonymous, as the post relayed was filed. Named, the
    # relay carried her handle to the agency beside her anonymous report's words (the relayed authors' handles leave an
    # anonymous report's text: workers/own_identity.py).
    if not parsed.anonymous and message.channel in SOCIAL_CHANNELS and (relayed := relayed_words(text)) is not None:
        parsed = replace(parsed, anonymous=parse_text(relayed, grammar, shortest_id=shortest_id).anonymous)
    sender = normalize_sender(message.sender_kind, message.sender_address, message.sender_display_name, default_region)
    if quoted:
        parsed = replace(parsed, text=f"{parsed.text}\n\n{quoted}" if parsed.text else quoted)
    # Last, once every keyword was read in the whole text: an ANONIM closing a long mail is past any cut.
    kept, truncated = cut_to_limit(parsed.text, max_text_chars)
    cut = cut_lengths(parsed.text, kept) if truncated else None
    if truncated:
        log.warning("message.text_truncated", channel=message.source, length=len(parsed.text), kept=len(kept),
                    limit=max_text_chars)
        parsed = replace(parsed, text=kept)
    try:
        draft = _draft(message, parsed, sender, truncated)
    except ValidationError as error:
        # A provider field outside the envelope's contract (an empty or 600-character message id): a typed
        # rejection naming the fields, never their values (they may be the citizen's).
        fields = ",".join(sorted({".".join(str(p) for p in item["loc"]) for item in error.errors()}))
        raise RejectedInput(f"message does not fit the envelope: {fields}", reason="bad_field") from None
    return Normalized(draft=draft, language=parsed.language, mistyped_id=mistyped_id, asks_status=asks_status,
                      cut=cut)


def _has_words(text: str) -> bool:
    """Whether the text holds a letter or a digit of any script: something a case could be made of."""
    return any(char.isalnum() for char in text)


def _photo_with_a_tracking_id(parsed: ParsedText, text: str) -> ParsedText:
    """A status query sent with a photo ("12345678", "CEK 12345678" and a picture): answered with the status only,
    the photo was never filed. It is the citizen's evidence for that report: a follow-up of it, with the photo and the
    words typed after the ID ("CEK 12345678 lubangnya makin besar"; none for the ID alone: it is `follow_up_of`, and
    the status words add nothing), which keeps the report's privacy flags and is
    answered as a follow-up is (gateway/followups.py).

    With a mistyped ID (its check digit fails, or too short: "CEK 12345672", "CEK 12345") no report can be named, and
    the mistyped-ID answer alone loses the photo. So it is a new report of the photo, the words as typed (the number
    tells the agency which report it may belong to), answered with its own Tracking ID and that the ID typed was not
    valid (`Normalized.mistyped_id`). Made anonymous:
    it was meant for a report whose flags cannot be read, and an open report carrying a number one digit off an
    anonymous report's ID could name its reporter there; as a follow-up whose report cannot be found is made
    anonymous (`UNKNOWN_PARENT_FLAGS`), privacy first. The gateway still keeps the sender, so the reply reaches them."""
    if parsed.action is Action.STATUS:
        return replace(parsed, action=Action.FOLLOW_UP)
    return replace(parsed, action=Action.REPORT, text=text, tracking_id=None, anonymous=True)


def cut_marker(length: int) -> str:
    """What ends a text cut short: `[<id> / <en>]` (config/replies.toml `[report_text_cut]`, as the marks around a
    quoted post), on a line of its own, with the text's own `length` as each language writes a number."""
    table = load_replies()["report_text_cut"]
    grouped = f"{length:,}"
    return f"\n\n[{table['id'].format(length=grouped.replace(',', '.'))} / {table['en'].format(length=grouped)}]"


def cut_to_limit(text: str, limit: int | None) -> tuple[str, bool]:
    """`text` and False when it fits `limit` characters (None: any length fits); else its start (`cut_text`, trailing
    space dropped) and `cut_marker`, together at most `limit` long, and True. The marker counts towards the limit, so
    that a case store whose text field holds `limit` characters takes every report."""
    if limit is None or len(text) <= limit:
        return text, False
    marker = cut_marker(len(text))
    kept = cut_text(text, limit - len(marker))
    return _without_cut_fragment(kept, text[len(kept):]).rstrip() + marker, True


def cut_lengths(text: str, kept: str) -> tuple[int, int]:
    """A text cut by `cut_to_limit` into `kept`: its own length, and how many of its characters `kept` holds before
    the marker."""
    return len(text), len(kept) - len(cut_marker(len(text)))


# What may be a piece of a number as people write one: digits and the separators between their groups.
_NUMBER_TAIL = re.compile(r"[0-9+()./\-\s]+$")
_NUMBER_HEAD = re.compile(r"\s*[0-9+(]")
# How far back a cut steps to leave out such a piece, at most: a number written with all its separators.
_MAX_FRAGMENT = 40


def _without_cut_fragment(kept: str, rest: str) -> str:
    """`kept` without the piece of a word the cut ends in (an address, a handle, a link cut in two), nor the groups of
    a number the cut runs through (`0812 3456` of `0812 3456 7001`): whole, identity removal (workers/own_identity.py)
    takes an anonymous sender's own number or address out of the text; a piece of one it cannot know, and the piece
    would reach the agency. Steps back `_MAX_FRAGMENT` characters at most."""
    floor = max(0, len(kept) - _MAX_FRAGMENT)
    end = len(kept)
    if rest and not rest[0].isspace():  # the cut is inside a word: the word goes
        while end > floor and not kept[end - 1].isspace():
            end -= 1
    if _NUMBER_HEAD.match(rest[: _MAX_FRAGMENT]) or end < len(kept):
        tail = _NUMBER_TAIL.search(kept, floor, end)
        if tail is not None and any(char.isdigit() for char in tail.group()):
            end = tail.start()
    return kept[:end] if end > floor or floor == 0 else kept


def _draft(message: InboundMessage, parsed: ParsedText, sender: Sender, text_truncated: bool) -> ReportDraft:
    return ReportDraft(
        received_at=message.received_at,
        channel=message.channel,
        source=message.source,
        channel_message_id=message.provider_message_id,
        sender=sender,
        kind=parsed.kind,
        explicit_kind=parsed.explicit_kind,
        anonymous=parsed.anonymous,
        confidential=parsed.confidential,
        text=parsed.text,
        subject=clean_text(message.subject) if message.subject else None,
        language=parsed.language,
        attachments=list(message.attachments),
        follow_up_of=parsed.tracking_id if parsed.action is Action.FOLLOW_UP else None,
        channel_meta=dict(message.channel_meta),
        incomplete=message.incomplete,
        text_truncated=text_truncated,
        dedup_id=message.dedup_id,
    )
