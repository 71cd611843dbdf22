"""Settings: defaults from config/, LAPOR_* overrides, and a clear error naming a missing secret."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from gateway.settings import (
    CONFIG_DIR,
    Settings,
    SettingsError,
    env_name,
    load_settings,
    settings_warnings,
    unknown_variables,
)
from tests.cli_process import run_cli
from tests.conftest import secrets_of_enabled_channels

# The least a production start takes: each secret of a channel switched on by default (a new channel's too), the
# aggregator's send URL and a way out for e-mail replies.
PRODUCTION_SECRETS = {
    **secrets_of_enabled_channels("production"),
    "LAPOR_AGGREGATOR_SEND_URL": "http://aggregator.example/cgi-bin/sendsms",
    "LAPOR_EMAIL_RELAY_HOST": "smtp.example",
}


def test_defaults_come_from_the_toml_file() -> None:
    settings = load_settings(PRODUCTION_SECRETS)
    assert settings.profile == "production"
    assert settings.http.port == 8080
    assert settings.smtp.port == 2525
    assert settings.data_dir == Path("./var")
    assert settings.casestore_url == "http://127.0.0.1:8081"
    assert settings.redis_url == ""
    assert settings.instagram.pending_grace_minutes == 15.0
    assert settings.intake.max_text_chars == 100_000


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        pytest.param("LAPOR_HTTP_PORT", "9090", lambda s: s.http.port == 9090, id="int-in-section"),
        pytest.param("LAPOR_DATA_DIR", "/srv/lapor", lambda s: s.data_dir == Path("/srv/lapor"), id="top-level"),
        pytest.param("LAPOR_CASESTORE_URL", "https://core.example", lambda s: s.casestore_url == "https://core.example",
                     id="casestore-url"),
        pytest.param("LAPOR_CASESTORE_BATCH", "false", lambda s: s.casestore.batch is False, id="bool"),
        pytest.param("LAPOR_QUEUES_RETRY_INTERVALS", "1, 5,30", lambda s: s.queues.retry_intervals == [1, 5, 30],
                     id="list"),
        pytest.param("REDIS_URL", "redis://127.0.0.1:6379/2", lambda s: s.redis_url == "redis://127.0.0.1:6379/2",
                     id="redis-url"),
        pytest.param("LAPOR_REDIS_URL", "redis://127.0.0.1:6379/4", lambda s: s.redis_url == "redis://127.0.0.1:6379/4",
                     id="lapor-redis-url"),
        pytest.param("LAPOR_INSTAGRAM_PENDING_GRACE_MINUTES", "30",
                     lambda s: s.instagram.pending_grace_minutes == 30.0, id="instagram-pending-grace"),
        pytest.param("LAPOR_INTAKE_MAX_TEXT_CHARS", "1000", lambda s: s.intake.max_text_chars == 1000,
                     id="max-text-chars-at-its-floor"),
        pytest.param("LAPOR_X_SAME_TEXT_WINDOW_SECONDS", "120", lambda s: s.x.same_text_window_seconds == 120,
                     id="x-same-text-window"),
        pytest.param("LAPOR_INSTAGRAM_SAME_TEXT_WINDOW_SECONDS", "1",
                     lambda s: s.instagram.same_text_window_seconds == 1, id="instagram-same-text-window-at-its-floor"),
    ],
)
def test_environment_overrides(variable: str, value: str, read: object) -> None:
    settings = load_settings({**PRODUCTION_SECRETS, variable: value})
    assert read(settings)  # type: ignore[operator]


def test_redis_url_wins_over_lapor_redis_url() -> None:
    """Both set (a platform's REDIS_URL beside an older LAPOR_REDIS_URL): the platform's, as the README says."""
    settings = load_settings({**PRODUCTION_SECRETS, "REDIS_URL": "redis://10.0.0.5:6379/1",
                              "LAPOR_REDIS_URL": "redis://127.0.0.1:6379/4"})
    assert settings.redis_url == "redis://10.0.0.5:6379/1"


@pytest.mark.parametrize("missing", sorted(PRODUCTION_SECRETS))
def test_production_refuses_to_start_without_a_secret_and_names_it(missing: str) -> None:
    environ = {k: v for k, v in PRODUCTION_SECRETS.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        load_settings(environ)


@pytest.mark.parametrize(("environ", "starts"), [
    pytest.param({}, False, id="no-relay-no-outbox"),
    pytest.param({"LAPOR_EMAIL_OUTBOX_DIR": "/srv/mail/pickup"}, True, id="a-pickup-directory-named"),
    pytest.param({"LAPOR_EMAIL_ENABLED": "false"}, True, id="e-mail-off"),
    pytest.param({"LAPOR_PROFILE": "development"}, True, id="development-local-outbox"),
])
def test_production_e_mail_needs_a_relay_or_a_named_pickup_directory(environ: dict[str, str], starts: bool) -> None:
    """Without a relay the replies were written under the data dir and counted as sent: no citizen got one."""
    without_relay = {k: v for k, v in PRODUCTION_SECRETS.items() if k != "LAPOR_EMAIL_RELAY_HOST"}
    if starts:
        load_settings({**without_relay, **environ})
    else:
        with pytest.raises(SettingsError, match=r"LAPOR_EMAIL_RELAY_HOST.*LAPOR_EMAIL_OUTBOX_DIR"):
            load_settings({**without_relay, **environ})


def test_production_names_every_missing_setting_at_once() -> None:
    """A secret missing and no way out for e-mail replies: said together (one at a time, the relay was found missing
    only once the secrets were set, a second failed start)."""
    left_out = ("LAPOR_EMAIL_RELAY_HOST", "LAPOR_CASESTORE_TOKEN")
    environ = {k: v for k, v in PRODUCTION_SECRETS.items() if k not in left_out}
    with pytest.raises(SettingsError, match=r"missing secret.*LAPOR_CASESTORE_TOKEN.*; e-mail replies have no way"):
        load_settings(environ)


@pytest.mark.parametrize(("configured", "named"), [
    pytest.param({"LAPOR_EMAIL_IMAP_HOST": "imap.example.net"}, ["LAPOR_EMAIL_IMAP_USER", "LAPOR_EMAIL_IMAP_PASSWORD"],
                 id="imap-host-without-credentials"),
    pytest.param({"LAPOR_EMAIL_RELAY_USER": "lapor"}, ["LAPOR_EMAIL_RELAY_PASSWORD"], id="relay-user-without-password"),
])
def test_production_names_a_mail_credential_with_the_channels_missing_secrets(configured: dict[str, str],
                                                                               named: list[str]) -> None:
    """The mail credentials of what is configured were checked in the settings' validation, which stopped the start
    before the channels' secrets were looked for: set, the next start found the case-store token missing."""
    environ = {k: v for k, v in PRODUCTION_SECRETS.items() if k != "LAPOR_CASESTORE_TOKEN"}
    with pytest.raises(SettingsError) as raised:
        load_settings({**environ, **configured})
    assert str(raised.value).startswith("missing secret(s) for enabled channels: ")
    assert all(name in str(raised.value) for name in ["LAPOR_CASESTORE_TOKEN", *named])


def test_a_disabled_channel_needs_no_secret() -> None:
    environ = {k: v for k, v in PRODUCTION_SECRETS.items() if k != "LAPOR_TWILIO_AUTH_TOKEN"}
    settings = load_settings({**environ, "LAPOR_TWILIO_ENABLED": "false"})
    assert settings.twilio.enabled is False


def test_development_profile_fills_in_documented_secrets() -> None:
    settings = load_settings({"LAPOR_PROFILE": "development"})
    assert settings.is_development
    assert settings.twilio.auth_token == "dev-twilio-auth-token"
    assert settings.casestore.token == "dev-casestore-token"


def test_environment_beats_the_development_secrets() -> None:
    settings = load_settings({"LAPOR_PROFILE": "development", "LAPOR_TWILIO_AUTH_TOKEN": "mine"})
    assert settings.twilio.auth_token == "mine"


def test_a_malformed_value_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match=r"http\.port"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_HTTP_PORT": "eighty"})


def _float_settings(model: type[BaseModel] = Settings, section: str | None = None) -> list[str]:
    """The variable of every float setting of `model` and of the sections in it, walked from the models: one added
    later is in it."""
    found = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found += _float_settings(field.annotation, name)
        elif field.annotation is float or float in get_args(field.annotation):
            found.append(env_name(section, name))
    return found


def test_the_float_settings_are_found() -> None:
    assert len(_float_settings()) >= 40
    assert {"LAPOR_INTAKE_REDIS_TIMEOUT_SECONDS", "LAPOR_POLLERS_LEASE_SECONDS"} <= set(_float_settings())


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity"])
@pytest.mark.parametrize("variable", _float_settings())
def test_a_float_setting_refuses_inf_and_nan_naming_its_variable(variable: str, value: str) -> None:
    """Accepted, LAPOR_INTAKE_REDIS_TIMEOUT_SECONDS=inf had `serve` log `spool.replay_failed` (an OverflowError)
    every second and its concatenation sweep crash, and LAPOR_POLLERS_LEASE_SECONDS=inf ended `pollers` on a
    traceback: no float setting takes a value that is no finite number."""
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION_SECRETS, variable: value})
    assert f"({variable}): " in str(refused.value)


