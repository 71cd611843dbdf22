"""An anonymous report's photos reach the case store without their taker's name, device or place, pixels untouched.

The files are real ones (tests/fixtures/attachments/, written by tests/image_support.py): JPEGs with Exif GPS, owner
and serial, XMP, IPTC, comments, a JFIF thumbnail and a motion photo's trailer; PNGs with text chunks, eXIf, tIME and
a private chunk; WebPs with Exif and XMP. Each row checks the original does carry what it should lose (or the test
would prove nothing), that a decoder finds none of it in the copy, and that every frame decodes to the same pixels.
Colour profiles are made here as a calibration tool leaves them (lcms's, with the owner's description, the display's
serial, a date): the copy carries the gateway's own Display P3 or Adobe RGB profile, or none. Every other place a JPEG,
PNG or WebP may carry a name (extended XMP, an Exif thumbnail, FlashPix, MPF, JFXX, C2PA, a cHRM or mDCv, an unknown
chunk in an animation frame, bytes after the end) has a row of a file made here. Files the filter cannot clean (other
formats, broken framing) are refused with a reason, whatever their bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from gateway.attachments import attachment_location, store_attachment
from tests.conftest import log_events
from tests.image_support import (
    ADOBE_RGB_1998,
    APPLE_DISPLAY_P3,
    CALIBRATED,
    GPS_IFD,
    ORIENTATION,
    OWNER,
    SERIAL,
    XMP,
    after_first_segments,
    before_idat,
    encode,
    exif,
    exif_orientation_payload,
    fixture,
    frames_of,
    icc_profile,
    identifying_metadata,
    jpeg_segment,
    mluc,
    picture,
    png_chunk,
    png_chunks,
    png_with_icc,
    profile_description,
    riff_chunk,
    webp_chunks_of,
    webp_of,
)
from workers import image_metadata
from workers.colour_profiles import ADOBE_RGB, DISPLAY_P3, SRGB, ColourSpace
from workers.colour_profiles import icc_profile as icc_profile_of
from workers.image_metadata import (
    HEAD_BYTES,
    METADATA_NOT_REMOVED,
    METADATA_REMOVED,
    MetadataNotRemoved,
    image_format,
    strip_metadata,
    without_identifying_metadata,
)


def webp_chunks(data: bytes) -> list[bytes]:
    kinds, pos = [], 12
    while pos < len(data):
        kinds.append(data[pos:pos + 4])
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        pos += 8 + size + (size & 1)
    return kinds


def kept_parts(data: bytes) -> list[str]:
    """The APPn and COM segments of a JPEG, the chunks of a PNG or a WebP, in order."""
    if data.startswith(b"\xff\xd8"):
        return [marker for marker, _ in Image.open(io.BytesIO(data)).applist]
    if data.startswith(b"\x89PNG"):
        return [kind.decode() for kind, _ in png_chunks(data)]
    return [kind.decode() for kind in webp_chunks(data)]


# (fixture, what its original carries (at least), the parts the copy keeps, the copy's orientation)
CLEANED = [
    pytest.param("phone.jpg", {"gps", "exif_ifd", "ifd0", "xmp", "iptc", "comment", "photoshop", "bytes:R58N91XK2QZ"},
                 ["APP0", "APP1"], 6, id="jpeg: exif gps, owner, serial, xmp, iptc, comment, an sRGB profile"),
    pytest.param("progressive.jpg", {"gps", "exif_ifd", "comment"}, ["APP0"], None,
                 id="progressive jpeg with restart markers: ten scans, tables between them"),
    pytest.param("cmyk.jpg", {"gps", "xmp"}, ["APP14"], None, id="cmyk jpeg: adobe transform kept"),
    pytest.param("motion.jpg", {"gps", "exif_ifd"}, ["APP0", "APP1"], 3,
                 id="jpeg with a second image and a video after EOI: both gone"),
    pytest.param("text.png", {"gps", "Author", "Comment", "XML:com.adobe.xmp", "tIME", "eXIf", "prVt"},
                 ["IHDR", "pHYs", "IDAT", "IEND"], None,
                 id="png: tEXt, zTXt, iTXt xmp, eXIf, tIME, a private chunk, an sRGB iCCP; density kept"),
    pytest.param("animated.png", {"Author"}, ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "IEND"], None,
                 id="animated png: every frame kept"),
    pytest.param("phone.webp", {"gps", "exif_ifd", "xmp"}, ["VP8X", "VP8 "], None,
                 id="webp: exif, xmp and an sRGB ICCP gone, their flags cleared"),
    pytest.param("animated.webp", {"gps", "exif_ifd", "xmp"}, ["VP8X", "ANIM", "ANMF", "ANMF"], None,
                 id="animated webp: every frame kept"),
]


@pytest.mark.parametrize(("name", "carried", "kept", "orientation"), CLEANED)
def test_a_photo_loses_what_names_its_taker_and_keeps_every_pixel(
        name: str, carried: set[str], kept: list[str], orientation: int | None) -> None:
    original = fixture(name)
    assert carried <= set(identifying_metadata(original))  # the fixture does carry it
    cleaned = strip_metadata(original)
    assert identifying_metadata(cleaned) == {}
    assert frames_of(cleaned) == frames_of(original)  # nothing re-encoded
    assert kept_parts(cleaned) == kept
    image = Image.open(io.BytesIO(cleaned))
    assert dict(image.getexif()) == ({ORIENTATION: orientation} if orientation else {})
    assert image.getexif().get_ifd(GPS_IFD) == {}
    assert "icc_profile" not in image.info  # an sRGB profile goes: an untagged photo is shown as sRGB
    assert strip_metadata(cleaned) == cleaned  # nothing more to take


def test_the_copy_keeps_the_jfif_header_without_its_thumbnail_and_nothing_after_eoi() -> None:
    cleaned = strip_metadata(fixture("phone.jpg"))
    app0 = Image.open(io.BytesIO(cleaned)).applist[0][1]
    assert app0.startswith(b"JFIF\x00") and app0[12:] == b"\x00\x00" and len(app0) == 14
    assert Image.open(io.BytesIO(cleaned)).applist[1][1] == exif_orientation_payload(6)
    motion = strip_metadata(fixture("motion.jpg"))
    assert motion.endswith(b"\xff\xd9") and motion.count(b"\xff\xd8") == 1 and b"MotionPhoto" not in motion
    webp = strip_metadata(fixture("phone.webp"))
    assert webp[20] == fixture("phone.webp")[20] & ~0x2C  # exif, xmp and icc off
    assert struct.unpack("<I", webp[4:8])[0] == len(webp) - 8


# -- colour profiles: the gateway's own or none, never the sender's (workers/colour_profiles.py) ----------------------
def jpeg_with_icc(profile: bytes) -> bytes:
    return encode(picture(), "JPEG", icc_profile=profile, quality=90)  # Pillow splits a profile past 64 KiB


def webp_with_icc(profile: bytes) -> bytes:
    return encode(picture(), "WEBP", icc_profile=profile, quality=80)


def without_second_icc_part(jpeg: bytes) -> bytes:
    at = jpeg.index(b"ICC_PROFILE\x00\x02") - 4
    return jpeg[:at] + jpeg[at + 2 + struct.unpack(">H", jpeg[at + 2:at + 4])[0]:]


def readable(data: bytes) -> bytes:
    """The file's bytes, and a PNG's iCCP profiles inflated: where a profile's description and tags can be read."""
    inflated = []
    for kind, chunk in png_chunks(data) if data.startswith(b"\x89PNG") else ():
        if kind == b"iCCP":
            with contextlib.suppress(zlib.error):
                inflated.append(zlib.decompress(chunk.partition(b"\x00")[2][1:]))
    return data + b"".join(inflated)


