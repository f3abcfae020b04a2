"""The channels a notification goes through: a signed webhook, a Slack incoming webhook, e-mail over SMTP.

Each `send_*` either returns (delivered: the receiver answered 2xx, the mail server accepted the message) or
raises `DeliveryFailed` with one line that never holds a secret (a URL, a password). `permanent` failures (a
4xx other than 408/429, a mail server's 5xx refusal) go to the dead letters at once; the others are retried.

The webhook's signature, as payment and code-hosting webhooks do it:

    X-Review-Delivery: <delivery id>
    X-Review-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>

A receiver recomputes it with `verify_signature` (or its own few lines), refuses a stale `t`, and drops a
delivery id it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from html import escape
from typing import Any
from urllib.parse import unquote, urlsplit

from review.settings import Secret

SIGNATURE_HEADER = "X-Review-Signature"
DELIVERY_HEADER = "X-Review-Delivery"
_RETRYABLE_4XX = {408, 425, 429}
_ARGS_SHOWN = 2500  # characters of a row's arguments in a Slack block (a section holds 3000)


class DeliveryFailed(Exception):
    """A try did not deliver; the message is one line without secrets. `permanent`: retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    """The X-Review-Signature value of `body` sent at `timestamp`."""
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(key: bytes, header: str, body: bytes, *, now: float | None = None, tolerance: float = 300) -> bool:
    """A receiver's check: the header's v1 is the HMAC of "<t>." + body, and t is within `tolerance` seconds."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(key, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _post(url: Secret, body: bytes, headers: dict[str, str], timeout: float) -> None:
    request = urllib.request.Request(url.reveal(), data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX
        raise DeliveryFailed(f"the receiver answered HTTP {exc.code}", permanent=permanent) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryFailed(f"could not reach the receiver: {_clean(str(reason), url)}") from None


def _clean(text: str, *hidden: Secret | None) -> str:
    """`text` without any secret's value in it (an error may quote what it was given)."""
    for one in hidden:
        if one is not None and one.reveal():
            text = text.replace(one.reveal(), "***")
    return text.replace("\n", " ")[:300]


def send_webhook(url: Secret, key: Secret, body: bytes, delivery_id: str, timeout: float) -> None:
    """POST the envelope, signed with `key`."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "review-console",
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: signature(key.reveal().encode(), int(time.time()), body),
    }
    _post(url, body, headers, timeout)


# --- Slack -------------------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Text for a Slack mrkdwn field: its three control characters escaped (no mentions, no links injected)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(data: dict[str, Any]) -> dict[str, Any]:
    """The envelope as a Block Kit message: the summary, then per row its tool, description, arguments and
    link buttons (open, approve, reject), then the delivery id."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(data['summary'])}*"}},
    ]
    for row in data["rows"]:
        args = json.dumps(row["arguments"], indent=1, ensure_ascii=False, sort_keys=True)
        if len(args) > _ARGS_SHOWN:
            args = args[:_ARGS_SHOWN] + "\n…"
        lines = [f"*{_mrkdwn(str(row['tool'] or 'question'))}*  `{_mrkdwn(row['row_id'])}`"]
        if row["description"]:
            lines.append(_mrkdwn(row["description"][:500]))
        if row.get("decided"):
            lines.append(_mrkdwn(f"{row['decided']['decision']} by {row['decided']['by']}"))
        elif row["deadline"]:
            lines.append(f"deadline: {row['deadline']['action']} at {row['deadline']['at']}")
        lines.append(f"```{_mrkdwn(args)}```")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
        buttons = [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": row["links"]["row"]}]
        for decision, style in (("approve", "primary"), ("reject", "danger")):
            if decision in row["links"]:
                buttons.append(
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": f"{decision.capitalize()}…"},
                        "url": row["links"][decision],
                        "style": style,
                    }
                )
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"<{data['links']['thread']}|thread {_mrkdwn(data['thread_id'])}> · links expire "
                    f"{data['expires_at']} · delivery {data['delivery_id']}",
                }
            ],
        }
    )
    return {"text": data["summary"], "blocks": blocks}


