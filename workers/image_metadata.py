"""An anonymous report's files reach the case store without what identifies their sender, or not at all.

Photos lose their metadata, their pixels untouched; a file that carries no metadata (plain text) goes as it is, or
as a copy without what its sender wrote of their own identity in it (workers/own_identity.py, as the report's text);
every other file the gateway keeps is withheld.

A phone photo carries more than the picture: Exif (GPS coordinates, often the reporter's home or office; the camera
owner's name; the device's serial number; the time; a thumbnail that may show what a crop took out), XMP and IPTC
(an author's name), text chunks. An anonymous report's file goes to the case store as the gateway keeps it, byte for
byte, so that metadata would name the whistleblower to the agency the report is about. So the forward worker gives
the case store a copy without it, for anonymous reports only: a named report's location may be what tells the agency
where the problem is.

The copy is made by a strict segment and chunk filter, never by decoding the image: the compressed data is copied as
it is, so the picture is exactly the one the citizen sent. No maintained library does this losslessly for JPEG, PNG
and WebP alike without parsing the metadata itself (exiv2 through pyexiv2 does, in C++, whose metadata parsers are a
long record of CVEs; Pillow re-encodes); this filter reads only the containers' framing (markers, lengths, chunk
types, CRCs) and keeps what decoding needs, everything else goes:
- JPEG: SOI, APP0 JFIF (rebuilt without its thumbnail), APP14 Adobe (its fixed 12 bytes: the colour transform of a
  CMYK/YCCK file), the tables, frames, scans and their entropy data, EOI. Gone: APP1 (Exif, XMP), APP13
  (Photoshop/IPTC), every other APPn (MPF, FlashPix, JUMBF/C2PA, makers' segments), COM, and whatever follows EOI (the
  MPF's second images, a motion photo's video, makers' trailers). A photo's Exif Orientation, and that alone, is kept
  in an Exif segment built anew, so a portrait photo is not shown on its side.
- PNG: the critical chunks and the ancillary ones that change how it looks (transparency, colour space, gamma, HDR
  code points and light level, pixel density, background, animation). Gone: tEXt, zTXt, iTXt (XMP), eXIf, tIME,
  mDCv (the display it was mastered on), every other ancillary chunk (dropping one is always allowed: a decoder must
  be able to ignore it), and whatever follows IEND.
- WebP: the image's chunks, VP8X with its Exif and XMP flags cleared, an animation frame's header, alpha and
  bitstream. Gone: EXIF, XMP and unknown chunks, within a frame too.
A colour profile (JPEG's APP2 ICC, PNG's iCCP, WebP's ICCP) is never the sender's: the copy carries the gateway's own
Display P3 or Adobe RGB profile when the photo's is one of these, none otherwise, and a PNG's cHRM only when it is a
standard space's (workers/colour_profiles.py says why).
Anything else an image may be (HEIC/HEIF, AVIF, TIFF and camera raw, GIF, SVG...), and a file whose framing does not
add up (truncated, a length past the end, a bad CRC, an unknown critical part, a JPEG frame, scan or table segment
its own fields do not fill), is not given to the case store at
all: its attachment goes with the flag `metadata_not_removed` and no location, sha256 or size (they would tell a copy
of the photo found on the reporter's phone); the gateway keeps the file.

A file that is no image is no better: a PDF's Author and XMP, an Office document's docProps (author, last modified by,
company), a phone video's place, a forwarded mail's headers name the sender as surely as a photo's GPS, and no filter
here removes them. So it is withheld the same way, for the reason its kind gives (`unsupported_pdf`, `_office`,
`_archive`, `_video`, `_audio`, `_mail`, `_type`: workers/file_kinds.py), but plain text: a file declared
`text/plain` whose bytes are UTF-8 text without control characters (and no HTML, vCard, calendar or PostScript,
which other programs show in part) shows the citizen all it holds, and goes as it is, their own number, address,
handle or name replaced by `[anonim]` in a copy (flag `own_identity_removed`), as in the report's text
(`not_plain_text` when its bytes are something else). An operator hands a withheld file over after a review
(`lapor-gateway attachments`, workers/handover.py).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import metrics
from gateway.attachments import attachment_location, kept_by_gateway, store_attachment, stored_path
from gateway.channel_names import report_source
from gateway.logs import get_logger
from workers.colour_profiles import STANDARD_CHROMATICITIES, inflated_profile, replacement_profile
from workers.file_kinds import PLAIN_TEXT, SNIFF_BYTES, file_kind, is_plain_text, media_type, text_format
from workers.own_identity import own_identity_remover

log = get_logger()

# The flag of an anonymous report's file whose copy for the case store has its metadata removed (its sha256, size and
# location are the copy's; the gateway's envelope keeps the file as sent).
METADATA_REMOVED = "metadata_removed"
# The flag of an anonymous report's plain-text file whose copy for the case store has the sender's own number, address,
# handle or name replaced by `[anonim]`, as the report's text has (workers/own_identity.py); its sha256, size and
# location are the copy's.
OWN_IDENTITY_REMOVED = "own_identity_removed"
# The flag of an anonymous report's file the gateway could not give without its metadata (an image it could not
# clean, a document, a video...): withheld from the case store (no location, sha256 or size).
METADATA_NOT_REMOVED = "metadata_not_removed"
# Enough of a file's start to tell its format.
HEAD_BYTES = 32


class MetadataNotRemoved(Exception):
    """The file could not be given without its metadata; `reason` says why (no detail of the file)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- telling formats apart, by their bytes (a mailed file's declared type is whatever the sender's client said) -----
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
                         b"avif", b"avis", b"mif2", b"avci", b"jpeg"})