# What names the owner in a profile: its description (UTF-16 in a v4 profile), the display's serial in its dmdd, a
# PNG iCCP's keyword.
PROFILE_NAMES = ("Budi".encode("utf-16-be"), SERIAL.encode("utf-16-be"), b"Budi")
CALIBRATED_SRGB = icc_profile(CALIBRATED, dmdd=mluc(f"Pixel 7 {SERIAL}"))
CALIBRATED_P3 = icc_profile("Budi's iPhone 15 Pro", APPLE_DISPLAY_P3, dmdd=mluc(f"iPhone 15 Pro {SERIAL}"))
EDITED_ADOBE_RGB = icc_profile("Budi's Lightroom export", ADOBE_RGB_1998, dmdd=mluc(SERIAL))

# (the file, the space whose profile (the gateway's) the copy carries: None for none)
ICC_PROFILES = [
    pytest.param(jpeg_with_icc(CALIBRATED_SRGB), None, id="jpeg: a calibrated sRGB profile goes"),
    pytest.param(png_with_icc(CALIBRATED_SRGB, b"Budi's MacBook Pro"), None,
                 id="png: a calibrated sRGB iCCP goes, its keyword too"),
    pytest.param(webp_with_icc(CALIBRATED_SRGB), None, id="webp: a calibrated sRGB ICCP goes, its flag cleared"),
    pytest.param(jpeg_with_icc(CALIBRATED_P3), DISPLAY_P3, id="jpeg: a display p3 profile becomes the gateway's"),
    pytest.param(png_with_icc(CALIBRATED_P3, b"Budi's iPhone"), DISPLAY_P3,
                 id="png: a display p3 iCCP becomes the gateway's"),
    pytest.param(webp_with_icc(CALIBRATED_P3), DISPLAY_P3, id="webp: a display p3 ICCP becomes the gateway's"),
    pytest.param(jpeg_with_icc(EDITED_ADOBE_RGB), ADOBE_RGB, id="jpeg: an adobe rgb profile becomes the gateway's"),
    pytest.param(jpeg_with_icc(icc_profile("Display P3", dmdd=mluc(SERIAL), prvt=b"Budi" * 4)), None,
                 id="jpeg: sRGB colorants named display p3 go (a description is not what a profile does)"),
    pytest.param(jpeg_with_icc(icc_profile(CALIBRATED, APPLE_DISPLAY_P3, prvt=b"Budi" * 20_000)), DISPLAY_P3,
                 id="jpeg: a display p3 profile in two APP2 segments becomes one"),
    pytest.param(without_second_icc_part(jpeg_with_icc(icc_profile(CALIBRATED, APPLE_DISPLAY_P3,
                                                                   prvt=b"Budi" * 20_000))), None,
                 id="jpeg: a profile missing a part goes"),
    pytest.param(jpeg_with_icc(icc_profile(CALIBRATED, APPLE_DISPLAY_P3, A2B0=b"mAB " + bytes(28))), None,
                 id="jpeg: a LUT profile with display p3 colorants goes (its colorants are not what it does)"),
    pytest.param(after_first_segments(encode(picture(), "JPEG"), jpeg_segment(0xE2, b"ICC_PROFILE\x00\x01\x01"
                                                                                  + CALIBRATED.encode())), None,
                 id="jpeg: an ICC segment that holds no profile goes"),
    pytest.param(before_idat(encode(picture(), "PNG"), png_chunk(b"iCCP", b"Budi\x00\x00not zlib")), None,
                 id="png: an iCCP that holds no zlib stream goes"),
]


