"""The health evaluation as a pure function: one labelled row per rule and threshold."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from channels.registry import OWN_PROCESS_CHANNELS, WEBHOOK_ADAPTERS
from channels.reply_senders import REPLY_SENDERS
from gateway.health.rules import (
    NEXT_STEPS,
    ChannelRules,
    ChannelSignals,
    Held,
    QueueStats,
    RulesError,
    State,
    evaluate,
    load_rules,
)
from gateway.health.signals import WorkerQuit
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE, STATUS_QUEUE
from gateway.settings import CONFIG_DIR

NOW = 1_800_000_000.0
RULES = ChannelRules(quiet_degraded_seconds=3600, quiet_down_seconds=86400)
SERVED = ChannelRules(process_missing_down_seconds=30, serving_process="SMTP server process")
WORKED = ChannelRules(worker_missing_degraded_seconds=30)
# Instagram as shipped: fetched by the pollers (the process rule), its webhook answered by `lapor-gateway serve` (the
# webhook rule). Only those two rules: the quiet rule's 12 h is not what these rows are about.
INSTAGRAM = load_rules(CONFIG_DIR / "health.toml").for_channel("instagram").model_copy(
    update={"quiet_degraded_seconds": 0, "quiet_down_seconds": 0})
WEBHOOK_GONE = ("no HTTP gateway process (lapor-gateway serve) alive ({seen}): Instagram's webhooks go unanswered: "
                "mentions in comments and captions and comments on our posts come only by them, and Meta retries one "
                "only for a while; posts that tag the account are still found by the poller")


@dataclass(frozen=True)
class Case:
    id: str
    signals: ChannelSignals
    state: State
    reason: str = ""
    queues: tuple[QueueStats, ...] = ()
    rules: ChannelRules = RULES
    rules_fired: tuple[str, ...] = field(default=())


CASES = [
    Case("nothing recorded is ok", ChannelSignals(), State.OK),
    Case("a recent message is ok", ChannelSignals(first_seen=NOW - 99999, last_message_at=NOW - 60), State.OK),
    # poller failing
    Case("poll failing briefly is ok", ChannelSignals(poll_failing_since=NOW - 60, last_poll_error="timeout"),
         State.OK),
    Case("poll failing past degraded", ChannelSignals(poll_failing_since=NOW - 121, last_poll_error="timeout"),
         State.DEGRADED, "poller failing for 2 min: timeout", rules_fired=("poll_failing",)),
    Case("poll failing past down", ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="HTTP 503"),
         State.DOWN, "poller failing for 10 min: HTTP 503", rules_fired=("poll_failing",)),
    # ... and when it tries again: its backoff grows to minutes, and a provider back read as failing until then.
    Case("poll failing says its next try", ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="HTTP 503",
                                                          poll_retry_at=NOW + 200),
         State.DOWN, "poller failing for 10 min: HTTP 503 (next try 2027-01-15 08:03:20Z)",
         rules_fired=("poll_failing",)),
    Case("a next try gone by is not said", ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="HTTP 503",
                                                          poll_retry_at=NOW - 5),
         State.DOWN, "poller failing for 10 min: HTTP 503", rules_fired=("poll_failing",)),
    # rate limited
    Case("rate limited briefly is ok", ChannelSignals(rate_limited_since=NOW - 30, rate_limited_until=NOW + 60),
         State.OK),
    Case("rate limited past degraded", ChannelSignals(rate_limited_since=NOW - 400, rate_limited_until=NOW + 60),
         State.DEGRADED, "rate limited for 6 min (until 2027-01-15 08:01:00Z)", rules_fired=("rate_limited",)),
    Case("rate limited past down", ChannelSignals(rate_limited_since=NOW - 2000), State.DOWN,
         "rate limited for 33 min", rules_fired=("rate_limited",)),
    Case("a rate limit whose reset has passed is over",
         ChannelSignals(rate_limited_since=NOW - 4000, rate_limited_until=NOW - 1), State.OK),
    # authentication
    Case("one auth failure degrades", ChannelSignals(auth_failures=1, last_auth_error="401 Unauthorized"),
         State.DEGRADED, "authentication failing (1 in a row): 401 Unauthorized", rules_fired=("auth",)),
    Case("three auth failures are down", ChannelSignals(auth_failures=3, last_auth_error="401"), State.DOWN,
         "authentication failing (3 in a row): 401", rules_fired=("auth",)),
    # ... and when the poller asks again, as a failing poll's reason says: X's waited 5 min quietly, then recovered.
    Case("auth failing says its next try", ChannelSignals(auth_failures=1, last_auth_error="401 Unauthorized",
                                                          auth_retry_at=NOW + 200),
         State.DEGRADED, "authentication failing (1 in a row): 401 Unauthorized (next try 2027-01-15 08:03:20Z)",
         rules_fired=("auth",)),
    Case("an auth next try gone by is not said", ChannelSignals(auth_failures=1, last_auth_error="401",
                                                                auth_retry_at=NOW - 5),
         State.DEGRADED, "authentication failing (1 in a row): 401", rules_fired=("auth",)),
    Case("a few bad webhook signatures are anyone's", ChannelSignals(signature_failures=4), State.OK),
    Case("a run of bad webhook signatures degrades", ChannelSignals(signature_failures=5,
         last_signature_error="signature_invalid"), State.DEGRADED,
         "webhook signatures refused (5 in a row, no valid message since): signature_invalid",
         rules_fired=("signature",)),
    Case("a long run of them is down", ChannelSignals(signature_failures=20), State.DOWN, rules_fired=("signature",)),
    # new reports refused: not durable, or no Tracking ID left to give
    Case("one refused report degrades", ChannelSignals(intake_refusals=1, last_intake_refusal="redis_unavailable"),
         State.DEGRADED, "new reports refused (1 in a row, none taken since): redis_unavailable",
         rules_fired=("intake_refused",)),
    Case("five refused in a row are down", ChannelSignals(intake_refusals=5, last_intake_refusal="spool_failed"),
         State.DOWN, "new reports refused (5 in a row, none taken since): spool_failed",
         rules_fired=("intake_refused",)),
    Case("a used-up ID range is down at the first refusal",
         ChannelSignals(intake_refusals=1, last_intake_refusal="id_range_exhausted"), State.DOWN,
         "new reports refused (1 in a row, none taken since): id_range_exhausted (this cell's Tracking IDs up to "
         "intake.id_end are used up)", rules_fired=("intake_refused",)),
    Case("a used-up ID range left to the counts", ChannelSignals(intake_refusals=1,
         last_intake_refusal="id_range_exhausted"), State.DEGRADED,
         rules=ChannelRules(intake_refusals_down_at_once=()), rules_fired=("intake_refused",)),
    Case("an error in the gateway says where to look", ChannelSignals(intake_refusals=2,
         last_intake_refusal="internal_error"), State.DEGRADED,
         "new reports refused (2 in a row, none taken since): internal_error (an error in the gateway: see its "
         "message.rejected or email.failed log lines)", rules_fired=("intake_refused",)),
    Case("refusals ended by a report are ok", ChannelSignals(intake_refusals=0,
         last_intake_refusal="id_range_exhausted"), State.OK),
    # webhook requests refused by our own rate limit: while the last is within the window, ended by itself after it
    Case("a webhook refused by our own rate limit a moment ago degrades, with the count and since when",
         ChannelSignals(throttled=2842, throttled_since=NOW - 4000, last_throttled_at=NOW - 5), State.DEGRADED,
         "webhook requests refused by the gateway's own rate limit (2842 since 2027-01-15 06:53:20Z, the last "
         "2027-01-15 07:59:55Z)", rules_fired=("throttled",)),
    Case("Twilio's refused webhooks are said lost", ChannelSignals(channel="sms-twilio", throttled=7,
                                                                   throttled_since=NOW - 3, last_throttled_at=NOW - 2),
         State.DEGRADED, "webhook requests refused by the gateway's own rate limit (7 since 2027-01-15 07:59:57Z, the "
         "last 2027-01-15 07:59:58Z): Twilio does not send a refused message webhook again: if any were "
         "Twilio's, those SMS got no Tracking ID", rules_fired=("throttled",)),
    Case("one refused is enough", ChannelSignals(throttled=1, throttled_since=NOW - 59, last_throttled_at=NOW - 59),
         State.DEGRADED, rules_fired=("throttled",)),
    Case("refusals a minute past are over", ChannelSignals(throttled=2842, throttled_since=NOW - 4000,
                                                           last_throttled_at=NOW - 60), State.OK),
    Case("a long run is not down by default", ChannelSignals(throttled=10**6, throttled_since=NOW - 86400,
                                                             last_throttled_at=NOW - 1), State.DEGRADED,
         rules_fired=("throttled",)),
    Case("a long run is down past a down count", ChannelSignals(throttled=20, throttled_since=NOW - 30,
                                                                last_throttled_at=NOW - 1), State.DOWN,
         rules=ChannelRules(throttled_down=20), rules_fired=("throttled",)),
    Case("a longer window keeps saying it", ChannelSignals(throttled=3, throttled_since=NOW - 400,
                                                           last_throttled_at=NOW - 290), State.DEGRADED,
         rules=ChannelRules(throttled_window_seconds=300), rules_fired=("throttled",)),
    Case("the throttled rule off", ChannelSignals(throttled=3, throttled_since=NOW - 10, last_throttled_at=NOW - 1),
         State.OK, rules=ChannelRules(throttled_window_seconds=0)),
    # dead letters
    Case("one dead letter degrades", ChannelSignals(deadletters_in_window=1), State.DEGRADED,
         rules_fired=("deadletters",)),
    Case("twenty dead letters are down", ChannelSignals(deadletters_in_window=20), State.DOWN,
         rules_fired=("deadletters",)),
    # replies
    Case("two reply failures are tolerated", ChannelSignals(reply_failures=2), State.OK),
    Case("three reply failures degrade", ChannelSignals(reply_failures=3, last_reply_error="403 duplicate"),
         State.DEGRADED, "replies failing (3 in a row): 403 duplicate", rules_fired=("replies",)),
    Case("ten reply failures are down", ChannelSignals(reply_failures=10), State.DOWN, rules_fired=("replies",)),
    # replies put off by the provider's 429: degraded while one is put off, never down by default (dead letters are)
    Case("a reply put off by a 429 degrades",
         ChannelSignals(reply_rate_limits=1, reply_rate_limited_since=NOW - 60, reply_rate_limited_until=NOW + 60),
         State.DEGRADED,
         "replies rate limited (1 put off since 2027-01-15 07:59:00Z, none sent since; until 2027-01-15 08:01:00Z)",
         rules_fired=("reply_rate_limited",)),
    Case("a reply put off by a 429 names the host that limits it",
         ChannelSignals(reply_rate_limits=1, reply_rate_limited_since=NOW - 60, reply_rate_limited_until=NOW + 60,
                        last_reply_rate_limit="api.x.com answered 429 Too Many Requests"),
         State.DEGRADED,
         "replies rate limited (1 put off since 2027-01-15 07:59:00Z, none sent since; until 2027-01-15 08:01:00Z): "
         "api.x.com answered 429 Too Many Requests", rules_fired=("reply_rate_limited",)),
    Case("replies put off for a day are not down",
         ChannelSignals(reply_rate_limits=500, reply_rate_limited_since=NOW - 86400, reply_rate_limited_until=NOW + 60),
         State.DEGRADED, rules_fired=("reply_rate_limited",)),
    Case("replies put off are down past a down threshold",
         ChannelSignals(reply_rate_limits=5, reply_rate_limited_until=NOW + 60), State.DOWN,
         rules=ChannelRules(reply_rate_limits_down=5), rules_fired=("reply_rate_limited",)),
    Case("no reply put off any more is ok", ChannelSignals(reply_rate_limits=3, reply_rate_limited_since=NOW - 900,
                                                           reply_rate_limited_until=NOW - 1), State.OK),
    # queues
    Case("a young queue is ok", ChannelSignals(), State.OK,
         queues=(QueueStats("lapor-forward", 3, 0, 12.0),)),
    Case("an old forward queue degrades, its citizens answered", ChannelSignals(), State.DEGRADED,
         "lapor-forward: oldest job waiting 6 min (2 queued, 5 retrying): citizens answered, reports kept; not yet "
         "in the case store", queues=(QueueStats("lapor-forward", 2, 5, 360.0),), rules_fired=("queue_age",)),
    # Why it waits is said with the counts, as the README writes it: after them, "; last failure" read as a rule.
    Case("a forward retried names its last failure", ChannelSignals(), State.DEGRADED,
         "lapor-forward: oldest job waiting 6 min (0 queued, 3 retrying; last failure: casestore_unreachable): "
         "citizens answered, reports kept; not yet in the case store",
         queues=(QueueStats("lapor-forward", 0, 3, 400.0, last_failure="casestore_unreachable"),),
         rules_fired=("queue_age",)),
    Case("a reply queue no worker takes says so", ChannelSignals(), State.DEGRADED,
         "lapor-reply: oldest job waiting 6 min (4 queued, 0 retrying; no live worker takes its jobs)",
         queues=(QueueStats("lapor-reply", 4, 0, 400.0, workers=0),), rules_fired=("queue_age",)),
    Case("a very old reply queue is down", ChannelSignals(), State.DOWN,
         queues=(QueueStats("lapor-forward", 0, 0, None), QueueStats("lapor-reply", 1, 0, 1900.0)),
         rules_fired=("queue_age",)),
    Case("a queue the channel does not use is ignored", ChannelSignals(), State.OK,
         queues=(QueueStats("lapor-status", 9, 0, 9999.0),)),
    # a queue of the channel with no live worker (worker_seen_at: when one was last seen on it)
    Case("its queues' workers alive is ok", ChannelSignals(first_seen=NOW - 9999), State.OK, rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=1, worker_seen_at=NOW - 1),
                 QueueStats("lapor-reply", 0, workers=2, worker_seen_at=NOW - 1))),
    Case("a worker gone a moment ago (a restart) is ok", ChannelSignals(first_seen=NOW - 9999), State.OK,
         rules=WORKED, queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 20),)),
    Case("no forward worker past the threshold degrades, with nothing queued", ChannelSignals(first_seen=NOW - 9999),
         State.DEGRADED, "lapor-forward: no live worker (last seen 45 s ago)", rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 45),
                 QueueStats("lapor-reply", 0, workers=1, worker_seen_at=NOW - 1)),
         rules_fired=("worker_missing",)),
    Case("both queues without a worker are named", ChannelSignals(first_seen=NOW - 9999), State.DEGRADED,
         "lapor-forward: no live worker (last seen 3 min ago); lapor-reply: no live worker (last seen 40 s ago)",
         rules=WORKED, queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 180),
                               QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 40)),
         rules_fired=("worker_missing",)),
    Case("no worker ever since monitoring began", ChannelSignals(first_seen=NOW - 60), State.DEGRADED,
         "lapor-reply: no live worker (last seen never; monitoring began 60 s ago)", rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0),), rules_fired=("worker_missing",)),
    Case("no worker yet, monitoring just began, is ok", ChannelSignals(first_seen=NOW - 10), State.OK, rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0),)),
    Case("a missing worker can be made down", ChannelSignals(first_seen=NOW - 9999), State.DOWN,
         "lapor-forward: no live worker (last seen 10 min ago)",
         rules=ChannelRules(worker_missing_degraded_seconds=30, worker_missing_down_seconds=300),
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 600),),
         rules_fired=("worker_missing",)),
    # a worker whose runs end on an error no waiting ends (workers.outage.LoopQuits): between its runs, no live worker
    Case("a worker between runs that ended on a key of another type: said at once, with what Redis refused",
         ChannelSignals(first_seen=NOW - 9999), State.DEGRADED,
         "lapor-forward: its worker's runs end on an error in RQ's loop, 3 in a row, the next in 3 s (The key rq:queue:"
         "lapor-forward holds another type; worker.quit_unasked)", rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 2,
                            worker_quits=(WorkerQuit(NOW - 1, "rq_loop_error", "ResponseError",
                                                   "The key rq:queue:lapor-forward holds another type", 3, 4.0),)),),
         rules_fired=("worker_quitting",)),
    Case("a worker 50 s into a minute's wait after a bug's quit: its quit, not a worker missing",
         ChannelSignals(first_seen=NOW - 9999), State.DEGRADED,
         "lapor-reply: its worker's runs end on an error as it begins, 7 in a row, the next in 10 s (KeyError, a bug: "
         "its traceback is in the worker's log; worker.quit_unasked)", rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 51,
                            worker_quits=(WorkerQuit(NOW - 50, "run_start_error", "KeyError", None, 7, 60.0),)),),
         rules_fired=("worker_quitting",)),
    Case("a single quit: begun again a second later, nothing to say", ChannelSignals(first_seen=NOW - 9999),
         State.OK, rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 1.5,
                            worker_quits=(WorkerQuit(NOW - 1, "rq_loop_error", "KeyError", None, 1, 1.0),)),)),
    Case("a run begun since the quit, live: ok", ChannelSignals(first_seen=NOW - 9999), State.OK, rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=1, worker_seen_at=NOW - 1,
                            worker_quits=(WorkerQuit(NOW - 30, "rq_loop_error", "KeyError", None, 5, 16.0),)),)),
    Case("a run begun since the quit that beat and went: a worker missing, not quitting",
         ChannelSignals(first_seen=NOW - 9999), State.DEGRADED, "lapor-forward: no live worker (last seen 40 s ago)",
         rules=WORKED, queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 40,
                                          worker_quits=(WorkerQuit(NOW - 45, "rq_loop_error", "KeyError", None, 5,
                                                                 16.0),)),),
         rules_fired=("worker_missing",)),
    Case("a worker that died in its wait (its next run overdue): a worker missing",
         ChannelSignals(first_seen=NOW - 9999), State.DEGRADED,
         "lapor-forward: no live worker (last seen 2 min ago; its last run ended on an error 2 min ago, and the next, "
         "due 112 s ago, has not begun)", rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 121,
                            worker_quits=(WorkerQuit(NOW - 120, "rq_loop_error", "KeyError", None, 4, 8.0),)),),
         rules_fired=("worker_missing",)),
    Case("a worker gone in a short wait: missing at once, where it read ok until 30 s after it was last seen",
         ChannelSignals(first_seen=NOW - 9999), State.DEGRADED,
         "lapor-reply: no live worker (last seen 15 s ago; its last run ended on an error 15 s ago, and the next, due "
         "11 s ago, has not begun)", rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 15.1,
                            worker_quits=(WorkerQuit(NOW - 15, "run_start_error", "KeyError", None, 3, 4.0),)),),
         rules_fired=("worker_missing",)),
    Case("a worker whose next run is due: said so, not 'in 0 s'", ChannelSignals(first_seen=NOW - 9999),
         State.DEGRADED, "lapor-reply: its worker's runs end on an error as it begins, 2 in a row, the next due now "
         "(KeyError, a bug: its traceback is in the worker's log; worker.quit_unasked)", rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 9,
                            worker_quits=(WorkerQuit(NOW - 8, "run_start_error", "KeyError", None, 2, 2.0),)),),
         rules_fired=("worker_quitting",)),
    Case("a worker whose next run came due while Redis was away: still quitting, not said gone (its run beats once "
         "Redis is back)", ChannelSignals(first_seen=NOW - 9999, redis_away=((NOW - 100, NOW - 0.5),)),
         State.DEGRADED, "lapor-reply: its worker's runs end on an error as it begins, 4 in a row, the next due now "
         "(KeyError, a bug: its traceback is in the worker's log; worker.quit_unasked)", rules=WORKED,
         queues=(QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 121,
                            worker_quits=(WorkerQuit(NOW - 120, "run_start_error", "KeyError", None, 4, 16.0),)),),
         rules_fired=("worker_quitting",)),
    Case("a queue the channel does not use needs no worker", ChannelSignals(first_seen=NOW - 9999), State.OK,
         rules=WORKED, queues=(QueueStats("lapor-status", 0, workers=0, worker_seen_at=NOW - 999),)),
    Case("workers not counted are not missing", ChannelSignals(first_seen=NOW - 9999), State.OK, rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=None, worker_seen_at=NOW - 999),)),
    Case("worker rule off", ChannelSignals(first_seen=NOW - 9999), State.OK, rules=ChannelRules(),
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 9999),)),
    # a job held in progress past its time limit (overdue: the longest per channel it tells, None: every channel's)
    Case("a forward held past its limit and the threshold degrades", ChannelSignals(), State.DEGRADED,
         "lapor-forward: a job held in progress for 6 min, past its 2 min time limit (its worker is hung: restart it "
         "and the job runs again): citizens answered, reports kept; not yet in the case store",
         queues=(QueueStats("lapor-forward", 0, workers=1, in_progress=1, oldest_in_progress_seconds=360.0,
                            overdue={None: Held(360.0, 120.0)}),), rules_fired=("job_held",)),
    Case("a job its hung worker holds names it", ChannelSignals(), State.DEGRADED,
         "lapor-forward: a job held in progress for 6 min, past its 2 min time limit (its worker lapor-vm-p7-ab12cd "
         "is hung: restart it and the job runs again): citizens answered, reports kept; not yet in the case store",
         queues=(QueueStats("lapor-forward", 0, workers=2, in_progress=1,
                            overdue={None: Held(360.0, 120.0, "lapor-vm-p7-ab12cd", True)}),),
         rules_fired=("job_held",)),
    Case("a job a paused worker holds beside a live one names the paused one", ChannelSignals(), State.DEGRADED,
         "lapor-forward: a job held in progress for 6 min, past its 2 min time limit (its worker lapor-vm-p7-ab12cd "
         "is paused or gone, and no live worker took the job back): citizens answered, reports kept; not yet in the "
         "case store",
         queues=(QueueStats("lapor-forward", 0, workers=1, in_progress=1,
                            overdue={None: Held(360.0, 120.0, "lapor-vm-p7-ab12cd", False)}),),
         rules_fired=("job_held",)),
    Case("a job held past its limit but under the threshold is ok", ChannelSignals(), State.OK,
         queues=(QueueStats("lapor-forward", 0, workers=1, in_progress=1, overdue={None: Held(200.0, 120.0)}),)),
    Case("a job held half an hour with no worker left is down", ChannelSignals(), State.DOWN,
         "lapor-reply: a job held in progress for 31 min, past its 2 min time limit (no live worker on the queue: "
         "the one holding it is paused or gone)",
         queues=(QueueStats("lapor-reply", 0, workers=0, in_progress=1, overdue={None: Held(1860.0, 120.0)}),),
         rules_fired=("job_held",)),
    Case("another channel's reply held holds this one back not", ChannelSignals(channel="x"), State.OK,
         queues=(QueueStats("lapor-reply", 0, workers=1, in_progress=1, overdue={"email": Held(1860.0, 120.0)}),)),
    Case("its own reply held holds it back", ChannelSignals(channel="email"), State.DOWN,
         queues=(QueueStats("lapor-reply", 0, workers=1, in_progress=1, overdue={"email": Held(1860.0, 120.0)}),),
         rules_fired=("job_held",)),
    Case("a held job on a queue the channel does not use is ignored", ChannelSignals(), State.OK,
         queues=(QueueStats("lapor-status", 0, workers=1, in_progress=1, overdue={None: Held(9999.0, 120.0)}),)),
    Case("job-held rule off", ChannelSignals(), State.OK,
         rules=ChannelRules(job_held_degraded_seconds=0, job_held_down_seconds=0),
         queues=(QueueStats("lapor-forward", 0, workers=1, in_progress=1, overdue={None: Held(9999.0, 120.0)}),)),
    # mentions possibly out of the provider's reach, found by a poll: said for an hour after it
    Case("a mentions gap found a moment ago degrades", ChannelSignals(mentions_gap_at=NOW - 60,
                                                                       mentions_gap="between A and B"),
         State.DEGRADED, "mentions posted between A and B may be out of the provider's reach (found "
         "2027-01-15 07:59:00Z): look them up by hand", rules_fired=("mentions_gap",)),
    Case("a mentions gap an hour old is said no more", ChannelSignals(mentions_gap_at=NOW - 3601,
                                                                       mentions_gap="between A and B"), State.OK),
    Case("a mentions gap can be made down for a while", ChannelSignals(mentions_gap_at=NOW - 60,
                                                                        mentions_gap="between A and B"),
         State.DOWN, rules=ChannelRules(mentions_gap_down_seconds=600), rules_fired=("mentions_gap",)),
    # a mail the gateway failed to read, quarantined: said for an hour after it
    Case("a mail failed to read a moment ago degrades", ChannelSignals(mail_failed_at=NOW - 60,
                                                                        mail_failed="parse_error, KeyError"),
         State.DEGRADED, "a mail the gateway failed to read was quarantined 2027-01-15 07:59:00Z (parse_error, "
         "KeyError): lapor-gateway email quarantine list, reprocess once mended", rules_fired=("mail_failed",)),
    Case("a mail failed to read an hour ago is said no more", ChannelSignals(mail_failed_at=NOW - 3601,
                                                                              mail_failed="parse_error, KeyError"),
         State.OK),
    Case("a mail failed to read can be made down for a while", ChannelSignals(mail_failed_at=NOW - 60),
         State.DOWN, rules=ChannelRules(mail_failed_down_seconds=600), rules_fired=("mail_failed",)),
    # mentions and comments the gateway failed to file, kept unfiled: said as long as any is kept
    Case("a message kept unfiled degrades, however long ago", ChannelSignals(
        unfiled=2, unfiled_at=NOW - 86400 * 3, unfiled_reason="ValueError at normalizer/grammar.py:12 in read"),
         State.DEGRADED, "2 message(s) the gateway failed to file kept unfiled; the newest 2027-01-12 08:00:00Z: "
         "ValueError at normalizer/grammar.py:12 in read: lapor-gateway unfiled list, retry once mended",
         rules_fired=("unfiled",)),
    Case("none kept unfiled any more (retried) is ok", ChannelSignals(
        unfiled=0, unfiled_at=NOW - 60, unfiled_reason="ValueError at normalizer/grammar.py:12 in read"), State.OK),
    Case("messages kept unfiled can be made down past a count", ChannelSignals(unfiled=5, unfiled_at=NOW - 60),
         State.DOWN, rules=ChannelRules(unfiled_down=5), rules_fired=("unfiled",)),
    # quiet period
    Case("quiet past the usual period degrades", ChannelSignals(first_seen=NOW - 90000, last_message_at=NOW - 3700),
         State.DEGRADED, "no message for 61 min", rules_fired=("quiet",)),
    Case("quiet for a day is down", ChannelSignals(first_seen=NOW - 90000, last_message_at=NOW - 86401), State.DOWN,
         rules_fired=("quiet",)),
    Case("never a message since monitoring began", ChannelSignals(first_seen=NOW - 4000), State.DEGRADED,
         "no message since monitoring began for 66 min", rules_fired=("quiet",)),
    Case("quiet rule off", ChannelSignals(first_seen=NOW - 999999), State.OK, rules=ChannelRules()),
    # the process that receives the channel's messages (outside the HTTP gateway)
    Case("its serving process seen a moment ago is ok", ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 2),
         State.OK, rules=SERVED),
    Case("its serving process gone past the threshold is down",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 180), State.DOWN,
         "no SMTP server process alive (last seen 3 min ago)", rules=SERVED, rules_fired=("process_missing",)),
    Case("no serving process yet, monitoring just began, is ok", ChannelSignals(first_seen=NOW - 10), State.OK,
         rules=SERVED),
    Case("no serving process ever since monitoring began is down", ChannelSignals(first_seen=NOW - 45), State.DOWN,
         "no SMTP server process alive (last seen never; monitoring began 45 s ago)", rules=SERVED,
         rules_fired=("process_missing",)),
    Case("a missing process degrades before it is down",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 20), State.DEGRADED,
         "no process serving the channel alive (last seen 20 s ago)",
         rules=ChannelRules(process_missing_degraded_seconds=10, process_missing_down_seconds=60),
         rules_fired=("process_missing",)),
    Case("process rule off (a channel the gateway serves itself, or disabled)",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 9000), State.OK, rules=ChannelRules()),
    # Instagram, received two ways: the pollers fetch, `lapor-gateway serve` answers the webhook. Before, only the
    # pollers beat for it: with every HTTP gateway down its webhooks went unanswered and every view said ok.
    Case("instagram with its pollers and its webhook's gateway alive is ok",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 2, webhook_seen_at=NOW - 2), State.OK,
         rules=INSTAGRAM),
    Case("instagram's webhook gateway gone a moment (a restart) is ok",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 2, webhook_seen_at=NOW - 20), State.OK,
         rules=INSTAGRAM),
    Case("instagram's webhook gateway gone, its pollers alive: degraded, saying what is lost",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 2, webhook_seen_at=NOW - 180), State.DEGRADED,
         WEBHOOK_GONE.format(seen="last seen 3 min ago"), rules=INSTAGRAM, rules_fired=("webhook_missing",)),
    Case("instagram's webhook gateway never seen since monitoring began: degraded",
         ChannelSignals(first_seen=NOW - 45, process_seen_at=NOW - 2), State.DEGRADED,
         WEBHOOK_GONE.format(seen="last seen never; monitoring began 45 s ago"), rules=INSTAGRAM,
         rules_fired=("webhook_missing",)),
    Case("instagram's pollers gone, its webhook answered: down (nothing filed, nobody answered)",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 180, webhook_seen_at=NOW - 2), State.DOWN,
         "no pollers process polling Instagram alive (last seen 3 min ago)", rules=INSTAGRAM,
         rules_fired=("process_missing",)),
    Case("instagram with both gone is down, the webhook's loss named too",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 180, webhook_seen_at=NOW - 180), State.DOWN,
         "no pollers process polling Instagram alive (last seen 3 min ago)", rules=INSTAGRAM,
         rules_fired=("process_missing", "webhook_missing")),
    Case("the webhook rule off (every channel but instagram)",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 2, webhook_seen_at=NOW - 9000), State.OK,
         rules=SERVED),
    # several at once: the worst wins, and the reason names every rule at that level
    Case("the worst rule wins", ChannelSignals(auth_failures=5, last_auth_error="401", reply_failures=3,
                                               poll_failing_since=NOW - 700, last_poll_error="401"),
         State.DOWN, "authentication failing (5 in a row): 401; poller failing for 11 min: 401",
         rules_fired=("auth", "poll_failing", "replies")),
]


def test_dead_letters_of_reports_whose_envelope_is_gone_are_not_sent_round_again() -> None:
    """Their forward cannot go: "fix the cause, then requeue" made each the same letter again."""
    health = evaluate("unknown", ChannelSignals(deadletters_in_window=2, last_deadletter_reason="envelope_missing"),
                      (), RULES, NOW)
    assert health.state is State.DEGRADED
    assert health.actions == [
        "`lapor-gateway deadletters list --channel unknown --reason envelope_missing` lists them: forwards of reports "
        "whose envelope is gone from Redis (emptied, restored from an older copy?), which a requeue cannot deliver "
        "unless the envelope is restored; once looked into, `lapor-gateway deadletters purge --all --channel unknown "
        "--reason envelope_missing`"]
    other = evaluate("x", ChannelSignals(deadletters_in_window=1, last_deadletter_reason="x_auth"), (), RULES, NOW)
    assert other.actions[0].endswith("then `lapor-gateway deadletters requeue --all --channel x`"), other.actions


def test_replies_failing_on_a_provider_that_does_not_answer_are_not_said_to_be_refused() -> None:
    health = evaluate("sms-aggregator", ChannelSignals(reply_failures=3, last_reply_error="aggregator_unreachable"),
                      (), RULES, NOW)
    assert health.reason == "replies failing (3 in a row): aggregator_unreachable"
    assert health.actions[0].startswith("the reply provider refuses our replies or does not answer (the reason says "
                                        "which): `lapor-gateway deadletters list --channel sms-aggregator --queue "
                                        "lapor-reply` shows each failure"), health.actions


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_evaluate(case: Case) -> None:
    health = evaluate("x", case.signals, case.queues, case.rules, NOW)
    assert health.state is case.state
    if case.reason:
        assert health.reason == case.reason
    assert tuple(f.rule for f in health.findings) == case.rules_fired
    assert (health.reason == "") is (case.state is State.OK)


# The channels whose replies the reply worker sends: their replies and status queries go out later, through it.
REPLIED_LATER = {name for name, adapter in WEBHOOK_ADAPTERS.items() if adapter.outbound_replies}


@pytest.mark.parametrize("case", [case for case in CASES if case.state is not State.OK],
                         ids=[case.id for case in CASES if case.state is not State.OK])
def test_every_finding_that_gives_the_state_says_what_to_do(case: Case) -> None:
    """A reason said what was wrong and no view said what to do: the README's table alone did, away from the page at
    2 a.m. Every finding now carries its next step, and the channel lists those of the findings that give its state."""
    health = evaluate("x", case.signals, case.queues, case.rules, NOW)
    assert all(finding.action for finding in health.findings), health.findings
    assert health.actions == list(dict.fromkeys(f.action for f in health.findings if f.state is health.state))


@dataclass(frozen=True)
class Step:
    id: str
    channel: str
    signals: ChannelSignals
    says: tuple[str, ...]
    queues: tuple[QueueStats, ...] = ()
    rules: ChannelRules = RULES


STEPS = [
    Step("X's token refused: its setting and the process to restart", "x",
         ChannelSignals(auth_failures=3, last_auth_error="401 Unauthorized"),
         ("renew or fix LAPOR_X_BEARER_TOKEN", "restart `lapor-gateway pollers`")),
    Step("Instagram's token refused: its own setting", "instagram",
         ChannelSignals(auth_failures=1, last_auth_error="400 code=190"), ("LAPOR_INSTAGRAM_ACCESS_TOKEN",)),
    # By what the provider refused (`signals.AUTH_REFUSALS`): a permission is not mended by renewing the token.
    Step("X's token refused: set the current bearer token", "x",
         ChannelSignals(auth_failures=1, last_auth_error="api.x.com answered 401 Unauthorized",
                        last_auth_refusal="token"),
         ("X refuses the poller's token", "set LAPOR_X_BEARER_TOKEN", "restart `lapor-gateway pollers`")),
    Step("X refusing the token access to mentions: its project, plan or scopes", "x",
         ChannelSignals(auth_failures=1, last_auth_error="api.x.com answered 403 Forbidden",
                        last_auth_refusal="permission"),
         ("access to mentions", "Project", "tweet.read", "LAPOR_X_BEARER_TOKEN", "restart `lapor-gateway pollers`")),
    Step("X unable to read the account: its id", "x",
         ChannelSignals(auth_failures=1, last_auth_error="api.x.com answered 200 with errors: account suspended "
                        "(x.user_id)", last_auth_refusal="account"),
         ("suspended", "LAPOR_X_USER_ID", "restart `lapor-gateway pollers`")),
    Step("Instagram's token expired: a new long-lived one", "instagram",
         ChannelSignals(auth_failures=1, last_auth_error="graph.facebook.com answered 400 code=190 (access token "
                        "invalid or expired)", last_auth_refusal="token"),
         ("expired", "set LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived token", "restart `lapor-gateway pollers`")),
    Step("Instagram's token lacking a permission: grant it, then a token issued after", "instagram",
         ChannelSignals(auth_failures=1, last_auth_error="graph.facebook.com answered 403 code=10 (permission "
                        "missing)", last_auth_refusal="permission"),
         ("instagram_manage_comments", "grant it", "LAPOR_INSTAGRAM_ACCESS_TOKEN to a token issued after")),
    Step("Twilio's signatures: the auth token or the public URL", "sms-twilio", ChannelSignals(signature_failures=20),
         ("LAPOR_TWILIO_AUTH_TOKEN", "LAPOR_PUBLIC_URL", "someone else is posting")),
    Step("the aggregator's signatures: its secret and allowlist", "sms-aggregator",
         ChannelSignals(signature_failures=20), ("LAPOR_AGGREGATOR_SECRET", "LAPOR_AGGREGATOR_ALLOWLIST")),
    Step("Twilio's webhooks refused by our own rate limit: what is lost, the source, the settings to raise",
         "sms-twilio", ChannelSignals(channel="sms-twilio", throttled=40, throttled_since=NOW - 30,
                                      last_throttled_at=NOW - 1),
         ("ratelimit.throttled log lines", "LAPOR_RATELIMIT_RATE_PER_SECOND", "LAPOR_RATELIMIT_BURST",
          "LAPOR_RATELIMIT_SOURCE_HEADER", "restart `lapor-gateway serve`")),
    Step("no SMTP server: the command that starts it", "email", ChannelSignals(first_seen=NOW - 999),
         ("start `lapor-gateway smtp`",), rules=SERVED),
    Step("no gateway for Instagram's webhook, its pollers alive: the gateway to start, not the pollers", "instagram",
         ChannelSignals(first_seen=NOW - 999, process_seen_at=NOW - 2), ("start `lapor-gateway serve`",),
         rules=INSTAGRAM),
    Step("no gateway for the SMS webhooks", "sms-twilio", ChannelSignals(first_seen=NOW - 999),
         ("start `lapor-gateway serve`",), rules=SERVED),
    Step("no worker on two queues: one command for both", "x", ChannelSignals(first_seen=NOW - 9999),
         ("start `lapor-gateway worker --queues lapor-forward,lapor-reply`",), rules=WORKED,
         queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 45),
                 QueueStats("lapor-reply", 0, workers=0, worker_seen_at=NOW - 45))),
    Step("forwards retried for the case store: the URL the workers fail at", "x", ChannelSignals(),
         ("check that it answers at https://core.lapor.go.id/api; ", "forward.retry log lines"),
         queues=(QueueStats("lapor-forward", 0, 3, 400.0, workers=1, last_failure="casestore_unreachable",
                            casestore_url="https://core.lapor.go.id/api"),)),
    Step("forwards timing out at the case store: overloaded or hung, the workers' timeout", "x", ChannelSignals(),
         ("the case store at https://core.lapor.go.id/api takes connections but does not answer within "
          "LAPOR_CASESTORE_TIMEOUT_SECONDS (12.5 s): overloaded or hung; check its load and its log, and raise the "
          "timeout only if it is just slow", "forward.retry log lines"),
         queues=(QueueStats("lapor-forward", 0, 3, 400.0, workers=1, last_failure="casestore_timeout",
                            casestore_url="https://core.lapor.go.id/api", casestore_timeout=12.5),)),
    Step("forwards retried for the case store, no URL noted: the workers' setting", "x", ChannelSignals(),
         ("check that it answers at the forward workers' LAPOR_CASESTORE_URL",),
         queues=(QueueStats("lapor-forward", 0, 3, 400.0, workers=1, last_failure="casestore_unreachable"),)),
    Step("X's poller failing: the process whose lines have each try", "x",
         ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="503 Service Unavailable"),
         ("the channel.provider_error and channel.bad_payload lines of `lapor-gateway pollers`",)),
    Step("Instagram's mention lookups failing: the line that says so", "instagram",
         ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="mention lookups failing (403 Forbidden)"),
         ("channel.lookups_failing Instagram's mention lookups",)),
    Step("the IMAP poller failing: its server, not a provider's status page", "email",
         ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="TimeoutError (imap.lapor.go.id:993)"),
         ("check that it answers there (LAPOR_EMAIL_IMAP_HOST, _PORT, _SSL)", "email.imap_failed")),
    Step("the IMAP login refused: its settings, and the process to restart", "email",
         ChannelSignals(poll_failing_since=NOW - 601, last_poll_error="MailboxLoginError (imap.lapor.go.id:993)"),
         ("fix LAPOR_EMAIL_IMAP_USER or LAPOR_EMAIL_IMAP_PASSWORD", "restart `lapor-gateway smtp`")),
    Step("a worker gone quiet whose process still runs: restart it", "x", ChannelSignals(first_seen=NOW - 9999),
         ("start `lapor-gateway worker --queues lapor-forward`", "one whose process still runs is frozen",
          "restart it"), rules=WORKED, queues=(QueueStats("lapor-forward", 0, workers=0, worker_seen_at=NOW - 45),)),
    Step("a queue no worker takes: start one", "x", ChannelSignals(),
         ("start `lapor-gateway worker --queues lapor-reply`",), queues=(QueueStats("lapor-reply", 4, 0, 400.0,
                                                                                    workers=0),)),
    Step("a used-up ID range: the setting to extend", "email",
         ChannelSignals(intake_refusals=1, last_intake_refusal="id_range_exhausted"), ("LAPOR_INTAKE_ID_END",)),
    Step("Redis refusing reports: when the channel is ok again", "email",
         ChannelSignals(intake_refusals=1, last_intake_refusal="redis_unavailable"),
         ("bring Redis back", "once Redis answers, the channel is ok again at its next report")),
    Step("the spool failing too: when the channel is ok again", "sms-twilio",
         ChannelSignals(intake_refusals=1, last_intake_refusal="spool_failed"),
         ("free or mend the spool's disk", "the channel is ok again at its next report")),
    Step("dead letters: list, fix, requeue, for this channel", "instagram", ChannelSignals(deadletters_in_window=2),
         ("deadletters list --channel instagram", "deadletters requeue --all --channel instagram")),
    Step("replies refused: where their answers are", "x", ChannelSignals(reply_failures=4, last_reply_error="x_auth"),
         ("deadletters list --channel x --queue lapor-reply",
          "deadletters requeue --all --channel x --queue lapor-reply")),
    Step("X's reply credentials refused: the reply worker's own settings, its restart, the requeue", "x",
         ChannelSignals(reply_failures=4, last_reply_error="x_auth (credentials refused): api.x.com answered 401",
                        last_reply_failure="token"),
         ("LAPOR_X_ACCESS_TOKEN_SECRET", "restart every `lapor-gateway worker`",
          "deadletters requeue --all --channel x --queue lapor-reply")),
    Step("Instagram's token refused to a reply: the pollers' step, the workers restarted with them", "instagram",
         ChannelSignals(reply_failures=4, last_reply_failure="token"),
         ("LAPOR_INSTAGRAM_ACCESS_TOKEN to a new long-lived token", "`lapor-gateway worker` and `lapor-gateway "
          "pollers`")),
    Step("the relay's login refused: its user and password", "email",
         ChannelSignals(reply_failures=4, last_reply_failure="token"), ("LAPOR_EMAIL_RELAY_PASSWORD",)),
    Step("the aggregator's certificate refused: its host's TLS", "sms-aggregator",
         ChannelSignals(reply_failures=4, last_reply_failure="tls"), ("certificate", "LAPOR_AGGREGATOR_SEND_URL")),
    # A frozen process (SIGSTOP, a paused host) beats no more: a second one started meets the port in use.
    Step("the SMTP server gone: start it, or restart one frozen", "email",
         ChannelSignals(first_seen=NOW - 9999, process_seen_at=NOW - 180),
         ("start `lapor-gateway smtp`", "One whose process still runs is frozen", "restart it"), rules=SERVED),
    # An entry damaged by hand no retry files: the way out of it is said too.
    Step("messages kept unfiled: list, retry once mended, drop one that cannot be read", "x",
         ChannelSignals(unfiled=1, unfiled_at=NOW - 60),
         ("lapor-gateway unfiled list", "unfiled retry --all", "lapor-gateway unfiled drop <key>")),
    Step("only the worst level's steps: the auth, not the failing replies", "x",
         ChannelSignals(auth_failures=5, last_auth_error="401", reply_failures=3), ("LAPOR_X_BEARER_TOKEN",)),
]


@pytest.mark.parametrize("step", STEPS, ids=[step.id for step in STEPS])
def test_what_to_do_names_the_command_or_setting(step: Step) -> None:
    health = evaluate(step.channel, step.signals, step.queues, step.rules, NOW)
    assert health.state is not State.OK
    assert len(health.actions) == 1, health.actions
    assert all(words in health.actions[0] for words in step.says), health.actions


def test_the_shipped_rules_cover_every_channel_with_their_overrides() -> None:
    """Every channel of `channels.registry`, and no other, read from it: a channel added there is checked here
    without being named again (its own rows belong in tests/test_channel_registry.py)."""
    rules = load_rules(CONFIG_DIR / "health.toml")
    assert set(rules.channels) == {*WEBHOOK_ADAPTERS, *OWN_PROCESS_CHANNELS} and len(set(rules.channels)) == len(
        rules.channels)
    assert rules.channels[:2] == ("sms-aggregator", "sms-twilio")  # 1708 first on every view
    assert {rules.for_channel(name).signature_failures_down for name in rules.channels} == {20}
    assert rules.for_channel("sms-twilio").auth_failures_down == rules.defaults.auth_failures_down == 3
    assert rules.for_channel("x").auth_failures_down == rules.defaults.auth_failures_down
    assert rules.for_channel("sms-aggregator").quiet_degraded_seconds == 3600
    # Every channel takes new reports: one refused degrades it, a used-up ID range takes it down.
    refusals = {(r.intake_refusals_degraded, r.intake_refusals_down, tuple(r.intake_refusals_down_at_once))
                for r in map(rules.for_channel, rules.channels)}
    assert refusals == {(1, 5, ("id_range_exhausted",))}
    # Every channel watches the process that receives it.
    assert {rules.for_channel(name).process_missing_down_seconds for name in rules.channels} == {30}
    assert rules.for_channel("sms-twilio").serving_process == "HTTP gateway process (lapor-gateway serve)"
    assert rules.for_channel("email").serving_process == "SMTP server process"
    # Instagram's webhook, answered by `lapor-gateway serve` while the pollers fetch: the one channel received two
    # ways (X has no webhook, the SMS channels' webhook is their process rule's).
    assert {name: rules.for_channel(name).webhook_missing_degraded_seconds for name in rules.channels
            if rules.for_channel(name).webhook_missing_degraded_seconds} == {"instagram": 30}
    # Every channel but the one of unattributed dead letters watches its queues' workers.
    assert {rules.for_channel(name).worker_missing_degraded_seconds for name in rules.channels} == {30}
    assert rules.for_channel("unknown").queues == ()


def test_the_status_queue_is_watched_for_the_channels_whose_status_queries_it_answers() -> None:
    """Status jobs are queued only for a channel whose replies go through the reply worker (gateway.outbound, the
    aggregator's); no channel watched it, so a dead status worker left every view green while the CEK queries of
    1708 went unanswered. A new such adapter must watch it too, and no other channel may."""
    rules = load_rules(CONFIG_DIR / "health.toml")
    assert "sms-aggregator" in REPLIED_LATER
    assert {name for name in rules.channels if STATUS_QUEUE in rules.for_channel(name).queues} == REPLIED_LATER
    for name in rules.channels:  # and every channel still watches its forwards
        assert FORWARD_QUEUE in rules.for_channel(name).queues, name


def test_the_reply_queue_is_watched_for_the_channels_that_queue_replies() -> None:
    """Twilio answers in its webhook's TwiML and queues no reply job (no reply sender is registered for it): a dead
    reply worker degraded its channel with every Twilio citizen answered. The aggregator (gateway.outbound), e-mail
    and the mentions queue their replies."""
    rules = load_rules(CONFIG_DIR / "health.toml")
    assert "sms-twilio" not in REPLY_SENDERS
    watching = {name for name in rules.channels if REPLY_QUEUE in rules.for_channel(name).queues}
    assert watching == REPLIED_LATER | set(OWN_PROCESS_CHANNELS)  # e-mail and the mentions: jobs of their own


def test_a_misspelt_rule_fails_at_load(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "health.toml"
    path.write_text('channels = ["x"]\n[channel.x]\nquiet_degraded_secs = 5\n')
    with pytest.raises(RulesError, match=r"\[channel\.\w+\] quiet_degraded_secs"):
        load_rules(path)


def test_a_process_threshold_shorter_than_its_beats_fails_at_load(tmp_path: object) -> None:
    """A live SMTP server or pollers process beats every 2 s: a 1 s threshold would take its channel down."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "health.toml"
    path.write_text('channels = ["email"]\n[channel.email]\nprocess_missing_down_seconds = 1\n')
    with pytest.raises(RulesError, match=r"\[channel\.\w+\] process_missing_down_seconds"):
        load_rules(path)
    path.write_text('channels = ["email"]\n[channel.email]\nworker_missing_degraded_seconds = 2\n')
    with pytest.raises(RulesError, match=r"\[channel\.\w+\] worker_missing_degraded_seconds"):
        load_rules(path)


@pytest.mark.parametrize("raw", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[1, 2]", id="a-list"),
    pytest.param(b'{"at": 1.0, "reason": "rq_loop_error"}', id="fields-missing"),
    pytest.param(b'{"at": "soon", "reason": "r", "error": null, "trouble": null, "quits": 2, "retry_in": 2}',
                 id="a-time-not-a-number"),
    pytest.param(b'{"at": 1e999, "reason": "r", "error": null, "trouble": null, "quits": 1e999, "retry_in": 2}',
                 id="quits-infinite"),
])
def test_a_worker_quit_record_that_cannot_be_read_is_none_and_fails_no_view(raw: bytes) -> None:
    """The record is read by every view (`HealthMonitor.queue_stats`): damaged, or of an older release, it is left
    unsaid; the record a worker writes reads back as written, its words scrubbed on the way."""
    assert WorkerQuit.loads(raw) is None
    quit = WorkerQuit(NOW, "run_start_error", "ResponseError", "The key rq:workers holds another type", 2, 2.0)
    assert WorkerQuit.loads(quit.dumps()) == quit


