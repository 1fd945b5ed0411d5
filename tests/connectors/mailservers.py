"""Real mail servers for the email connector's tests: Dovecot (IMAP + LMTP) and aiosmtpd (SMTP).

Why real servers: what the connector must get right (UIDVALIDITY, UIDs, SPECIAL-USE folders, APPEND, IDLE,
the threading headers a customer's mail client reads) is the servers' behaviour, which a mock would only
restate. Dovecot runs as an unprivileged instance (its own config, run directory and maildirs in a temp dir,
a password per mailbox, loopback ports); when the tests run as root it runs as `nobody`. The SMTP server
accepts any sender and hands each mail to Dovecot over LMTP, so a mail Hubbub sends lands in the
recipient's mailbox and is read back over IMAP as the customer's client would.

Without Dovecot or aiosmtpd the tests skip with the reason; `HUBBUB_REQUIRE_SERVICES=1` (CI) makes them fail.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_DEADLINE_SECONDS = 60.0  # a loaded 2-core machine can take long to fork Dovecot's processes
HOST = "127.0.0.1"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
postmaster_address = postmaster@hubbub.test
hostname = mail.hubbub.test
passdb {{
  driver = static
  args = password={password_prefix}%u
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    auto = create
    special_use = \\Sent
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0600
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


def unavailable(reason: str) -> None:
    """Skip on a laptop without the servers; fail in CI, where they are mandatory."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (HUBBUB_REQUIRE_SERVICES=1 makes the email tests mandatory)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server accepts connections, or report why it did not (its log)."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    text = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise RuntimeError(f"Dovecot did not start on port {port} (exit {proc.poll()}):\n{text[-3000:]}")


@dataclass
class Dovecot:
    """One running test instance. Every address has a mailbox, whose password is `password_prefix` + the
    address (a static passdb: a passwd-file is re-read only a while after it changes, which made a mailbox
    added a moment ago refuse its login); `users` are the mailboxes the tests made, which the SMTP server
    accepts mail for."""

    root: Path
    imap_port: int
    lmtp_port: int
    uid: int
    gid: int
    password_prefix: str
    users: dict[str, str] = field(default_factory=dict)

    def add_user(self, local: str, domain: str = "hubbub.test") -> tuple[str, str]:
        """A new mailbox and its password, usable at once."""
        address = f"{local}-{uuid.uuid4().hex[:8]}@{domain}"
        self.users[address] = self.password_prefix + address
        return address, self.users[address]

    def credentials(self, address: str, **extra: Any) -> dict[str, Any]:
        """A channel's credentials for this mailbox, sending through `smtp_port` (the test SMTP server)."""
        return {
            "imap_host": HOST,
            "imap_port": self.imap_port,
            "username": address,
            "password": self.users[address],
            "address": address,
            "tls": "none",
            **extra,
        }

    def deliver(self, message: EmailMessage | bytes, recipient: str) -> None:
        """Put a mail in a mailbox the way a mail server would (LMTP), bytes as they are."""
        raw = message.as_bytes() if isinstance(message, EmailMessage) else message
        with smtplib.LMTP(HOST, self.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail("sender@elsewhere.test", [recipient], raw)


def _run_as() -> tuple[int, int, str, str]:
    """Root runs the instance as `nobody`; anyone else as themselves (Dovecot needs no privilege then)."""
    import grp
    import pwd

    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
    else:
        user = pwd.getpwuid(os.geteuid())
    return user.pw_uid, user.pw_gid, user.pw_name, grp.getgrgid(user.pw_gid).gr_name


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@contextmanager
def running_dovecot(extra_config: str = "") -> Iterator[Dovecot]:
    """A Dovecot instance of its own, `extra_config` appended to the configuration (e.g. a capability list)."""
    if not os.path.exists(DOVECOT):
        unavailable("Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
    uid, gid, user, group = _run_as()
    root = Path(tempfile.mkdtemp(prefix="hubbub-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    for path in [root, *root.iterdir()]:
        os.chown(path, uid, gid)
    imap_port, lmtp_port = free_port(), free_port()
    conf = root / "dovecot.conf"
    prefix = f"pw-{uuid.uuid4().hex[:12]}-"
    conf.write_text(
        CONFIG.format(
            root=root, user=user, group=group, imap_port=imap_port, lmtp_port=lmtp_port, password_prefix=prefix
        )
        + extra_config
    )
    server = Dovecot(root, imap_port, lmtp_port, uid, gid, prefix)
    as_user: dict[str, Any] = {"user": uid, "group": gid} if os.geteuid() == 0 else {}
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], cwd=root, stdin=subprocess.DEVNULL, **as_user)
    try:
        wait_for_port(imap_port, proc, root / "dovecot.log")
        wait_for_port(lmtp_port, proc, root / "dovecot.log")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


class LmtpRelay:
    """aiosmtpd handler: every mail accepted over SMTP is delivered to its recipients through Dovecot's LMTP.
    A recipient without a mailbox is refused with 550, as a real server would."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server
        self.received: list[bytes] = []
        self.busy: set[str] = set()  # recipients answered "451 try again later", as a greylisting server does

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.busy:
            return f"451 4.7.1 <{address}>: greylisted, try again later"
        if address not in self.server.users:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.received.append(raw)
        for rcpt in envelope.rcpt_tos:
            self.server.deliver(raw, rcpt)
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    relay: LmtpRelay


@pytest.fixture(scope="session")
def smtp_server(dovecot: Dovecot) -> Iterator[SmtpServer]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        unavailable("aiosmtpd is not installed (pip install -e '.[dev]')")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """The mailbox's own password, as a provider's submission server would check it."""
        ok = isinstance(data, LoginPassword) and dovecot.users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    relay = LmtpRelay(dovecot)
    port = free_port()
    controller = Controller(
        relay,
        hostname=HOST,
        port=port,
        ready_timeout=START_DEADLINE_SECONDS,
        authenticator=authenticate,
        auth_require_tls=False,  # loopback only; the connector's STARTTLS path needs a certificate we do not make
    )
    controller.start()
    try:
        yield SmtpServer(port, relay)
    finally:
        controller.stop()
