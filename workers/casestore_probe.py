"""While forwards find the case store down, a forward worker asks it now and then whether it answers again.

Only a forward the case store took ended an outage and brought the forwards waiting it out to now (`casestore.back`,
`forward.retry_now`); after a long outage none came until a citizen sent a new report, so the backlog waited out its own
backoff (up to an hour) and the views said the case store was failing, though it was back. Now, while the outage record
is set (`workers.forward.CASESTORE_DOWN_KEY`), one forward worker of the deployment every `casestore.probe_seconds` asks
the case store for a report it cannot have (`CaseStoreClient.read_answer`: the contract's GET, authenticated, 404; or a
refusal of our credentials, 401, 403 or 407: it answers, and takes them not). Once it answers, the forward due first
runs at once; the first report the case store takes (or refuses our credentials) ends the outage and brings every other
waiting forward to now, as it always did. One forward first, not all: a case store that answers reads while it fails
writes (a database failover behind it) costs one try of one forward per probe, not one of each forward, and each such
probe waits twice as long as the last before trying another. With no forward waiting for the outage (their retries ran
out), the probe ends it itself: the views say so. The CEKs' lookups waiting out the outage (a status job, a mailed CEK's
reply: reads alone) run as soon as it answers the probe's read (`retry_lookups_now`), whatever becomes of the forwards.
"""

from __future__ import annotations

import threading
import time

from redis import Redis
from redis.exceptions import RedisError

from gateway.logs import get_logger
from gateway.settings import Settings
from workers.casestore_client import CREDENTIAL_STATUSES, CaseStoreClient
from workers.forward import (
    ASKED_TO_WAIT,
    CASESTORE_DOWN_KEY,
    CASESTORE_OUTAGE_KEY,
    CASESTORE_REFUSING_KEY,
    end_outage,
    retry_lookups_now,
    retry_next_outage_forward,
    tell_back,
)

log = get_logger()

# Taken (SET NX PX, as the reaper's lock) for one probe period by the worker that probes in it: of several forward
# workers, one asks the case store per period.
PROBE_KEY = "lapor:casestore:probe"
# Fields of the outage record (cleared with it): how many forwards a probe ran at once in this outage, and when last.
PROBED = "probed"
PROBED_AT = "probed_at"
# KEYS[1] the outage's reason, KEYS[2] its record, ARGV[1] now: count the probe into the outage, if it is still on
# (a forward may have ended it meanwhile, and a record of the probe alone would outlive it).
NOTE_PROBE_SCRIPT = """
if redis.call('exists', KEYS[1]) == 0 then
  return 0
end
redis.call('hincrby', KEYS[2], 'probed', 1)
redis.call('hset', KEYS[2], 'probed_at', ARGV[1])
return 1
"""


class CaseStoreProbe:
    """Probes the case store every `casestore.probe_seconds` while an outage is noted, from a daemon thread of a
    forward worker (`start`, `stop`), on the worker's short-timeout Redis client."""

    def __init__(self, redis: Redis, settings: Settings, name: str, client: CaseStoreClient | None = None) -> None:
        self._redis = redis
        self._settings = settings
        self._name = name
        self._client = client or CaseStoreClient(settings)
        self._note_probe = redis.register_script(NOTE_PROBE_SCRIPT)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="casestore-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop probing; a probe in flight ends in the case store's timeout, and the thread closes its client then."""
        self._stop.set()
        if self._thread.ident is None:  # never started: its rounds were taken by hand
            self._client.close()
            return
        self._thread.join(timeout=0.5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._settings.casestore.probe_seconds):
                try:
                    self.probe()
                except RedisError:  # the liveness thread tells a Redis outage
                    continue
                except Exception as error:  # the probe must never take the worker down
                    log.error("casestore.probe_failed", error=type(error).__name__)
        finally:
            self._client.close()

    def probe(self) -> str:
        """One round; what it found: `no_outage`, `holding_back` (a forward it ran failed: its period doubles),
        `probed_elsewhere` (another worker's turn), `down` (no answer as the contract says, nor a refusal of our
        credentials), `retried` (a forward runs now), `asked_to_wait` (the forwards waiting for the outage all wait
        out the case store's Retry-After: none runs sooner, the outage stays) or `ended` (none waited for the outage:
        it is over, and a refusal of our credentials that answered is noted). With no outage but a refusal of our
        credentials noted (`CASESTORE_REFUSING_KEY`), `refusing` while it lasts, `ended` once the case store answers (a
        token put right, its workers restarted: the views stop saying so without waiting for a report)."""
        period = self._settings.casestore.probe_seconds
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(CASESTORE_DOWN_KEY)
        pipe.hmget(CASESTORE_OUTAGE_KEY, PROBED, PROBED_AT)
        pipe.exists(CASESTORE_REFUSING_KEY)
        down, (probed, probed_at), refusing = pipe.execute()
        if not down:
            if not refusing:
                return "no_outage"
            if not self._redis.set(PROBE_KEY, self._name, nx=True, px=max(1, int(period * 1000))):
                return "probed_elsewhere"
            if not self._client.answers():
                return "refusing"
            end_outage(self._redis)
            return "ended"
        probed = int(probed or 0)
        # Doubling from one period, never past the forwards' own longest wait.
        holding = min(period * 2 ** min(probed, 16), max(self._settings.queues.retry_intervals, default=0))
        if probed and time.time() - float(probed_at or 0) < holding:
            return "holding_back"
        if not self._redis.set(PROBE_KEY, self._name, nx=True, px=max(1, int(period * 1000))):
            return "probed_elsewhere"
        # A refusal of our credentials is an answer: the case store is back (the forward run now is refused too, and
        # ends the outage as it notes the refusal). Taken for no answer, it held the outage declared, its reason stale
        # and its step wrong, for as long as the refusal lasted.
        answer = self._client.read_answer()
        if answer is None:
            return "down"
        if not self._note_probe(keys=[CASESTORE_DOWN_KEY, CASESTORE_OUTAGE_KEY], args=[time.time()]):
            return "no_outage"  # a forward ended it meanwhile
        refused = answer if answer in CREDENTIAL_STATUSES else None
        if refused is None:
            # A CEK's lookup reads alone, as this probe did: it runs now, whatever becomes of the forwards. It waited
            # out its own backoff where none was left to end the outage, or the one run now failed a write again.
            retry_lookups_now(self._redis)
        retried = retry_next_outage_forward(self._redis)
        if retried == ASKED_TO_WAIT:
            return "asked_to_wait"
        if retried is not None:
            return "retried"
        ended = end_outage(self._redis, refused)
        if ended is not None:
            tell_back(ended, 0, seen_by="probe", **({"refusing": f"casestore_{refused}"} if refused else {}))
        return "ended"
