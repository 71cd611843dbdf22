"""A status query with words after its Tracking ID that tell the report something ("CEK <id> kepala dinas minta
setoran lagi", no photo), end to end over real HTTP (the aggregator callback, Redis and the queues, the reference case
store, the reply worker): the words reach the case store as a follow-up of that report, with its privacy and the
message's own, and the citizen's answer says both that they were added and the status asked for. Answered with the
status alone, the words were dropped: a whistleblower's new information lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from gateway.queues import REPLY_QUEUE, STATUS_QUEUE, queue
from gateway.replies import render, status_name
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage
from tests.aggregator_support import AggregatorApi, aggregator_api, aggregator_settings, drain, post_callback
from tests.conftest import CaseStoreServer, GatewayServer
from tests.conftest import TestEnvironment as Environment


@pytest.fixture
def settings(test_env: Environment, request: pytest.FixtureRequest) -> Settings:
    return aggregator_settings(test_env, LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS="30",
                               **getattr(request, "param", {}))


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    yield from aggregator_api()


def sms(number: str, text: str, message_id: str) -> dict[str, str]:
    return {"from": number, "to": "1708", "text": text, "id": message_id, "coding": "0"}


async def _anonymous_report(gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings) -> str:
    response = await post_callback(gateway.client, sms("081377770001", "LAPOR ANONIM kepala dinas minta setoran",
                                                       "cw-parent"))
    tracking_id = str(response.json()["messages"][0]["tracking_id"])
    drain(settings)
    assert casestore.get(tracking_id)["anonymous"] is True
    return tracking_id


async def test_words_after_a_cek_reach_the_report_as_a_follow_up_and_the_answer_gives_the_status_too(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    parent = await _anonymous_report(gateway, casestore, settings)
    casestore.store.set_status(parent, "in_progress")
    # The reporter, and someone else who asks in words not to be named: both added anonymously (the report's ANONIM,
    # and the message's own wish), never beside their number.
    await post_callback(gateway.client, sms("081377770001", f"CEK {parent} kepala dinas minta setoran lagi", "cw-1"))
    await post_callback(gateway.client, sms(
        "081377770002", f"cek {parent} bendahara ikut memotong, jangan sebut nama saya", "cw-2"))
    # Words that only ask after it or urge: the status alone, nothing added.
    await post_callback(gateway.client, sms("081377770003", f"CEK {parent} kok lama, mohon ditindaklanjuti", "cw-3"))
    drain(settings)

    follow_ups = casestore.get(parent)["follow_ups"]
    assert sorted(f["text"] for f in follow_ups) == [
        "bendahara ikut memotong, jangan sebut nama saya", "kepala dinas minta setoran lagi"]
    for follow_up in follow_ups:
        stored = casestore.get(follow_up["tracking_id"])
        assert stored["follow_up_of"] == parent and stored["anonymous"] is True
        assert stored["sender"]["kind"] == "reply_handle"
        assert "81377770001" not in str(stored) and "81377770002" not in str(stored)
    in_progress = status_name("in_progress", "id")
    both = render("follow_up_status", "id", follow_up_of=parent, status=in_progress)
    assert "Tambahan" in both and in_progress in both  # added, and the status asked for
    # Its own flags named, never its report's: "anonim" told whoever typed the ID that the report was anonymous.
    assert api.texts_to("+6281377770001")[1:] == [both]
    assert api.texts_to("+6281377770002") == [render("follow_up_status_anonymous", "id", follow_up_of=parent,
                                                     status=in_progress)]
    assert api.texts_to("+6281377770003") == [render("status", "id", tracking_id=parent, status=in_progress)]


async def test_the_status_an_addition_asks_follows_by_sms_when_the_case_store_is_away(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """The answer says the words were added and the status follows; the status job every release runs answers it
    after that answer, addressed by the addition's own report (its envelope holds the sender): no number in it."""
    parent = await _anonymous_report(gateway, casestore, settings)
    casestore.store.set_status(parent, "resolved")
    casestore.stop()
    try:
        response = await post_callback(gateway.client, sms("081377770001", f"CEK {parent} jalan rusak lagi", "cw-4"))
        assert response.status_code == 200
        [answer] = queue(REPLY_QUEUE, redis).get_jobs()
        [job] = queue(STATUS_QUEUE, redis).get_jobs()
    finally:
        casestore.start()
    reply = answer.args[0]
    assert reply["kind"] == "follow_up"  # a kind every release knows
    query = job.args[0]
    assert set(query) == {"source", "to", "tracking_id", "language", "status_id", "promise_reply_id", "to_report"}
    assert (query["tracking_id"], query["to"], query["promise_reply_id"]) == (parent, None, reply["reply_id"])
    assert query["to_report"] == reply["to_report"] != parent
    assert "81377770001" not in str(query)
    drain(settings)
    assert api.texts_to("+6281377770001")[1:] == [
        render("follow_up_status_pending", "id", follow_up_of=parent),
        render("status", "id", tracking_id=parent, status=status_name("resolved", "id")),
    ]
    [follow_up] = casestore.get(parent)["follow_ups"]
    assert follow_up["text"] == "jalan rusak lagi"