def test_a_command_refuses_an_infinite_setting_as_a_configuration_error() -> None:
    environ = {**os.environ, "LAPOR_PROFILE": "development", "LAPOR_INTAKE_REDIS_TIMEOUT_SECONDS": "inf",
               "REDIS_URL": "redis://127.0.0.1:1/0", "COLUMNS": "300"}
    done = run_cli(["status"], environ, cwd=CONFIG_DIR.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("configuration error: invalid settings: intake.redis_timeout_seconds "
                                  "(LAPOR_INTAKE_REDIS_TIMEOUT_SECONDS): Input should be a finite number"), done.stdout


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_RATELIMIT_PATH_PREFIX", "nope"),  # no webhook path begins with it: the limit off without a word
    ("LAPOR_RATELIMIT_PATH_PREFIX", "v1/channels/"),
    ("LAPOR_RATELIMIT_PATH_PREFIX", "/v1/channels/email/"),
    ("LAPOR_SMS_SHORT_CODE", "abc"),  # the sender of every reply SMS
    ("LAPOR_SMS_SHORT_CODE", ""),
    ("LAPOR_SMS_SHORT_CODE", "17O8"),
])
def test_a_rate_limit_prefix_of_no_webhook_or_a_short_code_of_no_digits_is_refused(variable: str, value: str) -> None:
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION_SECRETS, variable: value})
    assert f"{section}.{key} ({variable}): Value error, " in str(refused.value)


@pytest.mark.parametrize(("variable", "value", "taken"), [
    ("LAPOR_RATELIMIT_PATH_PREFIX", "/", "/"),
    ("LAPOR_RATELIMIT_PATH_PREFIX", "/v1/channels/sms/", "/v1/channels/sms/"),
    ("LAPOR_RATELIMIT_PATH_PREFIX", "/v1/channels/instagram/webhook", "/v1/channels/instagram/webhook"),
    ("LAPOR_SMS_SHORT_CODE", " 1708 ", "1708"),
    ("LAPOR_SMS_SHORT_CODE", "99876", "99876"),
])
def test_a_rate_limit_prefix_of_a_webhook_and_a_short_code_of_digits_are_taken(variable: str, value: str,
                                                                               taken: str) -> None:
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")
    assert getattr(getattr(load_settings({**PRODUCTION_SECRETS, variable: value}), section), key) == taken


def test_the_webhook_paths_the_rate_limit_prefix_is_checked_against_are_the_adapters() -> None:
    from channels.registry import WEBHOOK_ADAPTERS
    from gateway.settings import WEBHOOK_PATHS

    paths = {path for adapter in WEBHOOK_ADAPTERS.values()
             for path in (adapter.path, getattr(adapter, "dlr_path", None)) if path}
    assert set(WEBHOOK_PATHS) == paths


@pytest.mark.parametrize(("environ", "said"), [
    ({"LAPOR_EMAIL_TLS_CERT": "/x"}, "email: Value error, set both LAPOR_EMAIL_TLS_CERT and LAPOR_EMAIL_TLS_KEY"),
    ({"LAPOR_EMAIL_TLS_KEY": "/x"}, "email: Value error, set both LAPOR_EMAIL_TLS_CERT and LAPOR_EMAIL_TLS_KEY"),
    ({"LAPOR_INTAKE_ID_START": "20000", "LAPOR_INTAKE_ID_END": "10000"},
     "intake: Value error, intake.id_end (LAPOR_INTAKE_ID_END: 10000) is below"),
])
def test_a_sections_own_check_names_no_variable_that_is_none(environ: dict[str, str], said: str) -> None:
    """A check across a section's settings said `email (LAPOR_EMAIL): ...`, a variable no one can set."""
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION_SECRETS, **environ})
    assert f"invalid settings: {said}" in str(refused.value)
    assert "(LAPOR_EMAIL)" not in str(refused.value) and "(LAPOR_INTAKE)" not in str(refused.value)


