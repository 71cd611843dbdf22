"""The shape of the lines that mark an X post a mention quotes or answers, for the channel that writes them and for
the worker and the intake steps that take parts of them out again.

`channels.x_mentions.quoted_posts` writes each such post as a block: a mark in brackets, the post's address
(`POST_URL`: no handle in it), then the post's words, each line after `> `. The lines are read by their shape, not by
the mark's words: the text is cleaned after the mark is written (spaces folded, NFC), and a table customised or
reworded since writes it otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# A post's address without its author's handle.
POST_URL = "https://x.com/i/status/{post_id}"
_QUOTED_POST_LINE = re.compile(r"^(\[[^\]\n]+\]) https://x\.com/i/status/(\d+)$", re.MULTILINE)
# The old manual retweet's head, "RT @handle" (a colon after it or none; an Instagram handle's dots too, "@warga.ayu"),
# once or nested ("RT @a: RT @b: ..."): the relayed post's author, by handle. Opening the text or a line any such head;
# after the relayer's own words on a line ("Tolong ditindak RT @warga_ayu: ...") only with its colon: "Ketua RT
# @budi_rt03 minta uang" names the neighbourhood's head, the accused.
_RELAY_AT_OPENING = re.compile(r"(\s*RT[^\S\n]+)@\w+(?:\.\w+)*(?![\w@])([^\S\n]*:?)", re.IGNORECASE)
_RELAY_IN_TEXT = re.compile(r"(?<![\w@])(RT[^\S\n]+)@\w+(?:\.\w+)*(?![\w@])([^\S\n]*:)?", re.IGNORECASE)
# The handles opening the words after a manual retweet's head ("@lapor1708 ANONIM ...").
_LEADING_HANDLES = re.compile(r"(?:\s*@\w+(?:\.\w+)*)*\s*")
# The same line with the quoted words under it (an empty quoted line may have lost its space to the cleaning).
_QUOTED_POST_BLOCK = re.compile(r"^(\[[^\]\n]+\]) https://x\.com/i/status/(\d+)$(?:\n>[^\n]*)*", re.MULTILINE)


def without_quoted_post_addresses(text: str) -> str:
    """An anonymous mention's text with the addresses of the posts it quotes or answers left out, their words kept.
    The address names no handle, but the post it opens names whom it answers: an anonymous reporter's answer to a
    neighbour who had answered their #anonim mention quoted the neighbour's post, one click from "Replying to
    @<the reporter>"."""
    return _QUOTED_POST_LINE.sub(r"\1", text)


def without_quoted_posts(text: str, post_ids: Collection[str]) -> str:
    """`text` with the posts `post_ids` it quotes or answers left out, their mark alone kept: no address, no words
    (see channels.social.MentionIntake: a named report quoting a post that filed an anonymous report)."""
    if not post_ids:
        return text
    return _QUOTED_POST_BLOCK.sub(lambda found: found.group(1) if found.group(2) in post_ids else found.group(0), text)


# Words right before "RT" that make it the neighbourhood (Rukun Tetangga) and the handle its head's: "ketua rt
# @pak_rt05: bayar dulu" quotes the accused, no relay ("Rabu RT @x:" is one).
_NEIGHBOURHOOD_ROLES = frozenset({"ketua", "pak", "bu", "bapak", "ibu", "pengurus", "sekretaris", "bendahara"})


def _relay_in_text(text: str, found: re.Match[str]) -> bool:
    """Whether `found` (`_RELAY_IN_TEXT`) is a relay's head: opening its line, or with its colon but for a
    neighbourhood's role right before it (`_NEIGHBOURHOOD_ROLES`). Read back from the head only as far as the word
    before it: the whole line before each of many heads was read again for each (100 KB of "Rabu RT @x: ", 18 s)."""
    end = found.start()
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    if end == 0 or text[end - 1] == "\n":
        return True
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return found.group(2) is not None and text[start:end].lower() not in _NEIGHBOURHOOD_ROLES


def without_relayed_authors(text: str, mark: str) -> str:
    """An anonymous mention's text with the handle of each post it relays by hand ("RT @warga_ayu: @lapor1708
    #anonim kades potong BLT ...", the old manual retweet) replaced by `mark`. The post relayed is often a
    whistleblower's own #anonim report, filed anonymous under her handle; relayed, its words came to the case store
    with her handle before them, and triage matched the two reports: her anonymous report was hers by name. Privacy
    first: the accused's own post relayed loses its author's handle too, its words kept (read only for a report's
    words, a whistleblower's handle stayed behind "#LaporAnonim", a flag word the text had already lost)."""
    parts, head = [], 0
    while (found := _RELAY_AT_OPENING.match(text, head)) is not None:
        parts += [found.group(1), mark, found.group(2)]
        head = found.end()
    for found in _RELAY_IN_TEXT.finditer(text, head):
        if _relay_in_text(text, found):
            parts += [text[head:found.start()], found.group(1), mark, found.group(2) or ""]
            head = found.end()
    return "".join(parts) + text[head:]


def relayed_words(text: str) -> str | None:
    """The words a post relays by hand after its "RT @handle:" heads and the handles opening them ("RT @warga_ayu:
    @lapor1708 ANONIM kades ..." relays "ANONIM kades ..."), for their flags; None for a post that relays none."""
    found = _RELAY_AT_OPENING.match(text) or next(
        (found for found in _RELAY_IN_TEXT.finditer(text) if _relay_in_text(text, found)), None)
    if found is None:
        return None
    head = found.end()
    while (found := _RELAY_AT_OPENING.match(text, head)) is not None:
        head = found.end()
    return text[_LEADING_HANDLES.match(text, head).end():]
