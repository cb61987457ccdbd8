"""URLs that carry secrets: how to show one without its secret, and how to spot one left in
plain configuration.

Notification and webhook URLs hold their credentials in the URL itself: a password in the
userinfo (``user:password@`` before the host, as mailto:// takes it), a token in the host
slot or the path (apprise's ``slack://TokenA/TokenB/TokenC``,
``https://hooks.slack.com/services/T.../B.../...``), or a query value (``?token=...``).

- :func:`redact_url` is the label the alerts job prints and records for a channel: scheme,
  host, port and path, with credentials, token-like parts and query values replaced by ``***``.
- :func:`plain_secret_problems` walks a loaded configuration (the bundle, a GitHub workflow)
  and names every value holding such a URL or a known token, a ``{{secrets/scope/key}}``
  reference, a ``${{ ... }}`` expression and a ``${...}`` / ``$NAME`` variable excepted (they
  are references, not the secret). The bundle validator and the workflow checks fail on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HIDDEN = "***"

_HOST_NAME = re.compile(r"^(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+|[0-9a-f]*:[0-9a-f:.]*)$", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,31}$", re.I)
# Hosts whose webhook paths are tokens after the first segment (services/, api/, webhookb2/...).
_TOKEN_PATH_HOSTS = (
    "hooks.slack.com",
    "discord.com",
    "discordapp.com",
    "webhook.office.com",
    "outlook.office.com",
    "api.telegram.org",
    "chat.googleapis.com",
)


def _token_like(part: str) -> bool:
    """A URL part that may be a token: long, or letters mixed with digits (T0123ABCD)."""
    has_digit = any(c.isdigit() for c in part)
    has_letter = any(c.isalpha() for c in part)
    return len(part) >= 16 or (len(part) >= 8 and has_digit and has_letter)


def redact_url(url: str) -> str:
    """A secret-free label of ``url`` that still tells channels apart: scheme, host, port and
    path are kept; the userinfo becomes ``***@``; a host that is not a host name or address
    (apprise puts tokens there: ``slack://TokenA/...``) becomes ``***`` and so does every path
    segment after it; path segments that look like tokens, and every query value, become
    ``***``."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"//{text}")
    scheme = parts.scheme if _SCHEME.match(parts.scheme or "") else ""
    host = parts.hostname or ""
    token_host = bool(host) and not _HOST_NAME.match(host)
    shown_host = HIDDEN if token_host else f"[{host}]" if ":" in host else host
    userinfo = f"{HIDDEN}@" if "@" in parts.netloc else ""
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ":<not a port>"
    token_path = token_host or host.endswith(_TOKEN_PATH_HOSTS)
    segments = parts.path.split("/")
    path = "/".join(
        HIDDEN if seg and ((token_path and (token_host or i > 1)) or _token_like(seg)) else seg
        for i, seg in enumerate(segments)
    )
    query = "&".join(
        f"{HIDDEN if _token_like(key) else key}" + (f"={HIDDEN}" if value else "")
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    fragment = "/".join(HIDDEN if _token_like(seg) else seg for seg in parts.fragment.split("/"))
    label = f"{scheme}://" if scheme else ""
    label += f"{userinfo}{shown_host}{port}{path}"
    label += f"?{query}" if query else ""
    label += f"#{fragment}" if fragment else ""
    return label or HIDDEN


# --- secrets in plain configuration -----------------------------------------------------------

# References are not secrets: Databricks secret references, GitHub expressions, ${...} and
# $NAME variables (bundle interpolation left unresolved, shell variables in `run:` scripts).
_REFERENCE = re.compile(
    r"\{\{\s*secrets/[^}]*\}\}|\$\{\{.*?\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*"
)
_CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "a password in the URL (user:password@)",
        re.compile(r"[a-z][a-z0-9+.-]*://[^\s/@:]*:[^\s/@]+@", re.I),
    ),
    (
        "a Slack webhook token",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/\w", re.I),
    ),
    (
        "a webhook token",
        re.compile(
            r"discord(?:app)?\.com/api/webhooks/\d|webhook\.office\.com/webhookb2/\w"
            r"|outlook\.office\.com/webhook/\w|api\.telegram\.org/bot\d+:",
            re.I,
        ),
    ),
    (
        "an apprise URL made of tokens",
        re.compile(
            r"\b(?:slack|discord|msteams|tgram|pover|pbul|gchat|ifttt|join)s?://(?!\.\.\.)[\w-]{2,}",
            re.I,
        ),
    ),
    (
        "a token in the query string",
        re.compile(
            r"[?&](?:token|key|apikey|api_key|access_token|auth|secret|password|pass|sig"
            r"|signature|code)=[^&\s\"',]+",
            re.I,
        ),
    ),
    (
        "an access token",
        re.compile(r"\bxox[abposr]-[\w-]+|\bdapi[0-9a-f]{32}\b|\bgh[pousr]_[A-Za-z0-9]{20,}"),
    ),
)
_WORDS = re.compile(r"[^\s,;\"'<>()\[\]]+")


def plain_credentials(value: str) -> list[tuple[str, str]]:
    """(what, redacted label) for each credential ``value`` holds in plain text; empty when it
    holds none, or only references (``{{secrets/scope/key}}``, ``${{ secrets.X }}``, ...)."""
    found = []
    for word in _WORDS.findall(_REFERENCE.sub("", value)):
        for what, pattern in _CREDENTIAL_PATTERNS:
            if pattern.search(word):
                found.append((what, redact_url(word) if "/" in word else HIDDEN))
                break
    return found


def _strings(tree: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _strings(value, f"{path}/{key}" if path else str(key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _strings(value, f"{path}/{i}")
    elif isinstance(tree, str):
        yield path, tree


def plain_secret_problems(tree: Any, fix: str) -> list[str]:
    """Every string of ``tree`` (a loaded YAML document) that holds a credential in plain
    text, by path, with the label of the URL (never the secret) and ``fix``."""
    return [
        f"{path}: {what} in plain config ({label}); {fix}"
        for path, value in _strings(tree, "")
        for what, label in plain_credentials(value)
    ]