@pytest.mark.parametrize(("file", "added", "said"), [
    ("defaults.toml", "[htp]\nport = 1\n",
     "section [htp] is unknown: no setting is read from it (did you mean [http]?)"),
    ("development.toml", "[htp]\nport = 1\n", "section [htp] is unknown: no setting is read from it"),
    ("development.toml", "[http]\nprot = 1\n", "[http] prot is unknown: no setting reads it (did you mean port?)"),
    ("defaults.toml", "[ratelimit]\nnothing_like_it = 1\n",
     "[ratelimit] nothing_like_it is unknown: no setting reads it"),
])
def test_a_section_or_key_of_a_config_file_that_no_setting_reads_is_refused_naming_the_file(
        file: str, added: str, said: str, tmp_path: Path) -> None:
    """It was named as a variable: `htp (LAPOR_HTP): Extra inputs are not permitted`, a variable no one had set."""
    for name in ("defaults.toml", "development.toml"):
        (tmp_path / name).write_text((CONFIG_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    text = (tmp_path / file).read_text(encoding="utf-8")
    if added.startswith("[ratelimit]"):  # a key added to a section the file has
        text, added = text.replace("[ratelimit]\n", added, 1), ""
    (tmp_path / file).write_text(text + "\n" + added, encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings({"LAPOR_PROFILE": "development"}, config_dir=tmp_path)
    assert f"invalid settings: {tmp_path / file}: {said}" in str(refused.value)
    assert "LAPOR_HTP" not in str(refused.value) and "Extra inputs" not in str(refused.value)


def test_an_instagram_pending_retry_of_zero_is_refused() -> None:
    """Zero would look every waiting notification up again at every pending tick (a Graph API rate limit)."""
    with pytest.raises(SettingsError, match=r"instagram\.pending_retry_seconds"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_INSTAGRAM_PENDING_RETRY_SECONDS": "0"})


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_RATELIMIT_RATE_PER_SECOND", "0"),  # every request past the burst a ZeroDivisionError, answered 500
    ("LAPOR_RATELIMIT_RATE_PER_SECOND", "-1"),
    ("LAPOR_RATELIMIT_BURST", "0"),  # every webhook refused with 429, for ever
    ("LAPOR_RATELIMIT_MAX_SOURCES", "0"),  # each bucket forgotten at once: nothing ever limited
    ("LAPOR_AGGREGATOR_SAME_TEXT_WINDOW_SECONDS", "0"),  # SET ... EX 0 refused by Redis: every SMS report a 503
    ("LAPOR_TWILIO_SAME_TEXT_WINDOW_SECONDS", "0"),
    ("LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND", "0"),  # every reply job a ZeroDivisionError
    ("LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND", "-1"),  # no rate at all
    ("LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND", "inf"),  # every reply job an OverflowError in the limiter's floor
    ("LAPOR_AGGREGATOR_SEND_RATE_PER_SECOND", "nan"),  # every reply job a ValueError there
    ("LAPOR_AGGREGATOR_CONCAT_WAIT_SECONDS", "0"),  # each part taken alone, the next ones lost as its late parts
    ("LAPOR_AGGREGATOR_CONCAT_SWEEP_SECONDS", "0"),  # a sweep loop that never sleeps
    ("LAPOR_INTAKE_MAX_TEXT_CHARS", "999"),  # a cut text mostly the marker that ends it
    ("LAPOR_INTAKE_MAX_TEXT_CHARS", "0"),
])
def test_a_limit_that_cannot_work_is_refused(variable: str, value: str) -> None:
    section_key = variable.removeprefix("LAPOR_").lower().replace("_", ".", 1)  # ratelimit.burst
    with pytest.raises(SettingsError, match=re.escape(section_key)):
        load_settings({**PRODUCTION_SECRETS, variable: value})


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_X_MAX_PAGES", "0"),  # a poll that reads nothing, counted as a good poll: X healthy, no mention read
    ("LAPOR_X_MAX_PAGES", "-1"),
    ("LAPOR_X_POLL_INTERVAL_SECONDS", "0"),  # X polled without a pause, into its rate limit
    ("LAPOR_X_POLL_INTERVAL_SECONDS", "-15"),
    ("LAPOR_X_MAX_POLL_INTERVAL_SECONDS", "0"),
    ("LAPOR_X_MAX_POLL_INTERVAL_SECONDS", "10"),  # below the shortest interval (15)
    ("LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES", "-60"),  # the first poll asks for mentions from the future only
    ("LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES", "nan"),
    ("LAPOR_X_SINCE_LOOKBACK_SECONDS", "-60"),  # asked past the newest read: mentions skipped
    ("LAPOR_X_SINCE_LOOKBACK_SECONDS", "nan"),
    ("LAPOR_X_SINCE_LOOKBACK_SECONDS", "90000"),  # beyond a day: every poll rereads X's whole reach
    ("LAPOR_X_AUTH_RETRY_SECONDS", "0"),
    ("LAPOR_X_ERROR_RETRY_SECONDS", "0"),  # a failing poll retried at once, forever
    ("LAPOR_X_ERROR_RETRY_SECONDS", "inf"),
    ("LAPOR_X_SAME_TEXT_WINDOW_SECONDS", "0"),  # SET ... EX 0 refused by Redis: every poll of a mention failed
    ("LAPOR_X_SAME_TEXT_WINDOW_SECONDS", "-600"),
    ("LAPOR_INSTAGRAM_MAX_PAGES", "0"),
    ("LAPOR_INSTAGRAM_PAGE_SIZE", "0"),
    ("LAPOR_INSTAGRAM_POLL_INTERVAL_SECONDS", "0"),  # /tags walked at every pending tick
    ("LAPOR_INSTAGRAM_PENDING_INTERVAL_SECONDS", "-1"),
    ("LAPOR_INSTAGRAM_FIRST_POLL_LOOKBACK_MINUTES", "-1"),
    ("LAPOR_INSTAGRAM_AUTH_RETRY_SECONDS", "0"),
    ("LAPOR_INSTAGRAM_ERROR_RETRY_SECONDS", "0"),
    ("LAPOR_INSTAGRAM_REQUEST_TIMEOUT_SECONDS", "0"),  # every Graph API request timed out
    ("LAPOR_INSTAGRAM_SAME_TEXT_WINDOW_SECONDS", "0"),
    ("LAPOR_EMAIL_IMAP_INTERVAL_SECONDS", "0"),  # the mailbox polled without a pause
])
def test_a_poller_setting_that_cannot_work_is_refused_naming_it(variable: str, value: str) -> None:
    """Accepted, LAPOR_X_MAX_PAGES=0 left the X poller reading nothing while the channel showed healthy."""
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")  # x, max_pages
    with pytest.raises(SettingsError, match=re.escape(f"{section}.{key}")) as refused:
        load_settings({**PRODUCTION_SECRETS, variable: value})
    assert variable in str(refused.value)  # the variable an operator sets it with


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_HTTP_MAX_BODY_BYTES", "0"),  # no limit at all to aiohttp; every compressed body too large
    ("LAPOR_CASESTORE_TIMEOUT_SECONDS", "0"),  # every forward failed at once (httpx: a non-blocking connect)
    ("LAPOR_CASESTORE_TIMEOUT_SECONDS", "-5"),
    ("LAPOR_CASESTORE_TIMEOUT_SECONDS", "inf"),  # an OverflowError at every request
    ("LAPOR_INTAKE_DEDUP_TTL_SECONDS", "0"),  # EXPIRE 0 deletes the claim: every retried webhook a new report
    ("LAPOR_INTAKE_ENVELOPE_TTL_SECONDS", "0"),  # the envelope deleted once forwarded: no follow-up, no reply
    ("LAPOR_INTAKE_ID_BLOCK_SIZE", "0"),  # nothing leased: every mint an IndexError, a reserve top-up for ever
    ("LAPOR_INTAKE_ID_BLOCK_SIZE", "-200"),  # the shared counter moved back, to IDs already given out
    ("LAPOR_INTAKE_ID_RESERVE", "-1"),
    ("LAPOR_INTAKE_ID_START", "0"),  # no Tracking ID for sequence number 0
    ("LAPOR_INTAKE_ID_START", "9999"),  # IDs of 5 digits, which no CEK reads as an ID
    ("LAPOR_INTAKE_ID_START", "10000000000000"),  # IDs of 15 digits, the same
    ("LAPOR_INTAKE_ID_END", "-1"),
    ("LAPOR_INTAKE_MAX_BATCH", "0"),  # taken as 1 without a word
    ("LAPOR_INTAKE_FORWARD_LINGER_MS", "-100"),
    ("LAPOR_QUEUES_RETRY_INTERVALS", ""),  # RQ's Retry(max=0): every enqueue a ValueError
    ("LAPOR_QUEUES_RETRY_INTERVALS", "1,-5,30"),  # the same
    ("LAPOR_QUEUES_JOB_TIMEOUT_SECONDS", "0"),  # RQ: "0 timeout is not allowed", at every enqueue
    ("LAPOR_QUEUES_JOB_TIMEOUT_SECONDS", "-1"),  # RQ's "no timeout": a send lease of -1 s
    ("LAPOR_AGGREGATOR_SEND_TIMEOUT_SECONDS", "0"),  # every reply SMS failed at once
    ("LAPOR_CASESTORE_SPLIT_AFTER_TIMEOUTS", "-1"),  # a split at every try, before any timeout
    ("LAPOR_AGGREGATOR_DLR_MASK", "-1"),
    ("LAPOR_AGGREGATOR_FLOOD_REPLIES_PER_MINUTE", "0"),  # every reply held back
    ("LAPOR_TWILIO_FLOOD_REPLIES_PER_MINUTE", "0"),  # every TwiML answer empty
    ("LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS", "-1"),
    ("LAPOR_EMAIL_MAX_MESSAGE_BYTES", "0"),  # no limit to aiosmtpd, every mail too large to the IMAP poller
    ("LAPOR_EMAIL_MAX_ATTACHMENT_BYTES", "-1"),
    ("LAPOR_EMAIL_MAX_ATTACHMENTS_BYTES", "-1"),
    ("LAPOR_EMAIL_MAX_ATTACHMENTS", "-1"),
    ("LAPOR_EMAIL_REPLY_CAP_PER_HOUR", "0"),  # no e-mail reply ever sent
    ("LAPOR_EMAIL_RELAY_TIMEOUT_SECONDS", "0"),  # smtplib: "Non-blocking socket (timeout=0) is not supported"
    ("LAPOR_X_MAX_RESULTS", "4"),  # X takes 5..100: 4 was sent as 5 without a word
    ("LAPOR_X_MAX_RESULTS", "101"),
    ("LAPOR_X_REPLY_RATE_PER_MINUTE", "0"),  # taken as 1 without a word
    ("LAPOR_INSTAGRAM_REPLY_RATE_PER_MINUTE", "-1"),
    ("LAPOR_HEALTH_EVALUATE_SECONDS", "0"),  # every channel checked without a pause
    ("LAPOR_HEALTH_HEARTBEAT_SECONDS", "-1"),  # a heartbeat at every evaluation
    ("LAPOR_HEALTH_PAGE_REFRESH_SECONDS", "0"),  # the status page reloaded without a pause
    ("LAPOR_TRIAGE_DUPLICATE_WINDOW_SECONDS", "0"),  # every sketch expired as it was written
    ("LAPOR_TRIAGE_DUPLICATE_THRESHOLD", "7"),  # a similarity is 0..1: nothing ever a duplicate
    ("LAPOR_TRIAGE_CAMPAIGN_THRESHOLD", "-0.5"),
    ("LAPOR_TRIAGE_CAMPAIGN_MIN_SENDERS", "1"),  # the report's own sender: every report a campaign
    ("LAPOR_SMS_DEFAULT_REGION", "XX"),  # every number without a country code ("0812...") refused
    ("LAPOR_SMS_DEFAULT_REGION", "IDN"),
    ("LAPOR_SMS_DEFAULT_REGION", ""),
])
def test_a_value_the_code_cannot_work_with_is_refused_naming_its_variable(variable: str, value: str) -> None:
    """Each was accepted, and failed (or did something else than asked) only where it was used."""
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")  # queues, retry_intervals
    with pytest.raises(SettingsError, match=re.escape(f"{section}.{key}")) as refused:
        load_settings({**PRODUCTION_SECRETS, variable: value})
    assert f"({variable})" in str(refused.value)