def image_format(head: bytes) -> str | None:
    """The image format the file's first bytes say: jpeg, png and webp are cleaned; heif, tiff and gif are images that
    are not; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):  # TIFF, and the camera raw formats built on it (DNG, CR2, NEF...)
        return "tiff"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def strip_metadata(data: bytes) -> bytes:
    """`data` without its metadata (the same bytes when it has none); raises MetadataNotRemoved, never anything else
    for any input."""
    kind = image_format(data[:HEAD_BYTES])
    strip = {"jpeg": _strip_jpeg, "png": _strip_png, "webp": _strip_webp}.get(kind or "")
    if strip is None:
        raise MetadataNotRemoved(f"unsupported_{kind}" if kind else "unknown_format")
    try:
        return strip(data)
    except MetadataNotRemoved:
        raise
    except Exception as error:  # a framing this filter did not foresee: never a crash, never the file as it was
        raise MetadataNotRemoved("malformed") from error


# -- JPEG --------------------------------------------------------------------------------------------------------------
SOI, EOI, SOS, APP0, APP1, APP2, APP14, COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
DHT, DAC, DQT, DNL, DRI, DHP, EXP = 0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF
# Segments decoding needs: SOF0-15 but for JPG (C8) and DHT/DAC among them, DQT, DNL, DRI, DHP, EXP.
DECODING_MARKERS = frozenset({*range(0xC0, 0xD0), 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}) - {0xC8}
FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# The end of a scan's entropy data: 0xFF followed by anything but a stuffed zero or a restart marker.
SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
JFIF_FIXED = 14  # "JFIF\0", version, units, densities, thumbnail width and height
ADOBE_FIXED = 12  # "Adobe", version, flags0, flags1, transform
ORIENTATION_TAG = 0x0112
ICC_SIGNATURE = b"ICC_PROFILE\x00"


def _strip_jpeg(data: bytes) -> bytes:
    kept = [b"\xff\xd8"]
    orientation: int | None = None
    icc_parts: list[bytes] = []
    icc_at = 0  # where the first ICC segment was, for the one that replaces them
    framed = scanned = False
    pos, end = 2, len(data)
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise MetadataNotRemoved("truncated" if pos >= end else "malformed")
        while pos < end and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= end:
            raise MetadataNotRemoved("truncated")
        marker = data[pos]
        pos += 1
        if marker == EOI:
            break  # what follows (second images, a video, makers' trailers) is not this picture
        if pos + 2 > end:
            raise MetadataNotRemoved("truncated")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > end:
            raise MetadataNotRemoved("truncated" if pos + length > end else "malformed")
        payload = data[pos + 2:pos + length]
        segment = data[pos - 2:pos + length]
        pos += length
        if (marker == SOS or marker in DECODING_MARKERS) and not _fills_its_segment(marker, payload):
            # An APPn or COM marker one bit off is a frame, a table or DHP (0xE1 is 0xC1, 0xFE 0xDE), a scan header's
            # length one bit off takes in what follows (a motion photo's second image past EOI): kept as they were,
            # their Exif went along. libjpeg refuses a segment its fields do not fill; so does this filter.
            raise MetadataNotRemoved("malformed")
        if marker == SOS:
            if not framed:
                raise MetadataNotRemoved("malformed")
            found = SCAN_END.search(data, pos)
            if found is None:
                raise MetadataNotRemoved("truncated")
            kept.append(segment + data[pos:found.start()])
            pos = found.start()
            scanned = True
        elif marker in DECODING_MARKERS:
            kept.append(segment)
            framed = framed or marker in FRAME_MARKERS
        elif marker == APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= JFIF_FIXED:
            kept.append(_segment(APP0, payload[:JFIF_FIXED - 2] + b"\x00\x00"))  # no thumbnail
        elif marker == APP2 and payload.startswith(ICC_SIGNATURE):
            icc_at = icc_at or len(kept)
            icc_parts.append(payload[len(ICC_SIGNATURE):])
        elif marker == APP14 and payload.startswith(b"Adobe") and len(payload) >= ADOBE_FIXED:
            kept.append(_segment(APP14, payload[:ADOBE_FIXED]))
        elif marker == APP1 and payload.startswith(b"Exif\x00\x00") and orientation is None:
            orientation = exif_orientation(payload[6:])
        elif not (APP0 <= marker <= 0xEF or marker == COM):
            raise MetadataNotRemoved("malformed")  # a marker no baseline, progressive or lossless file has here
    if not scanned:
        raise MetadataNotRemoved("malformed")
    if (profile := replacement_profile(_jpeg_icc_profile(icc_parts))) is not None:
        kept.insert(icc_at, _segment(APP2, ICC_SIGNATURE + b"\x01\x01" + profile))
    if orientation is not None and orientation != 1:
        kept.insert(2 if kept[1].startswith(b"\xff\xe0") else 1, _orientation_segment(orientation))
    return b"".join(kept) + b"\xff\xd9"


def _fills_its_segment(marker: int, payload: bytes) -> bool:
    """Whether a segment decoding needs is exactly its fields, as libjpeg checks them (JERR_BAD_LENGTH): its length
    counts nothing else. A frame header (SOFn, DHP) is 6 bytes and 3 per component, a scan header 4 and 2 per
    component, DRI and DNL 2 bytes, EXP 1, DAC pairs of a table and its values (JERR_DAC_INDEX, JERR_DAC_VALUE); DQT
    and DHT are tables, each as long as its own fields say."""
    size = len(payload)
    if marker in FRAME_MARKERS or marker == DHP:
        return size >= 9 and size == 6 + 3 * payload[5]
    if marker == SOS:
        return size >= 6 and 1 <= payload[0] <= 4 and size == 4 + 2 * payload[0]
    if marker in (DRI, DNL):
        return size == 2
    if marker == EXP:
        return size == 1
    if marker == DAC:  # pairs: its class and table (0 or 1, 0 to 3), then its conditioning: DC's L <= U, AC's 1..63
        pairs = [(payload[at], payload[at + 1]) for at in range(0, size - 1, 2)]
        return size > 0 and size % 2 == 0 and all(
            table >> 4 <= 1 and table & 0x0F <= 3
            and (value & 0x0F <= value >> 4 if table >> 4 == 0 else 1 <= value <= 63) for table, value in pairs)
    pos = 0
    while pos < size:
        if marker == DQT:
            precision = payload[pos] >> 4
            if precision > 1:
                return False
            pos += 1 + 64 * (precision + 1)
        else:  # DHT: its class and id, 16 counts of codes by length, then the codes' symbols
            counts = payload[pos + 1:pos + 17]
            if len(counts) < 16:
                return False
            pos += 17 + sum(counts)
    return size > 0 and pos == size


def _jpeg_icc_profile(parts: list[bytes]) -> bytes | None:
    """The profile an APP2 ICC segment or several hold (each its number, their count, its part); None when they do
    not add up."""
    if not parts or any(len(part) < 2 or part[1] != len(parts) for part in parts):
        return None
    ordered = sorted(parts, key=lambda part: part[0])
    if [part[0] for part in ordered] != list(range(1, len(parts) + 1)):
        return None
    return b"".join(part[2:] for part in ordered)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def exif_orientation(tiff: bytes) -> int | None:
    """The Orientation (1 to 8) in an Exif block's first IFD; None when it has none or it cannot be read."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8 or int.from_bytes(tiff[2:4], order) != 42:
        return None
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return None
    for index in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        entry = tiff[ifd + 2 + 12 * index:ifd + 14 + 12 * index]
        if len(entry) < 12:
            return None
        tag, kind, count = (int.from_bytes(entry[0:2], order), int.from_bytes(entry[2:4], order),
                            int.from_bytes(entry[4:8], order))
        if tag == ORIENTATION_TAG:
            value = int.from_bytes(entry[8:10], order)
            return value if kind == 3 and count == 1 and 1 <= value <= 8 else None
    return None


