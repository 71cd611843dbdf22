"""An HTML mail part -> the text a person reads in it, with html2text (pinned in pyproject.toml).

html2text writes Markdown; a case-store reader should see the mail as its reader saw it. So, on top of its options
(no images, no emphasis marks, no wrapping, `ignore_tables`):
- what the mail does not show is left out: an element styled `display:none`, `visibility:hidden`, `opacity:0`,
  `max-height:0` or `height:0` with `overflow:hidden`, or with the `hidden` attribute, and text of `font-size:0`
  (inline or by a class of the mail's <style>). Mail clients, Outlook's and Gmail's templates and newsletter tools
  put a preview ("preheader") there, padded with invisible characters, and responsive layouts set `font-size:0`
  on a row whose cells set their own size again, which stay. `mso-hide:all` hides only from Outlook, which reads
  the `<!--[if mso]>` copy html2text never sees: it stays. A hidden element left open to the end of its parent
  hides nothing (the mail is read again without hiding): a tag left open must never cost the citizen's words; nor
  does a mail all of whose text would be hidden. `<font size="3">` sets a size again as a style's `font-size` does.
- a rule (<hr>) is a blank line, not `* * *`;
- a table row is a line, its cells set apart by ` · ` (empty spacer cells dropped), with no `|` or `---|---`;
- Markdown's escapes (`1\\.`, `\\-`, `\\+` at a line's start, a doubled backslash) are undone, and so is the
  hard line break's two trailing spaces: a signature's `-- ` stays `-- `, a citizen's `--` stays `--`;
- a heading is a paragraph of its own, without `#` marks: an agency reads plain text, and a heading `ANONIM`
  opening the mail asks for anonymity as the word on a line of its own does (read as `# ANONIM` it was missed);
- a link reads `text (address)`, its address once: the address may be what the report is about (a video, a
  document), so it stays visible, but not a second time when the text shows it already (a pasted address the mail
  app made a link of, `lapor.go.id` for `https://www.lapor.go.id/`, an address a redirect wraps). A `mailto:` or
  `tel:` link shows its address or number; a link to a place in the mail, a relative or a `cid:` address shows
  nothing more than its text. A link with no text (an image's) reads as its address.

A part is read up to `MAX_HTML_CHARS` characters and `MAX_HTML_TAGS` tags, fed to the parser a piece at a time, each
piece ending before a tag: the cost is the tags (about 10 µs each, and memory for each one left open): 11 MB of
paragraphs took 6 s, 11 MB of `<p>x` (never closed) 45 s and 590 MB, and a mail may be 20 MB. The report's text is
cut at 100,000 characters anyway (intake.max_text_chars); a citizen's HTML of that much text is within both bounds.
The rest of a longer part is not read: its text ends where the bound fell.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote

import html2text
from html2text.utils import element_style, hn

# Elements without content or end tag: never open.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr"})
# A zero length: "0", "0px", ".0em", "-0.00%". Linear in the value's length: "0*\.?0+" tried every split of a run of
# zeros between its two quantifiers, time quadratic in a style value the mail may make as long as it likes.
_ZERO = re.compile(r"[+-]?(?:0*\.)?0+(px|pt|em|rem|ex|ch|%|vh|vw|cm|mm|in|pc)?")
# A private-use character between a row's cells while converting; no mail keeps one (they are removed first).
_CELL = "\ue000"
CELL_SEPARATOR = " · "
# html2text's escapes: a doubled backslash before a Markdown character, `1\.` and `\-`/`\+` that would start a list.
_BLANK_LINES = re.compile(r"\n{3,}")
_MD_ESCAPE = re.compile(r"\\(\\)(?=[`*_{}\[\]()#+\-.!])|(?<=\d)\\(\.)(?=\s)|\\(\+)(?=\s)|\\(-)(?=\s|-)")
# A link's text that shows an address itself (a pasted URL the mail app linked, an e-mail address): its `href`, often
# the same address or a redirect wrapping it (Outlook's safelinks, Gmail's google.com/url?q=), is not shown a second
# time. A scheme and an e-mail address are looked for where they may start only (a scheme not after a letter of one,
# an address after a space or a bracket): tried at every letter of a long run, each took time quadratic in it.
_ADDRESS_IN_TEXT = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|\bwww\.|(?<![^\s()<>])[^\s@()<>]+@[^\s@()<>]+\.\w",
                              re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?://)?(?:www\.)?", re.IGNORECASE)
# The most of an HTML part read (see the module's docstring): Word's HTML of 100,000 characters of text is some 1 MB
# and 10,000 tags.
MAX_HTML_CHARS = 2_000_000
MAX_HTML_TAGS = 50_000
# Characters fed to the parser at once, then up to the next tag's `<` (text between two tags is never split: html2text
# reads a run of text, a <style>'s rules, as one piece).
_PIECE_CHARS = 16384


def _value(style: dict[str, str], name: str) -> str:
    return style.get(name, "").replace("!important", "").strip().lower()


def _is_zero(value: str) -> bool:
    return bool(_ZERO.fullmatch(value))


def _hides_all_inside(style: dict[str, str], attrs: dict[str, str | None]) -> bool:
    """Whether the element and everything in it are out of sight, whatever its children say."""
    clipped = _value(style, "overflow") == "hidden" or _value(style, "overflow-y") == "hidden"
    return ("hidden" in attrs or _value(style, "display") == "none" or _is_zero(_value(style, "opacity"))
            or (clipped and (_is_zero(_value(style, "max-height")) or _is_zero(_value(style, "height")))))


@dataclass(slots=True)
class _Link:
    """An open link: the address a reader would follow (None: none to show), whether it is seen, its text so far."""

    address: str | None
    seen: bool
    text: list[str] = field(default_factory=list)


def _shown_address(href: str | None) -> str | None:
    """The address a link's reader follows, as the report shows it: a web address as written, a `mailto:` or `tel:`
    link's address or number alone; None for what leads nowhere outside the mail (`#part`, a relative or a `cid:`
    address, `javascript:`)."""
    href = (href or "").strip()
    lower = href.lower()
    if lower.startswith(("http://", "https://", "ftp://", "www.")):
        return href
    if lower.startswith(("mailto:", "tel:")):
        return unquote(href.split(":", 1)[1].split("?", 1)[0]).strip() or None
    return None


def _shows(text: str, address: str) -> bool:
    """Whether a link's text shows an address already: the address itself (without its scheme, `www.` and a
    trailing slash), or an address of any kind."""
    bare = _SCHEME.sub("", address).rstrip("/").lower()
    return bool(_ADDRESS_IN_TEXT.search(text)) or (bool(bare) and bare in text.lower())


@dataclass(frozen=True, slots=True)
class _Open:
    """An open element: whether it hides all inside it, and whether its text is visible and of a size (both
    inherited unless it sets them)."""

    tag: str
    hides: bool
    visible: bool
    sized: bool


class _MailHtml(html2text.HTML2Text):
    """html2text leaving out what is hidden and writing table cells apart (see the module's docstring)."""

    def __init__(self, *, hide: bool) -> None:
        super().__init__(bodywidth=0)
        self.ignore_images = True
        self.ignore_emphasis = True
        self.unicode_snob = True
        self.ignore_links = True  # written by `_end_link` as "text (address)", not html2text's [text](address)
        self.ignore_tables = True  # rows kept as lines, no Markdown table; cells set apart below
        self.hide = hide
        self.open: list[_Open] = []
        self.open_tags: Counter[str] = Counter()  # of `open`, by tag: an end tag of none open costs no scan
        self.hiding = 0  # open elements that hide all inside them
        self.cells: list[int] = []  # per open table: cells begun in its current row
        self.left_open = False  # a hiding element closed only by its parent's end or the mail's
        self.link: _Link | None = None  # the open link
        self.tags = 0  # start and end tags read

    def _hidden(self) -> bool:
        return self.hide and (self.hiding > 0 or (bool(self.open) and not (self.open[-1].visible
                                                                            and self.open[-1].sized)))

    def handle_tag(self, tag: str, attrs: dict[str, str | None], start: bool) -> None:
        self.tags += 1
        if start and tag not in _VOID:
            self._push(tag, attrs)
        elif not start:
            self._pop(tag)
        if tag == "hr":  # a rule is a break between paragraphs
            if start:
                self.p()
            return
        if hn(tag):  # a heading is a paragraph, without html2text's "#" marks
            self.p()
            return
        if tag == "a":
            if self.link is not None:  # a link starting inside another ends it, as a browser reads it
                self._end_link(self.link)
                self.link = None
            if start:
                self.link = _Link(_shown_address(attrs.get("href")), not self._hidden())
        if tag == "table":
            if start:
                self.cells.append(0)
            elif self.cells:
                self.cells.pop()
        elif tag == "tr" and start and self.cells:
            self.cells[-1] = 0
        elif tag in ("td", "th") and start and self.cells:
            if self.cells[-1]:
                # Whatever the cell hides: a cell of font-size:0 showing a sized text ("Nama", "Budi") would join
                # its words to the last cell's. An empty cell between two is dropped with its separator.
                super().o(_CELL)
            self.cells[-1] += 1
        super().handle_tag(tag, attrs, start)

    def _push(self, tag: str, attrs: dict[str, str | None]) -> None:
        style = element_style({name: value for name, value in attrs.items() if value is not None}, self.style_def, {})
        parent = self.open[-1] if self.open else _Open("", False, True, True)
        visibility = _value(style, "visibility")
        size = _value(style, "font-size")
        if not size and tag == "font" and (attrs.get("size") or "").strip().lstrip("+-")[:1].isdigit():
            size = "medium"  # <font size="3">, and "+1" too (HTML reads it as 3 + 1, whatever the parent's size)
        opened = _Open(tag, _hides_all_inside(style, attrs),
                       parent.visible if not visibility else visibility not in ("hidden", "collapse"),
                       parent.sized if not size else not _is_zero(size))
        self.open.append(opened)
        self.open_tags[tag] += 1
        self.hiding += opened.hides

    def _pop(self, tag: str) -> None:
        """Close `tag` and whatever was left open inside it; an end tag that closes nothing open is ignored."""
        if not self.open_tags[tag]:
            return
        while self.open:
            item = self.open.pop()
            self.open_tags[item.tag] -= 1
            self.hiding -= item.hides
            if item.tag == tag:
                return
            if item.hides or not item.visible or not item.sized:
                self.left_open = True

    def _end_link(self, link: _Link) -> None:
        """After a link's text, its address, unless the text shows it already (see the module's docstring)."""
        if not link.seen or not link.address:
            return
        written = "".join(link.text)
        if not written.strip():
            super().o(link.address)
        elif not _shows(written, link.address):
            ends_in_space = written[-1].isspace()  # then written already, before the address: it goes after it
            self.space = not ends_in_space
            super().o(f"({link.address})")
            self.space = ends_in_space

    def close(self) -> str:
        if self.link is not None:  # a link left open to the mail's end
            self._end_link(self.link)
            self.link = None
        if any(item.hides or not item.visible or not item.sized for item in self.open):
            self.left_open = True
        self.open.clear()
        self.open_tags.clear()
        self.hiding = 0
        return super().close()

    def o(self, data: str, puredata: bool = False, force: bool | str = False) -> None:
        if data and self._hidden():
            return
        if puredata and self.link is not None:
            self.link.text.append(data)
        super().o(data, puredata, force)


def _pieces(html: str) -> list[str]:
    """The part's first `MAX_HTML_CHARS` characters in pieces of about `_PIECE_CHARS`, each ending before a `<`."""
    pieces: list[str] = []
    start, end = 0, min(len(html), MAX_HTML_CHARS)
    while start < end:
        stop = html.find("<", start + _PIECE_CHARS, end)
        stop = end if stop < 0 else stop
        pieces.append(html[start:stop])
        start = stop
    return pieces


def _convert(html: str, *, hide: bool) -> tuple[str, bool]:
    """html2text's `handle`, fed a piece at a time until the bounds (see the module's docstring)."""
    converter = _MailHtml(hide=hide)
    converter.start = True
    for piece in _pieces(html):
        converter.feed(piece.replace(_CELL, ""))
        if converter.tags >= MAX_HTML_TAGS:
            break
    converter.feed("")
    return converter.optwrap(converter.finish()), converter.left_open


def _tidy_line(line: str) -> str:
    """One line of html2text's output as plain text: cells set apart, escapes and the hard break's spaces undone."""
    if not line.strip():  # a spacer cell's &nbsp;
        return ""
    if line.endswith("  "):  # html2text's hard line break (<br>)
        line = line[:-2]
    if _CELL in line:
        line = CELL_SEPARATOR.join(cell.strip() for cell in line.split(_CELL) if cell.strip())
    return _MD_ESCAPE.sub(lambda match: next(group for group in match.groups() if group), line)


def html_to_text(html: str) -> str:
    """The text a person reads in an HTML mail part (see the module's docstring)."""
    text, left_open = _convert(html, hide=True)
    if left_open or not text.strip():
        # Nothing left: a mail showing its reader nothing was not sent to hide itself; a size or a style we do not
        # read (a tag selector, a media query) must not cost the citizen's words.
        text, _ = _convert(html, hide=False)
    return _BLANK_LINES.sub("\n\n", "\n".join(_tidy_line(line) for line in text.split("\n"))).strip()