@pytest.mark.parametrize(("data", "space"), ICC_PROFILES)
def test_a_photos_colour_profile_goes_as_the_gateways_own_or_not_at_all(
        data: bytes, space: ColourSpace | None) -> None:
    assert any(name in readable(data) for name in PROFILE_NAMES)  # the file does carry one
    cleaned = strip_metadata(data)
    assert not any(name in readable(cleaned) for name in PROFILE_NAMES)
    assert frames_of(cleaned) == frames_of(data)
    assert Image.open(io.BytesIO(cleaned)).info.get("icc_profile") == (icc_profile_of(space) if space else None)
    assert profile_description(cleaned) == (space.name if space else None)  # as lcms reads it
    if cleaned.startswith(b"\xff\xd8"):
        assert kept_parts(cleaned).count("APP2") == (1 if space else 0)
    if cleaned.startswith(b"RIFF"):
        assert bool(cleaned[20] & 0x20) == (space is not None)  # VP8X's ICC flag says whether there is one
    assert strip_metadata(cleaned) == cleaned  # the gateway's profile is its own replacement


def test_a_png_s_profile_is_read_once_however_many_iccp_chunks_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PNG has one iCCP at most: a second (or thousands, each a megabyte of zeros inflated from two kilobytes) is
    never inflated, and goes."""
    inflated: list[int] = []
    inflate = image_metadata.inflated_profile
    monkeypatch.setattr(image_metadata, "inflated_profile", lambda data: inflated.append(len(data)) or inflate(data))
    bomb = png_chunk(b"iCCP", b"Budi\x00\x00" + zlib.compress(bytes(1 << 20), 9))
    data = before_idat(png_with_icc(CALIBRATED_P3, b"Budi's iPhone"), *[bomb] * 50)
    cleaned = strip_metadata(data)
    assert len(inflated) == 1
    assert [kind for kind, _ in png_chunks(cleaned)].count(b"iCCP") == 1
    assert Image.open(io.BytesIO(cleaned)).info.get("icc_profile") == icc_profile_of(DISPLAY_P3)


def test_a_webp_keeps_one_profile_where_the_format_has_it_however_many_it_carries() -> None:
    """WebP's ICCP comes once, right after VP8X: a second one (or one after the picture) became a second copy of the
    gateway's profile, a file decoders may refuse."""
    chunks = webp_chunks_of(webp_with_icc(CALIBRATED_P3))
    icc = next(payload for kind, payload in chunks if kind == b"ICCP")
    cleaned = strip_metadata(webp_of([*chunks[:2], (b"ICCP", icc), *chunks[2:], (b"ICCP", icc)]))
    assert webp_chunks(cleaned).count(b"ICCP") == 1
    assert webp_chunks(cleaned)[:2] == [b"VP8X", b"ICCP"]
    assert Image.open(io.BytesIO(cleaned)).info.get("icc_profile") == icc_profile_of(DISPLAY_P3)


