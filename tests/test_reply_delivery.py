"""A reply's delivery state across its SMS parts: the aggregator reports each part of a concatenated reply on its own,
and the reply's `delivery` is the worst of them once all are known, never whichever part reported last. Real HTTP
delivery reports, real Redis, the reply worker against the aggregator's send URL (respx)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import REGISTRY
from redis import Redis

from channels.sms_aggregator_send import reply_parts
from gateway.outbound import OutboundReplies, reply_key
from gateway.queues import REPLY_QUEUE
from gateway.settings import Settings
from tests.aggregator_support import (
    DLR_PATH,
    AggregatorApi,
    aggregator_api,
    aggregator_settings,
    drain,
    post_callback,
    sent_part,
)
from tests.conftest import GatewayServer
from tests.conftest import TestEnvironment as Environment

# Kannel's delivery-report types (`%d`).
DELIVERED, FAILED, BUFFERED, SUBMITTED, REJECTED = 1, 2, 4, 8, 16
NAMES = {DELIVERED: "delivered", FAILED: "failed", BUFFERED: "buffered", SUBMITTED: "submitted", REJECTED: "rejected"}
ONE_PART = "Laporan Anda sudah kami terima."
TWO_PARTS = " ".join(f"Bagian {n}: laporan Anda sedang ditindaklanjuti oleh instansi terkait." for n in range(1, 4))
TO = "+6281244440020"


@pytest.fixture
def settings(test_env: Environment) -> Settings:
    return aggregator_settings(test_env)


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    yield from aggregator_api()


@dataclass(frozen=True)
class Case:
    """Reports (part, Kannel type) in the order they arrive; what each answers (`recorded`), then the reply's
    `delivery` and each part's own `dlr.<n>`."""

    id: str
    text: str
    reports: tuple[tuple[int, int], ...]
    recorded: tuple[bool, ...]
    delivery: str
    parts: dict[int, str]


CASES = [
    Case("failed-then-delivered", TWO_PARTS, ((1, FAILED), (2, DELIVERED)), (True, True), "failed",
         {1: "failed", 2: "delivered"}),
    Case("delivered-then-failed", TWO_PARTS, ((1, DELIVERED), (2, FAILED)), (True, True), "failed",
         {1: "delivered", 2: "failed"}),
    Case("part-two-reports-first", TWO_PARTS, ((2, DELIVERED), (1, FAILED)), (True, True), "failed",
         {1: "failed", 2: "delivered"}),
    Case("both-delivered", TWO_PARTS, ((2, DELIVERED), (1, DELIVERED)), (True, True), "delivered",
         {1: "delivered", 2: "delivered"}),
    Case("part-two-missing", TWO_PARTS, ((1, DELIVERED),), (True,), "partial", {1: "delivered"}),
    Case("part-one-missing", TWO_PARTS, ((2, DELIVERED),), (True,), "partial", {2: "delivered"}),
    Case("part-two-missing-part-one-failed", TWO_PARTS, ((1, FAILED),), (True,), "failed", {1: "failed"}),
    Case("part-two-only-submitted", TWO_PARTS, ((1, DELIVERED), (2, SUBMITTED)), (True, True), "partial",
         {1: "delivered", 2: "submitted"}),
    Case("duplicate-report-part-two-missing", TWO_PARTS, ((1, DELIVERED), (1, DELIVERED)), (True, True), "partial",
         {1: "delivered"}),
    Case("duplicate-report-then-the-other", TWO_PARTS, ((1, DELIVERED), (1, DELIVERED), (2, DELIVERED)),
         (True, True, True), "delivered", {1: "delivered", 2: "delivered"}),
    Case("duplicate-failure", TWO_PARTS, ((1, FAILED), (2, DELIVERED), (1, FAILED)), (True, True, True), "failed",
         {1: "failed", 2: "delivered"}),
    Case("late-buffered-after-final", TWO_PARTS, ((1, DELIVERED), (2, DELIVERED), (1, BUFFERED)),
         (True, True, False), "delivered", {1: "delivered", 2: "delivered"}),
    Case("late-buffered-after-failed", TWO_PARTS, ((1, FAILED), (2, DELIVERED), (1, BUFFERED)),
         (True, True, False), "failed", {1: "failed", 2: "delivered"}),
    Case("late-submitted-of-the-last-part", TWO_PARTS, ((1, FAILED), (2, DELIVERED), (2, SUBMITTED)),
         (True, True, False), "failed", {1: "failed", 2: "delivered"}),
    Case("nothing-final-yet", TWO_PARTS, ((1, SUBMITTED), (2, BUFFERED)), (True, True), "buffered",
         {1: "submitted", 2: "buffered"}),
    Case("rejected-outranks-failed", TWO_PARTS, ((2, REJECTED), (1, FAILED)), (True, True), "rejected",
         {1: "failed", 2: "rejected"}),
    Case("failed-then-rejected", TWO_PARTS, ((1, FAILED), (2, REJECTED)), (True, True), "rejected",
         {1: "failed", 2: "rejected"}),
    # One part: as it always was (the latest report, a late non-final one aside; a later final one replaces).
    Case("one-part-submitted-then-delivered", ONE_PART, ((1, SUBMITTED), (1, DELIVERED)), (True, True), "delivered",
         {1: "delivered"}),
    Case("one-part-delivered-then-late-submitted", ONE_PART, ((1, DELIVERED), (1, SUBMITTED)), (True, False),
         "delivered", {1: "delivered"}),
    Case("one-part-delivered-then-failed", ONE_PART, ((1, DELIVERED), (1, FAILED)), (True, True), "failed",
         {1: "failed"}),
]


