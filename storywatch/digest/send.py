"""Send stage: deliver stored digests over SMTP and always as .eml files in the outbox.

Exactly once per digest and recipient (the ``deliveries`` table decides, nothing else):

    claim (pending -> sending, one winner) -> outbox copy -> handing -> SMTP -> confirm (sent)

With an SMTP server the outbox copy is a copy: when it cannot be written (read-only or full
outbox) the mail still goes out, a WARNING is logged and the outcome carries
``outbox_error`` for the command's summary. Without one the copy is the delivery, so failing
to write it fails the delivery. A copy is written to ``<id>.<random>.tmp`` and renamed; a
partial is removed when the write fails, and stale ones (a killed run's) at the start of
each delivery pass, so a full outbox recovers once space returns.

A failure (SMTP down, refused, TLS error) gives the delivery back as pending with the error
recorded (worded by ``storywatch.digest.errors``); the next run sends it. Once a server fails as
a whole (refused, timed out, TLS, login), the pass leaves its other deliveries pending, unclaimed
and untried, with the same error. A run that dies before the handover leaves a claim that goes
stale after ``STALE_CLAIM`` and is then sent (nothing went out). One that dies during the SMTP
exchange leaves the mail's fate unknown: it is never resent by itself, but reported as failed
on every pass until the operator resends it (`storywatch digest --resend DIGEST`), so nothing
is mailed twice. With no SMTP host the outbox copy is the delivery (the embedded default).

Settings come from STORYWATCH_SMTP_HOST, _PORT, _USERNAME, _PASSWORD and _SECURITY
(none | starttls | ssl; default starttls; ports 25 / 587 / 465; no username = no login), or
per storyline from a prefect-email EmailServerCredentials block that the flows resolve
(``smtp_block`` in the digest settings; the library itself never imports Prefect).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from email.parser import HeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from storywatch import failpoints
from storywatch.digest.errors import describe_smtp_failure
from storywatch.digest.smtp import SmtpSettings
from storywatch.store.digests import (
    PendingDelivery,
)
from storywatch.store.repository import Store

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=15)  # far beyond one SMTP exchange's timeout
STALE_PARTIAL = timedelta(minutes=1)  # writing one .eml takes milliseconds


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one delivery in this run (the flow's artifact, the CLI's summary)."""

    digest_id: str
    storyline: str
    recipient: str
    subject: str
    status: Literal["sent", "failed", "skipped", "unsure"]  # skipped: another run holds the claim
    transport: str | None
    outbox_path: Path | None
    error: str | None
    markdown: str
    developments: int
    outbox_error: str | None = None  # sent by SMTP, but its outbox copy could not be written


class MaybeSent(Exception):
    """The SMTP exchange broke after the message was handed over (no reply to the end of DATA):
    the server may have taken it. Never retried by itself: a retry could mail it twice."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


def send_message(settings: SmtpSettings, message: str) -> None:
    """One SMTP transaction: connect (TLS as configured), log in if asked, send, quit. A
    failure before DATA is an ordinary SMTP error (nothing went out: retry); one while the
    message is handed over, other than the server's refusal, is ``MaybeSent``; once the
    server accepted it, a failing QUIT changes nothing."""
    headers = HeaderParser().parsestr(message)
    sender = parseaddr(headers.get("From", ""))[1]
    recipients = [parseaddr(headers.get("To", ""))[1]]
    context = ssl.create_default_context()
    if not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.security == "starttls":
            client.starttls(context=context)  # refuses to go on in clear when not offered
        if settings.username:
            client.login(settings.username, settings.password or "")
        _hand_over(client, sender, recipients, message)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()  # the mail is the server's already; a 421 here is not a failure
        client.close()


def _hand_over(client: smtplib.SMTP, sender: str, recipients: list[str], message: str) -> None:
    """MAIL, RCPT, DATA: what sendmail does, with the one ambiguous step told apart."""
    client.ehlo_or_helo_if_needed()
    code, reply = client.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    for recipient in recipients:
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    try:
        code, reply = client.data(message)  # a str: CRLF line ends, ASCII (as sendmail)
    except smtplib.SMTPDataError:
        raise  # the server said no (to DATA or to the message): nothing was taken
    except (smtplib.SMTPException, OSError) as exc:  # no answer to the message's end
        raise MaybeSent(exc) from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def write_outbox(outbox: Path, digest_id: str, message: str) -> Path:
    """Write ``<outbox>/<digest id>.eml`` atomically (a retry rewrites the same bytes)."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{digest_id}.eml"
    partial = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
    try:
        partial.write_text(message, encoding="ascii", newline="\n")
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)  # a partial left on a full disk keeps it full
        raise
    return path


def remove_stale_partials(outbox: Path, now: float | None = None) -> int:
    """Remove ``.tmp`` partials older than STALE_PARTIAL (a run killed mid-write left them);
    return how many. Newer ones may be another run's write in progress."""
    cutoff = (time.time() if now is None else now) - STALE_PARTIAL.total_seconds()
    removed = 0
    try:
        partials = list(outbox.glob("*.tmp"))
    except OSError:
        return 0
    for partial in partials:
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
                removed += 1
    if removed:
        log.info("outbox %s: removed %d stale partial copies", outbox, removed)
    return removed