@pytest.mark.parametrize(("space", "published"), [(DISPLAY_P3, APPLE_DISPLAY_P3), (ADOBE_RGB, ADOBE_RGB_1998)])
def test_the_gateways_own_profiles_are_the_standard_spaces_and_nothing_else(
        space: ColourSpace, published: tuple[tuple[float, float, float], ...]) -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile_of(space)))
    read = profile.profile
    colorants = (read.red_colorant[0], read.green_colorant[0], read.blue_colorant[0])
    assert [pytest.approx(colorant, abs=5e-4) for colorant in published] == list(colorants)
    assert read.media_white_point[0] == pytest.approx((0.9642, 1.0, 0.8249), abs=1e-4)  # D50, as v4 has it
    assert (read.profile_description, read.model, read.manufacturer) == (space.name, None, None)
    assert read.creation_date == datetime(2025, 1, 1)  # the same in every copy
    to_srgb = ImageCms.buildTransform(profile, ImageCms.createProfile("sRGB"), "RGB", "RGB")
    grey = ImageCms.applyTransform(Image.new("RGB", (1, 1), (128, 128, 128)), to_srgb).getpixel((0, 0))
    assert grey == ((128, 128, 128) if space.curve == SRGB.curve else (129, 129, 129))  # its tone curve, not sRGB's


# -- every other place a photo may carry a name: each goes (or, a standard space's chromaticities, stays) ------------
def box(kind: bytes, payload: bytes) -> bytes:
    """An ISO BMFF box, as JUMBF (C2PA's container) is made of."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def thumbnail(**options: object) -> bytes:
    return encode(picture(size=(16, 8)), "JPEG", **options)


def exif_with_thumbnail() -> bytes:
    """An Exif APP1 whose IFD1 holds the thumbnail, a JPEG with an Exif of its own (GPS, owner, serial), as cameras
    write it: IFD0 (Orientation 1), IFD1 (Compression, JPEGInterchangeFormat and its length), the thumbnail."""
    small = thumbnail(exif=exif(orientation=None))
    ifd0 = struct.pack(">HHHIHHI", 1, ORIENTATION, 3, 1, 1, 0, 26)
    ifd1 = struct.pack(">H", 3) + struct.pack(">HHIHH", 0x0103, 3, 1, 6, 0) + struct.pack(
        ">HHIIHHII", 0x0201, 4, 1, 68, 0x0202, 4, 1, len(small)) + bytes(4)
    return jpeg_segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + ifd0 + ifd1 + small)


def extended_xmp() -> bytes:
    """An APP1 of Adobe's extended XMP: the part of an XMP packet past 64 KiB, by its GUID, length and offset."""
    guid = hashlib.md5(XMP, usedforsecurity=False).hexdigest().upper().encode()
    return jpeg_segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">II", len(XMP), 0) + XMP)


def flashpix() -> bytes:
    """An APP2 of FlashPix extensions (Kodak's, Sanyo's, Fuji's), its stream named in UTF-16."""
    return jpeg_segment(0xE2, b"FPXR\x00\x00\x01\x00\x01" + struct.pack(">I", 64)
                        + f"Screen Nail {OWNER}".encode("utf-16-le"))


def multi_picture() -> bytes:
    """A multi-picture file (MPO) as phones write a depth map or a 3D pair: an APP2 MPF index, and after EOI a second
    image with an Exif of its own."""
    out = io.BytesIO()
    picture().save(out, "MPO", save_all=True, append_images=[picture().transpose(Image.Transpose.ROTATE_180)],
                   exif=exif(orientation=None))
    return out.getvalue()


def c2pa_manifest() -> bytes:
    """An APP11 JUMBF box of Content Credentials (C2PA), as signing cameras and phones write it: its assertion names
    the author."""
    author = b'{"@type": "CreativeWork", "author": [{"@type": "Person", "name": "' + OWNER.encode() + b'"}]}'
    manifest = box(b"jumb", box(b"jumd", b"c2pa" + bytes(12) + b"\x03c2pa\x00") + box(b"json", author))
    return jpeg_segment(0xEB, b"JP\x00\x01\x00\x00\x00\x01" + manifest)


def animated_webp_with_frame_chunk() -> bytes:
    """An animated WebP whose first ANMF frame holds, after its bitstream, an unknown chunk (the container allows
    them there), here an XMP packet."""
    frames = [picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    chunks = webp_chunks_of(encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=200))
    first = next(index for index, (kind, _) in enumerate(chunks) if kind == b"ANMF")
    chunks[first] = (b"ANMF", chunks[first][1] + riff_chunk(b"XMP ", XMP))
    return webp_of(chunks)


