"""Possible duplicates across channels, and campaigns, through a MinHash/LSH index kept in Redis with a TTL.

Each report's text (folded, punctuation dropped) is cut into character 4-grams and sketched with datasketch's
MinHash (128 permutations). The sketch is split into 42 bands of 3 rows; a report is a candidate when it shares a
band with another, which finds pairs above ~0.4 Jaccard similarity with high probability (0.94 at 0.4, 0.99 at
0.5) while unrelated texts (~0.05) almost never meet. Candidates are then checked on their full sketches. On the
seed set, a resent report with two typos, other case and an added phrase keeps a similarity of 0.45 or more in
~97% of cases, while no two different seed reports reach 0.4. Everything expires after the window
(`triage.duplicate_window_seconds`), so the index holds the last days only, whichever gateway process wrote it.

Campaigns: the distinct senders of the same text (same words, whatever the case and punctuation) over the window,
counted exactly in a Redis sorted set by when each sent it, or of nearly the same text among the compared
candidates, whichever is larger.
Senders are kept as keyed digests (HMAC with the reply-handle secret), never as numbers or addresses; so are the
texts: each shingle is hashed with a key derived from that secret before the permutations (with datasketch's public
hash and the fixed permutations, each of a stored sketch's 128 values named the 4-gram that gave it: a short report
came back from Redis nearly word for word, and for the whole window), and a campaign is keyed by the text's HMAC (a
plain hash of a short text is undone by trying texts).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from redis import Redis

from normalizer.envelope import DuplicateMatch, DuplicateSuggestion
from triage.text import words

NUM_PERM = 128
ROWS = 3
BANDS = NUM_PERM // ROWS  # 42 bands of 3 rows (the last 2 permutations only refine the similarity estimate)
SHINGLE = 4
MAX_MATCHES = 5
# Bounded work per report however big a campaign grows: at most BAND_SAMPLE ids read per band (x 42 bands) and
# MAX_CANDIDATES candidates (those sharing the most bands first) compared on their full sketches. In a flood of
# near-identical texts (a campaign, a disaster) every band collides; these caps keep Redis and the forward worker
# at a few hundred small reads per report instead of thousands. Five matches are shown.
BAND_SAMPLE = 8
MAX_CANDIDATES = 16
# A band bucket is a sorted set of Tracking IDs by when they were written: the newest BAND_SAMPLE are read (the same
# ones in every process, every run), and a write drops those older than the window and all but the newest
# BAND_MEMBERS. (A plain set refreshed its TTL at every write, so the bucket of a text that keeps coming, a campaign
# or a common short message, grew for as long as it came, and a random sample of it was mostly reports expired
# long ago.) "lsh2": the sets of the earlier layout are left to expire.
BAND_MEMBERS = 32
# "lsh3", "campaign3": the keyed layout (the unkeyed one's keys are left to expire, never compared with it).
BAND_KEY = "lapor:triage:lsh3:{band}:{bucket}"
SKETCH_KEY = "lapor:triage:sketch:{tracking_id}"
# The senders of one exact text, by when each last sent it: counted over the window only (a set whose TTL every
# sender renewed counted every sender since the text first came, for as long as it kept coming).
CAMPAIGN_KEY = "lapor:triage:campaign3:{digest}"


@dataclass(frozen=True, slots=True)
class DuplicatePolicy:
    window_seconds: int
    threshold: float  # estimated Jaccard from which a report is a possible duplicate
    campaign_threshold: float  # ... and from which its sender counts towards a campaign
    campaign_min_senders: int


def shingles(text: str) -> set[bytes]:
    normal = " ".join(words(text))
    if len(normal) <= SHINGLE:
        return {normal.encode()} if normal else set()
    return {normal[i:i + SHINGLE].encode() for i in range(len(normal) - SHINGLE + 1)}


class Sketcher:
    """MinHash sketches with one fixed set of permutations (drawing them per report would cost more than hashing),
    over shingles hashed with a secret key: without it a sketch cannot be turned back into the 4-grams of its text."""

    def __init__(self, key: bytes) -> None:
        from datasketch import MinHash  # here: datasketch loads scipy whole, 1.2 s of CPU for any importer

        self._minhash = MinHash
        self._permutations = MinHash(num_perm=NUM_PERM, seed=1).permutations
        shingle_key = hashlib.sha256(b"lapor-triage-shingle:" + key).digest()

        def keyed_hash32(shingle: bytes) -> int:
            return int.from_bytes(hashlib.blake2b(shingle, digest_size=4, key=shingle_key).digest(), "little")

        self._hash = keyed_hash32

    def sketch(self, text: str) -> np.ndarray:
        minhash = self._minhash(num_perm=NUM_PERM, permutations=self._permutations, scheme="affine32",
                                hashfunc=self._hash)
        minhash.update_batch(list(shingles(text)))
        return minhash.hashvalues.astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def band_buckets(sketch: np.ndarray) -> list[str]:
    return [hashlib.blake2b(sketch[i * ROWS:(i + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
            for i in range(BANDS)]


class DuplicateIndex:
    """Finds near-duplicates of a report among recent ones and records the report for those that come later."""

    def __init__(self, redis: Redis, policy: DuplicatePolicy, sender_key: str, sketcher: Sketcher | None = None):
        self.redis = redis
        self.policy = policy
        self.sender_key = sender_key.encode() or b"lapor-triage"
        self.sketcher = sketcher or Sketcher(self.sender_key)
        self.clock: Callable[[], float] = time.time
        self._read_bands = redis.register_script(_READ_BANDS)
        self._write_bands = redis.register_script(_WRITE_BANDS)

    def sender_digest(self, sender: str) -> str:
        return hmac.new(self.sender_key, sender.encode(), hashlib.sha256).hexdigest()[:16]

    def text_digest(self, text: str) -> str:
        """The same words, whatever the case and punctuation, keyed: a campaign's key names no text."""
        normal = " ".join(words(text))
        return hmac.new(self.sender_key, b"campaign-text:" + normal.encode(), hashlib.sha256).hexdigest()[:32]

    def check_and_add(self, tracking_id: str, text: str, channel: str | None, sender: str,
                      anonymous: bool = False) -> DuplicateSuggestion:
        """Three round trips: read the buckets, read the candidates' sketches, write this report.

        An anonymous report and a named one are never listed as each other's duplicates (they still count towards a
        campaign): the match would hand the case store the named report, and with it its sender, as the likely
        writer of the anonymous one (a whistleblower who first wrote under their own number, then again without it).

        A text without a word (only emoji, punctuation, symbols) is neither looked up nor recorded: it has no
        shingles, and every such sketch is the same (the empty set's), so each would be a duplicate of all the
        others, and their senders one campaign, whoever sent them."""
        if not shingles(text):
            return DuplicateSuggestion()
        sketch = self.sketcher.sketch(text)
        buckets = band_buckets(sketch)
        now = self.clock()
        candidates = self._candidates(buckets, tracking_id, now)
        matches, campaign_senders = self._verify(sketch, candidates, anonymous)
        digest = self.sender_digest(sender)
        same_text = self._add(tracking_id, sketch, buckets, channel, digest, text, anonymous, now)
        campaign_senders.add(digest)
        count = max(len(campaign_senders), same_text)
        return DuplicateSuggestion(
            matches=matches[:MAX_MATCHES],
            campaign=count >= self.policy.campaign_min_senders,
            campaign_count=count,
        )

    def _candidates(self, buckets: list[str], tracking_id: str, now: float) -> list[str]:
        keys = [BAND_KEY.format(band=band, bucket=bucket) for band, bucket in enumerate(buckets)]
        hits: dict[str, int] = {}
        for member in self._read_bands(keys=keys, args=[BAND_SAMPLE, now - self.policy.window_seconds]):
            name = member.decode() if isinstance(member, bytes) else member
            hits[name] = hits.get(name, 0) + 1
        hits.pop(tracking_id, None)
        return sorted(hits, key=lambda name: (-hits[name], name))[:MAX_CANDIDATES]

    def _verify(self, sketch: np.ndarray, candidates: list[str],
                anonymous: bool) -> tuple[list[DuplicateMatch], set[str]]:
        if not candidates:
            return [], set()
        pipe = self.redis.pipeline(transaction=False)
        for candidate in candidates:
            pipe.hmget(SKETCH_KEY.format(tracking_id=candidate), "sketch", "channel", "sender", "anonymous")
        matches, senders = [], set()
        for candidate, (raw, channel, sender, candidate_anonymous) in zip(candidates, pipe.execute(), strict=True):
            if raw is None or len(raw) != NUM_PERM * 4:
                continue  # expired, or written by another sketch layout: not comparable
            score = similarity(sketch, np.frombuffer(raw, dtype=np.uint32))
            if score >= self.policy.threshold and bool(candidate_anonymous) == anonymous:
                matches.append(DuplicateMatch(tracking_id=candidate, channel=_text(channel),
                                              similarity=round(score, 3)))
            if score >= self.policy.campaign_threshold and sender:
                senders.add(_text(sender) or "")
        matches.sort(key=lambda m: (-m.similarity, m.tracking_id))
        return matches, senders

    def _add(self, tracking_id: str, sketch: np.ndarray, buckets: list[str], channel: str | None,
             sender: str, text: str, anonymous: bool, now: float) -> int:
        """Record the report; return how many distinct senders sent exactly this text within the window."""
        ttl = self.policy.window_seconds
        pipe = self.redis.pipeline(transaction=False)
        campaign_key = CAMPAIGN_KEY.format(digest=self.text_digest(text))
        pipe.zadd(campaign_key, {sender: now})
        pipe.zremrangebyscore(campaign_key, "-inf", f"({now - ttl}")
        pipe.expire(campaign_key, ttl)
        pipe.zcard(campaign_key)
        key = SKETCH_KEY.format(tracking_id=tracking_id)
        pipe.hset(key, mapping={"sketch": sketch.tobytes(), "channel": channel or "", "sender": sender,
                                "anonymous": "1" if anonymous else ""})
        pipe.expire(key, ttl)
        keys = [BAND_KEY.format(band=band, bucket=bucket) for band, bucket in enumerate(buckets)]
        self._write_bands(keys=keys, args=[tracking_id, ttl, now, BAND_MEMBERS], client=pipe)
        return int(pipe.execute()[3])


# Every band in one command each way (a pipeline of ~100 small commands costs more in the client than in Redis).
_READ_BANDS = """
local out = {}
for i, key in ipairs(KEYS) do
  local members = redis.call('ZREVRANGEBYSCORE', key, '+inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[1]))
  for _, member in ipairs(members) do out[#out + 1] = member end
end
return out
"""
_WRITE_BANDS = """
local ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - ttl))
  redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[4]) - 1)
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
"""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    return text or None
