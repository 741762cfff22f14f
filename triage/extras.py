"""The optional parts of triage and the packages each needs (pyproject.toml's extras).

The core (``triage.evaluate``, ``triage.check``, ``triage check`` with a SQLite log) needs none of
them. ``pip install 'triage[serve]'`` adds the web server of ``triage serve`` and the
clinicians' accounts, ``'triage[postgres]'`` the PostgreSQL log's driver, ``'triage[all]'`` both.
"""

from __future__ import annotations

import importlib

from .errors import UsageError

EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "serve": (
        "'triage serve' (its pages, JSON API and CDS Hooks), the clinicians' accounts and the "
        "patients' links (their QR codes)",
        (
            "starlette",
            "uvicorn",
            "jinja2",
            "python_multipart",
            "itsdangerous",
            "argon2",
            "jwt",
            "segno",
        ),
    ),
    "postgres": ("a PostgreSQL triage log", ("psycopg", "psycopg_pool")),
}
"""Each extra: what it is for, and the modules it installs (tests/system/test_packaging.py checks
them against pyproject.toml)."""


def needs(extra: str) -> None:
    """Raise ``UsageError``, naming the extra to install, unless its packages can be imported."""
    purpose, modules = EXTRAS[extra]
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UsageError(
                f"the optional '{extra}' packages, for {purpose}, are not installed ({exc})",
                f"install them: pip install 'triage[{extra}]'",
            ) from None
