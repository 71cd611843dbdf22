"""The colour profile an anonymous report's photo goes with: one of the gateway's own, or none; never the sender's.

An ICC profile embedded in a photo is a file of its own, and it may say who made it: a calibrated display's profile
is named by its owner ("Budi's Pixel 7 calibrated"), dated when it was measured, holds the colorants measured on that
one screen and the display's make, model and serial number (`dmnd`/`dmdd`, Apple's `mmod`, EDID in `meta`); a Mac's
screenshot carries its screen's profile, an editor's export the one its user chose. Three rules were weighed:
- keep a profile that matches a standard one: by its description, the rest of it (its date, its measured colorants,
  its private tags) would go along unread; byte for byte, the list of what each vendor writes (every version of iOS,
  Android, Skia, Photoshop and Lightroom, each with its own date and rounding) is never complete;
- drop every profile: the simplest, and an sRGB photo (most phones') loses nothing, as every browser and viewer shows
  an untagged photo as sRGB; but an iPhone's photo (Display P3) would be shown washed out;
- the rule taken: the copy carries nothing of the sender's profile, only one of three fixed things, whatever the file:
  no profile (sRGB, and any profile not known), or the gateway's own Display P3 (iPhones since the 7, many Android
  phones) or Adobe RGB (1998) (cameras, Lightroom), built here, for a profile whose colorants are that space's. So the
  copy tells at most which of three spaces the photo was in, as every photo of millions of phones does.
A profile is known by what it does, not by what it says (a description is whatever its writer typed): its colorants
within 0.002 of a space's (vendors' rounding differs by less than 0.0005, any two of these spaces by 0.09 or more),
and only a matrix profile (a LUT profile's colorant tags are not what it does); its tone curve is taken as its
space's own, as every phone and editor writes it. What is lost is colour, never a name: a photo in any other space
(ProPhoto, Rec. 2020, a calibrated display's own, a CMYK or grey profile) is shown as sRGB, a CMYK JPEG by a viewer's
default CMYK. PNG's cHRM (the chromaticities a profile is made of, which some encoders write beside or instead of
one) follows the same rule: it goes on only when it is exactly one of these spaces'.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

# The ICC's profile connection space illuminant, D50, as every profile's header encodes it, and Bradford's matrix,
# which adapts a colour from a space's own white to it (the linear Bradford transform ICC v4 profiles use).
D50 = (0.9642, 1.0, 0.8249)
BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))
D65 = (0.3127, 0.3290)
# The sRGB tone curve as an ICC parametric curve of type 3 (g, a, b, c, d), and Adobe RGB's gamma (563/256).
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
ADOBE_RGB_CURVE = (563 / 256,)
# How far a profile's colorants may be from a space's to be taken as it: vendors' profiles differ by their rounding
# (Apple's, Skia's, lcms's by less than 0.0005), any two of these spaces by 0.09 or more.
COLORANT_TOLERANCE = 0.002
# The most of a PNG's compressed profile read: a matrix profile is a few KiB, a LUT profile (never known) may be more.
MAX_PROFILE_BYTES = 1 << 20
# The creation date the gateway's profiles carry, the same in every copy.
PROFILE_DATE = struct.pack(">6H", 2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ColourSpace:
    """A standard RGB space: its primaries and white (CIE xy), its tone curve, and whether a photo in it goes with
    the gateway's profile of it (sRGB goes with none: it is what an untagged photo is taken to be)."""

    name: str
    primaries: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    curve: tuple[float, ...]
    embedded: bool
    white: tuple[float, float] = D65