@pytest.mark.parametrize(("variable", "value", "taken"), [
    ("LAPOR_QUEUES_RETRY_INTERVALS", "0", [0]),  # one retry, at once
    ("LAPOR_INTAKE_ID_BLOCK_SIZE", "1", 1),
    ("LAPOR_INTAKE_ID_RESERVE", "0", 0),
    ("LAPOR_INTAKE_ID_START", "10000", 10000),  # IDs of 6 digits, the shortest read as an ID
    ("LAPOR_INTAKE_FORWARD_LINGER_MS", "0", 0),  # a job per commit
    ("LAPOR_CASESTORE_PROBE_SECONDS", "0", 0.0),  # never asked
    ("LAPOR_CASESTORE_SPLIT_AFTER_TIMEOUTS", "0", 0),  # never split
    ("LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS", "0", 0.0),  # every CEK answered by SMS
    ("LAPOR_EMAIL_MAX_ATTACHMENTS", "0", 0),  # none stored
    ("LAPOR_X_MAX_RESULTS", "5", 5),
    ("LAPOR_X_MAX_RESULTS", "100", 100),
    ("LAPOR_HEALTH_HEARTBEAT_SECONDS", "0", 0.0),  # never
    ("LAPOR_TRIAGE_DUPLICATE_THRESHOLD", "1", 1.0),  # the same text only
    ("LAPOR_TRIAGE_CAMPAIGN_MIN_SENDERS", "2", 2),
    ("LAPOR_SMS_DEFAULT_REGION", "id", "ID"),
    ("LAPOR_SMS_DEFAULT_REGION", "MY", "MY"),  # a deployment across the border
])
def test_an_edge_value_that_works_is_taken(variable: str, value: str, taken: object) -> None:
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")
    settings = load_settings({**PRODUCTION_SECRETS, variable: value})
    assert getattr(getattr(settings, section), key) == taken


PORT_VARIABLES = ["LAPOR_HTTP_PORT", "LAPOR_SMTP_PORT", "LAPOR_CASESTORE_PORT", "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT",
                  "LAPOR_EMAIL_RELAY_PORT", "LAPOR_EMAIL_IMAP_PORT"]


@pytest.mark.parametrize("value", ["0", "-1", "65536", "70000"])
@pytest.mark.parametrize("variable", PORT_VARIABLES)
def test_a_port_outside_1_to_65535_is_refused_naming_it(variable: str, value: str) -> None:
    """Accepted, LAPOR_HTTP_PORT=70000 had the gateway listen on 4464 (the port taken modulo 65536) and 0 on a port
    the kernel chose, each logging `gateway.listening` with the port set; LAPOR_CASESTORE_PORT=0 sent every forward
    to http://127.0.0.1:0."""
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")
    with pytest.raises(SettingsError, match=re.escape(f"{section}.{key} ({variable})")):
        load_settings({**PRODUCTION_SECRETS, variable: value})


@pytest.mark.parametrize("variable", PORT_VARIABLES)
def test_a_port_from_1_to_65535_is_taken(variable: str) -> None:
    section, _, key = variable.removeprefix("LAPOR_").lower().partition("_")
    for value in ("1", "65535"):
        taken = load_settings({**PRODUCTION_SECRETS, variable: value})
        assert getattr(getattr(taken, section), key) == int(value)


# A password of a generated kind (base64: "/" and "+") written into the URL as it is: its first part read as the port.
SECRET_PART = "Xk9qTz4"


@pytest.mark.parametrize("url", [
    pytest.param(f"redis://:{SECRET_PART}/a+b@127.0.0.1:6379/0", id="slash-in-password"),
    pytest.param(f"redis://:{SECRET_PART}#ab@127.0.0.1:6379/0", id="hash-in-password"),
    pytest.param(f"redis://:{SECRET_PART}?ab@127.0.0.1:6379/0", id="question-mark-in-password"),
    pytest.param("redis://:12/ab@127.0.0.1:6379/0", id="slash-in-password-read-as-a-port-and-a-path"),
    pytest.param("redis://:12#ab@127.0.0.1:6379/0", id="hash-in-password-read-as-a-port-and-a-fragment"),
    pytest.param("127.0.0.1:6379", id="no-scheme"),
    pytest.param("redis://127.0.0.1:63a9/0", id="port-not-a-number"),
    pytest.param("redis://127.0.0.1:6379/zero", id="database-not-a-number"),
    pytest.param("redis://127.0.0.1:6379/0?socket_timeout=soon", id="option-not-a-number"),
])
def test_a_redis_url_that_cannot_be_read_is_refused_without_quoting_it(url: str) -> None:
    """redis-py read such a URL only as each process connected: a traceback (exit 1) whose message quoted the
    password's first part ("Port could not be cast to integer value as 'Xk9qTz4'") into the logs, or, where the part
    was digits, a connection to localhost on that port; a database that is no number was database 0."""
    with pytest.raises(SettingsError, match=re.escape("redis_url (REDIS_URL)")) as refused:
        load_settings({**PRODUCTION_SECRETS, "REDIS_URL": url})
    assert SECRET_PART not in str(refused.value) and "12" not in str(refused.value)
    assert "percent-encode" in str(refused.value)


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1:6379/0", "redis://:p%2Fq%23r@redis.internal:6380/3", "rediss://user:pw@redis.internal:6380",
    "redis://localhost/", "unix:///run/redis/redis.sock?db=2", "redis://127.0.0.1:6379/0?socket_timeout=5",
])
def test_a_readable_redis_url_is_taken(url: str) -> None:
    assert load_settings({**PRODUCTION_SECRETS, "REDIS_URL": url}).redis_url == url


def test_env_names() -> None:
    assert env_name("twilio", "auth_token") == "LAPOR_TWILIO_AUTH_TOKEN"
    assert env_name(None, "public_url") == "LAPOR_PUBLIC_URL"


@pytest.mark.parametrize("value", ["0", "-5", "sixty"])
def test_a_poller_lease_that_is_not_a_positive_period_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match=r"pollers\.lease_seconds"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_POLLERS_LEASE_SECONDS": value})


@pytest.mark.parametrize("value", ["0", "-1", "5", "30"])
def test_a_liveness_timeout_outside_the_liveness_keys_lifetime_is_refused(value: str) -> None:
    """At 5 s or more a worker's beat may take longer than its liveness key lives: the other workers would take it for
    dead (and requeue its job) before it counts Redis as not answering."""
    with pytest.raises(SettingsError, match=r"queues\.liveness_timeout_seconds"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS": value})


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_QUEUES_LIVENESS_TTL_SECONDS", "0.5"),  # beaten every 0.1 s; under a millisecond Redis refused every beat
    ("LAPOR_QUEUES_LIVENESS_TTL_SECONDS", "0.0004"),
    ("LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS", "61"),  # past the longest wait, which caps every wait
    ("LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS", "0"),
    ("LAPOR_QUEUES_QUIT_FIRST_WAIT_SECONDS", "nan"),
])
def test_a_worker_timer_outside_its_bounds_is_refused_naming_it(variable: str, value: str) -> None:
    """A liveness key's lifetime under a second, a first wait after an unasked quit past the minute that caps them."""
    setting = variable.removeprefix("LAPOR_QUEUES_").lower()
    with pytest.raises(SettingsError, match=rf"queues\.{setting}"):
        # The liveness timeout below each lifetime tried, so that only the lifetime's own bound can refuse it.
        load_settings({**PRODUCTION_SECRETS, "LAPOR_QUEUES_LIVENESS_TIMEOUT_SECONDS": "0.0001", variable: value})


