"""Seeded interleavings of a concatenated SMS's parts with the sweeps that take it (`gateway.concat.PartBuffer`),
deterministic by seed: parts shuffled and retried, some held back and sent at any moment, sweeps that claim the
message and commit and mark it later, the webhook joining it meanwhile. The intake is a table of the joined
message's dedup id (its first commit wins, as `gateway.intake`'s dedup does). Whatever the order, the SMS is one
report, every part's words are filed once (in the report, or in an addition to it: a late part), every part's answer
names its Tracking ID once there is one, and nothing waits at the end.

`bench/probe/concat_chaos.py` drives the same over HTTP with many senders, references used again and two gateways
sweeping: it found the part stored between a sweep's claim and its mark that made a second report."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import pytest
from redis import Redis

from channels.base import InboundMessage, MessagePart
from gateway.concat import LEASE_SECONDS, PENDING_KEY, LatePart, PartBuffer
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from tests.aggregator_support import aggregator_settings
from tests.conftest import TestEnvironment as Environment

SEEDS = range(300)


@pytest.fixture
def settings(test_env: Environment) -> Settings:
    return aggregator_settings(test_env, LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS="300")


def part(seed: int, number: int, total: int) -> InboundMessage:
    text = f"bagian {'abcde'[number - 1]} laporan nomor urut {seed} jalan rusak "
    return InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id=f"il-{seed}-{number}",
                          sender_kind=SenderKind.MSISDN, sender_address=f"6281377{seed:06d}", text=text,
                          received_at=utc_now(), part=MessagePart("167", total, number, "gsm7", text),
                          dedup_id=f"il-{seed}-{number}")


@dataclass
class Run:
    buffer: PartBuffer
    filed: dict[str, str]  # the intake: a joined message's dedup id -> its Tracking ID
    answers: list[tuple[int, str | None]]  # (part number, the Tracking ID its answer named)
    # The parts in what intake filed (a report's, and each addition's), by Tracking ID: the first commit's.
    parts: dict[str, list[str]] = field(default_factory=dict)
    added: dict[str, str] = field(default_factory=dict)  # an addition's Tracking ID -> the report's it adds to

    def commit(self, message: InboundMessage) -> str:
        assert message.dedup_id is not None
        tracking_id = self.filed.setdefault(message.dedup_id, str(10000000 + len(self.filed)))
        self.parts.setdefault(tracking_id, [str(i) for i in message.channel_meta["part_ids"]])
        return tracking_id

    def take_late(self, late: LatePart) -> str:
        """The gateway's `take_late_part`: the part filed as an addition to its message's report, then taken."""
        addition = self.commit(late.message)
        self.added.setdefault(addition, late.tracking_id)
        self.buffer.late_taken(late)
        return late.tracking_id

    def send(self, seed: int, number: int, total: int) -> None:
        """The webhook's `handle_part` and `handle_part_result` for a part: stored, joined, answered as done, or
        filed as a late part."""
        result = self.buffer.add(part(seed, number, total))
        assert result.state != "conflict", "one message's parts never conflict"
        if result.state == "waiting":
            self.answers.append((number, None))
        elif result.state == "done":
            self.answers.append((number, result.tracking_id))
        elif result.state == "late":
            assert result.late is not None
            self.answers.append((number, self.take_late(result.late)))
        else:
            assert result.message is not None
            tracking_id = self.commit(result.message)
            self.buffer.mark_done(result.key, tracking_id, result.message)
            self.answers.append((number, tracking_id))


def test_a_message_its_sweeps_race_is_one_report_whatever_the_order(settings: Settings, redis: Redis) -> None:
    buffer = PartBuffer(redis, settings)
    for seed in SEEDS:
        rng = random.Random(seed)
        total = rng.randint(2, 5)
        first = [n for n in range(1, total + 1) if rng.random() < 0.6] or [rng.randint(1, total)]
        late = [n for n in range(1, total + 1) if n not in first]
        steps: list[tuple[str, int]] = [("part", n) for n in first + [n for n in first if rng.random() < 0.3]]
        rng.shuffle(steps)
        # Each late part, a sweep's claim and, after it, its commit and mark, anywhere after the first step.
        for step in [("part", n) for n in late] + [("claim", 0)]:
            steps.insert(rng.randint(1, len(steps)), step)
        claim_at = steps.index(("claim", 0))
        steps.insert(rng.randint(claim_at + 1, len(steps)), ("mark", 0))
        run = Run(buffer, {}, [])
        claimed: list[tuple[str, InboundMessage | None]] = []
        now = time.time() + 3600 * (seed + 1)  # past the wait of every seed's parts, and of the seeds before
        for kind, number in steps:
            if kind == "part":
                run.send(seed, number, total)
            elif kind == "claim":
                claimed = [(key, message) for key, message in buffer.claim_due(now=now)
                           if message is not None and message.sender_address == f"6281377{seed:06d}"]
            else:
                for key, message in claimed:
                    assert message is not None
                    buffer.mark_done(key, run.commit(message), message, late=True)  # the sweeper's step
                    for late in buffer.late_parts(key):
                        run.take_late(late)
        # A sweep after the lease, and the aggregator's retry of every part.
        for key, message in buffer.claim_due(now=now + LEASE_SECONDS + 1):
            if message is not None and message.sender_address == f"6281377{seed:06d}":
                buffer.mark_done(key, run.commit(message), message, late=True)
                for late in buffer.late_parts(key):
                    run.take_late(late)
        for number in range(1, total + 1):
            run.send(seed, number, total)
        reports = set(run.filed.values()) - set(run.added)
        assert len(reports) == 1, (seed, steps, run.filed)
        [tracking_id] = reports
        assert set(run.added.values()) <= {tracking_id}, (seed, steps, run.added)
        # Every part is in what was filed once: in the report, or in one addition of it (none lost, none twice).
        filed_parts = sorted(part_id for parts in run.parts.values() for part_id in parts)
        assert filed_parts == [f"il-{seed}-{n}" for n in range(1, total + 1)], (seed, steps, run.parts)
        assert all(named in (None, tracking_id) for _, named in run.answers), (seed, steps, run.answers)
        assert run.answers[-total:] == [(n, tracking_id) for n in range(1, total + 1)], (seed, steps, run.answers)
        assert not list(redis.scan_iter("lapor:concat:*:late")), (seed, steps)
    assert redis.zcard(PENDING_KEY) == 0