def sent_reply(redis: Redis, settings: Settings, text: str) -> tuple[str, int]:
    """A reply queued as the gateway queues it and sent by the reply worker: (its id, its part count)."""
    queued = OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=text,
                                                          language="id", tracking_id=None, to=TO)
    drain(settings, (REPLY_QUEUE,))
    reply_id = str(queued.reply_id)
    assert redis.hget(reply_key(reply_id), "state") == b"sent"
    return reply_id, len(reply_parts(text, reply_id))


def reports_counted(status: str) -> float:
    return REGISTRY.get_sample_value("lapor_delivery_reports_total",
                                     {"channel": "sms-aggregator", "status": status}) or 0.0


async def report(gateway: GatewayServer, reply_id: str, part: int, dlr_type: int) -> httpx.Response:
    return await post_callback(gateway.client, {"reply_id": reply_id, "part": str(part), "type": str(dlr_type)},
                               path=DLR_PATH)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
async def test_a_reply_delivery_is_its_worst_part_once_all_are_known(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis, case: Case
) -> None:
    reply_id, parts = sent_reply(redis, settings, case.text)
    assert parts == (1 if case.text == ONE_PART else 2)
    counted_before = {status: reports_counted(status) for status in NAMES.values()}
    answers = [await report(gateway, reply_id, part, dlr_type) for part, dlr_type in case.reports]
    # The answer to the aggregator keeps its fields: the part's own status, whether it was recorded.
    assert [answer.json() for answer in answers] == [
        {"recorded": recorded, "status": NAMES[dlr_type]}
        for recorded, (_, dlr_type) in zip(case.recorded, case.reports, strict=True)
    ]
    record = redis.hgetall(reply_key(reply_id))
    assert record[b"delivery"].decode() == case.delivery
    # Each recorded report counts once by the part's own status; a late one, not recorded, does not.
    recorded = Counter(NAMES[dlr_type] for done, (_, dlr_type) in zip(case.recorded, case.reports, strict=True) if done)
    assert {status: reports_counted(status) - before for status, before in counted_before.items()} == {
        status: recorded[status] for status in NAMES.values()}
    assert {n: record[f"dlr.{n}".encode()].decode() for n in (1, 2) if f"dlr.{n}".encode() in record} == case.parts


async def test_a_part_reported_before_the_rest_of_its_reply_was_sent_is_no_whole_reply_delivered(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """Part 1 accepted and delivered while part 2 cannot be sent (the aggregator answers 503 until the reply is
    dead-lettered): the reply is not marked sent, yet its record knows it has two parts, so part 1's report makes
    it partial, not delivered."""
    def part_two_refused(request: httpx.Request) -> httpx.Response:
        accepted = sent_part(request).part == 1
        return httpx.Response(202, text="0: Accepted for delivery") if accepted else httpx.Response(503)

    api.route.side_effect = part_two_refused
    queued = OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=TWO_PARTS,
                                                          language="id", tracking_id=None, to=TO)
    drain(settings, (REPLY_QUEUE,))
    reply_id = str(queued.reply_id)
    assert [part.part for part in api.parts()] == [1]
    assert redis.hget(reply_key(reply_id), "state") == b"dead_lettered"

    assert (await report(gateway, reply_id, 1, DELIVERED)).json() == {"recorded": True, "status": "delivered"}
    assert redis.hget(reply_key(reply_id), "delivery") == b"partial"


@pytest.mark.parametrize(("sent", "delivery"), [
    pytest.param({}, "delivered", id="nothing-sent-on-record-one-part"),
    pytest.param({"part.1.answer": "0: Accepted", "part.2.answer": "0: Accepted"}, "partial", id="two-parts-sent"),
])
async def test_a_record_without_a_part_count_counts_the_parts_it_knows(
    gateway: GatewayServer, settings: Settings, redis: Redis, sent: dict[str, str], delivery: str
) -> None:
    """A record written before the worker recorded the part count with each part (or a report that raced that
    write): the reply has as many parts as its record shows sent or reported."""
    queued = OutboundReplies(redis, settings).queue_reply(source="sms-aggregator", kind="help", text=TWO_PARTS,
                                                          language="id", tracking_id=None, to=TO, allowed=False)
    reply_id = str(queued.reply_id)
    if sent:
        redis.hset(reply_key(reply_id), mapping=sent)
    assert (await report(gateway, reply_id, 1, DELIVERED)).status_code == 200
    record = redis.hgetall(reply_key(reply_id))
    assert b"parts" not in record and record[b"delivery"] == delivery.encode()


def delivery_series() -> set[str]:
    """The `status` labels `lapor_delivery_reports_total` has a time series for."""
    return {sample.labels["status"] for metric in REGISTRY.collect() if metric.name == "lapor_delivery_reports"
            for sample in metric.samples if sample.name == "lapor_delivery_reports_total"}


async def test_a_report_type_kannel_does_not_document_counts_as_other_not_as_a_series_of_its_own(
    gateway: GatewayServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """A report's type is a number the aggregator sends: one it does not document is recorded on the reply as
    `type_<n>`, but counted under `other`. Counted under that name, each number sent added a time series to every
    scrape for as long as the process ran."""
    reply_id, _ = sent_reply(redis, settings, ONE_PART)
    other_before = reports_counted("other")
    for dlr_type in (3, 77, 123456789):
        assert (await report(gateway, reply_id, 1, dlr_type)).json() == {"recorded": True,
                                                                          "status": f"type_{dlr_type}"}
    assert redis.hget(reply_key(reply_id), "dlr.1") == b"type_123456789"
    assert reports_counted("other") - other_before == 3
    assert not {status for status in delivery_series() if status.startswith("type_")}
