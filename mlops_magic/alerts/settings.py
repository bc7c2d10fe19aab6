"""Where alerts get their settings and secrets, and how secrets are kept out of everything else.

Settings come from the environment first, then the ``"alerts"`` object of the project's
``.mlops/config.json``::

    {"alerts": {"base_url": "https://jupyter.example.com",
                "webhook_secret": "…",
                "smtp": {"host": "smtp.example.com", "port": 587, "user": "…", "password": "…",
                         "from": "mlops@example.com", "starttls": true, "cafile": null},
                "secrets": {"slack-3f2a": "https://hooks.slack.com/services/…"}}}

A Slack incoming-webhook URL *is* a credential, and so may a webhook URL be; a rule in the store keeps
only where to find it: ``env:NAME`` (an environment variable) or ``config:NAME`` (the ``secrets`` above,
written by ``mlops alert add`` with the file readable by its owner only). Every text that leaves this
package for the store, a log or an error goes through :meth:`AlertSettings.redact`, which replaces each
secret it knows by ``***`` (PostgreSQL-style ``user:password@`` in URLs too, with the store's redactor).
"""

from __future__ import annotations

import os
import re
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..entities import says_no
from ..errors import InvalidInputError
from ..store import Store
from ..store.location import read_project_config, redact_url, write_project_config
from ..store.project import project_of

ENV_PREFIX = "MLOPS_SMTP_"
REDACTED = "***"


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    starttls: bool = True
    cafile: str | None = None  # a private CA (or a test's throwaway certificate) to trust for STARTTLS


@dataclass(frozen=True)
class AlertSettings:
    smtp: SmtpSettings = SmtpSettings()
    webhook_secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float = 10.0
    config_secrets: dict[str, str] = field(default_factory=dict, repr=False)

    def secret_values(self, *also: str) -> list[str]:
        """Every secret these settings hold or can reach (config secrets, SMTP password, webhook key) and
        ``also``, longest first; of a URL its path and query too (an error may quote only those)."""
        values = [self.smtp.password or "", self.webhook_secret or ""]
        for value in (*self.config_secrets.values(), *also):
            values += [value, *url_parts(value)]
        return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def resolve(self, target: str) -> str:
        """The address behind a rule's target: ``env:NAME``, ``config:NAME``, or the target itself."""
        kind, _, name = target.partition(":")
        missing = {"env": f"the environment variable {name} that this alert sends to is not set in this process",
                   "config": f"the secret {name!r} this alert sends to is not in this project's .mlops/config.json "
                             "(alerts.secrets); add the rule again here"}
        if kind not in missing:
            return target
        value = (os.environ if kind == "env" else self.config_secrets).get(name, "").strip()
        if not value:
            raise InvalidInputError(missing[kind])
        return value

    def redact(self, text: str, *also: str) -> str:
        """``text`` with every known secret (and ``also``) replaced by ``***``."""
        for value in self.secret_values(*also):
            text = text.replace(value, REDACTED)
        return redact_url(text) if "@" in text else text


def url_parts(value: str) -> list[str]:
    """The parts of a URL that carry its secret: path with query, path, query, password (none for a non-URL)."""
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
    except ValueError:
        return []
    path_query = parts.path + (f"?{parts.query}" if parts.query else "")
    return [p for p in (path_query, parts.path if parts.path.strip("/") else "", parts.query, parts.password or "")
            if p]


def load(store: Store | None) -> AlertSettings:
    """The settings for alerts of ``store``'s project: environment variables over ``.mlops/config.json``."""
    project = project_of(store)
    config: dict[str, Any] = {}
    if project is not None:
        section = read_project_config(project).get("alerts")
        if isinstance(section, dict):
            config = section
    smtp: dict[str, Any] = config["smtp"] if isinstance(config.get("smtp"), dict) else {}
    env = os.environ

    def pick(name: str, key: str) -> Any:
        value = env.get(ENV_PREFIX + name)
        return value if value not in (None, "") else smtp.get(key)

    port = pick("PORT", "port")
    try:
        port_number = int(port) if port not in (None, "") else 587
    except (TypeError, ValueError):
        raise InvalidInputError(f"SMTP port must be a number, got {port!r}") from None
    starttls = pick("STARTTLS", "starttls")
    settings = SmtpSettings(
        host=pick("HOST", "host") or None, port=port_number, user=pick("USER", "user") or None,
        password=pick("PASSWORD", "password") or None, sender=pick("FROM", "from") or None,
        starttls=_flag(starttls, default=True), cafile=pick("CAFILE", "cafile") or None)
    secrets: dict[str, Any] = config["secrets"] if isinstance(config.get("secrets"), dict) else {}
    base_url = env.get("MLOPS_BASE_URL") or config.get("base_url") or None
    return AlertSettings(smtp=settings, webhook_secret=env.get("MLOPS_WEBHOOK_SECRET") or config.get("webhook_secret")
                         or None, base_url=str(base_url).rstrip("/") if base_url else None,
                         config_secrets={str(k): str(v) for k, v in secrets.items()})


def _flag(value: Any, *, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    return not says_no(value)


def keep_secret(store: Store, channel: str, value: str) -> str:
    """Put a secret address into the project's config (owner-only file); returns its ``config:NAME``."""
    project = project_of(store)
    if project is None:
        raise InvalidInputError(f"no project folder to keep the {channel} URL in; pass it through an environment "
                                f"variable instead: --to {channel}:env:NAME")
    config = read_project_config(project)
    found = config.get("alerts")
    section: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
    kept = dict(section["secrets"]) if isinstance(section.get("secrets"), dict) else {}
    name = f"{channel}-{_secrets.token_hex(3)}"
    kept[name] = value
    section["secrets"] = kept
    write_project_config(Path(project), {**config, "alerts": section}, private=True)
    return f"config:{name}"


def forget_secret(store: Store, target: str) -> None:
    """Remove a ``config:NAME`` secret a removed rule used (nothing for other targets)."""
    kind, _, name = target.partition(":")
    project = project_of(store)
    if kind != "config" or project is None:
        return
    config = read_project_config(project)
    section = config.get("alerts")
    if isinstance(section, dict) and isinstance(section.get("secrets"), dict) and name in section["secrets"]:
        section = {**section, "secrets": {k: v for k, v in section["secrets"].items() if k != name}}
        write_project_config(Path(project), {**config, "alerts": section})


def shown(url: str) -> str:
    """A URL as a listing shows it: scheme and host, the rest hidden (a Slack URL's path is its key)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/{REDACTED}" if parts.path.strip("/") or parts.query else \
        f"{parts.scheme}://{host}{port}"


_ENV_NAME = re.compile(r"^\$?\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def env_reference(text: str) -> str | None:
    """``NAME`` when ``text`` names an environment variable (``env:NAME``, ``$NAME``, ``${NAME}``)."""
    if text.startswith("env:"):
        text = text[4:]
    elif not text.startswith("$"):
        return None
    match = _ENV_NAME.match(text)
    if not match:
        raise InvalidInputError(f"{text!r} is not an environment variable name; use env:NAME")
    return match.group(1)
