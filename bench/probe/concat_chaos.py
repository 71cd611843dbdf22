"""A randomized probe of concatenated SMS through the aggregator callback, against the real gateway over HTTP.

Many senders, each sending many long SMS (2-5 parts, 8-bit and 16-bit references drawn from a small pool so they are
used again, while the message before waits too), parts shuffled, duplicated (the aggregator's retries), some never
sent (the sweep takes the message incomplete), some sent late after the sweep; the senders run at once, the gateway's
sweeper too. Every part carries a token naming its message and number, so the reports in Redis (the intake's
envelopes) tell where each part went. The oracle:

- every message is filed exactly once (one envelope holds its parts), its text exactly the parts it took joined in
  order (` [...] ` where some are missing), `incomplete` as it lacks some, and no part of another message in it, save
  the limit the README states (the next message's part at a number the waiting one lacks: counted, not failed);
- every answer to a part names its message's Tracking ID (or the one's it superseded), a retry after the filing
  does, and a last retry of every message (the last with its reference) does;
- nothing stays in the pending set, the buffers or the unfiled messages at the end.

Chaos of our own, each an option: sweeps that wait after their claim (`--sweep-delay`), a short lease (`--lease`: what a
claim leaves is swept again within the run), and a bug for some messages' words (`--p-bug`: kept unfiled, never
filed, their parts answered with no Tracking ID).

Run: `REDIS_URL=redis://127.0.0.1:6379/<db> .venv/bin/python -m bench.probe.concat_chaos --seed 1 2 3` (it flushes
that database; some 25 s a seed of 20 senders by 10 messages). Timing varies between runs (the sweeps race the
senders): a seed fixes the plan, not every interleaving. `tests/test_concat_interleavings.py` is the deterministic,
seeded part of it, at the part buffer's level.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from redis import Redis

import gateway.concat as gateway_concat
from gateway.concat import PENDING_KEY
from gateway.queues import redis_connection
from gateway.settings import Settings
from tests.aggregator_support import AGGREGATOR_TEST_SETTINGS, post_callback, running_gateway
from tests.conftest import TestEnvironment, free_port

WORDS = ("jalan", "rusak", "lampu", "mati", "banjir", "sampah", "got", "tersumbat", "warga", "mohon", "segera",
         "diperbaiki", "depan", "pasar", "sekolah", "dekat", "masjid", "trotoar", "berlubang", "parah")
BUG_WORD = "gagalsistem"
# In a late part's identity (`gateway.concat.PartBuffer.late_part`), and so in its unfiled entry's name.
LATE_IDENTITY = "concat-late:"
TOKEN = re.compile(r"zq([a-z]+)x([a-e])")


def letters(number: int) -> str:
    """`number` in letters (a token holds no digit: digits may read as a Tracking ID)."""
    out = ""
    while True:
        number, rest = divmod(number, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[rest] + out
        if number == 0:
            return out
        number -= 1


@dataclass
class Message:
    index: int
    phone: str
    ref: int
    wide: bool  # a 16-bit reference
    total: int
    ucs2: bool
    texts: list[str]
    mode: str  # whole, lost (some parts never sent), late (some sent after the sweep)
    missing: list[int]  # part numbers not sent at first
    parallel: bool
    bug: bool  # its words meet a bug of ours (`--p-bug`): it is kept unfiled, never filed
    sends: list[int] = field(default_factory=list)  # the order of the first sends (duplicates included)
    answers: list[tuple[int, str, int, Any]] = field(default_factory=list)  # (number, when, status, messages)

    @property
    def token(self) -> str:
        return "zq" + letters(self.index)

    @property
    def key(self) -> tuple[str, int, bool, int]:
        return (self.phone, self.ref, self.wide, self.total)

    def part_id(self, number: int) -> str:
        return f"chaos-{self.index}-{number}"

    def fields(self, number: int) -> dict[str, str]:
        udh = (f"060804{self.ref:04X}" if self.wide else f"050003{self.ref:02X}") + f"{self.total:02X}{number:02X}"
        text = self.texts[number - 1]
        data = text.encode("utf-16-be").hex().upper() if self.ucs2 else text
        return {"from": self.phone, "to": "1708", "text": data, "id": self.part_id(number),
                "coding": "2" if self.ucs2 else "0", "udh": udh, "smsc": "chaos"}


def joined(message: Message, numbers: set[int]) -> str:
    """What a join of `numbers` of `message` reads, independently of `gateway.concat.join_parts`."""
    pieces: list[str] = []
    for number in range(1, message.total + 1):
        if number in numbers:
            pieces.append(message.texts[number - 1])
        elif not pieces or pieces[-1] != " [...] ":
            pieces.append(" [...] ")
    return re.sub(r"\s*\[\.\.\.\]\s*", " [...] ", "".join(pieces)).strip()


@dataclass
class Plan:
    seed: int
    phones: int = 6
    messages: int = 6
    wait: float = 1.5
    sweep: float = 0.2
    refs: int = 2  # references each phone draws from (per width)
    p_lost: float = 0.25
    p_late: float = 0.15
    p_dup: float = 0.3
    p_parallel: float = 0.25
    p_ucs2: float = 0.2
    p_pause: float = 0.2  # a pause longer than the wait before the next message
    p_bug: float = 0.0  # messages whose filing meets a bug (`buggy_intake`)


def make_messages(plan: Plan) -> dict[str, list[Message]]:
    rng = random.Random(plan.seed)
    by_phone: dict[str, list[Message]] = {}
    index = 0
    for phone_number in range(plan.phones):
        phone = f"62812{plan.seed % 1000:03d}{phone_number:05d}"
        messages = []
        for _ in range(plan.messages):
            total = rng.choice((2, 2, 3, 3, 3, 4, 5))
            wide = rng.random() < 0.3
            ref = rng.randrange(plan.refs) + (0x1234 if wide else 0x40)
            ucs2 = rng.random() < plan.p_ucs2
            texts = [f"zq{letters(index)}x{'abcde'[n]} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
                     + " " for n in range(total)]
            bug = rng.random() < plan.p_bug
            if bug:  # in every part: the message may be taken without any one of them
                texts = [text.replace(" ", f" {BUG_WORD} ", 1) for text in texts]
            roll = rng.random()
            mode = "lost" if roll < plan.p_lost else "late" if roll < plan.p_lost + plan.p_late else "whole"
            missing = sorted(rng.sample(range(1, total + 1), rng.randint(1, total - 1))) if mode != "whole" else []
            sends = [n for n in range(1, total + 1) if n not in missing]
            sends += [n for n in sends if rng.random() < plan.p_dup]
            rng.shuffle(sends)
            messages.append(Message(index, phone, ref, wide, total, ucs2, texts, mode, missing,
                                    rng.random() < plan.p_parallel, bug, sends))
            index += 1
        by_phone[phone] = messages
    return by_phone


async def send(client: Any, message: Message, number: int, when: str) -> None:
    for attempt in range(20):
        response = await post_callback(client, message.fields(number))
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if response.status_code in (429, 503) and attempt < 19:  # the aggregator retries: so do we
            message.answers.append((number, when, response.status_code, body))
            await asyncio.sleep(0.05)
            continue
        message.answers.append((number, when, response.status_code, body and body.get("messages")))
        return


async def run_phone(clients: list[Any], plan: Plan, messages: list[Message], rng: random.Random) -> None:
    for message in messages:
        if message.parallel:
            await asyncio.gather(*(send(rng.choice(clients), message, number, "first") for number in message.sends))
        else:
            for number in message.sends:
                await send(rng.choice(clients), message, number, "first")
        if message.mode == "late":  # about when the sweep takes it: before, as it does, or after
            await asyncio.sleep(plan.wait * rng.uniform(0.7, 1.5))
            for number in message.missing:
                await send(rng.choice(clients), message, number, "late")
                if rng.random() < plan.p_dup:
                    await send(rng.choice(clients), message, number, "late")
        if rng.random() < plan.p_pause:  # the next message about when the sweep takes this one
            await asyncio.sleep(plan.wait * rng.uniform(0.7, 1.5))
        else:
            await asyncio.sleep(rng.random() * 0.05)


@dataclass
class Finding:
    kind: str
    detail: str


@dataclass
class Result:
    seed: int
    messages: int
    parts_sent: int
    envelopes: int
    limit_hits: int
    swept_early: int
    late_stored: int  # late parts answered as stored: they came before (or as) the sweep took their message
    findings: list[Finding]
    additions: int = 0  # late parts filed as additions to their reports (or kept unfiled beside theirs)


def describe(message: Message) -> str:
    answers = [(n, when, status, answer) for n, when, status, answer in message.answers if status != 429]
    return (f"{message.mode} bug {message.bug} key {message.key} sends {message.sends} missing {message.missing} "
            f"parallel {message.parallel} answers {answers}")


def envelopes(redis: Redis) -> list[dict[str, Any]]:
    """The intake's envelopes, and the messages kept unfiled (`kept`: True) with their text and id."""
    filed = [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")
             if redis.type(key) == b"string"]
    kept: list[dict[str, Any]] = []
    for key in redis.scan_iter("lapor:unfiled:*"):
        for entry, raw in redis.hgetall(key).items():
            message = orjson.loads(raw)["message"]
            kept.append({"tracking_id": f"unfiled:{entry.decode()}", "text": message["text"], "kept": True,
                         "channel_message_id": message["provider_message_id"],
                         "incomplete": message.get("incomplete", False)})
    return filed + kept