def test_jobs_aged_behind_a_quitting_worker_are_said_held_by_its_quits_with_its_step() -> None:
    """Jobs waiting behind a worker whose runs end on an error: the queue age said "no live worker takes its jobs" and
    "start `lapor-gateway worker`", the only step once the age made the channel down (the quit's finding, degraded,
    is then left out), beside a worker process running."""
    rules = ChannelRules(worker_missing_degraded_seconds=30, queue_age_degraded_seconds=300,
                         queue_age_down_seconds=1800)
    stats = QueueStats("lapor-reply", 12, oldest_age_seconds=2000, workers=0, worker_seen_at=NOW - 51,
                       worker_quits=(WorkerQuit(NOW - 50, "run_start_error", "KeyError", None, 9, 60.0),))
    health = evaluate("x", ChannelSignals(first_seen=NOW - 9999), (stats,), rules, NOW)
    assert (health.state, [finding.rule for finding in health.findings]) == (
        State.DOWN, ["worker_quitting", "queue_age"])
    assert health.reason == ("lapor-reply: oldest job waiting 33 min (12 queued, 0 retrying; its worker's runs end on "
                             "an error (worker quitting))")
    assert health.actions == [NEXT_STEPS["worker_quitting"]]


def test_jobs_aged_behind_a_worker_that_quit_once_are_said_waiting_for_a_worker_as_before() -> None:
    """A first quit is begun again a second later, and no finding says it (`worker_quitting` from the second in a row):
    the queue age said "(worker quitting)" and gave that finding's step, with no such finding on the channel."""
    rules = ChannelRules(worker_missing_degraded_seconds=30, queue_age_degraded_seconds=300)
    stats = QueueStats("lapor-reply", 12, oldest_age_seconds=400, workers=0, worker_seen_at=NOW - 1.5,
                       worker_quits=(WorkerQuit(NOW - 1, "rq_loop_error", "KeyError", None, 1, 1.0),))
    health = evaluate("x", ChannelSignals(first_seen=NOW - 9999), (stats,), rules, NOW)
    assert [finding.rule for finding in health.findings] == ["queue_age"]
    assert health.reason.endswith("(12 queued, 0 retrying; no live worker takes its jobs)"), health.reason
    assert health.actions == ["start `lapor-gateway worker --queues lapor-reply`"]