SRGB = ColourSpace("sRGB", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), SRGB_CURVE, embedded=False)
DISPLAY_P3 = ColourSpace("Display P3", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), SRGB_CURVE, embedded=True)
ADOBE_RGB = ColourSpace("Adobe RGB (1998)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), ADOBE_RGB_CURVE, embedded=True)
SPACES = (SRGB, DISPLAY_P3, ADOBE_RGB)

Matrix = tuple[tuple[float, ...], ...]  # three rows of three


def replacement_profile(profile: bytes | None) -> bytes | None:
    """The gateway's own profile for the space `profile` is in (Display P3, Adobe RGB), or None: the photo goes
    without one. Never raises, whatever the bytes."""
    colorants = matrix_colorants(profile or b"")
    if colorants is None:
        return None
    for space in SPACES:
        expected = adapted_colorants(space)
        if all(abs(colorants[row][column] - expected[row][column]) <= COLORANT_TOLERANCE
               for row in range(3) for column in range(3)):
            return icc_profile(space) if space.embedded else None
    return None


def matrix_colorants(profile: bytes) -> Matrix | None:
    """The D50 colorants (rXYZ, gXYZ, bXYZ as columns) of an RGB matrix profile; None for any other profile, or bytes
    that are none."""
    if len(profile) < 132 or profile[36:40] != b"acsp" or profile[16:24] != b"RGB XYZ ":
        return None
    count = int.from_bytes(profile[128:132], "big")
    if 132 + 12 * count > len(profile):
        return None
    tags: dict[bytes, tuple[int, int]] = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", profile[132 + 12 * index:144 + 12 * index])
        tags[signature] = (offset, size)
    if b"A2B0" in tags:
        return None
    columns = []
    for signature in (b"rXYZ", b"gXYZ", b"bXYZ"):
        offset, size = tags.get(signature, (0, 0))
        tag = profile[offset:offset + 20]
        if size < 20 or len(tag) < 20 or tag[:4] != b"XYZ ":
            return None
        columns.append(tuple(value / 65536 for value in struct.unpack(">3i", tag[8:20])))
    return _transposed(columns)


def inflated_profile(compressed: bytes) -> bytes | None:
    """A PNG iCCP's profile, inflated up to MAX_PROFILE_BYTES; None when it is larger or no zlib stream."""
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(compressed, MAX_PROFILE_BYTES)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else profile


def png_chromaticities(space: ColourSpace) -> bytes:
    """A PNG cHRM chunk's data for the space: white then red, green and blue, x and y in 1/100,000."""
    points = (space.white, *space.primaries)
    return b"".join(struct.pack(">II", round(x * 100_000), round(y * 100_000)) for x, y in points)


STANDARD_CHROMATICITIES = frozenset(png_chromaticities(space) for space in SPACES)


# -- the gateway's own profiles ---------------------------------------------------------------------------------------
@cache
def adapted_colorants(space: ColourSpace) -> Matrix:
    """The space's RGB to XYZ matrix, adapted to D50 (Bradford), as an ICC profile's rXYZ, gXYZ and bXYZ hold it."""
    to_xyz = _transposed([_xyz(*primary) for primary in space.primaries])
    scale = _apply(_inverse(to_xyz), _xyz(*space.white))
    scaled = tuple(tuple(to_xyz[row][column] * scale[column] for column in range(3)) for row in range(3))
    return _multiply(_adaptation(space.white), scaled)


@cache
def icc_profile(space: ColourSpace) -> bytes:
    """An ICC v4.3 display profile of the space, as Apple's and Skia's are made (matrix, parametric curves, chad),
    with nothing in it but the space: a fixed date, no maker, no device."""
    colorants = adapted_colorants(space)
    curve = (b"para" + bytes(4) + struct.pack(">HH", 0 if len(space.curve) == 1 else 3, 0)
             + b"".join(_s15(value) for value in space.curve))
    tags = [(b"desc", _text(space.name)), (b"cprt", _text("No copyright, use freely")), (b"wtpt", _xyz_tag(D50)),
            *((name, _xyz_tag(column)) for name, column in zip((b"rXYZ", b"gXYZ", b"bXYZ"), _transposed(colorants),
                                                                strict=True)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"chad", b"sf32" + bytes(4) + b"".join(_s15(value) for row in _adaptation(space.white) for value in row))]
    table, body, placed = bytearray(), bytearray(), {}
    start = 128 + 4 + 12 * len(tags)
    for name, data in tags:
        if data not in placed:  # the three curves share one
            placed[data] = start + len(body)
            body += data + bytes(-len(data) % 4)
        table += name + struct.pack(">II", placed[data], len(data))
    size = start + len(body)
    header = (struct.pack(">I", size) + bytes(4) + bytes((4, 0x30, 0, 0)) + b"mntrRGB XYZ " + PROFILE_DATE + b"acsp"
              + bytes(28) + b"".join(_s15(value) for value in D50) + bytes(48))
    profile = header + struct.pack(">I", len(tags)) + bytes(table) + bytes(body)
    # Its profile ID: the MD5 of the profile with its flags, rendering intent and ID zero (they are).
    return profile[:84] + hashlib.md5(profile, usedforsecurity=False).digest() + profile[100:]


def _text(text: str) -> bytes:
    """A multiLocalizedUnicode tag of one English record."""
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _xyz_tag(value: tuple[float, ...]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(component) for component in value)


def _s15(value: float) -> bytes:
    """An s15Fixed16Number."""
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float) -> tuple[float, float, float]:
    return (x / y, 1.0, (1 - x - y) / y)


def _adaptation(white: tuple[float, float]) -> Matrix:
    """Bradford's chromatic adaptation from `white` to D50."""
    source, target = _apply(BRADFORD, _xyz(*white)), _apply(BRADFORD, D50)
    scale = tuple(tuple(target[row] / source[row] if row == column else 0.0 for column in range(3)) for row in range(3))
    return _multiply(_inverse(BRADFORD), _multiply(scale, BRADFORD))


def _transposed(matrix: Sequence[tuple[float, ...]]) -> Matrix:
    """Rows as columns: a profile holds a matrix's columns (rXYZ, gXYZ, bXYZ), the arithmetic its rows."""
    return tuple(zip(*matrix, strict=True))


def _apply(matrix: Matrix, vector: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(sum(row[k] * vector[k] for k in range(3)) for row in matrix)


def _multiply(left: Matrix, right: Matrix) -> Matrix:
    return tuple(tuple(sum(left[row][k] * right[k][column] for k in range(3)) for column in range(3))
                 for row in range(3))


def _inverse(matrix: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = matrix
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
            ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
            ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det))
