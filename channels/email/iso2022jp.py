"""ISO-2022-JP read as mail clients and browsers read it (the WHATWG decoder), registered as the codec `CODEC`.

Japanese Outlook and Windows (code page 50220/50221) write Shift_JIS's NEC row 13 (①, ㈱, Ⅱ, ㍻) and the NEC-selected
IBM extensions (髙, 﨑) in their JIS X 0208 runs; WHATWG's jis0208 index holds them, Python's `iso2022_jp*` codecs do
not, and one of them failed the whole text: it was filed as its escape sequences' ASCII (`$BF;O)$KBg$-...`). Here each
two-byte JIS X 0208 character is turned into its Shift_JIS bytes and read by cp932 (Windows' Shift_JIS, what WHATWG's
index is), so the whole of JIS X 0208 reads as Windows reads it: ① and 〜 (U+FF5E, as Windows and browsers show
it) alike. JIS X 0201 Roman and Katakana runs read as WHATWG's; a JIS X 0212 run (ESC $ ( D, which WHATWG does not
read) by Python's codec of it. A control character (a line's end) stands for itself in any set, and the set goes on
after it, as in Python's codec. What none of them reads (an unknown escape, an 8-bit byte, a pair no table holds) goes
to the error handler the caller names, as any codec's, so `errors="replace"` gives one U+FFFD for it.

Python's codec reads a text it can read whole (most Japanese mail) at C speed, its few characters Windows reads
otherwise put as Windows reads them; the rest is read here, about a microsecond for each run between two escape
sequences (18 MB of a NEC character every 9 bytes took 6.6 s on a loaded 2-core machine). Bytes with more invalid
sequences than ISO-2022-JP text has (one for each 32 bytes) are read by Python's codec: they are no Japanese, and
`decode_text` reads them in another charset.

Encoding, which the gateway does not need, is Python's `iso2022_jp_ext`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from functools import cache

CODEC = "lapor_iso2022_jp"

# The escape sequences and the character set each selects. Control characters (a line's end, a tab) stand for
# themselves in any set, as Python's codec reads them: a writer that did not switch back to ASCII before a line's end
# goes on in its set on the next line.
_SETS = {b"\x1b(B": "ascii", b"\x1b(J": "roman", b"\x1b(I": "katakana", b"\x1b$@": "jis0208",
         b"\x1b$B": "jis0208", b"\x1b$(D": "jis0212"}
_ESCAPES = re.compile(rb"(\x1b\(B|\x1b\(J|\x1b\(I|\x1b\$@|\x1b\$B|\x1b\$\(D)")
_CONTROLS = re.compile(rb"([\x00-\x0d\x10-\x1a\x1c-\x1f]+)")
# What a set does not hold: 8-bit bytes, SO and SI, an escape none of the above (a space, in a two-byte set)
_NOT_ASCII = re.compile(rb"[\x80-\xff\x0e\x0f\x1b]+")
_NOT_KATAKANA = re.compile(rb"[^\x00-\x0d\x10-\x1a\x1c-\x1f\x21-\x5f]+")
_NOT_TWO_BYTE = re.compile(rb"[^\x21-\x7e]+")
# The same, over a run read as Latin-1, to put one U+FFFD for each in a single pass
_NOT_ASCII_TEXT = re.compile("[\x80-\xff\x0e\x0f\x1b]+")
_NOT_KATAKANA_TEXT = re.compile("[^\x00-\x0d\x10-\x1a\x1c-\x1f\x21-\x5f]+")
_INVALID = {"ascii": _NOT_ASCII, "roman": _NOT_ASCII, "katakana": _NOT_KATAKANA, "jis0208": _NOT_TWO_BYTE,
            "jis0212": _NOT_TWO_BYTE}
_ROMAN = str.maketrans({"\\": "\u00a5", "~": "\u203e"})
_KATAKANA = bytes((byte + 0x80) % 256 for byte in range(256))  # 0x21..0x5F: Shift_JIS's 0xA1..0xDF, U+FF61..U+FF9F
_KATAKANA_TEXT = {byte: 0xFF61 - 0x21 + byte for byte in range(0x21, 0x60)}
# Where Python's JIS X 0208 table and Windows' (WHATWG's, cp932's) read a character differently: 〜 ‖ − ¢ £ ¬
_AS_WINDOWS = str.maketrans({"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
                             "\u00a3": "\uffe1", "\u00ac": "\uffe2"})

Errors = Callable[[int, int, str], str]


def _shift_jis(first: int, second: int) -> bytes:
    """The Shift_JIS bytes of a JIS X 0208 character (both bytes 0x21..0x7E)."""
    lead = (first - 0x21) // 2 + 0x81
    if lead > 0x9F:
        lead += 0x40
    # an odd row's second byte is 0x40..0x9E (skipping 0x7F), an even row's 0x9F..0xFC
    trail = second + (0x1F if second <= 0x5F else 0x20) if first % 2 else second + 0x7E
    return bytes((lead, trail))


# Whole runs are turned into Shift_JIS by tables: a run's first bytes give the leads; its second bytes, with 0x80 added
# where the first byte is even, give the trails.
_LEADS = bytes(_shift_jis(byte, 0x21)[0] if 0x21 <= byte <= 0x7E else 0 for byte in range(256))
_EVEN_ROW = bytes(0x80 if 0x21 <= byte <= 0x7E and byte % 2 == 0 else 0 for byte in range(256))
_TRAILS = bytes(_shift_jis(0x21 if byte < 0x80 else 0x22, byte & 0x7F)[1] if 0x21 <= byte & 0x7F <= 0x7E else 0
                for byte in range(256))


def _as_shift_jis(run: bytes) -> bytes:
    """A run of JIS X 0208 pairs (bytes 0x21..0x7E, even length) as Shift_JIS, in a few passes over it."""
    firsts, seconds = run[0::2], run[1::2]
    marked = int.from_bytes(seconds, "big") | int.from_bytes(firsts.translate(_EVEN_ROW), "big")
    sjis = bytearray(len(run))
    sjis[0::2] = firsts.translate(_LEADS)
    sjis[1::2] = marked.to_bytes(len(seconds), "big").translate(_TRAILS)
    return bytes(sjis)


@cache
def _jis0208_character(pair: bytes) -> str | None:
    try:
        return _shift_jis(pair[0], pair[1]).decode("cp932")
    except UnicodeDecodeError:
        return None


def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    """ISO-2022-JP bytes as text; each run that no table reads goes to the `errors` handler.

    Python's codec reads most Japanese mail whole and fast; only a text it fails is read here, its JIS X 0208 runs
    gathered and turned into Shift_JIS together, so a run costs a few list operations."""
    data = bytes(data)
    try:
        return data.decode("iso2022_jp_ext").translate(_AS_WINDOWS), len(data)
    except UnicodeDecodeError:
        pass

    # Pieces read one by one in Python (escape sequences and line ends, ~1 µs each): past one in eight bytes, crafted
    # bytes (10 MB of escapes and line ends cost 5 s), Python's reading.
    if data.count(b"\x1b") + data.count(b"\n") > len(data) // 8 + 64:
        return data.decode("iso2022_jp_ext", errors).translate(_AS_WINDOWS), len(data)
    budget = [len(data) // 32 + 16]

    def error(start: int, stop: int, reason: str) -> str:
        budget[0] -= 1
        if budget[0] < 0:
            raise _NotIso2022Jp
        if errors == "replace":
            return "\ufffd"
        handler = codecs.lookup_error(errors)
        return handler(UnicodeDecodeError(CODEC, data, start, stop, reason))[0]

    try:
        return _decoded(data, errors, error), len(data)
    except _NotIso2022Jp:  # bytes mostly not ISO-2022-JP (read through them, they cost seconds a MB): Python's reading
        return data.decode("iso2022_jp_ext", errors).translate(_AS_WINDOWS), len(data)


class _NotIso2022Jp(Exception):
    """More invalid sequences than an ISO-2022-JP text has: one for each 32 bytes."""


def _decoded(data: bytes, errors: str, error: Errors) -> str:
    """The text, piece by piece between escape sequences."""
    out: list[str] = []
    runs: list[tuple[int, int, int]] = []  # JIS X 0208 runs read together: their place in `out`, start, stop
    mode, position = "ascii", 0
    pieces = _ESCAPES.split(data)  # text, escape, text, escape, ..., text
    for index in range(0, len(pieces), 2):
        piece = pieces[index]
        if piece:
            stop = position + len(piece)
            if mode in ("ascii", "roman", "katakana"):
                out.append(_single_bytes(data, piece, position, mode, error, errors))
            elif _CONTROLS.fullmatch(piece):
                out.append(piece.decode("ascii"))
            elif mode == "jis0208" and not len(piece) % 2 and _NOT_TWO_BYTE.search(piece) is None:
                runs.append((len(out), position, stop))
                out.append("")
            else:
                _two_bytes(data, piece, position, mode, error, runs, out)
            position = stop
        if index + 1 < len(pieces):
            mode = _SETS[pieces[index + 1]]
            position += len(pieces[index + 1])
    if runs:
        _read_runs(data, runs, out, error)
    return "".join(out)


def _two_bytes(data: bytes, piece: bytes, position: int, mode: str, error: Errors, runs: list[tuple[int, int, int]],
               out: list[str]) -> None:
    """A piece in a two-byte set that holds control characters or bytes the set does not hold."""
    for run in _CONTROLS.split(piece):
        end = position + len(run)
        if _CONTROLS.fullmatch(run):
            out.append(run.decode("ascii"))
        elif run and mode == "jis0208" and not len(run) % 2 and _NOT_TWO_BYTE.search(run) is None:
            runs.append((len(out), position, end))
            out.append("")
        elif run:
            out.append(_read(data, position, end, mode, error))
        position = end


def _single_bytes(data: bytes, run: bytes, start: int, mode: str, error: Errors, errors: str) -> str:
    """A run in a single-byte set; with "replace", what the set does not hold is replaced in one pass."""
    if errors != "replace" and _INVALID[mode].search(run) is not None:
        return _read(data, start, start + len(run), mode, error)
    if mode == "katakana":
        return _NOT_KATAKANA_TEXT.sub("\ufffd", run.decode("latin-1")).translate(_KATAKANA_TEXT)
    text = _NOT_ASCII_TEXT.sub("\ufffd", run.decode("latin-1")) if _NOT_ASCII.search(run) else run.decode("ascii")
    return text.translate(_ROMAN) if mode == "roman" else text


def _read_runs(data: bytes, runs: list[tuple[int, int, int]], out: list[str], error: Errors) -> None:
    """The JIS X 0208 runs as one Shift_JIS text, put back in their places; a run that one fails, alone."""
    try:
        text = _as_shift_jis(b"".join(data[start:stop] for _, start, stop in runs)).decode("cp932")
    except UnicodeDecodeError:
        for index, start, stop in runs:
            out[index] = _jis0208(data, start, stop - start, error)
        return
    at = 0
    for index, start, stop in runs:
        length = (stop - start) // 2
        out[index] = text[at:at + length]
        at += length


def _read(data: bytes, start: int, stop: int, mode: str, error: Errors) -> str:
    """One run of bytes in one character set, some of which it does not hold."""
    run = data[start:stop]
    out: list[str] = []
    at = 0
    for bad in _INVALID[mode].finditer(run):
        out.append(_valid(data, start + at, start + bad.start(), mode, error))
        out.append(error(start + bad.start(), start + bad.end(), f"byte not in {mode}"))
        at = bad.end()
    out.append(_valid(data, start + at, stop, mode, error))
    return "".join(out)


def _valid(data: bytes, start: int, stop: int, mode: str, error: Errors) -> str:
    """A run of bytes each of which the set holds."""
    run = data[start:stop]
    if not run:
        return ""
    if mode == "ascii":
        return run.decode("ascii")
    if mode == "roman":
        return run.decode("ascii").translate(_ROMAN)
    if mode == "katakana":
        return run.translate(_KATAKANA).decode("cp932")
    pairs = len(run) // 2 * 2
    text = _jis0212(data, start, start + pairs, error) if mode == "jis0212" else _jis0208(data, start, pairs, error)
    if len(run) % 2:
        text += error(stop - 1, stop, "half a two-byte character")
    return text


def _jis0208(data: bytes, start: int, length: int, error: Errors) -> str:
    run = data[start:start + length]
    try:
        return _as_shift_jis(run).decode("cp932")
    except UnicodeDecodeError:  # one character at a time: each that no table holds is one error
        out = []
        for index in range(0, length, 2):
            character = _jis0208_character(run[index:index + 2])
            out.append(character if character is not None else
                       error(start + index, start + index + 2, "JIS X 0208 character not in the table"))
        return "".join(out)


def _jis0212(data: bytes, start: int, stop: int, error: Errors) -> str:
    out = []
    for index in range(start, stop, 2):
        try:
            out.append((b"\x1b$(D" + data[index:index + 2]).decode("iso2022_jp_1"))
        except UnicodeDecodeError:
            out.append(error(index, index + 2, "JIS X 0212 character not in the table"))
    return "".join(out)


class _IncrementalDecoder(codecs.BufferedIncrementalDecoder):
    """Reads once the input is whole: the escape state runs across the chunks."""

    def _buffer_decode(self, data: bytes, errors: str, final: bool) -> tuple[str, int]:
        return decode(data, errors) if final else ("", 0)


def _search(name: str) -> codecs.CodecInfo | None:
    if name != CODEC:
        return None
    python = codecs.lookup("iso2022_jp_ext")
    return codecs.CodecInfo(name=CODEC, encode=python.encode, decode=decode,
                            incrementalencoder=python.incrementalencoder, incrementaldecoder=_IncrementalDecoder,
                            streamreader=python.streamreader, streamwriter=python.streamwriter)


codecs.register(_search)
