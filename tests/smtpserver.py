"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK"


def self_signed_context() -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "storywatch test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_file, "wb") as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as out:
            out.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
    return context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """``with SmtpServer() as smtp:`` ... ``smtp.received``; ``stop()``/``start()`` take it down
    and bring it back on the same port (SMTP down, then up)."""

    def __init__(self, login: tuple[str, str] | None = None, tls: str | None = None) -> None:
        """``tls``: None (clear text), "starttls" (required before MAIL) or "ssl" (implicit)."""
        self.port = free_port()
        self.handler = _Handler()
        self._login = login
        self._tls = tls
        self._context = self_signed_context() if tls else None
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def env(self, security: str = "none") -> dict[str, str]:
        """STORYWATCH_SMTP_* pointing at this server."""
        env = {
            "STORYWATCH_SMTP_HOST": "127.0.0.1",
            "STORYWATCH_SMTP_PORT": str(self.port),
            "STORYWATCH_SMTP_SECURITY": security,
        }
        if self._login:
            env["STORYWATCH_SMTP_USERNAME"], env["STORYWATCH_SMTP_PASSWORD"] = self._login
        return env

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any):
        ok = (
            self._login is not None and (auth.login.decode(), auth.password.decode()) == self._login
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself

    def start(self) -> None:
        extra: dict[str, Any] = {}
        if self._login:
            extra = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        if self._tls == "starttls":
            extra.update(tls_context=self._context, require_starttls=True)
        elif self._tls == "ssl":
            extra.update(ssl_context=self._context)
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **extra)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