def deliver_pending(
    store: Store,
    outbox: Path,
    smtp: SmtpSettings | None,
    per_storyline: Mapping[str, SmtpSettings] | None = None,
) -> list[DeliveryOutcome]:
    """Send every pending delivery once; failures stay pending with their error.
    ``per_storyline``: SMTP settings for storylines that name their own server (a
    prefect-email block); the others use ``smtp``."""
    chosen = per_storyline or {}
    # A server that failed as a whole (refused, timed out, TLS, login) is not tried again in
    # this pass: each further recipient would wait out the same timeout for the same error.
    down: dict[SmtpSettings, str] = {}
    outcomes = [_report_unsure(d) for d in store.unsure_deliveries(STALE_CLAIM)]
    remove_stale_partials(outbox)
    for delivery in store.pending_deliveries(STALE_CLAIM):
        settings = chosen.get(delivery.storyline, smtp)
        if settings is not None and settings in down:
            outcomes.append(_leave_pending(store, outbox, delivery, down[settings]))
        else:
            outcomes.append(_deliver(store, outbox, settings, delivery, down))
    return outcomes


def _deliver(
    store: Store,
    outbox: Path,
    smtp: SmtpSettings | None,
    delivery: PendingDelivery,
    down: dict[SmtpSettings, str],
) -> DeliveryOutcome:
    token = str(uuid.uuid4())
    if not store.claim_delivery(delivery.id, token, STALE_CLAIM):
        return _outcome(delivery, "skipped", None, None, None)
    failpoints.reach("claimed")
    path: Path | None = None
    outbox_error = None
    try:
        path = write_outbox(outbox, delivery.digest_id, delivery.message)
    except OSError as exc:
        outbox_error = f"cannot write the outbox copy in {outbox}: {exc}"
        if smtp is None:  # the copy is the delivery
            return _failed(store, delivery, token, None, outbox_error)
        log.warning(
            "%s: WARNING: %s; the digest for %s goes out by SMTP without it",
            delivery.storyline,
            outbox_error,
            delivery.recipient,
        )
    if smtp is not None:
        if not store.hand_over_delivery(delivery.id, token):
            return _outcome(delivery, "skipped", None, None, None)  # our claim went stale
        try:
            send_message(smtp, delivery.message)
        except MaybeSent as exc:  # left in "handing": reported each pass until --resend
            error = _unsure_error(delivery, f"the SMTP exchange broke at its end ({exc})")
            log.error("%s: digest for %s: %s", delivery.storyline, delivery.recipient, error)
            return _outcome(delivery, "unsure", None, path, error)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:  # ssl.SSLError: OSError
            failure = describe_smtp_failure(exc, smtp)
            if failure.whole_server:
                down[smtp] = failure.message
            return _failed(store, delivery, token, path, failure.message)
    failpoints.reach("sent")
    transport = "smtp" if smtp is not None else "outbox"
    store.confirm_delivery(delivery.id, token, transport)
    log.info(
        "%s: digest sent to %s by %s (%s)", delivery.storyline, delivery.recipient, transport, path
    )
    return replace(_outcome(delivery, "sent", transport, path, None), outbox_error=outbox_error)


def _failed(
    store: Store, delivery: PendingDelivery, token: str, path: Path | None, error: str
) -> DeliveryOutcome:
    store.release_delivery(delivery.id, token, error)
    _log_not_sent(delivery, error)
    return _outcome(delivery, "failed", None, path, error)


def _report_unsure(delivery: PendingDelivery) -> DeliveryOutcome:
    """A delivery whose run died mid-handover: reported every pass, never resent by itself."""
    error = _unsure_error(delivery, "a run died while handing this digest to the SMTP server")
    log.error("%s: digest for %s: %s", delivery.storyline, delivery.recipient, error)
    return _outcome(delivery, "unsure", None, None, error)


def _unsure_error(delivery: PendingDelivery, what: str) -> str:
    return (
        f"{what}, so it may or may not have arrived; it is not resent by itself (nothing is "
        f"mailed twice). If {delivery.recipient} did not get it: "
        f"storywatch digest --resend {delivery.digest_id}"
    )


def _log_not_sent(delivery: PendingDelivery, error: str) -> None:
    log.warning(
        "%s: digest for %s not sent, will retry: %s", delivery.storyline, delivery.recipient, error
    )


def _leave_pending(
    store: Store, outbox: Path, delivery: PendingDelivery, error: str
) -> DeliveryOutcome:
    """A delivery whose server already failed this pass: not claimed, not tried, its error
    recorded; the outbox copy is written as for any delivery (the same bytes each time)."""
    if not store.note_delivery_error(delivery.id, error):
        return _outcome(delivery, "skipped", None, None, None)  # another run took it meanwhile
    try:
        path: Path | None = write_outbox(outbox, delivery.digest_id, delivery.message)
    except OSError:
        path = None  # the pass that tries this delivery for real reports why
    _log_not_sent(delivery, error)
    return _outcome(delivery, "failed", None, path, error)


def _outcome(
    delivery: PendingDelivery,
    status: Literal["sent", "failed", "skipped", "unsure"],
    transport: str | None,
    path: Path | None,
    error: str | None,
) -> DeliveryOutcome:
    return DeliveryOutcome(
        digest_id=delivery.digest_id,
        storyline=delivery.storyline,
        recipient=delivery.recipient,
        subject=delivery.subject,
        status=status,
        transport=transport,
        outbox_path=path,
        error=error,
        markdown=delivery.markdown,
        developments=delivery.development_count,
    )