@pytest.mark.parametrize("value", ["1001", "5000"])
def test_a_forward_batch_larger_than_the_case_store_takes_is_refused(value: str) -> None:
    """The case store refuses a batch of more than 1,000 reports with 422: every forward job of that size would be
    dead-lettered whole, each of its reports with it."""
    with pytest.raises(SettingsError, match=r"intake\.max_batch"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_INTAKE_MAX_BATCH": value})


def test_a_forward_batch_of_the_case_stores_largest_is_taken() -> None:
    assert load_settings({**PRODUCTION_SECRETS, "LAPOR_INTAKE_MAX_BATCH": "1000"}).intake.max_batch == 1000


@pytest.mark.parametrize(
    ("environment", "shortest"),
    [
        pytest.param({}, 8, id="default-start"),
        pytest.param({"LAPOR_INTAKE_ID_START": "100000000"}, 10, id="later-start"),
        pytest.param({"LAPOR_INTAKE_ID_START": "100000000", "LAPOR_INTAKE_ID_END": "199999999"}, 6, id="cells"),
    ],
)
def test_the_shortest_tracking_id_follows_from_the_first_one_minted(environment: dict[str, str],
                                                                    shortest: int) -> None:
    """Alone, a gateway mints every ID from intake.id_start up; with cells another cell's may be shorter."""
    assert load_settings({**PRODUCTION_SECRETS, **environment}).intake.shortest_tracking_id == shortest


@pytest.mark.parametrize(("value", "hosts"), [
    pytest.param("API.Twilio.com, *.fbcdn.net", ["api.twilio.com", "*.fbcdn.net"], id="hosts and domains, any case"),
    pytest.param("s3-external-1.amazonaws.com/media.twiliocdn.com/",
                 ["s3-external-1.amazonaws.com/media.twiliocdn.com/"], id="a host with a path"),
    pytest.param("s3-external-1.amazonaws.com/media.twiliocdn.com",
                 ["s3-external-1.amazonaws.com/media.twiliocdn.com/"], id="a path without its closing slash: a folder"),
    pytest.param("", [], id="empty: nothing is fetched"),
])
def test_the_attachment_fetch_hosts_from_the_environment(value: str, hosts: list[str]) -> None:
    settings = load_settings({**PRODUCTION_SECRETS, "LAPOR_ATTACHMENTS_FETCH_HOSTS": value})
    assert settings.attachments.fetch_hosts == hosts


@pytest.mark.parametrize("value", ["https://pbs.twimg.com", "pbs.twimg.com:443", "localhost", "*", "*.com",
                                   "pbs.twimg.com/media?x=1"])
def test_an_attachment_fetch_host_that_names_no_host_is_refused_at_start(value: str) -> None:
    """It would match no URL: fetching would stop without a word."""
    with pytest.raises(SettingsError, match=r"attachments\.fetch_hosts"):
        load_settings({**PRODUCTION_SECRETS, "LAPOR_ATTACHMENTS_FETCH_HOSTS": value})


def test_the_providers_media_hosts_are_fetched_by_default_and_never_in_development() -> None:
    """`make run` reaches nothing beyond the machine: the fake providers' media addresses name no real file."""
    hosts = load_settings(PRODUCTION_SECRETS).attachments.fetch_hosts
    assert {"api.twilio.com", "pbs.twimg.com", "*.cdninstagram.com"} <= set(hosts)
    assert load_settings({"LAPOR_PROFILE": "development"}).attachments.fetch_hosts == []


def _fields_with_a_default(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field of `model` and of the sections in it that declares a default of its own."""
    found = []
    for name, field in model.model_fields.items():
        if not field.is_required():
            found.append(f"{prefix}{name}")
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found += _fields_with_a_default(field.annotation, f"{prefix}{name}.")
    return found


@pytest.mark.parametrize(("module", "constant", "section", "key"), [
    ("gateway.health.documents", "DEPLOYMENT_WAIT_SECONDS", "health", "deployment_wait_seconds"),
    ("gateway.health.monitor", "BEATS_WAIT_SECONDS", "health", "status_beats_wait_seconds"),
    ("workers.outage", "QUIT_FIRST_WAIT_SECONDS", "queues", "quit_first_wait_seconds"),
    ("workers.run", "MAINTENANCE_INTERVAL_SECONDS", "queues", "maintenance_interval_seconds"),
])
def test_a_timers_default_in_code_is_its_settings_default(module: str, constant: str, section: str, key: str) -> None:
    """The timers the tests set short are settings, and their code keeps a default for an object built without
    settings (a monitor, a worker's quits or scheduler keeper made alone): the same value as config/defaults.toml."""
    import importlib

    shipped = getattr(getattr(load_settings(PRODUCTION_SECRETS), section), key)
    assert getattr(importlib.import_module(module), constant) == shipped


def test_every_default_is_in_the_toml_file_alone() -> None:
    """A default in the model as well would drift from config/defaults.toml (the rate limit's once did: 50/s in the
    model, 1000/s in the file); with none, the file is the one source and a key missing there is an error."""
    assert _fields_with_a_default(Settings) == []


def test_a_key_missing_from_the_toml_file_is_a_clear_error(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "defaults.toml").read_text(encoding="utf-8")
    (tmp_path / "defaults.toml").write_text(text.replace("\nburst = ", "\n# burst = "), encoding="utf-8")
    with pytest.raises(SettingsError, match=r"ratelimit\.burst"):
        load_settings(PRODUCTION_SECRETS, config_dir=tmp_path)


README = Path(__file__).resolve().parent.parent / "README.md"
# What the README names a top-level key by, where that is not LAPOR_<KEY>.
README_NAMES = {"redis_url": "REDIS_URL"}


def _documented(section: str | None, key: str, readme: str) -> bool:
    """The README names `[section] key` by its variable (LAPOR_SMS_SHORT_CODE), by a short form after a variable
    of its section in the same paragraph or table row (`LAPOR_EMAIL_RELAY_HOST`, `_PORT`; `..._MAX_PAGES`), as
    `section.key`, or as `key` in a paragraph that names `[section]`."""
    if section is None:
        return re.search(rf"\b{README_NAMES.get(key, env_name(None, key))}\b", readme) is not None
    if re.search(rf"\b({env_name(section, key)}|{section}\.{key})\b", readme):
        return True
    upper = key.upper()
    for block in re.split(r"\n\s*\n|\n(?=\|)", readme):
        if f"[{section}]" in block and f"`{key}`" in block:
            return True
        names = re.findall(rf"{env_name(section, '')}([A-Z0-9_]+)", block)
        for suffix in re.findall(r"`(?:\.\.\.)?_([A-Z0-9_]+)`", block):
            if upper == suffix or upper.endswith(f"_{suffix}"):
                stem = upper.removesuffix(suffix)  # `_PORT` after LAPOR_EMAIL_RELAY_HOST: RELAY_
                if any(name.startswith(stem) for name in names):
                    return True
    return False


def test_every_setting_is_in_the_readme() -> None:
    """An operator reads the README, not the TOML file: each key of config/defaults.toml is named there."""
    readme = README.read_text(encoding="utf-8")
    raw = tomllib.loads((CONFIG_DIR / "defaults.toml").read_text(encoding="utf-8"))
    keys = [(section, key) for section, value in raw.items() if isinstance(value, dict) for key in value]
    keys += [(None, key) for key, value in raw.items() if not isinstance(value, dict)]
    missing = [f"{section}.{key}" if section else key for section, key in keys if not _documented(section, key, readme)]
    assert missing == []


# LAPOR_* names the README gives on purpose though no setting reads them: the misspelling its warning example quotes,
# and the grammar's glued keyword form a citizen types (`LAPOR_ANONIM`, read as ANONIM).
README_NOT_SETTINGS = {"LAPOR_HTTP_HOSTS", "LAPOR_ANONIM"}


def _defaults_by_variable() -> dict[str, Any]:
    raw = tomllib.loads((CONFIG_DIR / "defaults.toml").read_text(encoding="utf-8"))
    defaults = {env_name(section, key): default for section, value in raw.items() if isinstance(value, dict)
                for key, default in value.items()}
    return defaults | {env_name(None, key): value for key, value in raw.items() if not isinstance(value, dict)}


def test_every_variable_the_readme_names_is_a_setting() -> None:
    """The reverse of the test above: a variable the README names that no setting reads is ignored (a warning at
    start), and the operator who copied it keeps the default. Wildcards (`LAPOR_X_*`, `LAPOR_<SECTION>_<KEY>`) aside."""
    named = set(re.findall(r"\bLAPOR_[A-Z0-9_]+", README.read_text(encoding="utf-8")))
    unknown = sorted(name for name in named if not name.endswith("_") and name not in _defaults_by_variable())
    assert unknown == sorted(README_NOT_SETTINGS)


def _readme_default_matches(written: str, default: Any) -> bool:
    """A default as a README table writes it (`5`, `1,2,5,...,3600`, `true`, empty) against the TOML value."""
    if isinstance(default, list):
        head, _, tail = written.partition(",...,")
        items = [str(item) for item in default]
        shown = [item for item in head.split(",") if item]
        ends = [item for item in tail.split(",") if item]
        return (items[:len(shown)] == shown and items[len(items) - len(ends):] == ends if tail
                else items == shown)
    if isinstance(default, bool):
        return written == str(default).lower()
    if isinstance(default, int | float):
        return re.fullmatch(r"-?\d+(\.\d+)?", written) is not None and float(written) == default
    return written == default


def _readme_table_defaults(readme: str) -> list[tuple[int, str, str]]:
    """(line, variable, default as written) of each row of the README's setting tables that gives a default: the
    Configuration table (`| `LAPOR_A` / `LAPOR_B` | `1` / `2` | meaning |`, or `empty`) and the X and Instagram one
    (`| `LAPOR_X_A`, `..._B` | 15, 900: meaning |`, `default `...``)."""
    rows = []
    for number, line in enumerate(readme.splitlines(), 1):
        cells = [cell.strip() for cell in line.strip().removesuffix("|").split(" | ")]
        if not cells[0].startswith("| `LAPOR_") or len(cells) < 2:
            continue
        names: list[str] = []
        for name in re.findall(r"`(LAPOR_[A-Z0-9_]+|\.\.\._[A-Z0-9_]+)(?:=[^`]*)?`", cells[0]):
            section = "_".join((names[-1] if names else name).split("_")[:2])  # LAPOR_X of LAPOR_X_MAX_RESULTS
            names.append(section + name[3:] if name.startswith("...") else name)
        if len(cells) >= 3:  # | variables | default(s) | meaning |
            written = [re.match(r"`([^`]*)`|(empty)", piece) for piece in cells[1].split(" / ")]
            values = [(match.group(1) or "") if match else None for match in written]
        elif match := re.match(r"default `([^`]*)`", cells[1]):
            values = [match.group(1)]
        elif match := re.match(r"(\d[\d.]*(?:, \d[\d.]*)*)(?::|$)", cells[1]):
            values = match.group(1).split(", ")
        else:
            continue
        if len(values) == 1:  # one value for several variables (`LAPOR_X_REPLY_CAP_PER_HOUR`, `LAPOR_INSTAGRAM_...`)
            values = values * len(names)
        rows += [(number, name, value) for name, value in zip(names, values, strict=True) if value is not None]
    return rows


def test_the_readme_tables_give_each_settings_default_as_config_defaults_toml_does() -> None:
    """An operator sizes and tunes from the README's tables: a default changed in config/defaults.toml alone made
    the table say one value while the gateway ran with another."""
    defaults = _defaults_by_variable()
    rows = _readme_table_defaults(README.read_text(encoding="utf-8"))
    assert len(rows) > 60  # the tables are read at all
    wrong = [(number, name, written, defaults.get(name, "no such setting")) for number, name, written in rows
             if name not in defaults or not _readme_default_matches(written, defaults[name])]
    assert wrong == []


@pytest.mark.parametrize(("environ", "unknown"), [
    pytest.param({"LAPOR_HTTP_HOST": "0.0.0.0", "REDIS_URL": "redis://x", "PATH": "/bin"}, [], id="all-known"),
    pytest.param({"LAPOR_PROFILE": "development", "LAPOR_DATA_DIR": "/srv"}, [], id="top-level-keys"),
    pytest.param({"LAPOR_HTTP_HOSTS": "0.0.0.0"}, [("LAPOR_HTTP_HOSTS", "LAPOR_HTTP_HOST")], id="plural"),
    pytest.param({"LAPOR_ATTACHMENTS_FETCH_BATCH_SECONDS": "5"},
                 [("LAPOR_ATTACHMENTS_FETCH_BATCH_SECONDS", "LAPOR_ATTACHMENTS_BATCH_SECONDS")],
                 id="short-form-read-wrong"),
    pytest.param({"LAPOR_TWILIO_TOKEN": "t"}, [("LAPOR_TWILIO_TOKEN", "LAPOR_TWILIO_AUTH_TOKEN")], id="secret"),
    pytest.param({"LAPOR_SOMETHING_ELSE": "1"}, [("LAPOR_SOMETHING_ELSE", None)], id="nothing-close"),
])
def test_a_lapor_variable_that_names_no_setting_is_found(environ: dict[str, str],
                                                         unknown: list[tuple[str, str | None]]) -> None:
    """A misspelt override is ignored by load_settings: the default stayed in force without a word."""
    assert unknown_variables(environ) == unknown


def test_a_command_warns_of_a_misspelt_variable_on_stderr_and_keeps_its_output() -> None:
    environ = {**os.environ, "LAPOR_PROFILE": "development", "LAPOR_HTTP_HOSTS": "0.0.0.0",
               "LAPOR_WEBHOOK_SECRET": "value-never-shown", "REDIS_URL": "redis://127.0.0.1:1/0"}
    done = run_cli(["status", "--json"], environ, cwd=CONFIG_DIR.parent)
    assert done.returncode == 2  # Redis unreachable
    assert json.loads(done.stdout)["overall"] == "down"  # --json is still one document
    assert "LAPOR_HTTP_HOSTS is no setting and is ignored (did you mean LAPOR_HTTP_HOST?)" in done.stderr
    assert "LAPOR_WEBHOOK_SECRET is no setting" in done.stderr
    assert "value-never-shown" not in done.stderr + done.stdout


X_ON = {"LAPOR_X_ENABLED": "true", "LAPOR_X_BEARER_TOKEN": "x-bearer-value", "LAPOR_X_USER_ID": "1708"}
X_OAUTH1 = {"LAPOR_X_CONSUMER_KEY": "ck-value", "LAPOR_X_CONSUMER_SECRET": "cs-value",
            "LAPOR_X_ACCESS_TOKEN": "1708-at-value", "LAPOR_X_ACCESS_TOKEN_SECRET": "ats-value"}


@pytest.mark.parametrize("left_out", sorted(X_OAUTH1))
def test_oauth_1a_for_x_replies_with_a_value_missing_is_refused_naming_it(left_out: str) -> None:
    """Three of the four sign no request: every reply would be refused, and only seen then."""
    environ = {**PRODUCTION_SECRETS, **X_ON, **{k: v for k, v in X_OAUTH1.items() if k != left_out}}
    with pytest.raises(SettingsError, match=rf"missing: {left_out}$") as refused:
        load_settings(environ)
    assert not any(value in str(refused.value) for value in X_OAUTH1.values())


@pytest.mark.parametrize(("environ", "warned"), [
    pytest.param({**X_ON, "LAPOR_X_USER_ACCESS_TOKEN": "u"}, "LAPOR_X_USER_ACCESS_TOKEN", id="oauth-2-user-token"),
    pytest.param(X_ON, "LAPOR_X_BEARER_TOKEN", id="bearer-token"),
    pytest.param({**X_ON, **X_OAUTH1, "LAPOR_X_USER_ACCESS_TOKEN": "u"}, None, id="oauth-1a"),
    pytest.param({"LAPOR_X_USER_ACCESS_TOKEN": "u"}, None, id="x-off"),
    pytest.param({"LAPOR_PROFILE": "development"}, None, id="development-signs-with-oauth-1a"),
])
def test_x_replies_without_oauth_1a_are_a_warning_at_start(environ: dict[str, str], warned: str | None) -> None:
    """An OAuth 2.0 user token expires 2 hours after it is issued and nothing renews it: the channel started, and
    two hours later every reply was dead-lettered as an authentication failure."""
    warnings = settings_warnings(load_settings({**PRODUCTION_SECRETS, **environ}))
    if warned is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert warned in warning and "2 hours" in warning
        assert all(name in warning for name in X_OAUTH1)


@pytest.mark.parametrize(("token", "warned"), [
    pytest.param("1708-at-value", False, id="the-polled-accounts-token"),
    pytest.param("4242-at-value", True, id="another-accounts-token"),
    pytest.param("17080-at-value", True, id="an-id-sharing-its-first-digits"),
    pytest.param("at-value-of-no-account", False, id="no-account-in-the-token"),
])
def test_replies_signed_by_another_account_than_the_one_polled_are_a_warning_at_start(token: str,
                                                                                      warned: bool) -> None:
    """An OAuth 1.0a access token is `<user id>-<secret part>`. One of another account posts every reply as that
    account: X puts @lapor1708 before each (the mention answered named it), so the poller reads our replies as
    citizens' mentions (not our own: another author) and answers them, again and again, up to the cap per account
    each hour. Names only: never a value."""
    warnings = settings_warnings(load_settings({**PRODUCTION_SECRETS, **X_ON, **X_OAUTH1,
                                                "LAPOR_X_ACCESS_TOKEN": token}))
    if not warned:
        assert warnings == []
    else:
        (warning,) = warnings
        assert "LAPOR_X_ACCESS_TOKEN" in warning and "LAPOR_X_USER_ID" in warning
        assert not any(value in warning for value in (token, "4242", "17080", "1708 "))


def test_a_command_warns_of_x_replies_with_an_expiring_token_on_stderr() -> None:
    environ = {**os.environ, **PRODUCTION_SECRETS, **X_ON, "LAPOR_X_USER_ACCESS_TOKEN": "token-never-shown",
               "LAPOR_DATA_DIR": "/nonexistent", "REDIS_URL": "redis://127.0.0.1:1/0"}
    done = run_cli(["status", "--json"], environ, cwd=CONFIG_DIR.parent)
    assert json.loads(done.stdout)["overall"] == "down"  # --json is still one document
    assert "warning: X replies are posted with LAPOR_X_USER_ACCESS_TOKEN" in done.stderr
    assert "token-never-shown" not in done.stderr + done.stdout


@pytest.mark.parametrize("broken", ["defaults.toml", "development.toml"])
def test_a_config_file_with_a_syntax_error_is_a_configuration_error_naming_it(
        broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployer's edit that left a config file unparsable (an unclosed `[section`, a value missing) ended every
    command and process on a TOMLDecodeError traceback naming no file. It is a configuration error, exit 2, naming
    the file and the line."""
    from typer.testing import CliRunner

    from gateway.cli import app

    for name in ("defaults.toml", "development.toml"):
        (tmp_path / name).write_text((CONFIG_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    with (tmp_path / broken).open("a", encoding="utf-8") as handle:
        handle.write("\n[http\n")
    with pytest.raises(SettingsError, match=rf"{re.escape(str(tmp_path / broken))} is not valid TOML: .*line"):
        load_settings({"LAPOR_PROFILE": "development"}, config_dir=tmp_path)

    monkeypatch.setattr("gateway.settings.CONFIG_DIR", tmp_path)
    result = CliRunner().invoke(app, ["deadletters", "list"], env={
        "LAPOR_PROFILE": "development", "REDIS_URL": "redis://127.0.0.1:1/0", "COLUMNS": "300"})

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith(f"configuration error: {tmp_path / broken} is not valid TOML"), result.output


@pytest.mark.parametrize(("variable", "value", "said"), [
    pytest.param("LAPOR_PROFILE", "staging", "profile (LAPOR_PROFILE): Input should be 'production' or 'development'",
                 id="unknown-profile"),
    pytest.param("LAPOR_PROFILE", "", "profile (LAPOR_PROFILE)", id="empty-profile"),
    pytest.param("LAPOR_LOGGING_LEVEL", "verbose", "logging.level (LAPOR_LOGGING_LEVEL): Value error, not a log level: "
                 "'verbose'; one of", id="unknown-log-level"),
    pytest.param("LAPOR_LOGGING_LEVEL", "", "logging.level (LAPOR_LOGGING_LEVEL)", id="empty-log-level"),
])
def test_a_command_refuses_a_profile_or_log_level_it_does_not_know_naming_its_variable(
        variable: str, value: str, said: str) -> None:
    """An unknown log level was logged at info without a word (debug lines asked for never came); an unknown
    profile was refused as `profile`, a name no operator sets: the variable is named, as a section's are."""
    environ = {**os.environ, **PRODUCTION_SECRETS, "LAPOR_PROFILE": "development", variable: value,
               "REDIS_URL": "redis://127.0.0.1:1/0", "COLUMNS": "300"}
    done = run_cli(["status"], environ, cwd=CONFIG_DIR.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("configuration error: invalid settings: " + said), done.stdout


@pytest.mark.parametrize("value", ["DEBUG", " warning ", "warn", "Error"])
def test_a_log_level_is_taken_in_any_case(value: str) -> None:
    assert load_settings({**PRODUCTION_SECRETS, "LAPOR_LOGGING_LEVEL": value}).logging.level == value.strip().lower()


@pytest.mark.parametrize("args", [("casestore", "--port", "1"), ("triage", "train", "export.csv"), ("status",)],
                         ids=["casestore", "triage-train", "status"])
@pytest.mark.parametrize(("data_dir", "said"), [("", "empty: set the directory"),
                                                ("{file}", "{file} is not a directory")], ids=["empty", "a-file"])
def test_a_data_dir_that_is_empty_or_a_file_is_refused_naming_its_variable(
        args: tuple[str, ...], data_dir: str, said: str, tmp_path: Path) -> None:
    """LAPOR_DATA_DIR= (empty) was the directory the command ran from, its spool, files and SQLite written there; a
    file there ended `casestore` (FileExistsError) and `triage train` (NotADirectoryError) on a traceback."""
    file = tmp_path / "not-a-directory"
    file.write_text("", encoding="utf-8")
    environ = {**os.environ, "LAPOR_PROFILE": "development", "LAPOR_DATA_DIR": data_dir.format(file=file),
               "REDIS_URL": "redis://127.0.0.1:1/0", "COLUMNS": "300"}
    done = run_cli(list(args), environ, cwd=tmp_path, timeout=20)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "uncaught_exception" not in done.stdout
    assert done.stdout.startswith("configuration error: invalid settings: data_dir (LAPOR_DATA_DIR): Value error, "
                                  + said.format(file=file)), done.stdout
    assert list(tmp_path.iterdir()) == [file]  # nothing written where the command ran


@pytest.mark.parametrize(("variable", "value"), [
    ("LAPOR_PUBLIC_URL", ""),  # every Twilio webhook checked against the signature of its path alone: each one 403
    ("LAPOR_PUBLIC_URL", "lapor.example.go.id"),
    ("LAPOR_CASESTORE_URL", "core.example:8443"),  # every forward job failed until it was dead-lettered
    ("LAPOR_CASESTORE_URL", "https://:token@/"),
    ("LAPOR_X_BASE_URL", "api.twitter.com"),
    ("LAPOR_INSTAGRAM_GRAPH_BASE_URL", "ftp://graph.facebook.com/v21.0"),
    ("LAPOR_AGGREGATOR_SEND_URL", "notaurl"),  # started in production, and every reply SMS failed at its send
    ("LAPOR_AGGREGATOR_SEND_URL", "aggregator.example/cgi-bin/sendsms"),
    ("LAPOR_AGGREGATOR_SEND_URL", "file:///srv/sms"),
])
def test_a_url_that_is_no_http_url_is_refused_naming_its_variable_and_not_quoting_it(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({**PRODUCTION_SECRETS, variable: value})
    assert f"({variable}): Value error, not an http:// or https:// URL with a host" in str(refused.value)
    assert not value or value not in str(refused.value)


@pytest.mark.parametrize(("environ", "taken"), [
    ({}, "http://aggregator.example/cgi-bin/sendsms"),
    ({"LAPOR_AGGREGATOR_SEND_URL": " https://sms.example:13013/cgi-bin/sendsms?smsc=a "},
     "https://sms.example:13013/cgi-bin/sendsms?smsc=a"),
    ({"LAPOR_AGGREGATOR_SEND_URL": "outbox:"}, "outbox:"),  # the local outbox, as in development
    ({"LAPOR_AGGREGATOR_SEND_URL": "", "LAPOR_AGGREGATOR_ENABLED": "false"}, ""),
])
def test_an_aggregator_send_url_that_works_is_taken(environ: dict[str, str], taken: str) -> None:
    assert load_settings({**PRODUCTION_SECRETS, **environ}).aggregator.send_url == taken
    assert load_settings({"LAPOR_PROFILE": "development"}).aggregator.send_url == "outbox:"


def test_an_empty_case_store_url_is_the_local_one() -> None:
    assert load_settings({**PRODUCTION_SECRETS, "LAPOR_CASESTORE_URL": ""}).casestore_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(("variable", "field"), [
    ("LAPOR_PUBLIC_URL", "public_url"),
    ("LAPOR_CASESTORE_URL", "casestore_url"),
])
def test_a_url_is_taken_as_checked_without_the_spaces_around_it(variable: str, field: str) -> None:
    settings = load_settings({**PRODUCTION_SECRETS, variable: " https://lapor.example.go.id \n"})
    assert getattr(settings, field) == "https://lapor.example.go.id"


DEVELOPMENT = {"LAPOR_PROFILE": "development"}


@pytest.mark.parametrize(("moved", "read", "expected"), [
    # Twilio's signature is checked over the public URL: moved alone, every SMS webhook was refused 403.
    ({"LAPOR_HTTP_PORT": "18080"}, lambda s: s.public_url, "http://127.0.0.1:18080"),
    ({"LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": "18090"}, lambda s: s.x.base_url, "http://127.0.0.1:18090/x"),
    ({"LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": "18090"}, lambda s: s.instagram.graph_base_url,
     "http://127.0.0.1:18090/graph/v21.0"),
    ({"LAPOR_CASESTORE_PORT": "18081"}, lambda s: s.casestore_url, "http://127.0.0.1:18081"),
], ids=["public-url", "x-base-url", "graph-base-url", "case-store-url"])
def test_in_development_a_url_of_a_moved_port_follows_it(moved: dict[str, str], read: Any, expected: str) -> None:
    """`LAPOR_HTTP_PORT=18080 make run` checked every Twilio signature over http://127.0.0.1:8080 (each SMS refused
    403), and a moved fake providers' port left the pollers asking the old one."""
    assert read(load_settings({**DEVELOPMENT, **moved})) == expected


@pytest.mark.parametrize(("environ", "read", "expected"), [
    ({"LAPOR_HTTP_PORT": "18080", "LAPOR_PUBLIC_URL": "https://tunnel.example"}, lambda s: s.public_url,
     "https://tunnel.example"),
    ({"LAPOR_HTTP_PORT": "18080", "LAPOR_PUBLIC_URL": "http://127.0.0.1:8080"}, lambda s: s.public_url,
     "http://127.0.0.1:8080"),
    ({"LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": "18090", "LAPOR_X_BASE_URL": "http://127.0.0.1:8090/x"},
     lambda s: (s.x.base_url, s.instagram.graph_base_url),
     ("http://127.0.0.1:8090/x", "http://127.0.0.1:18090/graph/v21.0")),
    ({"LAPOR_CASESTORE_PORT": "18081", "LAPOR_CASESTORE_URL": "http://127.0.0.1:8081"}, lambda s: s.casestore_url,
     "http://127.0.0.1:8081"),
], ids=["public-url-elsewhere", "public-url-the-old-port", "one-base-url-set", "case-store-url"])
def test_a_setting_set_with_its_moved_port_is_kept(environ: dict[str, str], read: Any, expected: Any) -> None:
    assert read(load_settings({**DEVELOPMENT, **environ})) == expected


def test_a_configuration_file_edited_between_two_reads_is_read_as_it_is_now(tmp_path: Path) -> None:
    """Each file is parsed once per content: a process that builds its settings again after the file was edited
    (the same length, within the same clock tick as the first read) gets the edit."""
    defaults = tmp_path / "defaults.toml"
    defaults.write_text((CONFIG_DIR / "defaults.toml").read_text())
    assert load_settings(PRODUCTION_SECRETS, config_dir=tmp_path).http.port == 8080
    defaults.write_text(defaults.read_text().replace("port = 8080", "port = 8090", 1))
    assert load_settings(PRODUCTION_SECRETS, config_dir=tmp_path).http.port == 8090


def test_a_config_file_saved_in_another_encoding_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    """A defaults.toml an editor saved as Latin-1 (an é in a comment) ended every command and process on a
    UnicodeDecodeError traceback naming no file."""
    (tmp_path / "defaults.toml").write_bytes((CONFIG_DIR / "defaults.toml").read_bytes() + "# Cibiru \xe9\n".encode(
        "latin-1"))
    with pytest.raises(SettingsError, match=rf"^{re.escape(str(tmp_path / 'defaults.toml'))} is not UTF-8 text "
                                            r"\(at byte \d+\): save it as UTF-8$"):
        load_settings(PRODUCTION_SECRETS, config_dir=tmp_path)


def test_what_a_caller_does_to_a_configuration_it_read_reaches_no_later_read() -> None:
    """The settings merge the profile's file and the environment into what they read: a shared parse would carry one
    process's environment into the next settings it builds."""
    from gateway.settings import _read_toml

    first = _read_toml(CONFIG_DIR / "defaults.toml")
    first["http"]["port"] = 1
    first.clear()
    assert _read_toml(CONFIG_DIR / "defaults.toml")["http"]["port"] == 8080
    assert load_settings(PRODUCTION_SECRETS).http.port == 8080


def test_in_production_the_public_url_never_follows_the_port() -> None:
    """There it is the real public address (a proxy's), whatever port the gateway listens on behind it."""
    assert load_settings({**PRODUCTION_SECRETS, "LAPOR_HTTP_PORT": "18080"}).public_url == "http://127.0.0.1:8080"


def _development_public_url(config_dir: Path, public_url: str) -> Path:
    """A copy of config/ whose development profile has `public_url` (a top-level key: before its first table)."""
    for name in ("defaults.toml", "development.toml"):
        (config_dir / name).write_text((CONFIG_DIR / name).read_text())
    development = config_dir / "development.toml"
    development.write_text(f'public_url = "{public_url}"\n' + development.read_text())
    return config_dir


@pytest.mark.parametrize("public_url", ["https://lapor.example.go.id", "http://192.0.2.7:8080",
                                        "http://127.0.0.1:8081", "http://127.0.0.1"])
def test_a_configured_url_that_names_no_port_of_this_machines_is_kept(tmp_path: Path, public_url: str) -> None:
    """Only a URL of `make run`'s own processes follows: the moved port, as configured, on loopback."""
    settings = load_settings({**DEVELOPMENT, "LAPOR_HTTP_PORT": "18080"},
                             config_dir=_development_public_url(tmp_path, public_url))
    assert settings.public_url == public_url


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "[::1]"])
def test_a_loopback_url_by_any_name_follows_keeping_the_rest(tmp_path: Path, host: str) -> None:
    settings = load_settings({**DEVELOPMENT, "LAPOR_HTTP_PORT": "18080"},
                             config_dir=_development_public_url(tmp_path, f"http://user:pw@{host}:8080/lapor?a=1"))
    assert settings.public_url == f"http://user:pw@{host}:18080/lapor?a=1"


@pytest.mark.parametrize(("environ", "port_name", "said"), [
    (DEVELOPMENT, "LAPOR_HTTP_PORT", " (LAPOR_PUBLIC_URL follows it)"),
    ({**DEVELOPMENT, "LAPOR_HTTP_PORT": "18080"}, "LAPOR_HTTP_PORT", " (LAPOR_PUBLIC_URL follows it)"),
    ({**DEVELOPMENT, "LAPOR_PUBLIC_URL": "http://127.0.0.1:8080"}, "LAPOR_HTTP_PORT",
     " together with LAPOR_PUBLIC_URL"),
    (DEVELOPMENT, "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT",
     " (LAPOR_X_BASE_URL and LAPOR_INSTAGRAM_GRAPH_BASE_URL follow it)"),
    ({**DEVELOPMENT, "LAPOR_X_BASE_URL": "http://127.0.0.1:8090/x"}, "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT",
     " together with LAPOR_X_BASE_URL (LAPOR_INSTAGRAM_GRAPH_BASE_URL follows it)"),
    (PRODUCTION_SECRETS, "LAPOR_HTTP_PORT", " together with LAPOR_PUBLIC_URL"),
    (DEVELOPMENT, "LAPOR_CASESTORE_PORT", ""),
], ids=["development", "development-moved", "public-url-set", "fake-providers", "one-base-url-set", "production",
        "no-url-names-it"])
def test_a_taken_port_says_which_settings_to_move_with_it_and_which_follow(
        environ: dict[str, str], port_name: str, said: str) -> None:
    from gateway.settings import moved_with

    assert moved_with(port_name, load_settings(environ), environ) == said


@pytest.mark.parametrize(("environ", "followed"), [
    ({**DEVELOPMENT, "LAPOR_HTTP_PORT": "18080"}, [("LAPOR_PUBLIC_URL", "LAPOR_HTTP_PORT", 18080)]),
    ({**DEVELOPMENT, "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT": "18090", "LAPOR_X_BASE_URL": "http://127.0.0.1:8090/x"},
     [("LAPOR_INSTAGRAM_GRAPH_BASE_URL", "LAPOR_SOCIAL_FAKE_PROVIDERS_PORT", 18090)]),
    ({**DEVELOPMENT, "LAPOR_HTTP_PORT": "18080", "LAPOR_PUBLIC_URL": "http://127.0.0.1:18080"}, []),
    (DEVELOPMENT, []),
    ({**PRODUCTION_SECRETS, "LAPOR_HTTP_PORT": "18080"}, []),
], ids=["public-url", "one-base-url-set", "public-url-set", "nothing-moved", "production"])
def test_the_urls_that_followed_a_moved_port_are_named(environ: dict[str, str],
                                                       followed: list[tuple[str, str, int]]) -> None:
    from gateway.settings import followed_ports

    assert followed_ports(load_settings(environ), environ) == followed


def test_every_setting_moved_with_a_port_is_read_where_its_variable_sets_it() -> None:
    """A place that names another key than its variable's would move (or read) a setting nobody set."""
    from gateway.settings import _PLACES, MOVED_TOGETHER

    named = {name for port_name, names in MOVED_TOGETHER.items() for name in (port_name, *names)}
    assert set(_PLACES) == named
    assert all(env_name(*place) == name for name, place in _PLACES.items())
    raw = tomllib.loads((CONFIG_DIR / "defaults.toml").read_text())
    assert all((raw[key] if section is None else raw[section][key]) is not None for section, key in _PLACES.values())