# A cHRM as a display's calibration measured it, and sRGB's as libpng writes it.
MEASURED_CHROMATICITIES = struct.pack(">8I", 31340, 32910, 68120, 31800, 26610, 69210, 15090, 5770)
SRGB_CHROMATICITIES = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
# An mDCv: the mastering display's primaries and white (in 0.00002), its most and least luminance (in 0.0001 cd/m2).
MASTERING_DISPLAY = struct.pack(">8HII", 34010, 15990, 13240, 34510, 7490, 3010, 15635, 16450, 16_000_000, 5)
PNG_PLAIN = encode(picture(), "PNG")
OWNER_BYTES = OWNER.encode()

# (the file, what it carries there, whether the copy keeps it)
PLACES = [
    pytest.param(after_first_segments(fixture("clean.jpg"), extended_xmp()), OWNER_BYTES, False,
                 id="jpeg: extended xmp (APP1)"),
    pytest.param(after_first_segments(fixture("clean.jpg"), exif_with_thumbnail()), SERIAL.encode(), False,
                 id="jpeg: an exif thumbnail with its own gps, owner and serial (APP1 IFD1)"),
    pytest.param(after_first_segments(fixture("clean.jpg"), flashpix()), OWNER.encode("utf-16-le"), False,
                 id="jpeg: flashpix extensions (APP2)"),
    pytest.param(multi_picture(), OWNER_BYTES, False,
                 id="jpeg: an MPF index (APP2) and a second image after EOI with its own exif"),
    pytest.param(after_first_segments(fixture("clean.jpg"), jpeg_segment(0xE0, b"JFXX\x00\x10"
                                                                          + thumbnail(comment=OWNER_BYTES))),
                 OWNER_BYTES, False, id="jpeg: a JFXX thumbnail (APP0)"),
    pytest.param(after_first_segments(fixture("clean.jpg"), c2pa_manifest()), OWNER_BYTES, False,
                 id="jpeg: content credentials, c2pa (APP11 JUMBF)"),
    pytest.param(PNG_PLAIN + b"PK\x03\x04" + OWNER_BYTES, OWNER_BYTES, False, id="png: a zip after IEND"),
    pytest.param(before_idat(PNG_PLAIN, png_chunk(b"cHRM", MEASURED_CHROMATICITIES)), MEASURED_CHROMATICITIES,
                 False, id="png: a cHRM a display's calibration measured"),
    pytest.param(before_idat(PNG_PLAIN, png_chunk(b"cHRM", SRGB_CHROMATICITIES)), SRGB_CHROMATICITIES, True,
                 id="png: sRGB's cHRM as libpng writes it stays"),
    pytest.param(before_idat(PNG_PLAIN, png_chunk(b"mDCv", MASTERING_DISPLAY)), MASTERING_DISPLAY, False,
                 id="png: the mastering display's primaries and luminance (mDCv)"),
    pytest.param(fixture("clean.webp") + OWNER_BYTES, OWNER_BYTES, False, id="webp: bytes after the RIFF"),
    pytest.param(animated_webp_with_frame_chunk(), OWNER_BYTES, False,
                 id="webp: an unknown chunk in an animation frame (ANMF)"),
]


@pytest.mark.parametrize(("data", "carried", "stays"), PLACES)
def test_every_other_place_a_photo_may_carry_a_name_is_emptied(data: bytes, carried: bytes, stays: bool) -> None:
    assert carried in data
    cleaned = strip_metadata(data)
    assert (carried in cleaned) == stays
    pictures = frames_of(data)
    assert frames_of(cleaned) == (pictures[:1] if Image.open(io.BytesIO(data)).format == "MPO" else pictures)
    assert strip_metadata(cleaned) == cleaned


@pytest.mark.parametrize("name", ["clean.jpg", "clean.webp"])
def test_an_image_without_metadata_comes_back_as_it_is(name: str) -> None:
    assert strip_metadata(fixture(name)) == fixture(name)


def jpeg_cut(at: str, offset: int = 0) -> bytes:
    data = fixture("phone.jpg")
    return data[:data.index(bytes.fromhex(at)) + offset]


def jpeg_with(segment: bytes) -> bytes:
    """clean.jpg with `segment` after its JFIF APP0."""
    data = fixture("clean.jpg")
    return data[:20] + segment + data[20:]


def phone_exif() -> bytes:
    """phone.jpg's Exif APP1 segment, its GPS, owner and serial in it."""
    data = fixture("phone.jpg")
    start = data.index(b"\xff\xe1")
    return data[start:start + 2 + struct.unpack(">H", data[start + 2:start + 4])[0]]


PNG = fixture("text.png")
WEBP = fixture("phone.webp")


