"""WeChat Work application messages (企业微信应用消息) to individual staff, issue #17.

Configuration (instance/config.py or FLASK_* environment variables)::

    WECOM_APP = {"corp_id": "ww…", "agent_id": 1000002, "secret": "…",
                 "base_url": "https://qyapi.weixin.qq.com"}   # base_url: tests/demos only
    WECOM_TIMEOUT = 10   # seconds per request

Without ``corp_id`` the channel is off: no application messages are queued. A staff member
receives them once an admin fills their 企业微信账号 (the address book's userid).

Plain ``requests`` following the documented API (the one maintained client, wechatpy, last
released in November 2021):

* ``GET /cgi-bin/gettoken?corpid=…&corpsecret=…`` → ``access_token``, ``expires_in``. The
  token is cached per (server, corp, agent) until shortly before it expires, and fetched again
  when a send answers 40014 (invalid) or 42001 (expired) — then the send is repeated once.
* ``POST /cgi-bin/message/send?access_token=…`` with ``touser``, ``msgtype`` "text",
  ``agentid`` and ``text.content``.

Answers: 45009 (API rate limit), -1 (system busy), HTTP 5xx and network errors are worth another
try later (the outbox's backoff); 81013 (no such user in the app's visible range) and every
other errcode are final. No error text here holds the secret or the token.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from flask import current_app

from jobs.sms import ProviderAnswer
from models.notify_staff import wecom_on

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
# Refetch a token this many seconds before WeChat Work says it expires.
TOKEN_MARGIN = 300
TOKEN_ERRCODES = {40014, 42001}
RETRY_ERRCODES = {-1, 45009, 45033}
# WeChat Work caps a text message's content at 2048 bytes.
MAX_CONTENT_BYTES = 2000

_tokens: dict[tuple, tuple[str, float]] = {}
_lock = threading.Lock()


class WecomNotConfigured(Exception):
    """No corp id, agent id or secret in WECOM_APP: application messages wait."""


@dataclass(frozen=True)
class WecomApp:
    corp_id: str
    agent_id: str
    secret: str
    base_url: str = DEFAULT_BASE_URL

    @property
    def cache_key(self) -> tuple:
        return (self.base_url, self.corp_id, self.agent_id)


def wecom_enabled() -> bool:
    """Whether the installation sends application messages at all (WECOM_APP has a corp id)."""
    return wecom_on()


def configured_app() -> WecomApp:
    settings = current_app.config.get("WECOM_APP") or {}
    if not isinstance(settings, dict):
        raise WecomNotConfigured("WECOM_APP 应为字典")
    missing = [name for name in ("corp_id", "agent_id", "secret") if not settings.get(name)]
    if missing:
        raise WecomNotConfigured("企业微信应用配置缺少：" + "、".join(missing))
    return WecomApp(corp_id=str(settings["corp_id"]), agent_id=str(settings["agent_id"]),
                    secret=str(settings["secret"]),
                    base_url=str(settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/"))


def _timeout() -> tuple[float, float]:
    seconds = float(current_app.config.get("WECOM_TIMEOUT", 10))
    return min(seconds, 5), seconds


class _Failure(Exception):
    def __init__(self, answer: ProviderAnswer):
        super().__init__(answer.code)
        self.answer = answer


def _call(session: requests.Session, method: str, url: str, **kwargs) -> dict:
    """One request; its JSON answer, or _Failure with the outbox's verdict."""
    try:
        response = session.request(method, url, timeout=_timeout(), **kwargs)
    except requests.Timeout:
        raise _Failure(ProviderAnswer(sent=False, retry=True, code="Timeout",
                                      message="超时无响应")) from None
    except requests.RequestException as exc:
        raise _Failure(ProviderAnswer(sent=False, retry=True, code=type(exc).__name__,
                                      message="无法连接企业微信")) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise _Failure(ProviderAnswer(sent=False, retry=True,
                                      code=f"HTTP{response.status_code}",
                                      message="企业微信服务暂不可用"))
    try:
        answer = response.json()
        errcode = int(answer.get("errcode", 0))
    except (ValueError, AttributeError, TypeError):
        raise _Failure(ProviderAnswer(sent=False, retry=response.status_code >= 400,
                                      code=f"HTTP{response.status_code}",
                                      message="响应无法解析")) from None
    answer["errcode"] = errcode
    return answer


def _refused(answer: dict) -> ProviderAnswer:
    errcode = answer["errcode"]
    # A token refused even when fresh is the server's passing trouble: try again later.
    retry = errcode in RETRY_ERRCODES or errcode in TOKEN_ERRCODES
    return ProviderAnswer(sent=False, retry=retry, code=str(errcode),
                          message=str(answer.get("errmsg", ""))[:120])


def access_token(session: requests.Session, app: WecomApp, *, fresh: bool = False) -> str:
    """The cached token, or a new one from gettoken (which also answers with its lifetime)."""
    now = time.monotonic()
    with _lock:
        cached = _tokens.get(app.cache_key)
        if cached is not None and not fresh and cached[1] > now:
            return cached[0]
    answer = _call(session, "GET", f"{app.base_url}/cgi-bin/gettoken",
                   params={"corpid": app.corp_id, "corpsecret": app.secret})
    if answer["errcode"] or not answer.get("access_token"):
        raise _Failure(_refused(answer) if answer["errcode"] else ProviderAnswer(
            sent=False, retry=True, code="NoToken", message="未返回 access_token"))
    lifetime = float(answer.get("expires_in") or 7200)
    with _lock:
        _tokens[app.cache_key] = (answer["access_token"],
                                  now + max(60.0, lifetime - TOKEN_MARGIN))
    return answer["access_token"]


def forget_tokens() -> None:
    """Drop every cached token (a changed secret, tests)."""
    with _lock:
        _tokens.clear()


def send_app_message(userid: str, text: str) -> ProviderAnswer:
    """Send one text application message to one staff member's WeChat Work account."""
    app = configured_app()
    content = text.encode()[:MAX_CONTENT_BYTES].decode(errors="ignore")
    body = {"touser": userid, "msgtype": "text", "agentid": int(app.agent_id)
            if app.agent_id.isdigit() else app.agent_id, "text": {"content": content},
            "safe": 0}
    with requests.Session() as session:
        try:
            for fresh in (False, True):
                token = access_token(session, app, fresh=fresh)
                answer = _call(session, "POST", f"{app.base_url}/cgi-bin/message/send",
                               params={"access_token": token}, json=body)
                if answer["errcode"] not in TOKEN_ERRCODES:
                    break
        except _Failure as failure:
            return failure.answer
    if answer["errcode"]:
        return _refused(answer)
    if answer.get("invaliduser"):
        # Answered 0 but the account is not in the app's visible range: nobody received it.
        return ProviderAnswer(sent=False, code="invaliduser",
                              message="该企业微信账号不存在或不在应用可见范围内")
    return ProviderAnswer(sent=True, code="0", message=str(answer.get("errmsg", "ok"))[:120],
                          provider_id=str(answer.get("msgid", ""))[:64])
