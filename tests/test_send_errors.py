"""SMTP failures as users read them: real servers on 127.0.0.1 (aiosmtpd), each failure worded
with the server's host:port and, where it helps, the setting to change. Delivery-level cases
(refused connection, bad login, STARTTLS, certificates, a hung server) are in test_send.py."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from storywatch.digest.errors import SmtpFailure, describe_smtp_failure
from storywatch.digest.send import send_message
from storywatch.digest.smtp import SmtpSettings
from tests.smtpserver import SmtpServer, free_port

MESSAGE = "From: sw@example.org\nTo: gone@example.org\nSubject: test\n\nhello\n"


def failure_of(settings: SmtpSettings) -> SmtpFailure:
    with pytest.raises(OSError) as info:  # smtplib's errors are OSErrors too
        send_message(settings, MESSAGE)
    return describe_smtp_failure(info.value, settings)


@pytest.fixture
def plain() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_implicit_tls_against_a_plain_server_points_at_security_none(plain: SmtpServer) -> None:
    failure = failure_of(SmtpSettings("127.0.0.1", plain.port, "ssl", timeout=5))
    assert failure == SmtpFailure(
        f"TLS handshake with SMTP server 127.0.0.1:{plain.port} failed (wrong version number); "
        "a plain local catcher needs STORYWATCH_SMTP_SECURITY=none",
        whole_server=True,
    )


def test_a_username_for_a_server_without_login_names_the_setting(plain: SmtpServer) -> None:
    settings = SmtpSettings("127.0.0.1", plain.port, "none", username="sw", password="x")
    assert failure_of(settings) == SmtpFailure(
        f"SMTP server 127.0.0.1:{plain.port} offers no login (AUTH), "
        "but STORYWATCH_SMTP_USERNAME is set",
        whole_server=True,
    )


class _RefuseGone:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == "gone@example.org":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_is_that_message_s_failure_not_the_server_s() -> None:
    port = free_port()
    controller = Controller(_RefuseGone(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        failure = failure_of(SmtpSettings("127.0.0.1", port, "none", timeout=5))
    finally:
        controller.stop()
    assert failure == SmtpFailure(
        f"SMTP server 127.0.0.1:{port} refused the recipient gone@example.org "
        "(550 5.1.1 no such mailbox)",
        whole_server=False,  # the pass goes on with the server's other recipients
    )


def test_a_refused_sender_and_a_refused_message_keep_the_server_usable() -> None:
    settings = SmtpSettings("mail.example", 25, "none")
    sender = smtplib.SMTPSenderRefused(553, b"5.7.1 not yours", "sw@example.org")
    data = smtplib.SMTPDataError(554, b"5.6.0 rejected")
    assert describe_smtp_failure(sender, settings) == SmtpFailure(
        "SMTP server mail.example:25 refused the sender sw@example.org (553 5.7.1 not yours)",
        whole_server=False,
    )
    assert describe_smtp_failure(data, settings) == SmtpFailure(
        "SMTP server mail.example:25 refused the message (554 5.6.0 rejected)",
        whole_server=False,
    )