def _orientation_segment(orientation: int) -> bytes:
    """An Exif APP1 of one tag, built here: big-endian TIFF header, an IFD0 of one SHORT entry, no next IFD."""
    entry = ORIENTATION_TAG.to_bytes(2, "big") + (3).to_bytes(2, "big") + (1).to_bytes(4, "big")
    ifd = (1).to_bytes(2, "big") + entry + orientation.to_bytes(2, "big") + b"\x00\x00" + (0).to_bytes(4, "big")
    return _segment(APP1, b"Exif\x00\x00" + b"MM\x00*" + (8).to_bytes(4, "big") + ifd)


# -- PNG ---------------------------------------------------------------------------------------------------------------
PNG_CRITICAL = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})
# Ancillary chunks that change how the image looks (and APNG's frames); any other ancillary chunk may be dropped. An
# iCCP goes as the gateway's own profile or not at all, a cHRM only when it is a standard space's (colour_profiles).
# Not mDCv: the display the picture was mastered on (its measured primaries and luminance), not the picture; an HDR
# viewer tone-maps without it.
PNG_KEPT = frozenset({b"tRNS", b"gAMA", b"sRGB", b"sBIT", b"cICP", b"cLLI", b"bKGD", b"pHYs", b"acTL", b"fcTL",
                      b"fdAT"})
