"""The operators' tables (`config/replies.toml`, `keywords.toml`, `identity.toml`, `email.toml`) are loaded as a process
starts.

They were read on first use: a syntax error or a missing key left by an edit started `serve`, `smtp`, `pollers` and
`worker` healthy, each then failing every message it took. Each refuses to start as it does a broken
`defaults.toml`: one line naming the file and what is wrong, exit 2, before it listens or takes a job.

The processes run as the console script runs them, in a process of their own, with the config directory a copy of
the release's with one table broken (gateway.settings.CONFIG_DIR set before the gateway's modules are imported: the
tables' paths are read from it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from itertools import cycle
from pathlib import Path

import pytest

from gateway.settings import CONFIG_DIR, SettingsError
from gateway.tables import IDENTITY_REQUIRED, REPLY_FIELDS, REPLY_KEYS, STATUS_NAMES, check_tables
from tests.conftest import REPO_ROOT, TestEnvironment

# The console script's `main`, with the config directory of argv[1].
_RUN = """
import sys
from pathlib import Path

import gateway.settings

gateway.settings.CONFIG_DIR = Path(sys.argv[1])
sys.argv = ["lapor-gateway", *sys.argv[2:]]
from gateway.cli import main

main()
"""


def _replace(name: str, old: str, new: str) -> tuple[str, str, str]:
    """A table's `old` text (a section's header as its own line: a comment naming the section, "`[commands]
    follow_up`", was broken instead and the table loaded whole) replaced by `new`."""
    return name, old, new


# What is broken: the file, a text of it replaced, and what the refusal says after the file's name.
BROKEN = {
    "replies syntax": (_replace("replies.toml", "\n[status_help]\n", "\n[status_help\n"), " is not valid TOML: "),
    "replies key missing": (_replace("replies.toml", "\n[status_help]\n", "\n[status_hepl]\n"),
                            ": reply [status_help] is missing"),
    "keywords syntax": (_replace("keywords.toml", "\n[commands]\n", "\n[commands\n"), " is not valid TOML: "),
    "keywords section missing": (_replace("keywords.toml", "\n[language]\n", "\n[languages]\n"),
                                 ": section [language] is missing"),
    "identity syntax": (_replace("identity.toml", "\n[closings]\n", "\nclosings = [\n"), " is not valid TOML: "),
    # An editor's Latin-1 save: a lone byte 0xE9 (an é), written through surrogateescape.
    "keywords not UTF-8": (_replace("keywords.toml", "\n[commands]\n", "\n# Cibiru \udce9\n[commands]\n"),
                           " is not UTF-8 text (at byte "),
}


def _broken_config(tmp_path: Path, broken: str) -> tuple[Path, str]:
    (name, old, new), said = BROKEN[broken]
    return _config_with(tmp_path, name, old, new), said


def _config_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the release's config directory with the table `name`'s `old` text replaced by `new` (a lone
    surrogate in `new` written as the byte it stands for): the table's path."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / name).read_text(encoding="utf-8")
    assert old in text
    (config / name).write_bytes(text.replace(old, new, 1).encode("utf-8", errors="surrogateescape"))
    return config / name


def _run(config: Path, args: list[str], env: dict[str, str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """The command with `config` as its config directory; one still running after `timeout` (it started, listening
    or taking jobs) is stopped and fails the test."""
    process = subprocess.Popen([sys.executable, "-c", _RUN, str(config), *args], env=env, cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"`{' '.join(args)}` started with a broken table:\n{stdout}{stderr}")
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


# Each process with a broken table, and each way of breaking one, once: the tables are read by one loader whatever
# the process, and every pair of the two (twenty processes started, a second of CPU each) said nothing more.
_PROCESSES = {"serve": ["serve"], "smtp": ["smtp"], "pollers": ["pollers"], "worker": ["worker", "--burst"]}


@pytest.mark.parametrize(("broken", "args"), [
    pytest.param(broken, args, id=f"{broken}-{name}")
    for broken, (name, args) in zip(BROKEN, cycle(_PROCESSES.items()), strict=False)])
def test_a_process_refuses_to_start_on_a_broken_table_naming_the_file(
        broken: str, args: list[str], test_env: TestEnvironment, tmp_path: Path) -> None:
    path, said = _broken_config(tmp_path, broken)

    result = _run(path.parent, args, test_env.process_env(COLUMNS="300", LAPOR_EMAIL_ENABLED="true"))

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "uncaught_exception" not in output, output
    assert result.stdout.splitlines()[-1].startswith(f"configuration error: {path}{said}"), output
    assert ".listening" not in output and "worker.starting" not in output, output
    assert '.refused_to_start"' in result.stdout and '"configuration_error"' in result.stdout, output


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_status_says_a_broken_table(as_json: bool, test_env: TestEnvironment, tmp_path: Path) -> None:
    """`status` answered for the channels while every message failed."""
    path, said = _broken_config(tmp_path, "replies syntax")

    result = _run(path.parent, ["status", *(["--json"] if as_json else [])], test_env.process_env(COLUMNS="300"))

    assert result.returncode == 2, result.stdout + result.stderr
    reason = json.loads(result.stdout)["reason"] if as_json else result.stdout.splitlines()[-1]
    assert reason.startswith(f"configuration error: {path}{said}"), reason
    assert "(at line " in reason, reason


def test_the_release_tables_pass_and_every_reply_of_the_release_is_checked() -> None:
    check_tables()
    import tomllib

    shipped = tomllib.loads((CONFIG_DIR / "replies.toml").read_text(encoding="utf-8"))
    assert set(shipped) == {*REPLY_KEYS, STATUS_NAMES}
    # each text fills with what the code gives it, and holds no brace after that
    for key, fields in REPLY_FIELDS.items():
        for language in ("id", "en"):
            text = shipped[key][language]
            text = text if fields is None else text.format(**dict.fromkeys(fields, "12345671"))
            assert "{" not in text and "}" not in text, (key, language, text)


@pytest.mark.parametrize(("name", "old", "new", "said"), [
    ("replies.toml", 'en = "LAPOR! Your report was received', 'fr = "LAPOR! Your report was received',
     "reply [ack] has no text in en"),
    ("replies.toml", "[status_names.en]", "[status_names.fr]", "[status_names] has no table in en"),
    ("keywords.toml", "\nhelp = [", "\nhelpp = [", "[commands] help is missing"),
    ("identity.toml", "[own_contact]", "[own_contacts]", "section [own_contact] is missing"),
    ("keywords.toml", "[kinds]", "kinds = 5\n[kinds_]", "section [kinds] is not a table"),
    ("identity.toml", "[closings]\nphrases = [", "[closings]\nphrases = 5\nformer = [", "cannot be used: TypeError"),
    # a placeholder the code does not fill raised KeyError at every message needing the text; one left open ValueError
    ("replies.toml", "Nomor lacak: {tracking_id}. Cek status", "Nomor lacak: {nomor_lacak}. Cek status",
     "reply [ack] in id: placeholder {nomor_lacak} is not filled in (it may hold: {tracking_id})"),
    ("replies.toml", "Tracking ID: {tracking_id}. For its status", "Tracking ID: {tracking_id. For its status",
     "reply [ack] in en: unexpected '{' in field name (a literal brace is written twice"),
    ("replies.toml", 'en = "Mention @lapor1708 with your', 'en = "Mention @lapor1708 with report {tracking_id}',
     "reply [social_help] in en: placeholder {tracking_id} is not filled in (it may hold: {ref})"),
    # a former text the grammar reads back: checked as the current one, a list of texts per language
    ("replies.toml", "[status_unknown.former]\nid = [", "[status_unknown.former]\nid = [\"{nomor}\", ",
     "reply [status_unknown.former] in id: placeholder {nomor} is not filled in (it may hold: {tracking_id})"),
    ("replies.toml", "[status_unknown.former]\nid = [", "[status_unknown.former]\nfr = [\"x\"]\nid = [",
     "reply [status_unknown.former] must hold a list of texts for each of id, en at most"),
    # one naming no report, or left blank: read back, the grammar could not tell which report it names, and raised
    ("replies.toml", "[status_unknown.former]\nid = [", "[status_unknown.former]\nid = [\"\", ",
     "reply [status_unknown.former] in id: '' names no report (it holds none of {tracking_id})"),
    ("replies.toml", "[status_unknown.former]\nid = [", "[status_unknown.former]\nid = [\"LAPOR! Tidak ada.\", ",
     "reply [status_unknown.former] in id: 'LAPOR! Tidak ada.' names no report (it holds none of {tracking_id})"),
    # the e-mail guards' subject openings (an autoresponder's, a calendar's answer): read by every mail's guards
    ("email.toml", "[calendar_reply_subjects]", "[calendar_replies]", "section [calendar_reply_subjects] is missing"),
    ("email.toml", "[autoreply_subjects]\nprefixes = [", "[autoreply_subjects]\nprefixes = 5\nformer = [",
     "cannot be used: TypeError"),
    # an opening left blank matches every subject: every answer to our replies would be dropped as an autoreply
    ("email.toml", '[autoreply_subjects]\nprefixes = [', '[autoreply_subjects]\nprefixes = [" ", ',
     "cannot be used: ValueError: an empty subject opening"),
    # the machine notices' and senders' words: a section gone, a text that is nothing but "...", an address
    ("email.toml", "[noreply_senders]", "[noreply]", "section [noreply_senders] is missing"),
    ("email.toml", '[recall]\nsubjects = ["Recall:"]\ntexts = [', '[recall]\nsubjects = ["Recall:"]\ntexts = ["...", ',
     "cannot be used: ValueError: an empty phrase"),
    ("email.toml", 'senders = ["postmaster"', 'senders = ["postmaster@example.net"',
     "cannot be used: ValueError: [bounce] senders: a local part is one word"),
    # a blank bounce name is every nameless sender's, a blank opening every text's: one sign of a bounce on each mail
    ("email.toml", 'names = ["Mail Delivery System"', 'names = [" ", "Mail Delivery System"',
     "cannot be used: ValueError: [bounce] names: a blank entry"),
    ("email.toml", 'openings = [\n', 'openings = [\n    "",\n',
     "cannot be used: ValueError: [bounce] openings: a blank entry"),
], ids=["reply-language", "status-names", "grammar-key", "identity-section", "grammar-kind", "identity-value",
        "reply-placeholder", "reply-brace-open", "reply-placeholder-not-given", "former-placeholder",
        "former-language", "former-blank", "former-naming-no-report", "email-section", "email-value",
        "email-blank-opening", "email-noreply-section", "email-blank-text", "email-sender-address",
        "email-blank-bounce-name", "email-blank-bounce-opening"])
def test_each_table_problem_is_said_naming_the_file(name: str, old: str, new: str, said: str, tmp_path: Path) -> None:
    config = _config_with(tmp_path, name, old, new).parent

    with pytest.raises(SettingsError) as refused:
        check_tables(config)

    assert str(refused.value).startswith(f"{config / name}"), refused.value
    assert said in str(refused.value), refused.value


def test_every_key_of_the_identity_table_is_a_required_one() -> None:
    """Each key the release's identity.toml holds is one a process checks for at start (`IDENTITY_REQUIRED`): a word
    set read from it and left out of the check failed as `KeyError` on loading, not as the key missing."""
    import tomllib

    shipped = tomllib.loads((CONFIG_DIR / "identity.toml").read_text(encoding="utf-8"))
    held = {(section, key) for section, table in shipped.items() for key in table}
    assert held == {(section, key) for section, keys in IDENTITY_REQUIRED.items() for key in keys}


def _identity_without(section: str, key: str) -> tuple[str, str]:
    """The text of the release's identity.toml from `[section]` to `key`'s line, and the same with the key renamed."""
    text = (CONFIG_DIR / "identity.toml").read_text(encoding="utf-8")
    start = text.index(f"\n[{section}]\n")
    end = text.find("\n[", start + 1)
    at = text.index(f"\n{key} = ", start, end if end >= 0 else len(text))
    return text[start:at + len(key) + 4], text[start:at] + f"\nformer_{key} = "


@pytest.mark.parametrize(("section", "key"), [(section, key) for section, keys in IDENTITY_REQUIRED.items()
                                              for key in keys])
def test_each_identity_key_left_out_is_refused_naming_it(section: str, key: str, tmp_path: Path) -> None:
    config = _config_with(tmp_path, "identity.toml", *_identity_without(section, key)).parent

    with pytest.raises(SettingsError) as refused:
        check_tables(config)

    assert str(refused.value).startswith(f"{config / 'identity.toml'}: [{section}] {key} is missing"), refused.value


def test_an_email_table_customised_before_bounce_names_and_openings_is_read_without_them(tmp_path: Path) -> None:
    """`[bounce] names` and `openings` came after the rest of the table: an operator's own config/email.toml from the
    release before lacks them, and every process refused to start at the upgrade. They are read as empty (the signs
    they give unknown); a blank entry in them is still refused (`email-blank-bounce-name` above)."""
    from channels.email.machine_words import load_machine_words

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "email.toml").read_text(encoding="utf-8")
    start = text.index("# The names bounces are sent under")
    before = text[:start] + text[text.index("# The senders that read no answer"):]
    assert "names =" not in before and "openings =" not in before and "[bounce]" in before
    (config / "email.toml").write_text(before, encoding="utf-8")

    check_tables(config)
    words = load_machine_words(config / "email.toml")
    assert words.bounce_names == frozenset() and words.bounce_openings == ()
    assert "postmaster" in words.bounce_senders


def test_a_mark_written_into_a_report_as_it_stands_may_hold_braces(tmp_path: Path) -> None:
    """`[report_reporter_handle]` and the other marks are written as they stand, never filled in: a brace there is
    the operator's own, not a placeholder to refuse (nor one to double, which would show twice)."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "replies.toml").read_text(encoding="utf-8")
    marked = text.replace('[report_reporter_handle]\nid = "pelapor"', '[report_reporter_handle]\nid = "{pelapor}"', 1)
    assert marked != text
    (config / "replies.toml").write_text(marked, encoding="utf-8")

    check_tables(config)


@pytest.mark.parametrize("args", [["triage", "show", "Jalan rusak di Kab. Bandung", "--json"],
                                  ["triage", "show", "Jalan rusak di Kab. Bandung"], ["triage", "evaluate"]],
                         ids=["show-json", "show", "evaluate"])
def test_triage_says_a_triage_table_it_cannot_read(args: list[str], test_env: TestEnvironment,
                                                   tmp_path: Path) -> None:
    """A Latin-1 save of config/triage/spam.toml ended `triage` on a UnicodeDecodeError traceback naming no file."""
    path = _config_with(tmp_path, "triage/spam.toml", "[[rules]]\n", "# hadiah \udce9\n[[rules]]\n")

    result = _run(path.parent.parent, args, test_env.process_env(COLUMNS="300"), timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    said = f"configuration error: {path} is not UTF-8 text (at byte "
    reason = json.loads(result.stdout)["reason"] if "--json" in args else result.stdout.splitlines()[-1]
    assert reason.startswith(said), output