async def test_an_amount_after_cek_that_is_a_valid_id_never_issued_is_filed(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """"cek 15000005 rupiah dana desa dipotong": the digits make a valid Tracking ID, read as that ID (an amount rule
    made an issued anonymous report's addition a new named report); never issued, the words are filed as a new
    report of their own."""
    await post_callback(gateway.client, sms("081377770004", "cek 15000005 rupiah dana desa dipotong", "cw-5"))
    drain(settings)
    [stored] = casestore.reports()
    assert (stored["text"], stored["follow_up_of"]) == ("15000005 rupiah dana desa dipotong", None)
    assert api.texts_to("+6281377770004") == [render("follow_up_unknown", "id", follow_up_of="15000005",
                                                     tracking_id=stored["tracking_id"])]


async def test_an_addition_asking_the_status_kept_unfiled_is_answered_so_when_the_retry_files_it(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings, redis: Redis
) -> None:
    """`lapor-gateway unfiled retry` files a kept SMS as the webhook would have: "CEK <id> <words>" is the addition,
    and its answer says the status follows, with the status job queued with it (it was "addition received" alone, the
    status asked for never given)."""
    from gateway.cli import _file_sms
    from gateway.intake import build_intake

    parent = await _anonymous_report(gateway, casestore, settings)
    casestore.store.set_status(parent, "verified")
    message = InboundMessage(channel=Channel.SMS, source="sms-aggregator", provider_message_id="cw-kept",
                             sender_kind=SenderKind.MSISDN, sender_address="+6281377770001",
                             text=f"CEK {parent} bukti setoran saya simpan", received_at=utc_now())
    intake = build_intake(settings, redis)
    try:
        outcome = _file_sms(redis, settings, intake, message)
    finally:
        intake.close()
    assert "its acknowledgement is queued" in outcome
    [answer] = [job.args[0] for job in queue(REPLY_QUEUE, redis).get_jobs()]
    [query] = [job.args[0] for job in queue(STATUS_QUEUE, redis).get_jobs()]
    assert (answer["kind"], answer["text"]) == (
        "follow_up", render("follow_up_status_pending", "id", follow_up_of=parent))
    assert (query["tracking_id"], query["promise_reply_id"], query["to"]) == (parent, answer["reply_id"], None)
    drain(settings)
    assert api.texts_to("+6281377770001")[1:] == [
        render("follow_up_status_pending", "id", follow_up_of=parent),
        render("status", "id", tracking_id=parent, status=status_name("verified", "id")),
    ]
    assert [f["text"] for f in casestore.get(parent)["follow_ups"]] == ["bukti setoran saya simpan"]


async def test_a_count_s_noun_after_an_anonymous_report_s_id_is_its_anonymous_addition(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """"CEK <id> orang itu datang lagi", "CEK <id> jiwa saya terancam": read as an amount ("orang", "jiwa" count), each
    was a new named report, the reporter's number beside the anonymous report's ID. The report's additions, anonymous
    as it is."""
    parent = await _anonymous_report(gateway, casestore, settings)
    casestore.store.set_status(parent, "in_progress")
    texts = [f"CEK {parent} orang itu datang lagi tadi malam", f"CEK {parent} jiwa saya terancam",
             f"CEK {parent} rp 500rb diminta lagi", f"LAPOR CEK {parent} kk saya dicoret",
             f"#{parent} orang itu kembali"]
    for at, text in enumerate(texts):
        await post_callback(gateway.client, sms("081377770001", text, f"cw-noun-{at}"))
    drain(settings)
    follow_ups = casestore.get(parent)["follow_ups"]
    assert sorted(f["text"] for f in follow_ups) == sorted([
        "orang itu datang lagi tadi malam", "jiwa saya terancam", "rp 500rb diminta lagi", "kk saya dicoret",
        "orang itu kembali"])
    assert len(casestore.reports()) == 1 + len(texts)
    for stored in casestore.reports():
        assert stored["anonymous"] is True and "81377770001" not in str(stored)


# The first ID minted is 10070000: a round one (one in 10,000).
@pytest.mark.parametrize("settings", [{"LAPOR_INTAKE_ID_START": "1007000"}], indirect=True)
@pytest.mark.parametrize("words", ["pelaku datang lagi tadi malam", "rupiah yang diminta naik jadi 500rb",
                                   "orang itu datang lagi", "belum selesai"])
async def test_words_after_a_round_anonymous_report_s_id_are_its_addition_never_a_named_report(
    words: str, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """Read as a round amount, "CEK 10070000 pelaku datang lagi" became a new named report holding the anonymous
    report's ID beside the sender's number; "belum selesai", words of our status answers, was dropped."""
    parent = await _anonymous_report(gateway, casestore, settings)
    assert parent == "10070000"
    await post_callback(gateway.client, sms("081377770005", f"CEK {parent} {words}", "cw-round"))
    drain(settings)
    assert [report["tracking_id"] for report in casestore.reports() if report["follow_up_of"] is None] == [parent]
    [follow_up] = [report for report in casestore.reports() if report["follow_up_of"] == parent]
    assert (follow_up["text"], follow_up["anonymous"], follow_up["sender"]["kind"]) == (words, True, "reply_handle")
    assert api.texts_to("+6281377770005") == [render("follow_up_status", "id", follow_up_of=parent,
                                                     status=status_name("received", "id"))]


@pytest.mark.parametrize(("form", "words"), [
    pytest.param("Tambahan: {id} {words}", "kk saya dicoret", id="taught-label-kk"),
    pytest.param("{id} {words}", "jiwa saya terancam", id="id-first-jiwa"),
    pytest.param("{id}: {words}", "orang itu datang lagi", id="id-colon-orang"),
    pytest.param("WBS CEK {id} {words}", "kepala dinas minta setoran lagi", id="wbs-cek"),
])
async def test_a_count_s_noun_or_a_kind_word_never_makes_an_anonymous_report_s_addition_a_named_report(
    form: str, words: str, gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    """Each was a new named report holding the anonymous report's ID beside the sender's number."""
    parent = await _anonymous_report(gateway, casestore, settings)
    await post_callback(gateway.client, sms("081377770006", form.format(id=parent, words=words), "cw-count"))
    drain(settings)
    assert [report["tracking_id"] for report in casestore.reports() if report["follow_up_of"] is None] == [parent]
    [follow_up] = [report for report in casestore.reports() if report["follow_up_of"] == parent]
    assert (follow_up["text"], follow_up["anonymous"], follow_up["sender"]["kind"]) == (words, True, "reply_handle")