@pytest.mark.parametrize(("data", "reason"), [
    pytest.param(fixture("phone.heic"), "unsupported_heif", id="heic"),
    pytest.param(fixture("phone.tiff"), "unsupported_tiff", id="tiff"),
    pytest.param(fixture("comment.gif"), "unsupported_gif", id="gif"),
    pytest.param(b"%PDF-1.4 kuitansi", "unknown_format", id="a pdf"),
    pytest.param(b"\xff\xd8 foto jalan berlubang", "unknown_format", id="jpeg's first two bytes only"),
    pytest.param(b"", "unknown_format", id="empty"),
    pytest.param(jpeg_cut("ffe1", 3), "truncated", id="jpeg cut in an APP1 length"),
    pytest.param(jpeg_cut("ffe1", 100), "truncated", id="jpeg cut in the exif"),
    pytest.param(jpeg_cut("ffd9"), "truncated", id="jpeg cut in its scan: no EOI"),
    pytest.param(jpeg_cut("ffda"), "truncated", id="jpeg cut before its scan"),
    pytest.param(fixture("phone.jpg")[:2] + b"\xff\xe1\x7f\xff" + b"Exif", "truncated", id="jpeg length past the end"),
    pytest.param(jpeg_with(b"\xff\xe1\x00\x01"), "malformed", id="jpeg length below 2"),
    pytest.param(jpeg_with(b"\xff\xf7\x00\x04ab"), "malformed", id="jpeg-ls frame"),
    pytest.param(jpeg_with(b"\x00\x00"), "malformed", id="jpeg bytes where a marker belongs"),
    pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", "malformed",
                 id="jpeg without a frame or scan"),
    pytest.param(b"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\x34\xff\xd9", "malformed",
                 id="jpeg scan before any frame"),
    pytest.param(jpeg_with(b"\xff\xc1" + phone_exif()[2:]), "malformed",
                 id="jpeg exif under a marker one bit off (APP1 as SOF1): a frame header its fields do not fill"),
    pytest.param(jpeg_with(b"\xff\xde\x00\x0c" + OWNER_BYTES[:10]), "malformed",
                 id="jpeg comment under a marker one bit off (COM as DHP)"),
    pytest.param(jpeg_with(b"\xff\xdb\x00\x4d\x00" + bytes(64) + OWNER_BYTES[:10]), "malformed",
                 id="jpeg quantization table with more after it"),
    pytest.param(jpeg_with(b"\xff\xdd\x00\x0e\x00\x10" + OWNER_BYTES[:10]), "malformed",
                 id="jpeg restart interval with more after it"),
    pytest.param(jpeg_with(b"\xff\xcc" + phone_exif()[2:]), "malformed",
                 id="jpeg exif under the arithmetic conditioning marker (APP1 as DAC): no table or value of one"),
    pytest.param(PNG[:-20], "truncated", id="png cut in its IDAT"),
    pytest.param(PNG[:40], "truncated", id="png cut in its first chunk"),
    pytest.param(PNG[:8], "truncated", id="png signature only"),
    pytest.param(PNG[:30] + bytes([PNG[30] ^ 1]) + PNG[31:], "bad_crc", id="png with a bad crc"),
    pytest.param(PNG[:33] + png_chunk(b"CgBI", b"\x50\x00\x20\x06") + PNG[33:], "malformed",
                 id="png with an unknown critical chunk (apple's CgBI)"),
    pytest.param(PNG[:8] + png_chunk(b"tEXt", b"a\x00b") + PNG[8:], "malformed", id="png whose IHDR is not first"),
    pytest.param(PNG[:8] + b"\x00\x00\x00\x0dIH\x00R" + PNG[16:], "malformed", id="png chunk type not letters"),
    pytest.param(WEBP[:-9], "truncated", id="webp cut: its size says more"),
    pytest.param(WEBP[:4] + struct.pack("<I", len(WEBP) - 8) + WEBP[8:34] + b"\xff\xff\x00\x00" + WEBP[38:],
                 "truncated", id="webp chunk size past the end"),
    pytest.param(b"RIFF\x0c\x00\x00\x00WEBPEXIF\x00\x00\x00\x00", "malformed", id="webp without an image chunk"),
    pytest.param(b"RIFF\x04\x00\x00\x00WEBP", "malformed", id="webp of nothing"),
    pytest.param(webp_of([(b"VP8X", webp_chunks_of(WEBP)[0][1] + OWNER_BYTES), *webp_chunks_of(WEBP)[1:]]),
                 "malformed", id="webp VP8X longer than its 10 bytes (libwebp refuses it)"),
    pytest.param(webp_of([(kind, payload[:16] + riff_chunk(b"XMP ", XMP) if kind == b"ANMF" else payload)
                          for kind, payload in webp_chunks_of(fixture("animated.webp"))]),
                 "malformed", id="webp animation frame without a bitstream"),
])
def test_an_image_that_cannot_be_cleaned_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MetadataNotRemoved) as refused:
        strip_metadata(data)
    assert refused.value.reason == reason


