"""SMTP failures: the one function that words them, in the tone of ``fetch.errors``.

``describe_smtp_failure`` maps what ``smtplib``, ``ssl`` and the socket layer raise to a message
naming the server, and says whether the failure is the server's as a whole (connection, TLS,
login: every recipient would fail the same way, so the send stage stops trying that server for
the pass) or this one message's (a refused recipient, sender or body). Nothing here does I/O.

    OSError
    ├── ssl.SSLCertVerificationError   server       certificate not trusted
    ├── ssl.SSLError                   server       TLS handshake failed
    ├── socket.gaierror                server       DNS lookup failed
    ├── ConnectionRefusedError         server       connection refused
    ├── TimeoutError                   server       no answer within the timeout
    └── anything else                  server       cannot connect
    smtplib.SMTPException
    ├── SMTPServerDisconnected         server       closed, or timed out (a TimeoutError inside)
    ├── SMTPNotSupportedError          server       no STARTTLS / no AUTH offered
    ├── SMTPAuthenticationError        server       login refused
    ├── SMTPConnectError, SMTPHeloError  server     refused the session
    ├── SMTPRecipientsRefused          message      recipient refused
    ├── SMTPSenderRefused              message      sender refused
    └── SMTPResponseException          message      any other refusal (e.g. DATA)
    UnicodeError                       message      cannot be encoded for SMTP
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, TypeVar

if TYPE_CHECKING:
    from storywatch.digest.smtp import SmtpSettings

_E = TypeVar("_E", bound=BaseException)
_PLAIN_HINT = "a plain local catcher needs STORYWATCH_SMTP_SECURITY=none"


class SmtpFailure(NamedTuple):
    message: str
    whole_server: bool  # the server cannot take any message now: skip it for this pass


def describe_smtp_failure(exc: BaseException, smtp: SmtpSettings) -> SmtpFailure:
    """The one place that turns an SMTP failure into a message a user understands."""
    server = f"SMTP server {smtp.host}:{smtp.port}"
    match exc:
        case smtplib.SMTPRecipientsRefused(recipients=refused):
            who = ", ".join(f"{addr} ({_reply(*reply)})" for addr, reply in refused.items())
            return SmtpFailure(f"{server} refused the recipient {who}", False)
        case smtplib.SMTPSenderRefused(smtp_code=code, smtp_error=text, sender=sender):
            return SmtpFailure(
                f"{server} refused the sender {sender} ({_reply(code, text)})", False
            )
        case smtplib.SMTPAuthenticationError(smtp_code=code, smtp_error=text):
            return SmtpFailure(
                f"{server} refused the login of {smtp.username} ({_reply(code, text)}): "
                "check STORYWATCH_SMTP_USERNAME and STORYWATCH_SMTP_PASSWORD",
                True,
            )
        case smtplib.SMTPConnectError() | smtplib.SMTPHeloError():
            code, text = exc.smtp_code, exc.smtp_error
            return SmtpFailure(f"{server} refused the session ({_reply(code, text)})", True)
        case smtplib.SMTPResponseException(smtp_code=code, smtp_error=text):
            return SmtpFailure(f"{server} refused the message ({_reply(code, text)})", False)
        case smtplib.SMTPNotSupportedError() if "STARTTLS" in str(exc):
            return SmtpFailure(
                f"{server} does not offer STARTTLS, so nothing was sent in clear text; "
                + _PLAIN_HINT,
                True,
            )
        case smtplib.SMTPNotSupportedError() if "AUTH" in str(exc):
            return SmtpFailure(
                f"{server} offers no login (AUTH), but STORYWATCH_SMTP_USERNAME is set", True
            )
        case smtplib.SMTPServerDisconnected() if _socket_error(exc) is None:
            return SmtpFailure(f"{server} closed the connection ({exc})", True)
        case smtplib.SMTPException() if _socket_error(exc) is None:
            return SmtpFailure(f"{server}: {exc}", True)
        case UnicodeError():
            return SmtpFailure(f"the message or login cannot be encoded for SMTP ({exc})", False)
    return SmtpFailure(_describe_connection(exc, smtp, server), True)


def _describe_connection(exc: BaseException, smtp: SmtpSettings, server: str) -> str:
    """Socket-level failures, raised bare or wrapped in SMTPServerDisconnected."""
    if (cert := _cause(exc, ssl.SSLCertVerificationError)) is not None:
        why = cert.verify_message or cert.reason or "unknown reason"
        return f"TLS handshake with {server} failed (certificate not trusted: {why})"
    if (tls := _cause(exc, ssl.SSLError)) is not None:
        why = str(tls.reason or tls).replace("_", " ").lower()
        return f"TLS handshake with {server} failed ({why}); {_PLAIN_HINT}"
    if _cause(exc, socket.gaierror) is not None:
        return f"cannot connect to {server} (DNS lookup failed for {smtp.host})"
    if _cause(exc, ConnectionRefusedError) is not None:
        return f"cannot connect to {server} (connection refused)"
    if _cause(exc, TimeoutError) is not None:
        # A server expecting TLS first waits for our handshake while we wait for its greeting.
        hint = ""
        if smtp.security != "ssl":
            hint = "; if it expects TLS from the start (port 465), set STORYWATCH_SMTP_SECURITY=ssl"
        return f"{server} did not answer within {smtp.timeout:g} s{hint}"
    low = _socket_error(exc) or exc
    why = low.strerror if isinstance(low, OSError) and low.strerror else str(low)
    return f"connection to {server} failed ({(why or type(low).__name__).lower()})"


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first ``kind`` in the chain (smtplib re-raises socket errors as its own)."""
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _socket_error(exc: BaseException) -> OSError | None:
    """The socket or TLS error under an SMTP one (SMTPException is an OSError itself)."""
    found = (e for e in _chain(exc) if not isinstance(e, smtplib.SMTPException))
    return next((e for e in found if isinstance(e, OSError)), None)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # a chain can loop back
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