def buggy_intake() -> None:
    """A bug of ours for the messages with `BUG_WORD`: each is kept unfiled (`Gateway.keep_unfiled`)."""
    from gateway.app import Gateway

    handle = Gateway.handle_message

    async def failing(self: Gateway, adapter: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        if BUG_WORD in (message.text or ""):
            raise RuntimeError("the probe's bug")
        return await handle(self, adapter, message, *args, **kwargs)

    Gateway.handle_message = failing  # type: ignore[method-assign]


def check(plan: Plan, by_phone: dict[str, list[Message]], redis: Redis) -> Result:
    findings: list[Finding] = []
    everything = [message for messages in by_phone.values() for message in messages]
    by_index = {message.index: message for message in everything}
    # A late part's words are an addition to its message's report (`follow_up_of`), or kept unfiled beside a message
    # kept unfiled: checked apart (`check_additions`), the oracle below reads the reports.
    everyone = envelopes(redis)
    additions = [e for e in everyone if e.get("follow_up_of") or LATE_IDENTITY in e["tracking_id"]]
    stored = [e for e in everyone if not (e.get("follow_up_of") or LATE_IDENTITY in e["tracking_id"])]
    holders: dict[int, list[dict[str, Any]]] = defaultdict(list)  # message index -> envelopes holding its parts
    tokens_of: list[dict[int, set[int]]] = []
    for envelope in stored:
        found: dict[int, set[int]] = defaultdict(set)
        for word, part in TOKEN.findall(envelope.get("text") or ""):
            index = next((m.index for m in everything if m.token == "zq" + word), None)
            if index is not None:
                found[index].add("abcde".index(part) + 1)
        tokens_of.append(found)
        for index in found:
            holders[index].append(envelope)
    limited: set[int] = set()
    limit_hits = 0
    for envelope, found in zip(stored, tokens_of, strict=True):
        known = [m for m in everything for n in range(1, m.total + 1) if m.part_id(n) == envelope["channel_message_id"]]
        if not known:
            findings.append(Finding("unknown_report", f"{envelope['tracking_id']} id {envelope['channel_message_id']}"))
            continue
        # The message whose buffer it was: the earliest one in it (a later one's part joined it, the README's limit).
        owner = by_index[min(found)] if found else known[0]
        for index, numbers in found.items():
            if index == owner.index:
                continue
            other = by_index[index]
            # The README's limit: the sender's next message with the reference and part count, its part at a number
            # the waiting one lacked.
            lacked = not (numbers & found[owner.index])
            if other.key == owner.key and lacked and other.index > owner.index:
                limit_hits += 1
                limited |= {owner.index, other.index}
            else:
                findings.append(Finding("foreign_part", f"report of message {owner.index} holds message {index}'s "
                                        f"parts {sorted(numbers)} (keys {owner.key} / {other.key})"))
    # The same limit after the waiting message was taken incomplete: the next message's part at a number it never had,
    # coming before any other part of the next one, is answered as the late part (the README).
    report_of = {index: envs[0] for index, envs in holders.items()}
    for message in everything:
        for number, _, status, answer in message.answers:
            for item in answer or [] if status == 200 else []:
                earlier = [m for m in by_phone[message.phone] if m.key == message.key and m.index < message.index
                           and m.index in report_of and report_of[m.index]["tracking_id"] == item.get("tracking_id")]
                if earlier and number not in tokens_of[stored.index(report_of[earlier[-1].index])][earlier[-1].index]:
                    limit_hits += 1
                    limited |= {earlier[-1].index, message.index}
    # So too after a message kept unfiled (no Tracking ID to answer with): such a part is kept unfiled as its late part.
    for addition in additions:
        for word, _ in TOKEN.findall(addition.get("text") or "") if addition.get("kept") else []:
            owner = next((m for m in everything if m.token == "zq" + word), None)
            if owner is not None and any(m.key == owner.key and m.index < owner.index and m.bug for m in everything):
                limit_hits += 1
                limited.add(owner.index)
    swept_early = 0
    for message in everything:
        if any(status != 200 for _, _, status, _ in message.answers if status not in (429, 503)):
            findings.append(Finding("refused", f"message {message.index}: {describe(message)}"))
            continue
        mine = holders.get(message.index, [])
        if len(mine) != 1:
            if message.index not in limited:
                named = {item.get("tracking_id") for _, _, status, answer in message.answers if status == 200
                         for item in answer or []}
                whose = [(e["tracking_id"], {i: sorted(n) for i, n in tokens_of[stored.index(e)].items()})
                         for e in stored if e["tracking_id"] in named]
                findings.append(Finding("filed_count", f"message {message.index} in {len(mine)} reports: "
                                        f"{[e['tracking_id'] for e in mine]}; {describe(message)}; answered with "
                                        f"reports holding {whose}"))
            continue
        [envelope] = mine
        if message.index not in limited and envelope.get("kept", False) != message.bug:
            findings.append(Finding("kept" if message.bug else "not_kept", f"message {message.index}: "
                                    f"{envelope['tracking_id']}; {describe(message)}"))
        tracking_id = envelope["tracking_id"]
        found = tokens_of[stored.index(envelope)][message.index]
        # Kept unfiled, it has no Tracking ID: its parts and their retries are answered with none.
        unfiled_ok = envelope.get("kept", False)
        if message.index not in limited:
            first_sent = set(message.sends)
            if not found <= first_sent | set(message.missing if message.mode == "late" else []):
                findings.append(Finding("late_part_joined", f"message {message.index}: parts {sorted(found)} filed "
                                        f"in {tracking_id}; {describe(message)}"))
            if not first_sent <= found:
                swept_early += 1
            expected = joined(message, found)
            if envelope["text"] != expected:
                findings.append(Finding("text", f"message {message.index}: {envelope['text']!r} != {expected!r}"))
            if envelope.get("incomplete", False) != (len(found) < message.total):
                findings.append(Finding("incomplete_flag", f"message {message.index}: {envelope.get('incomplete')}"
                                        f" with {sorted(found)} of {message.total}"))
        # Answers: each Tracking ID named to a part is its message's, or that of a message its part superseded.
        own_key_ids = {e["tracking_id"] for m in by_phone[message.phone] if m.key == message.key
                       for e in holders.get(m.index, [])}
        told = False
        for number, when, status, answer in message.answers:
            if status != 200:
                continue
            ids = [item.get("tracking_id") for item in answer or []]
            if tracking_id in ids:
                told = True
            strangers = [i for i in ids if i != tracking_id and i not in own_key_ids]
            if strangers and not unfiled_ok:
                findings.append(Finding("answer_id", f"message {message.index} part {number} ({when}) answered "
                                        f"{answer}, its report {tracking_id}"))
            # A late part is answered with the Tracking ID, or as stored when it came before the sweep's mark: then
            # it is in the report, or taken as a late part (no second report: `filed_count`).
            if when == "late" and message.index not in limited and ids not in ([tracking_id], []) and not unfiled_ok:
                findings.append(Finding("late_answer", f"message {message.index} part {number} answered {answer}, "
                                        f"its report {tracking_id} {envelope['text']!r}; {describe(message)}"))
        if when_final := [a for a in message.answers if a[1] == "retry"]:
            for number, _, status, answer in when_final:
                expected = [] if unfiled_ok else [{"tracking_id": tracking_id, "duplicate": True}]
                if status == 200 and message.index not in limited and answer != expected:
                    findings.append(Finding("retry_answer", f"message {message.index} part {number} retried: "
                                            f"{answer}, its report {tracking_id}"))
        # A whole message's completing part names its Tracking ID (unless a sweep took it first: slow sends).
        if not (told or unfiled_ok) and message.mode == "whole" and message.index not in limited and \
                found == set(message.sends):
            findings.append(Finding("never_told", f"message {message.index}: {message.answers}"))
    findings.extend(check_additions(everything, additions, holders, tokens_of, stored, limited))
    if redis.zcard(PENDING_KEY):
        findings.append(Finding("pending_left", str(redis.zrange(PENDING_KEY, 0, -1, withscores=True))))
    buffers = [key for key in redis.scan_iter("lapor:concat:*")
               if not key.endswith((b":done", b":taken", b":seen", b":pending-late")) and key != PENDING_KEY.encode()]
    if buffers:
        findings.append(Finding("keys_left", ", ".join(f"{k.decode()}={redis.type(k).decode()}" for k in buffers)))
    unfiled = [e["tracking_id"] for e in stored if e.get("kept") and BUG_WORD not in e["text"]]
    if unfiled:
        findings.append(Finding("unfiled", str(unfiled)))
    late_stored = sum(1 for m in everything for _, when, status, answer in m.answers
                      if when == "late" and status == 200 and answer == [])
    return Result(plan.seed, len(everything), sum(len(m.answers) for m in everything), len(stored), limit_hits,
                  swept_early, late_stored, findings, len(additions))


def check_additions(everything: list[Message], additions: list[dict[str, Any]],
                    holders: dict[int, list[dict[str, Any]]], tokens_of: list[dict[int, set[int]]],
                    stored: list[dict[str, Any]], limited: set[int]) -> list[Finding]:
    """Each addition holds one part of one message, added to that message's report (kept unfiled beside a message
    kept unfiled), a part the report lacks, and no part is added twice; every part sent of a message is in its report
    or in an addition to it (acknowledged, none lost)."""
    findings: list[Finding] = []
    added: dict[int, list[int]] = defaultdict(list)
    for addition in additions:
        found: dict[int, set[int]] = defaultdict(set)
        for word, part in TOKEN.findall(addition.get("text") or ""):
            index = next((m.index for m in everything if m.token == "zq" + word), None)
            if index is not None:
                found[index].add("abcde".index(part) + 1)
        if len(found) != 1 or len(next(iter(found.values()))) != 1:
            findings.append(Finding("addition_parts", f"{addition['tracking_id']} holds {dict(found)}"))
            continue
        [(index, numbers)] = found.items()
        [number] = numbers
        added[index].append(number)
        reports = holders.get(index, [])
        if index in limited or len(reports) != 1:
            continue
        [report] = reports
        if bool(addition.get("kept")) != bool(report.get("kept")) or (
                not addition.get("kept") and addition.get("follow_up_of") != report["tracking_id"]):
            findings.append(Finding("addition_of", f"message {index} part {number} in {addition['tracking_id']} "
                                    f"(of {addition.get('follow_up_of')}), its report {report['tracking_id']}"))
        if number in tokens_of[stored.index(report)][index]:
            findings.append(Finding("addition_in_report", f"message {index} part {number}: {report['tracking_id']}"))
    for message in everything:
        numbers = added.get(message.index, [])
        if len(numbers) != len(set(numbers)):
            findings.append(Finding("added_twice", f"message {message.index} parts {sorted(numbers)}"))
        reports = holders.get(message.index, [])
        if message.index in limited or len(reports) != 1:
            continue
        sent = set(message.sends) | set(message.missing if message.mode == "late" else [])
        filed = tokens_of[stored.index(reports[0])][message.index] | set(numbers)
        if not sent <= filed:
            findings.append(Finding("part_lost", f"message {message.index}: parts {sorted(sent - filed)} sent, filed "
                                    f"{sorted(filed)}; {describe(message)}"))
    return findings


async def run_probe(plan: Plan, settings: Settings, redis: Redis, second: Settings | None = None) -> Result:
    """`second`: another gateway's settings (its own port), both sweeping; each callback goes to either."""
    by_phone = make_messages(plan)
    rng = random.Random(plan.seed + 1)
    async with contextlib.AsyncExitStack() as stack:
        gateways = [await stack.enter_async_context(running_gateway(each, redis))
                    for each in (settings, second) if each is not None]
        gateway = gateways[0]
        phone_rngs = {phone: random.Random(rng.random()) for phone in by_phone}
        await asyncio.gather(*(run_phone([g.client for g in gateways], plan, messages, phone_rngs[phone])
                               for phone, messages in by_phone.items()))
        await asyncio.sleep(plan.wait + 4 * plan.sweep + 0.5)
        await asyncio.sleep(gateway_concat.LEASE_SECONDS)  # what a sweep's claim left is swept again
        # The aggregator retries a part of every message that is the last with its key: its Tracking ID comes back.
        lasts: dict[tuple[str, int, bool, int], Message] = {}
        for messages in by_phone.values():
            for message in messages:
                lasts[message.key] = message
        for message in lasts.values():
            sent = sorted(set(message.sends) | set(message.missing if message.mode == "late" else []))
            await send(gateway.client, message, rng.choice(sent), "retry")
        await asyncio.sleep(plan.wait + 4 * plan.sweep + 0.5)
    return check(plan, by_phone, redis)


def slow_sweeps(most: float) -> None:
    """Widen the window between a sweep's claim and its commit and mark, as a slow intake would."""
    from gateway.app import Gateway

    handle = Gateway.handle_expired_parts
    rng = random.Random(most)

    async def slowly(self: Gateway, key: str, message: Any) -> None:
        await asyncio.sleep(rng.uniform(0, most))
        await handle(self, key, message)

    Gateway.handle_expired_parts = slowly  # type: ignore[method-assign]


def probe_settings(values: dict[str, str], plan: Plan) -> Settings:
    return TestEnvironment(values).settings(**{
        **AGGREGATOR_TEST_SETTINGS, "LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS": str(plan.wait),
        "LAPOR_AGGREGATOR_CONCAT_SWEEP_SECONDS": str(plan.sweep), "LAPOR_RATELIMIT_ENABLED": "false"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, nargs="+", default=[1])
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--wait", type=float, default=2.0)
    parser.add_argument("--gateways", type=int, choices=(1, 2), default=2)
    parser.add_argument("--lease", type=int, default=3)
    parser.add_argument("--p-bug", type=float, default=0.1, help="the share of messages whose filing meets a bug")
    parser.add_argument("--p-late", type=float, default=0.15, help="the share of messages with parts sent late")
    parser.add_argument("--sweep-delay", type=float, default=0.15,
                        help="a sweep waits up to this long after its claim: a wider window for parts to race it")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if not url:
        print("REDIS_URL (a database this probe may flush) is required", file=sys.stderr)
        return 2
    from gateway.logs import configure_logging
    from tests.conftest import AGGREGATOR_SECRET, AGGREGATOR_SEND_URL, CASESTORE_TOKEN, secrets_of_enabled_channels

    configure_logging("critical")
    # The sweep's lease, short: what a claim leaves behind is swept again within the run, and seen.
    gateway_concat.LEASE_SECONDS = args.lease
    if args.sweep_delay:
        slow_sweeps(args.sweep_delay)
    if args.p_bug:
        buggy_intake()
    failed = 0
    for seed in args.seed:
        plan = Plan(seed=seed, phones=args.phones, messages=args.messages, wait=args.wait, p_late=args.p_late,
                    p_bug=args.p_bug)
        redis = redis_connection(url)
        redis.flushdb()
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="concatchaos-") as data:
            values = {
                **secrets_of_enabled_channels("test"), "LAPOR_PROFILE": "production", "LAPOR_DATA_DIR": data,
                "LAPOR_EMAIL_OUTBOX_DIR": str(Path(data) / "outbox"), "REDIS_URL": url,
                "LAPOR_HTTP_PORT": str(port), "LAPOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "LAPOR_CASESTORE_URL": f"http://127.0.0.1:{free_port()}", "LAPOR_CASESTORE_TOKEN": CASESTORE_TOKEN,
                "LAPOR_PRIVACY_REPLY_HANDLE_SECRET": "chaos-reply-handle-secret", "LAPOR_TRIAGE_ENABLED": "false",
                "LAPOR_AGGREGATOR_SECRET": AGGREGATOR_SECRET, "LAPOR_AGGREGATOR_SEND_URL": AGGREGATOR_SEND_URL,
                "LAPOR_ATTACHMENTS_FETCH_HOSTS": "", "LAPOR_LOGGING_LEVEL": "error",
            }
            other = free_port()
            second = probe_settings({**values, "LAPOR_HTTP_PORT": str(other),
                                     "LAPOR_PUBLIC_URL": f"http://127.0.0.1:{other}"}, plan)
            started = time.monotonic()
            result = asyncio.run(run_probe(plan, probe_settings(values, plan), redis,
                                           second if args.gateways == 2 else None))
        print(f"seed {seed}: {result.messages} messages, {result.parts_sent} callbacks, {result.envelopes} reports, "
              f"{result.limit_hits} limit hits (README), {result.swept_early} taken before all first parts came, "
              f"{result.late_stored} late parts answered as stored, {result.additions} late parts added, "
              f"{len(result.findings)} findings, {time.monotonic() - started:.1f} s")
        for finding in result.findings:
            print(f"  {finding.kind}: {finding.detail}")
        failed += bool(result.findings)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
