"""Where alerts go out from: the SMTP server and sender, and the public URL of ``triage serve``
that the links in alerts start with. Read from the environment (docs/clinician.md, "Alerts")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import UsageError

HOST_ENV = "TRIAGE_SMTP_HOST"
PORT_ENV = "TRIAGE_SMTP_PORT"
FROM_ENV = "TRIAGE_SMTP_FROM"
STARTTLS_ENV = "TRIAGE_SMTP_STARTTLS"
PUBLIC_URL_ENV = "TRIAGE_PUBLIC_URL"


@dataclass(frozen=True)
class Settings:
    smtp_host: str | None = None
    """None: e-mail alerts wait in the outbox, with that error, until a server is set."""
    smtp_port: int = 25
    smtp_from: str = "triage@localhost"
    smtp_starttls: bool = False
    public_url: str = ""
    """What the link to a check starts with ('https://triage.example.org'); empty: the link
    is only the path, /checks/ID."""
    timeout: float = 10.0
    """Seconds a server has to answer each step of a delivery."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        port_text = env.get(PORT_ENV, "").strip() or "25"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(
                f"{PORT_ENV}={port_text!r} is not a port number", f"set {PORT_ENV}=25, or 587"
            )
        return cls(
            smtp_host=env.get(HOST_ENV, "").strip() or None,
            smtp_port=int(port_text),
            smtp_from=env.get(FROM_ENV, "").strip() or "triage@localhost",
            smtp_starttls=env.get(STARTTLS_ENV, "").strip().lower() in ("1", "true", "yes"),
            public_url=env.get(PUBLIC_URL_ENV, "").strip().rstrip("/"),
        )

    def link(self, entry_id: int) -> str:
        """The link to a check's page."""
        return f"{self.public_url}/checks/{entry_id}"