def send_slack(url: Secret, data: dict[str, Any], timeout: float) -> None:
    """POST the Block Kit message to a Slack incoming webhook."""
    body = json.dumps(slack_blocks(data), ensure_ascii=False).encode()
    _post(url, body, {"Content-Type": "application/json", DELIVERY_HEADER: data["delivery_id"]}, timeout)


# --- e-mail ------------------------------------------------------------------------------------------


def email_message(data: dict[str, Any], sender: str, to: str) -> EmailMessage:
    """The envelope as one mail to `to`: plain text and HTML, Message-ID from the delivery id (a repeat of a
    delivery has the same one)."""
    message = EmailMessage()
    message["Subject"] = data["summary"][:180]
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    recipient = hashlib.sha256(to.lower().encode()).hexdigest()[:12]
    message["Message-ID"] = f"<{data['delivery_id']}.{recipient}@review-console>"
    message[DELIVERY_HEADER] = data["delivery_id"]
    text = [data["summary"], ""]
    html = [f"<p><strong>{escape(data['summary'])}</strong></p>"]
    for row in data["rows"]:
        args = json.dumps(row["arguments"], indent=2, ensure_ascii=False, sort_keys=True)
        text += [f"{row['tool'] or 'question'} ({row['row_id']})", row["description"], args]
        if row.get("decided"):
            text.append(f"{row['decided']['decision']} by {row['decided']['by']}")
            html.append(f"<p>{escape(row['decided']['decision'])} by {escape(row['decided']['by'])}</p>")
        html.append(f"<h3>{escape(str(row['tool'] or 'question'))}</h3><p>{escape(row['description'])}</p>")
        html.append(f"<pre>{escape(args)}</pre>")
        if row["deadline"]:
            text.append(f"deadline: {row['deadline']['action']} at {row['deadline']['at']}")
            html.append(f"<p>deadline: {escape(row['deadline']['action'])} at {escape(row['deadline']['at'])}</p>")
        anchors = []
        for name, link in row["links"].items():
            label = "Open in the console" if name == "row" else f"{name.capitalize()}…"
            text.append(f"{label}: {link}")
            anchors.append(f'<a href="{escape(link, quote=True)}">{escape(label)}</a>')
        html.append("<p>" + " · ".join(anchors) + "</p>")
        text.append("")
    text.append(f"Thread: {data['links']['thread']}")
    text.append(f"Links expire {data['expires_at']}. Delivery {data['delivery_id']}.")
    html.append(f'<p><a href="{escape(data["links"]["thread"], quote=True)}">The thread</a></p>')
    html.append(f"<p><small>Links expire {escape(data['expires_at'])}. Delivery {data['delivery_id']}.</small></p>")
    message.set_content("\n".join(text))
    message.add_alternative("<html><body>" + "".join(html) + "</body></html>", subtype="html")
    return message


def send_email(server: str, password: Secret | None, messages: Sequence[EmailMessage], timeout: float) -> None:
    """Send the messages over one SMTP session: `server` is smtp://[user@]host:port, smtps://... (TLS) or
    smtp+starttls://...; the password (a secret) is used when the URL names a user."""
    parts = urlsplit(server)
    scheme, host = parts.scheme.lower(), parts.hostname or "localhost"
    port = parts.port or (465 if scheme == "smtps" else 587 if scheme == "smtp+starttls" else 25)
    try:
        client: smtplib.SMTP
        if scheme == "smtps":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                if password is None:
                    raise DeliveryFailed("the SMTP server names a user but REVIEW_SMTP_PASSWORD is not set")
                client.login(unquote(parts.username), password.reveal())
            for message in messages:
                client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"the mail server refused: {exc.smtp_code} {_clean(str(exc.smtp_error), password)}",
            permanent=500 <= exc.smtp_code < 600 and exc.smtp_code != 530,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(
            f"the mail server refused the recipients {sorted(exc.recipients)}", permanent=True
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"could not send mail: {_clean(str(exc), password)}") from None
