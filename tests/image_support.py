"""Photos that name their taker, as phones and editors write them, and what a test asks of a cleaned copy.

The files in tests/fixtures/attachments/ were written by this module (`python -m tests.image_support`, Pillow, the
tests' dependency only) and are committed, so a test reads the same bytes whatever Pillow encodes today. Each carries
the owner's name, the device's serial number and GPS coordinates where its format has room for them: Exif (IFD0,
the Exif IFD's CameraOwnerName and BodySerialNumber, the GPS IFD), XMP, IPTC in a Photoshop APP13, a JPEG comment,
PNG text chunks and tIME, a private PNG chunk, a JFIF thumbnail, and what phones append after a JPEG's EOI (a second
image, a motion photo's video). `python -m tests.image_support NAME...` writes the fixtures named alone (a new one, the
others' bytes untouched). Colour profiles are made by `icc_profile` in a test, as a calibration tool leaves them.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageCms, IptcImagePlugin, PngImagePlugin

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "attachments"
OWNER = "Warga Rahasia Pelapor"
SERIAL = "R58N91XK2QZ"
# Kampung Melayu, Jakarta: a reporter's street, as the phone recorded it.
GPS = {1: "S", 2: (6.0, 12.0, 52.44), 3: "E", 4: (106.0, 51.0, 59.04)}
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>{OWNER}</rdf:li>'
       f'</rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>').encode()
# The Exif tags that name the taker or the device, and the IFDs that hold the rest.
ARTIST, MAKE, MODEL, ORIENTATION = 0x013B, 0x010F, 0x0110, 0x0112
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
OWNER_NAME, BODY_SERIAL, DATE_TIME_ORIGINAL = 0xA430, 0xA431, 0x9003


def exif(orientation: int | None = 6) -> Image.Exif:
    data = Image.Exif()
    data[ARTIST], data[MAKE], data[MODEL] = OWNER, "samsung", "SM-A546E"
    if orientation is not None:
        data[ORIENTATION] = orientation
    data.get_ifd(EXIF_IFD).update({OWNER_NAME: OWNER, BODY_SERIAL: SERIAL, DATE_TIME_ORIGINAL: "2025:11:20 07:41:09"})
    data.get_ifd(GPS_IFD).update(GPS)
    return data


def picture(mode: str = "RGB", size: tuple[int, int] = (40, 24)) -> Image.Image:
    """A small picture with detail in it (a flat one would hide a scan cut short)."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    for x in range(0, size[0], 3):
        image.putpixel((x, x % size[1]), (255, 0, 0) if mode == "RGB" else 255)
    return image


def encode(image: Image.Image, file_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, file_format, **options)
    return out.getvalue()


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def iptc_segment() -> bytes:
    """A Photoshop APP13 with an IPTC By-line (2:80), as Photoshop and newsroom tools write it."""
    iptc = b"\x1c\x02\x50" + struct.pack(">H", len(OWNER)) + OWNER.encode()
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    return jpeg_segment(0xED, b"Photoshop 3.0\x00" + resource + b"\x00" * (len(iptc) % 2))


def with_jfif_thumbnail(jpeg: bytes) -> bytes:
    """The JFIF APP0 replaced by one that carries a 2x1 thumbnail."""
    assert jpeg[2:4] == b"\xff\xe0"
    end = 4 + struct.unpack(">H", jpeg[4:6])[0]
    app0 = jpeg_segment(0xE0, jpeg[6:16] + b"\x02\x01" + bytes((200, 10, 10, 10, 200, 10)))
    return jpeg[:2] + app0 + jpeg[end:]