FIXTURES = ["phone.jpg", "progressive.jpg", "cmyk.jpg", "motion.jpg", "text.png", "animated.png", "phone.webp",
            "animated.webp"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FIXTURES), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert", "drop"]), st.integers(0, 1 << 16), st.binary(max_size=8)),
    min_size=1, max_size=4))
@example(name="phone.jpg", edits=[("flip", 6, b"\x01")])  # its APP0 no JFIF: the copy opens with the orientation
def test_a_damaged_image_is_cleaned_or_refused_never_an_error(name: str, edits: list[tuple[str, int, bytes]]) -> None:
    data = bytearray(fixture(name))
    for action, at, extra in edits:
        at %= max(len(data), 1)
        if action == "flip" and data:
            data[at] ^= extra[0] if extra else 0xFF
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = extra
        else:
            del data[at:at + len(extra) + 1]
    try:
        cleaned = strip_metadata(bytes(data))
    except MetadataNotRemoved as refused:
        assert refused.reason
        return
    # The same kind of file, never another one (its first segment may differ: an APP0 that is no JFIF goes, and an
    # Exif segment with the orientation alone may come first).
    assert image_format(cleaned[:HEAD_BYTES]) == image_format(bytes(data[:HEAD_BYTES])) is not None


IDENTIFYING = (OWNER_BYTES, SERIAL.encode(), b"SM-A546E")


@pytest.mark.parametrize("name", FIXTURES)
def test_no_single_bit_flip_lets_the_metadata_through(name: str) -> None:
    """A bit off in a marker (APP1 0xE1 is SOF1 0xC1, COM 0xFE is DHP 0xDE) or in a scan header's length (it then
    takes in a motion photo's second image) once gave a copy with the whole Exif in it, flagged metadata_removed."""
    data = fixture(name)
    leaked = []
    for at in range(len(data)):
        for bit in range(8):
            flipped = data[:at] + bytes((data[at] ^ 1 << bit,)) + data[at + 1:]
            with contextlib.suppress(MetadataNotRemoved):
                if any(carried in strip_metadata(flipped) for carried in IDENTIFYING):
                    leaked.append((at, bit))
    assert leaked == []


# -- the forward worker's step ----------------------------------------------------------------------------------------
def stored(data_dir: Path, data: bytes, content_type: str, **fields: Any) -> dict[str, Any]:
    sha256 = hashlib.sha256(data).hexdigest()
    store_attachment(data_dir, sha256, data)
    return {"content_type": content_type, "size": len(data), "sha256": sha256, "name": "IMG_20251120.jpg",
            "location": attachment_location(sha256), "flags": [], **fields}


# (fixture or bytes, declared type, anonymous, what the case store is to get: "copy", "as_is" or "withheld")
STEP = [
    pytest.param("phone.jpg", "image/jpeg", True, "copy", id="anonymous jpeg: its copy"),
    pytest.param("text.png", "image/png", True, "copy", id="anonymous png: its copy"),
    pytest.param("phone.webp", "image/webp", True, "copy", id="anonymous webp: its copy"),
    pytest.param("phone.jpg", "application/octet-stream", True, "copy",
                 id="a jpeg declared as anything: known by its bytes"),
    pytest.param("clean.jpg", "image/jpeg", True, "as_is", id="nothing to remove: as it is"),
    pytest.param(b"Rp 50.000 di loket 3", "text/plain", True, "as_is", id="plain text: as it is"),
    pytest.param(b"%PDF-1.4 kuitansi", "application/pdf", True, "withheld",
                 id="not an image: withheld (tests/test_withheld_files.py has each kind)"),
    pytest.param("phone.heic", "image/heic", True, "withheld", id="heic: withheld"),
    pytest.param("phone.heic", "application/octet-stream", True, "withheld", id="heic declared as anything: withheld"),
    pytest.param("phone.tiff", "image/tiff", True, "withheld", id="tiff: withheld"),
    pytest.param("comment.gif", "image/gif", True, "withheld", id="gif: withheld"),
    pytest.param(b"%PDF-1.4 kuitansi", "image/jpeg", True, "withheld", id="an image by its type, not its bytes"),
    pytest.param(fixture("phone.jpg")[:900], "image/jpeg", True, "withheld", id="a truncated jpeg: withheld"),
    pytest.param("phone.jpg", "image/jpeg", False, "as_is",
                 id="named report: as sent (its GPS may say where the problem is)"),
]


