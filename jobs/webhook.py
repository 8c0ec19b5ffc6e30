"""Posting a markdown message to a WeChat Work (企业微信) or DingTalk (钉钉) group robot.

Configuration (instance/config.py or FLASK_* environment variables):

* ``JOBS_DIGEST_WEBHOOKS = {"DEMO": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}``
  per estate code; ``JOBS_DIGEST_WEBHOOK`` for every estate without its own (an estate mapped
  to None posts nowhere). A value is a URL or ``{"url": …, "kind": "wecom"|"dingtalk",
  "secret": "SEC…"}`` — the secret is DingTalk's 加签; the kind is guessed from the host.
* ``JOBS_WEBHOOK_TIMEOUT`` (seconds per attempt, default 10), ``JOBS_WEBHOOK_ATTEMPTS``
  (default 3), ``JOBS_WEBHOOK_BACKOFF`` (seconds before the 2nd attempt, doubling; default 2).

A robot URL carries its access key, so no error message here ever contains the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import dataclass

import requests
from flask import current_app

from jobs.runner import JobError

KIND_LABELS = {"wecom": "企业微信", "dingtalk": "钉钉"}
# Rate-limit answers worth another try: WeChat Work 45009, DingTalk 130101.
RETRY_ERRCODES = {45009, 130101}


class RobotRefused(JobError):
    """The robot answered and refused the message: another try would be refused too."""


@dataclass(frozen=True)
class Webhook:
    url: str
    kind: str = "wecom"
    secret: str = ""

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def parse_webhook(value) -> Webhook | None:
    """A configured value (URL or dict) as a Webhook; None when nothing is configured."""
    if not value:
        return None
    if isinstance(value, str):
        value = {"url": value}
    url = value["url"]
    host = urllib.parse.urlsplit(url).hostname or ""
    kind = value.get("kind") or ("dingtalk" if "dingtalk" in host else "wecom")
    if kind not in KIND_LABELS:
        raise JobError(f"推送配置错误：kind 应为 wecom 或 dingtalk，而不是 {kind[:20]}")
    return Webhook(url=url, kind=kind, secret=value.get("secret") or "")


def webhook_for(estate_code: str) -> Webhook | None:
    """The robot an estate's digest goes to: its own, else the installation's, else none."""
    per_estate = current_app.config.get("JOBS_DIGEST_WEBHOOKS") or {}
    if estate_code in per_estate:
        return parse_webhook(per_estate[estate_code])
    return parse_webhook(current_app.config.get("JOBS_DIGEST_WEBHOOK"))


def _signed_url(hook: Webhook) -> str:
    """DingTalk's 加签: timestamp and HMAC-SHA256 signature as query parameters."""
    if hook.kind != "dingtalk" or not hook.secret:
        return hook.url
    timestamp = str(round(time.time() * 1000))
    digest = hmac.new(hook.secret.encode(), f"{timestamp}\n{hook.secret}".encode(),
                      hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{hook.url}{'&' if '?' in hook.url else '?'}timestamp={timestamp}&sign={sign}"


def payload(hook: Webhook, title: str, text: str) -> dict:
    if hook.kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    # WeChat Work caps markdown content at 4096 bytes.
    content = text.encode()[:4000].decode(errors="ignore")
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _attempt(session: requests.Session, hook: Webhook, body: dict,
             timeout: float) -> tuple[bool, str]:
    """One POST: (retry worth it?, error) — error empty on success."""
    try:
        response = session.post(_signed_url(hook), json=body, timeout=(min(timeout, 5), timeout))
    except requests.Timeout:
        return True, "超时无响应"
    except requests.ConnectionError:
        return True, "无法连接"
    except requests.RequestException as exc:
        return False, f"请求失败（{type(exc).__name__}）"
    if response.status_code == 429 or response.status_code >= 500:
        return True, f"HTTP {response.status_code}"
    if response.status_code >= 400:
        return False, f"HTTP {response.status_code}"
    try:
        answer = response.json()
        errcode = int(answer.get("errcode", 0))
    except (ValueError, AttributeError, TypeError):
        return False, "响应无法解析"
    if errcode:
        message = str(answer.get("errmsg", ""))[:60]
        return errcode in RETRY_ERRCODES, f"errcode {errcode}：{message}"
    return False, ""


def post_markdown(hook: Webhook, title: str, text: str) -> None:
    """Post with a timeout and bounded retries; raise JobError (safe to store) on failure."""
    config = current_app.config
    timeout = float(config.get("JOBS_WEBHOOK_TIMEOUT", 10))
    attempts = max(1, int(config.get("JOBS_WEBHOOK_ATTEMPTS", 3)))
    backoff = float(config.get("JOBS_WEBHOOK_BACKOFF", 2))
    body = payload(hook, title, text)
    with requests.Session() as session:
        for attempt in range(1, attempts + 1):
            retry, error = _attempt(session, hook, body, timeout)
            if not error:
                return
            if not retry or attempt == attempts:
                break
            time.sleep(backoff * 2 ** (attempt - 1))
    failure = JobError if retry else RobotRefused
    raise failure(f"{hook.label}推送失败：{error}（共尝试 {attempt} 次）")