def after_first_segments(jpeg: bytes, extra: bytes) -> bytes:
    """`extra` inserted before the first DQT (after APP0, APP1 and the like)."""
    at = jpeg.index(b"\xff\xdb")
    return jpeg[:at] + extra + jpeg[at:]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of each chunk of a well-formed PNG, up to IEND."""
    pos = 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IEND":
            return


def before_idat(png: bytes, *chunks: bytes) -> bytes:
    at = png.index(b"IDAT") - 4
    return png[:at] + b"".join(chunks) + png[at:]


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# -- ICC profiles as calibration tools and vendors write them ----------------------------------------------------------
# A display calibrated by its owner: the description a calibration tool saves it under, by default or as typed.
CALIBRATED = "Budi's Pixel 7 calibrated"
# The D50 colorants (rXYZ, gXYZ, bXYZ) of Apple's Display P3 and Adobe's AdobeRGB1998.icc, to 4 places, as their
# profiles hold them: the gateway's own profiles are checked against these, not against its own arithmetic.
APPLE_DISPLAY_P3 = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
ADOBE_RGB_1998 = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))


def mluc(text: str) -> bytes:
    """An ICC multiLocalizedUnicode tag of one English record (what a v4 profile's desc is)."""
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def icc_profile(description: str, colorants: tuple[tuple[float, float, float], ...] | None = None,
                **tags: bytes) -> bytes:
    """lcms's sRGB profile (Pillow's) as a calibration tool leaves one: its own description, the colorants it
    measured (those of another space when given), its creation date, and `tags` (the display's model and serial in
    `dmdd`, a private tag...) by their four-letter names."""
    profile = srgb_profile()
    table = {}
    for index in range(struct.unpack(">I", profile[128:132])[0]):
        name, offset, size = struct.unpack(">4sII", profile[132 + 12 * index:144 + 12 * index])
        table[name] = profile[offset:offset + size]
    table[b"desc"] = mluc(description)
    table.pop(b"chrm")  # lcms's record of the sRGB primaries: not what a measured profile has
    for name, xyz in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants or (), strict=False):
        table[name] = b"XYZ " + bytes(4) + struct.pack(">3i", *(round(value * 65536) for value in xyz))
    table.update({name.encode(): data for name, data in tags.items()})
    start = 132 + 12 * len(table)
    directory, body = b"", b""
    for name, data in table.items():
        directory += struct.pack(">4sII", name, start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    created = struct.pack(">6H", 2024, 5, 1, 9, 30, 12)  # when the calibration ran
    header = struct.pack(">I", start + len(body)) + profile[4:24] + created + profile[36:84] + bytes(44)
    return header + struct.pack(">I", len(table)) + directory + body


def profile_description(data: bytes) -> str | None:
    """The description of the ICC profile a decoder finds in the file, as lcms reads it; None when it has none."""
    profile = Image.open(io.BytesIO(data)).info.get("icc_profile")
    if not profile:
        return None
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip()


def png_with_icc(profile: bytes, name: bytes = b"ICC profile") -> bytes:
    """A PNG whose iCCP chunk carries `profile` under `name` (its keyword: a writer's choice, Photoshop's is the
    profile's description)."""
    return before_idat(encode(picture(), "PNG"), png_chunk(b"iCCP", name + b"\x00\x00" + zlib.compress(profile)))


def riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + bytes(len(payload) & 1)


def webp_chunks_of(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each chunk of a well-formed WebP."""
    chunks, pos = [], 12
    while pos < len(data):
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((data[pos:pos + 4], data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def webp_of(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(riff_chunk(kind, payload) for kind, payload in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def build() -> dict[str, bytes]:
    """Every fixture by file name."""
    xmp_png = PngImagePlugin.PngInfo()
    xmp_png.add_text("Author", OWNER)
    xmp_png.add_text("Comment", f"Diambil oleh {OWNER}, {SERIAL}", zip=True)
    xmp_png.add_itxt("XML:com.adobe.xmp", XMP.decode())
    png = encode(picture(), "PNG", pnginfo=xmp_png, exif=exif(orientation=None), dpi=(144, 144),
                 icc_profile=srgb_profile())
    time_chunk = png_chunk(b"tIME", struct.pack(">HBBBBB", 2025, 11, 20, 7, 41, 9))
    frames = [picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    apng_info = PngImagePlugin.PngInfo()
    apng_info.add_text("Author", OWNER)
    jpeg = encode(picture(), "JPEG", exif=exif(), xmp=XMP, comment=f"{OWNER} {SERIAL}".encode(), quality=90,
                  icc_profile=srgb_profile())
    second_image = encode(picture(size=(16, 8)), "JPEG", exif=exif())  # the MPF's depth map or preview
    return {
        "phone.jpg": after_first_segments(with_jfif_thumbnail(jpeg), iptc_segment()),
        "progressive.jpg": encode(picture(), "JPEG", exif=exif(orientation=1), progressive=True,
                                  restart_marker_blocks=2, comment=OWNER.encode()),
        "cmyk.jpg": encode(picture("CMYK"), "JPEG", exif=exif(orientation=None), xmp=XMP),
        "motion.jpg": encode(picture(), "JPEG", exif=exif(orientation=3)) + second_image
        + b"MotionPhoto_Data\x00\x00\x00\x18ftypmp42" + OWNER.encode(),
        "clean.jpg": encode(picture(), "JPEG"),
        "text.png": before_idat(png, time_chunk, png_chunk(b"prVt", SERIAL.encode())),
        "animated.png": encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=200,
                               pnginfo=apng_info),
        "phone.webp": encode(picture(), "WEBP", exif=exif(orientation=None), xmp=XMP, icc_profile=srgb_profile(),
                             quality=80),
        "clean.webp": encode(picture(), "WEBP", lossless=True),
        "animated.webp": encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=200,
                                exif=exif(orientation=None), xmp=XMP),
        "phone.tiff": encode(picture(), "TIFF", exif=exif()),
        "comment.gif": encode(picture("P"), "GIF", comment=OWNER.encode()),
        # A HEIF's first box, as an iPhone writes it: the file's brand is what the gateway goes by.
        "phone.heic": struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x10Exif"
        + OWNER.encode(),
    }


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- what a test asks of a file ---------------------------------------------------------------------------------------
def identifying_metadata(data: bytes) -> dict[str, object]:
    """What a decoder finds in the file that names its taker, its device or its place: empty for a clean file."""
    image = Image.open(io.BytesIO(data))
    found: dict[str, object] = {}
    tags = image.getexif()
    for name, value in (("gps", tags.get_ifd(GPS_IFD)), ("exif_ifd", tags.get_ifd(EXIF_IFD)),
                        ("ifd0", {tag: v for tag, v in tags.items() if tag not in (ORIENTATION, EXIF_IFD, GPS_IFD)})):
        if value:
            found[name] = value
    for key in ("xmp", "XML:com.adobe.xmp", "comment", "photoshop", "Author", "Comment", "exif"):
        if image.info.get(key) and image.info[key] != exif_orientation_payload(tags.get(ORIENTATION)):
            found[key] = image.info[key]
    if image.format == "JPEG":
        iptc = IptcImagePlugin.getiptcinfo(image)
        if iptc:
            found["iptc"] = iptc
        found.update({f"applist:{marker}": payload[:20] for marker, payload in image.applist
                      if not payload.startswith((b"JFIF\x00", b"ICC_PROFILE\x00", b"Adobe"))
                      and payload != exif_orientation_payload(tags.get(ORIENTATION))})
    if image.format == "PNG":
        found.update({kind.decode(): value[:20] for kind, value in png_chunks(data)
                      if kind in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt")})
    for needle in (OWNER, SERIAL):
        if needle.encode() in data:
            found[f"bytes:{needle}"] = True
    return found


def exif_orientation_payload(orientation: int | None) -> bytes | None:
    """The one Exif segment a cleaned JPEG may keep: its orientation, big-endian, alone in IFD0."""
    if orientation is None:
        return None
    return (b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01" + struct.pack(">HHIH", ORIENTATION, 3, 1, orientation)
            + b"\x00\x00\x00\x00\x00\x00")


def frames_of(data: bytes) -> list[bytes]:
    """Every frame's pixels as a decoder gives them: equal for a losslessly cleaned copy."""
    image = Image.open(io.BytesIO(data))
    frames = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        frames.append(image.convert("RGBA").tobytes())
    return frames


def main(names: list[str]) -> None:
    """Write the fixtures named (all of them when none is): a new one without changing the bytes of the others."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        if name in names or not names:
            (FIXTURES / name).write_bytes(data)
            print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