@pytest.mark.parametrize(("content", "content_type", "anonymous", "expected"), STEP)
def test_an_anonymous_reports_image_goes_as_its_copy_without_metadata_or_not_at_all(
        content: str | bytes, content_type: str, anonymous: bool, expected: str, tmp_path: Path,
        log_stream: io.StringIO) -> None:
    data = fixture(content) if isinstance(content, str) else content
    attachment = stored(tmp_path, data, content_type, flags=["inline"])
    envelopes = {"10000004": {"tracking_id": "10000004", "anonymous": anonymous, "attachments": [attachment]}}
    [outgoing] = without_identifying_metadata(tmp_path, envelopes)["10000004"]["attachments"]
    assert envelopes["10000004"]["attachments"] == [attachment]  # the gateway's copy keeps the file as sent
    assert (tmp_path / attachment["location"]).read_bytes() == data
    withheld = [event for event in log_events(log_stream) if event["event"] == "attachment.metadata_not_removed"]
    if expected == "as_is":
        assert outgoing == attachment and withheld == []
    elif expected == "withheld":
        assert outgoing == {**attachment, "location": "", "sha256": None, "size": None,
                            "flags": ["inline", METADATA_NOT_REMOVED]}
        assert [(event["tracking_id"], event["attachment"]) for event in withheld] == [("10000004", 0)]
        assert withheld[0]["reason"]
    else:
        copy = strip_metadata(data)
        sha256 = hashlib.sha256(copy).hexdigest()
        assert outgoing == {**attachment, "sha256": sha256, "size": len(copy),
                            "location": attachment_location(sha256), "flags": ["inline", METADATA_REMOVED]}
        assert (tmp_path / outgoing["location"]).read_bytes() == copy and withheld == []


@pytest.mark.parametrize(("attachment", "reason"), [
    pytest.param({"location": "attachments/ab/" + "ab" * 32}, "unreadable", id="the file is gone"),
    pytest.param({"location": "../../etc/passwd"}, "unreadable", id="a location out of the data dir"),
    pytest.param({"location": "spool/gateway-1.spool", "content_type": "text/plain"}, "unreadable",
                 id="a location in the data dir but not among its attachments: another citizen's spooled report"),
    pytest.param({"location": "attachments/../spool/gateway-1.spool", "content_type": "text/plain"}, "unreadable",
                 id="a location that leaves the attachments by its dot segments"),
])
def test_a_file_that_cannot_be_read_is_withheld(attachment: dict[str, Any], reason: str, tmp_path: Path,
                                                log_stream: io.StringIO) -> None:
    # The data dir holds more than attachments: a spooled report (plain text to the filter), quarantined mail...
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "gateway-1.spool").write_text('{"sender": "+6281234567890", "text": "laporan"}\n')
    listed = {"content_type": "image/jpeg", "size": 10, "sha256": "ab" * 32, "name": None, "flags": [], **attachment}
    envelopes = {"10000004": {"tracking_id": "10000004", "anonymous": True, "attachments": [listed]}}
    [outgoing] = without_identifying_metadata(tmp_path, envelopes)["10000004"]["attachments"]
    assert outgoing == {**listed, "location": "", "sha256": None, "size": None, "flags": [METADATA_NOT_REMOVED]}
    [event] = [event for event in log_events(log_stream) if event["event"] == "attachment.metadata_not_removed"]
    assert event["reason"] == reason


def test_a_batch_without_an_anonymous_reports_stored_file_reads_no_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_disk(*_: object) -> None:
        raise AssertionError("a file was opened")

    monkeypatch.setattr(image_metadata, "stored_path", no_disk)
    photo = stored(tmp_path, fixture("phone.jpg"), "image/jpeg")
    envelopes = {
        "10000004": {"tracking_id": "10000004", "anonymous": False, "attachments": [photo]},
        "10000012": {"tracking_id": "10000012", "anonymous": True, "attachments": []},
        "10000020": {"tracking_id": "10000020", "anonymous": True},
        "10000038": {"tracking_id": "10000038", "anonymous": True, "attachments": [
            {**photo, "location": "", "flags": ["too_large", "not_stored"]},
            {**photo, "location": "https://pbs.twimg.com/media/GdQx1aXbYAA8kq2.jpg", "flags": ["not_fetched"]}]},
    }
    outgoing = without_identifying_metadata(tmp_path / "elsewhere", envelopes)
    assert outgoing == envelopes
    assert all(outgoing[tid] is envelopes[tid] for tid in envelopes)


def test_a_file_in_several_reports_of_a_batch_is_cleaned_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cleaned: list[bytes] = []
    monkeypatch.setattr(image_metadata, "strip_metadata", lambda data: cleaned.append(data) or strip_metadata(data))
    photo = stored(tmp_path, fixture("phone.jpg"), "image/jpeg")
    envelopes = {tracking_id: {"tracking_id": tracking_id, "anonymous": True, "attachments": [photo]}
                 for tracking_id in ("10000004", "10000012")}
    outgoing = without_identifying_metadata(tmp_path, envelopes)
    assert len(cleaned) == 1
    assert outgoing["10000004"]["attachments"] == outgoing["10000012"]["attachments"] != [photo]