PNG_MAX_LENGTH = 2**31 - 1
PNG_ICC_NAME = b"ICC profile"


def _strip_png(data: bytes) -> bytes:
    kept = [PNG_SIGNATURE]
    icc_read = False
    pos, end = len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 8 > end:
            raise MetadataNotRemoved("truncated")
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if length > PNG_MAX_LENGTH or not kind.isalpha():
            raise MetadataNotRemoved("malformed")
        if pos + 12 + length > end:
            raise MetadataNotRemoved("truncated")
        crc = int.from_bytes(data[pos + 8 + length:pos + 12 + length], "big")
        chunk = data[pos + 8:pos + 8 + length]
        if zlib.crc32(data[pos + 4:pos + 8 + length]) != crc:
            raise MetadataNotRemoved("bad_crc")
        if (pos == len(PNG_SIGNATURE)) != (kind == b"IHDR"):
            raise MetadataNotRemoved("malformed")
        critical = not kind[0] & 0x20
        if critical and kind not in PNG_CRITICAL:
            raise MetadataNotRemoved("malformed")  # a critical chunk no standard decoder reads (Apple's CgBI...)
        if critical or kind in PNG_KEPT or (kind == b"cHRM" and chunk in STANDARD_CHROMATICITIES):
            kept.append(data[pos:pos + 12 + length])
        elif kind == b"iCCP" and not icc_read:
            # A PNG has one at most, and only the first is inflated: each is up to MAX_PROFILE_BYTES from about a
            # thousandth of that, and a file of thousands would take the forward job's time. Any other goes.
            icc_read = True
            if (profile := replacement_profile(_png_icc_profile(chunk))) is not None:
                kept.append(_png_chunk(b"iCCP", PNG_ICC_NAME + b"\x00\x00" + zlib.compress(profile, 9)))
        pos += 12 + length
        if kind == b"IEND":
            return b"".join(kept)  # what follows IEND is not the image


def _png_icc_profile(chunk: bytes) -> bytes | None:
    """An iCCP chunk's profile (after its name, which is its writer's choice, and compression method 0)."""
    _name, separator, rest = chunk.partition(b"\x00")
    return inflated_profile(rest[1:]) if separator and rest[:1] == b"\x00" else None


def _png_chunk(kind: bytes, chunk: bytes) -> bytes:
    return len(chunk).to_bytes(4, "big") + kind + chunk + zlib.crc32(kind + chunk).to_bytes(4, "big")


# -- WebP --------------------------------------------------------------------------------------------------------------
WEBP_IMAGE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"ALPH", b"ANIM"})
# What an ANMF frame keeps after its 16-byte header: its alpha and its bitstream, not the unknown chunks the container
# lets a writer add after them.
WEBP_FRAME_CHUNKS = frozenset({b"ALPH", b"VP8 ", b"VP8L"})
ANMF_HEADER = 16
VP8X_SIZE = 10  # its flags, 3 reserved bytes, the canvas width and height; libwebp refuses any other size
VP8X_ICC, VP8X_EXIF, VP8X_XMP = 0x20, 0x08, 0x04


