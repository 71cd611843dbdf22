"""ISO-2022-JP read as mail clients and browsers read it (the WHATWG decoder), registered as the codec `CODEC`.

Japanese Outlook and Windows (code page 50220/50221) write Shift_JIS's NEC row 13 (①, ㈱, Ⅱ, ㍻) and the NEC-selected
IBM extensions (髙, 﨑) in their JIS X 0208 runs; WHATWG's jis0208 index holds them, Python's `iso2022_jp*` codecs do
not, and one of them failed the whole text: it was filed as its escape sequences' ASCII (`$BF;O)$KBg$-...`). Here each
two-byte JIS X 0208 character is turned into its Shift_JIS bytes and read by cp932 (Windows' Shift_JIS, what WHATWG's
index is), so the whole of JIS X 0208 reads as Windows reads it: ① and 〜 (U+FF5E, as Windows and browsers show
it) alike. JIS X 0201 Roman and Katakana runs read as WHATWG's; a JIS X 0212 run (ESC $ ( D, which WHATWG does not
read) by Python's codec of it. What none of them reads (an unknown escape, an 8-bit byte, a pair no table holds) goes
to the error handler the caller names, as any codec's, so `errors="replace"` gives one U+FFFD for it.

Encoding, which the gateway does not need, is Python's `iso2022_jp_ext`.
"""

from __future__ import annotations

import codecs

CODEC = "lapor_iso2022_jp"

_ESC = 0x1B
# The escape sequences and the character set each selects
_SETS = {b"\x1b(B": "ascii", b"\x1b(J": "roman", b"\x1b(I": "katakana", b"\x1b$@": "jis0208",
         b"\x1b$B": "jis0208", b"\x1b$(D": "jis0212"}


def _shift_jis(first: int, second: int) -> bytes:
    """The Shift_JIS bytes of a JIS X 0208 character (both bytes 0x21..0x7E)."""
    lead = (first - 0x21) // 2 + 0x81
    if lead > 0x9F:
        lead += 0x40
    # an odd row's second byte is 0x40..0x9E (skipping 0x7F), an even row's 0x9F..0xFC
    trail = second + (0x1F if second <= 0x5F else 0x20) if first % 2 else second + 0x7E
    return bytes((lead, trail))


def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    """ISO-2022-JP bytes as text; each run that no table reads goes to the `errors` handler."""
    data = bytes(data)
    out: list[str] = []
    mode = "ascii"
    position, end = 0, len(data)

    def error(start: int, stop: int, reason: str) -> None:
        handler = codecs.lookup_error(errors)
        replacement, _ = handler(UnicodeDecodeError(CODEC, data, start, stop, reason))
        out.append(replacement)

    while position < end:
        byte = data[position]
        if byte == _ESC:
            for sequence, selected in _SETS.items():
                if data.startswith(sequence, position):
                    mode = selected
                    position += len(sequence)
                    break
            else:
                error(position, position + 1, "unknown escape sequence")
                position += 1
            continue
        if byte in (0x0A, 0x0D):  # a line ends in ASCII (RFC 1468); a writer that forgot to switch back is forgiven
            mode = "ascii" if mode in ("jis0208", "jis0212") else mode
            out.append(chr(byte))
            position += 1
            continue
        if mode in ("ascii", "roman", "katakana"):
            stop = position
            while stop < end and data[stop] not in (_ESC, 0x0A, 0x0D):
                stop += 1
            _single_bytes(data, position, stop, mode, out, error)
            position = stop
            continue
        stop = position
        while stop < end and 0x21 <= data[stop] <= 0x7E:
            stop += 1
        if stop == position:
            error(position, position + 1, "byte outside a two-byte run")
            position += 1
            continue
        if mode == "jis0212":
            _jis0212(data, position, stop, out, error)
        else:
            _jis0208(data, position, stop, out, error)
        position = stop
    return "".join(out), end


def _single_bytes(data: bytes, start: int, stop: int, mode: str, out: list[str], error) -> None:
    run = data[start:stop]
    if mode != "katakana" and run.isascii() and b"\x0e" not in run and b"\x0f" not in run:
        text = run.decode("ascii")
        out.append(text.replace("\\", "\u00a5").replace("~", "\u203e") if mode == "roman" else text)
        return
    for index in range(start, stop):
        byte = data[index]
        if mode == "katakana" and 0x21 <= byte <= 0x5F:
            out.append(chr(0xFF61 - 0x21 + byte))
        elif byte < 0x80 and byte not in (0x0E, 0x0F) and mode != "katakana":
            out.append({0x5C: "\u00a5", 0x7E: "\u203e"}.get(byte, chr(byte)) if mode == "roman" else chr(byte))
        else:
            error(index, index + 1, "byte not in the selected character set")


def _jis0208(data: bytes, start: int, stop: int, out: list[str], error) -> None:
    pairs = range(start, stop - 1, 2)
    sjis = b"".join(_shift_jis(data[index], data[index + 1]) for index in pairs)
    try:
        out.append(sjis.decode("cp932"))
    except UnicodeDecodeError:  # one character at a time: each that no table holds is one error
        for index in pairs:
            try:
                out.append(_shift_jis(data[index], data[index + 1]).decode("cp932"))
            except UnicodeDecodeError:
                error(index, index + 2, "JIS X 0208 character not in the table")
    if (stop - start) % 2:
        error(stop - 1, stop, "half a two-byte character")


def _jis0212(data: bytes, start: int, stop: int, out: list[str], error) -> None:
    for index in range(start, stop - 1, 2):
        try:
            out.append((b"\x1b$(D" + data[index:index + 2]).decode("iso2022_jp_1"))
        except UnicodeDecodeError:
            error(index, index + 2, "JIS X 0212 character not in the table")
    if (stop - start) % 2:
        error(stop - 1, stop, "half a two-byte character")


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
