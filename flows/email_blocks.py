"""SMTP settings from prefect-email ``EmailServerCredentials`` blocks named in sources.yaml.

A storyline's digest settings may name a block (``smtp_block``) instead of relying on the
STORYWATCH_SMTP_* variables: the secret then lives in Prefect, never in sources.yaml. Only the
settings are read from the block; sending stays storywatch's own (``storywatch.digest.send``),
so the deliveries table still decides what is sent, exactly once. prefect-email is optional
(``pip install 'storywatch[email]'``).
"""

from __future__ import annotations

from typing import Any

from storywatch.config.config import Config
from storywatch.digest.smtp import Security, SmtpSettings

_SECURITY_BY_TYPE: dict[str, Security] = {"SSL": "ssl", "STARTTLS": "starttls", "INSECURE": "none"}


class MissingPrefectEmail(RuntimeError):
    """A storyline names an SMTP block but prefect-email is not installed."""


async def smtp_settings_from_blocks(config: Config) -> dict[str, SmtpSettings]:
    """storyline id -> SMTP settings, for the storylines whose digest names a block."""
    wanted = {s.id: name for s in config.storylines if (name := config.digest_for(s).smtp_block)}
    if not wanted:
        return {}
    try:
        from prefect_email import EmailServerCredentials
    except ImportError:
        raise MissingPrefectEmail(
            f"{config.path}: smtp_block needs prefect-email: pip install 'storywatch[email]'"
        ) from None
    blocks = {name: await EmailServerCredentials.aload(name) for name in set(wanted.values())}
    return {storyline: settings_from_block(blocks[name]) for storyline, name in wanted.items()}


def settings_from_block(block: Any) -> SmtpSettings:
    """An EmailServerCredentials block as storywatch's SMTP settings."""
    server = getattr(block.smtp_server, "value", block.smtp_server)
    smtp_type = block.smtp_type
    type_name = smtp_type.upper() if isinstance(smtp_type, str) else smtp_type.name
    default_port = {"SSL": 465, "STARTTLS": 587, "INSECURE": 25}[type_name]
    password = block.password.get_secret_value() if block.password is not None else ""
    return SmtpSettings(
        host=str(server),
        port=int(block.smtp_port or default_port),
        security=_SECURITY_BY_TYPE[type_name],
        username=block.username or None,
        password=password or None,
        verify=block.verify is not False,
    )
