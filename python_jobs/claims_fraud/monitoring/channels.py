"""Where alerts go: the channels (apprise URLs from --notify or $CLAIMS_FRAUD_ALERT_URLS),
checked before anything is sent, shown without their secrets, and the delivery itself."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from claims_fraud.monitoring.secret_urls import redact_url


class ChannelConfigError(ValueError):
    """A channel URL that apprise cannot send to (unknown scheme, malformed URL)."""


# --- channels -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    channel: str  # the channel's label (channel_labels): no credentials, unique in the run
    delivered: bool
    error: str | None = None


def redact(url: str) -> str:
    """The coarsest form of a channel URL: the scheme, and the host when it is a host name or
    an address (apprise puts tokens where a host would be for Slack and others: those become
    ***). Credentials, ports and paths are dropped. The job itself labels channels with
    :func:`channel_labels`, which keeps port and path so that channels stay apart."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "invalid-url"
    host = parts.hostname or ""
    shown = host if "." in host or host == "localhost" else "***"
    return f"{parts.scheme}://{shown}"


def channel_labels(urls: Sequence[str]) -> list[str]:
    """One secret-free label per channel
    (:func:`claims_fraud.monitoring.secret_urls.redact_url`: scheme, host, port, path;
    credentials, tokens and query values as ***). Two channels whose labels would still be equal
    (the same webhook host with different tokens) get their position:
    ``slack://***/***/*** (channel 2)``."""
    labels = [redact_url(url) for url in urls]
    repeated = {label for label in labels if labels.count(label) > 1}
    return [
        f"{label} (channel {i})" if label in repeated else label
        for i, label in enumerate(labels, start=1)
    ]


def channel_urls(explicit: Sequence[str] | None = None) -> list[str]:
    """Channels from the command line, else from $CLAIMS_FRAUD_ALERT_URLS (space or comma
    separated apprise URLs). None configured = print only."""
    if explicit:
        return list(explicit)
    raw = os.environ.get("CLAIMS_FRAUD_ALERT_URLS", "")
    return [url for url in raw.replace(",", " ").split() if url]


CHANNEL_FIX = (
    "how to fix: correct or remove the URL in --notify or $CLAIMS_FRAUD_ALERT_URLS (on "
    "Databricks: the secret `alert_urls` of the job's secret scope). URLs apprise knows look "
    "like slack://TokenA/TokenB/TokenC/#channel, mailto://user:"
    "password@host?to=address, json://host:port/path (a generic webhook; jsons:// for "
    "https); `apprise --details` lists every scheme. Nothing was read, sent or recorded."
)


def channel_problem(url: str) -> str | None:
    """Why apprise cannot send to ``url`` (unknown scheme, malformed URL), or None."""
    import apprise

    if apprise.Apprise().add(url):
        return None
    scheme = url.strip().partition("://")[0].lower() if "://" in url else ""
    if not scheme:
        return "not a URL (no scheme://)"
    if not re.fullmatch(r"[a-z][a-z0-9+.-]{0,31}", scheme):
        return "not a URL (an invalid scheme)"
    if scheme in ("http", "https"):
        return (
            f"{scheme}:// is accepted only for the webhooks of services apprise knows "
            "(e.g. hooks.slack.com); for a generic webhook use json:// or jsons://"
        )
    if scheme not in apprise.NotificationManager():
        return f"unknown scheme {scheme}://"
    return f"a malformed {scheme}:// URL (a part is missing or not valid for {scheme}://)"


def check_channels(urls: Sequence[str], source: str = "--notify") -> None:
    """Raise :class:`ChannelConfigError` naming every channel apprise cannot send to (by its
    label, never its secrets) and how to fix it; ``source`` says where the URLs came from."""
    labels = channel_labels(urls)
    problems = [
        f"  channel {i} of {len(urls)} ({source}): {label}: {why}"
        for i, (url, label) in enumerate(zip(urls, labels, strict=True), start=1)
        if (why := channel_problem(url)) is not None
    ]
    if problems:
        raise ChannelConfigError(
            "\n".join(["alert channel(s) apprise cannot send to:", *problems, CHANNEL_FIX])
        )


def send(urls: Sequence[str], title: str, body: str) -> list[Delivery]:
    """Send ``body`` to each channel separately, so one channel down does not hide another."""
    import apprise

    deliveries = []
    for url, label in zip(urls, channel_labels(urls), strict=True):
        app = apprise.Apprise()
        if not app.add(url):
            deliveries.append(Delivery(label, False, "not a notification URL apprise knows"))
            continue
        try:
            delivered = bool(app.notify(title=title, body=body))
        except Exception as exc:  # a plugin's bug must not hide the other channels
            # The exception's text may quote the URL: only its type is kept.
            deliveries.append(Delivery(label, False, f"{type(exc).__name__} while sending"))
            continue
        deliveries.append(Delivery(label, delivered, None if delivered else "not delivered"))
    return deliveries
