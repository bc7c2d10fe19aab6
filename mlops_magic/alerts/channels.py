"""Channels: Slack incoming webhooks (Block Kit), email (SMTP, STARTTLS, text and HTML parts), and generic
webhooks (JSON, HMAC-SHA256 signed). Each takes an :class:`~.messages.Alert` and an address, and raises on
failure; :mod:`.delivery` decides about retries, and redacts what it records.

The webhook signature follows the common "timestamp.body" scheme (Stripe, Slack): the receiver recomputes
``HMAC-SHA256(secret, f"{X-Mlops-Timestamp}.{body}")`` and compares it to ``X-Mlops-Signature``
(``sha256=<hex>``) in constant time, and refuses old timestamps to stop replays. docs/operations.md has
the schema and a verification snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from .._version import __version__
from ..display.html import esc, html_table
from ..errors import InvalidInputError
from .messages import Alert
from .settings import AlertSettings

SIGNATURE_HEADER = "X-Mlops-Signature"
TIMESTAMP_HEADER = "X-Mlops-Timestamp"
_ICON = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def post_json(url: str, body: Any, *, headers: dict[str, str] | None = None, timeout: float = 10.0) -> bytes:
    """POST ``body`` as JSON (bytes are sent as they are); raises on a non-2xx answer or a network error."""
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise InvalidInputError("a webhook URL must start with http:// or https://")
    data = body if isinstance(body, bytes) else json.dumps(body, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"mlops-magic/{__version__}", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``timestamp.body`` under ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


# -- Slack ----------------------------------------------------------------------------------------------
def slack_payload(alert: Alert) -> dict[str, Any]:
    """An incoming-webhook message: ``text`` (notifications, old clients) and Block Kit blocks."""
    def mrkdwn(text: str) -> str:  # Slack's three escapes (api.slack.com/reference/surfaces/formatting)
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(
            f"{_ICON.get(alert.severity, '')} *{alert.severity}* · {alert.kind}\n" + "\n".join(alert.why))[:3000]}},
    ]
    if alert.facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": mrkdwn(f"*{label}*\n{value}")[:2000]} for label, value in alert.facts[:10]]})
    if alert.links:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
            for label, url in alert.links[:5]]})
    if alert.note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(alert.note)}]})
    return {"text": f"[{alert.severity}] {alert.title}", "blocks": blocks}


def send_slack(alert: Alert, url: str, settings: AlertSettings, delivery_id: int | None) -> None:
    post_json(url, slack_payload(alert), timeout=settings.timeout)


# -- generic webhook ------------------------------------------------------------------------------------
def send_webhook(alert: Alert, url: str, settings: AlertSettings, delivery_id: int | None) -> None:
    body = json.dumps({**alert.to_dict(), "delivery": delivery_id}, default=str).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"X-Mlops-Event": alert.kind, "X-Mlops-Delivery": str(delivery_id or "test"),
               TIMESTAMP_HEADER: timestamp}
    if settings.webhook_secret:
        headers[SIGNATURE_HEADER] = signature(settings.webhook_secret, timestamp, body)
    post_json(url, body, headers=headers, timeout=settings.timeout)


# -- email ----------------------------------------------------------------------------------------------
def email_message(alert: Alert, sender: str, to: str) -> Any:
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = f"[mlops {alert.severity}] {alert.title}"
    message["From"] = sender
    message["To"] = to
    message.set_content(alert.text + "\n")
    facts = html_table(["", ""], alert.facts, css_class=None) if alert.facts else ""
    links = " · ".join(f"<a href='{esc(url)}'>{esc(label)}</a>" for label, url in alert.links)
    why = "".join(f"<li>{esc(line)}</li>" for line in alert.why)
    message.add_alternative(
        f"<html><body><h3>{esc(alert.title)}</h3><p><b>{esc(alert.severity)}</b> · {esc(alert.kind)}</p>"
        f"<ul>{why}</ul>{facts}{f'<p>{links}</p>' if links else ''}"
        f"{f'<p><i>{esc(alert.note)}</i></p>' if alert.note else ''}</body></html>", subtype="html")
    return message


def send_email(alert: Alert, address: str, settings: AlertSettings, delivery_id: int | None) -> None:
    import smtplib
    import ssl

    smtp = settings.smtp
    if not smtp.host:
        raise InvalidInputError("no SMTP server: set MLOPS_SMTP_HOST (or alerts.smtp.host in .mlops/config.json)")
    sender = smtp.sender or smtp.user or "mlops@localhost"
    with smtplib.SMTP(smtp.host, smtp.port, timeout=settings.timeout) as client:
        client.ehlo()
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context(cafile=smtp.cafile))
            client.ehlo()
        if smtp.user and smtp.password:
            client.login(smtp.user, smtp.password)
        client.send_message(email_message(alert, sender, address))


SENDERS = {"slack": send_slack, "email": send_email, "webhook": send_webhook}