def _strip_webp(data: bytes) -> bytes:
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise MetadataNotRemoved("truncated")
    chunks: list[bytes] = []
    for kind, chunk in _riff_chunks(data, 12, riff_end):
        if not chunks:
            if kind not in (b"VP8 ", b"VP8L", b"VP8X") or (kind == b"VP8X" and len(chunk) != 8 + VP8X_SIZE):
                raise MetadataNotRemoved("malformed")
            chunks.append(chunk)
        elif not chunks[0].startswith(b"VP8X"):
            continue  # a simple (lossy or lossless) file is its one image chunk: nothing after it
        elif kind == b"ICCP":  # one at most, right after VP8X: a later or second one goes
            if len(chunks) == 1 and (profile := replacement_profile(
                    chunk[8:8 + int.from_bytes(chunk[4:8], "little")])) is not None:
                chunks.append(_riff_chunk(b"ICCP", profile))
        elif kind == b"ANMF":
            chunks.append(_webp_frame(chunk[8:8 + int.from_bytes(chunk[4:8], "little")]))
        elif kind in WEBP_IMAGE_CHUNKS:
            chunks.append(chunk)
    if not chunks:
        raise MetadataNotRemoved("malformed")
    if chunks[0].startswith(b"VP8X"):
        icc = VP8X_ICC if any(chunk.startswith(b"ICCP") for chunk in chunks) else 0
        flags = chunks[0][8] & ~(VP8X_ICC | VP8X_EXIF | VP8X_XMP) | icc
        chunks[0] = chunks[0][:8] + bytes((flags,)) + chunks[0][9:]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _riff_chunks(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    """(type, the chunk with its header and padding) of each chunk from `pos` to `end`, which they must fill."""
    while pos < end:
        if pos + 8 > end:
            raise MetadataNotRemoved("truncated")
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        total = 8 + size + (size & 1)  # a chunk of odd size is padded to an even one
        if pos + total > end:
            raise MetadataNotRemoved("truncated")
        yield data[pos:pos + 4], data[pos:pos + total]
        pos += total


def _webp_frame(frame: bytes) -> bytes:
    """An ANMF chunk with its header, its alpha and its bitstream alone."""
    if len(frame) < ANMF_HEADER:
        raise MetadataNotRemoved("malformed")
    kept = [chunk for kind, chunk in _riff_chunks(frame, ANMF_HEADER, len(frame)) if kind in WEBP_FRAME_CHUNKS]
    if not any(chunk.startswith((b"VP8 ", b"VP8L")) for chunk in kept):
        raise MetadataNotRemoved("malformed")
    return _riff_chunk(b"ANMF", frame[:ANMF_HEADER] + b"".join(kept))


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "little") + payload + bytes(len(payload) & 1)


# -- the forward worker's step ---------------------------------------------------------------------------------------
# What became of an anonymous report's stored file when it was not withheld (for a reason: MetadataNotRemoved's, a
# non-image kind's, `unreadable`, `not_stored`): a copy without metadata, or a file without any (an image, plain text).
REMOVED, CLEAN = "removed", "clean"
TEXT = "text"


@dataclass(frozen=True, slots=True)
class Examined:
    """What the case store gets of one stored file of an anonymous report: `outcome` (REMOVED, CLEAN, or why it is
    withheld), the file's kind (jpeg, pdf, text...) when known, and the copy's sha256 and size when REMOVED."""

    outcome: str
    kind: str | None = None
    sha256: str | None = None
    size: int | None = None

    @property
    def withheld(self) -> bool:
        return self.outcome not in (REMOVED, CLEAN)


