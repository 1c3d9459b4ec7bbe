"""SMTP settings: where and how ``send`` delivers, read from STORYWATCH_SMTP_* (or built by
the flows from a prefect-email block). Apart from ``send`` so ``errors`` can word a failure
against them without importing the sender."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

Security = Literal["none", "starttls", "ssl"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}
SMTP_TIMEOUT = 30.0


class SmtpConfigError(ValueError):
    """The STORYWATCH_SMTP_* variables cannot be used (the message names the variable)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    timeout: float = SMTP_TIMEOUT
    verify: bool = True  # check the server's certificate (a prefect-email block may say not)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """Settings from STORYWATCH_SMTP_*; None when no host is set (outbox only)."""
        env = os.environ if env is None else env
        host = env.get("STORYWATCH_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("STORYWATCH_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in DEFAULT_PORTS:
            raise SmtpConfigError(
                f"STORYWATCH_SMTP_SECURITY={security!r}: expected none, starttls or ssl"
            )
        port_text = env.get("STORYWATCH_SMTP_PORT", "").strip()
        try:
            port = int(port_text) if port_text else DEFAULT_PORTS[security]
        except ValueError:
            raise SmtpConfigError(f"STORYWATCH_SMTP_PORT={port_text!r} is not a number") from None
        return cls(
            host=host,
            port=port,
            security=cast(Security, security),  # checked against DEFAULT_PORTS above
            username=env.get("STORYWATCH_SMTP_USERNAME") or None,
            password=env.get("STORYWATCH_SMTP_PASSWORD") or None,
        )
