"""A small IMAP4rev1 server for tests (loopback only): LOGIN, SELECT, STATUS, UID SEARCH, UID FETCH (the mails, or
their RFC822.SIZE alone), LOGOUT.

Just enough of RFC 3501 for imaplib/imap-tools, including the quirk that `UID n:*` also matches the highest
UID when it is below n, which a poller must filter out. Each message has an INTERNALDATE (`dates`, else the time the
mailbox was made), which SEARCH's SINCE and BEFORE compare by its day alone, in its own time zone, as RFC 3501 says.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime


@dataclass
class FakeMailbox:
    user: str = "lapor"
    password: str = "imap-secret"
    uidvalidity: int = 1700
    messages: dict[int, bytes] = field(default_factory=dict)
    dates: dict[int, datetime] = field(default_factory=dict)  # INTERNALDATE by UID
    commands: list[str] = field(default_factory=list)
    made_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def internal_date(self, uid: int) -> datetime:
        return self.dates.get(uid, self.made_at)

    def renumber(self, uidvalidity: int, order: list[int] | None = None) -> None:
        """What a migration or an index rebuild does: a new UIDVALIDITY, the same mails (dates kept) from UID 1, in
        the order of their old UIDs or in `order` (old UIDs; a migration may copy them in another)."""
        order = order or sorted(self.messages)
        self.uidvalidity = uidvalidity
        self.dates = {new: self.internal_date(old) for new, old in enumerate(order, 1)}
        self.messages = {new: self.messages[old] for new, old in enumerate(order, 1)}

    def uids_in(self, low: int, high: str) -> list[int]:
        uids = sorted(self.messages)
        if not uids:
            return []
        top = uids[-1] if high == "*" else int(high)
        low, top = min(low, top), max(low, top)
        return [uid for uid in uids if low <= uid <= top]


def _handler(mailbox: FakeMailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: str | bytes) -> None:
            self.wfile.write(line if isinstance(line, bytes) else line.encode() + b"\r\n")

        def handle(self) -> None:
            self.send("* OK [CAPABILITY IMAP4rev1] fake IMAP ready")
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                mailbox.commands.append(line)
                tag, _, rest = line.partition(" ")
                if not self.dispatch(tag, rest):
                    return

        def dispatch(self, tag: str, rest: str) -> bool:
            command = rest.split(" ", 1)[0].upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
            elif command == "LOGIN":
                user, password = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', rest.split(" ", 1)[1])[:2]
                if (user[0] or user[1]) != mailbox.user or (password[0] or password[1]) != mailbox.password:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
                    return True
            elif command in ("SELECT", "EXAMINE"):
                self.send(f"* {len(mailbox.messages)} EXISTS")
                self.send("* 0 RECENT")
                self.send(f"* OK [UIDVALIDITY {mailbox.uidvalidity}] UIDs valid")
                self.send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
                self.send(f"{tag} OK [READ-WRITE] {command} completed")
                return True
            elif command == "STATUS":
                self.send(f'* STATUS "INBOX" (UIDVALIDITY {mailbox.uidvalidity})')
            elif command == "UID":
                self.uid(tag, rest.split(" ", 1)[1])
                return True
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return False
            elif command != "NOOP":
                self.send(f"{tag} BAD unknown command")
                return True
            self.send(f"{tag} OK {command} completed")
            return True

        def uid(self, tag: str, rest: str) -> None:
            sub, _, args = rest.partition(" ")
            if sub.upper() == "SEARCH":
                match = re.search(r"UID (\d+):(\*|\d+)", args)
                found = mailbox.uids_in(int(match.group(1)), match.group(2)) if match else sorted(mailbox.messages)
                since, before = _search_date(args, "SINCE"), _search_date(args, "BEFORE")
                found = [uid for uid in found if (since is None or mailbox.internal_date(uid).date() >= since)
                         and (before is None or mailbox.internal_date(uid).date() < before)]
                self.send("* SEARCH" + "".join(f" {uid}" for uid in found))
            elif sub.upper() == "FETCH":
                wanted = [int(uid) for uid in args.split(" ", 1)[0].split(",") if uid.isdigit()]
                ordered = sorted(mailbox.messages)
                for uid in wanted:
                    raw = mailbox.messages.get(uid)
                    if raw is None:
                        continue
                    sequence = ordered.index(uid) + 1
                    if "BODY" not in args.upper():  # the sizes alone
                        self.send(f"* {sequence} FETCH (UID {uid} RFC822.SIZE {len(raw)})")
                        continue
                    self.send(f"* {sequence} FETCH (UID {uid} FLAGS () RFC822.SIZE {len(raw)} BODY[] {{{len(raw)}}}"
                              .encode() + b"\r\n" + raw + b")\r\n")
            self.send(f"{tag} OK UID {sub} completed")

    return Handler


def _search_date(args: str, key: str) -> date | None:
    """The date of a SEARCH key (`SINCE 5-Jan-2024`), or None when the search has none."""
    match = re.search(rf"{key} (\d{{1,2}})-([A-Za-z]{{3}})-(\d{{4}})", args)
    if match is None:
        return None
    month = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    return date(int(match.group(3)), month.index(match.group(2).lower()) + 1, int(match.group(1)))


class FakeImapServer:
    def __init__(self, mailbox: FakeMailbox) -> None:
        self.mailbox = mailbox
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(mailbox))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> FakeImapServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