def without_identifying_metadata(data_dir: Path, envelopes: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The envelopes as the case store is to get them: each anonymous report's file kept by the gateway replaced by
    its copy without metadata (flag `metadata_removed`), as it is when it has none, or withheld (flag
    `metadata_not_removed`, no location, sha256 or size). The envelopes given are left as they are; a batch without
    an anonymous report's stored file costs nothing more than this look at its envelopes (no disk, no Redis)."""
    wanted = [(tracking_id, index) for tracking_id, envelope in envelopes.items() if envelope.get("anonymous")
              for index, attachment in enumerate(envelope.get("attachments") or []) if kept_by_gateway(attachment)]
    if not wanted:
        return dict(envelopes)
    result = dict(envelopes)
    examined: dict[tuple[str, str], Examined] = {}  # a file in several reports of the batch is read once
    for tracking_id, index in wanted:
        envelope = result[tracking_id]
        if envelope is envelopes[tracking_id]:  # copied once, before its first change
            envelope = result[tracking_id] = {**envelope, "attachments": list(envelope["attachments"])}
        attachment = envelope["attachments"][index]
        # A plain text's copy depends on whose report it is (its sender's identity goes): read once per report.
        content_type = media_type(attachment.get("content_type"))
        key = (str(attachment["location"]), content_type, tracking_id if content_type == PLAIN_TEXT else "")
        if key not in examined:
            examined[key] = examine(data_dir, attachment, own_identity=own_identity_remover(envelope))
            metrics.ATTACHMENT_METADATA.labels(examined[key].outcome).inc()
        outcome = examined[key]
        envelope["attachments"][index] = as_given(attachment, outcome)
        if outcome.withheld:
            log.warning("attachment.metadata_not_removed", tracking_id=tracking_id, attachment=index,
                        channel=report_source(envelope), reason=outcome.outcome, format=outcome.kind)
    return result


def as_given(attachment: Mapping[str, Any], examined: Examined) -> dict[str, Any]:
    """An anonymous report's stored file as the case store gets it, once examined."""
    flags = list(attachment.get("flags", []))
    if examined.withheld:
        # Nor its sha256 and size: they would tell a copy of the file found on the reporter's phone or computer.
        return {**attachment, "location": "", "sha256": None, "size": None, "flags": [*flags, METADATA_NOT_REMOVED]}
    if examined.outcome == REMOVED:
        removed = OWN_IDENTITY_REMOVED if examined.kind == TEXT else METADATA_REMOVED
        return {**attachment, "sha256": examined.sha256, "size": examined.size,
                "location": attachment_location(str(examined.sha256)), "flags": [*flags, removed]}
    return dict(attachment)


def examine(data_dir: Path, attachment: Mapping[str, Any], *, keep_copy: bool = True,
            own_identity: Callable[[str], str] | None = None) -> Examined:
    """Read a stored file and tell what the case store may get of it; keep its copy without metadata by the copy's
    sha256 beside it (unless `keep_copy` is False: an operator's look, workers/handover.py, writes nothing). A plain
    text goes through `own_identity` (workers/own_identity.own_identity_remover of its report): changed, it goes as
    that copy."""
    content_type = media_type(attachment.get("content_type"))
    try:
        with stored_path(data_dir, str(attachment["location"])).open("rb") as file:
            head = file.read(SNIFF_BYTES)
            kind = image_format(head[:HEAD_BYTES])
            if kind is None and not content_type.startswith("image/"):
                data = head + (file.read() if content_type == PLAIN_TEXT else b"")
                examined = _no_image(data, content_type)
                if examined.kind != TEXT or own_identity is None:
                    return examined
                kind, stripped = TEXT, own_identity(data.decode("utf-8")).encode("utf-8")
            else:
                data = head + file.read()
    except OSError:
        return Examined("unreadable")  # never sent unexamined
    if kind != TEXT:
        try:
            stripped = strip_metadata(data)
        except MetadataNotRemoved as failure:
            return Examined(failure.reason, kind)
    if stripped == data:
        return Examined(CLEAN, kind)
    sha256 = hashlib.sha256(stripped).hexdigest()
    if keep_copy:
        try:
            store_attachment(data_dir, sha256, stripped)
        except OSError:  # a full or unwritable data dir: the file is not sent as it is instead
            return Examined("not_stored", kind)
    return Examined(REMOVED, kind, sha256, len(stripped))


def _no_image(data: bytes, content_type: str) -> Examined:
    """A file that is no image (`data`: all of a declared plain text, a mail's first header line may be longer than
    the head; the head of anything else): plain text goes as it is, anything else is withheld by its kind."""
    kind = file_kind(data, content_type)
    if kind is not None:
        return Examined(f"unsupported_{kind}", kind)
    if content_type != PLAIN_TEXT:
        return Examined("unsupported_type")
    if (shown_otherwise := text_format(data)) is not None:  # HTML, a vCard... declared as plain text
        return Examined("unsupported_type", shown_otherwise)
    return Examined(CLEAN, TEXT) if is_plain_text(data) else Examined("not_plain_text")
