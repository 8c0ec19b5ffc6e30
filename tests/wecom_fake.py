"""A local fake of the WeChat Work server API (企业微信) for application messages.

`WecomFake` listens on 127.0.0.1 and answers as qyapi.weixin.qq.com does:

* ``GET /cgi-bin/gettoken?corpid=…&corpsecret=…`` → ``{"errcode": 0, "errmsg": "ok",
  "access_token": …, "expires_in": 7200}``; a wrong corp id 40013 "invalid corpid", a wrong
  secret 40001 "invalid credential".
* ``POST /cgi-bin/message/send?access_token=…`` (JSON) → ``{"errcode": 0, "errmsg": "ok",
  "invaliduser": "", "msgid": …}``; an unknown token 40014 "invalid access_token", an expired
  one 42001 "access_token expired", another app's agentid 40056 "invalid agentid", a userid not
  in the app's visible range 81013 "user & party & tag all invalid". Errors come with HTTP 200,
  as the real server sends them.

`users` are the accounts in the address book; `script` lists errcodes answered to the next
sends in turn (45009 rate limit, -1 busy, 40014…); `expire_tokens()` makes every issued token
expired; `sent` lists the accepted message bodies and `token_requests` counts gettoken calls.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORP_ID, SECRET, AGENT_ID = "ww0123456789abcdef", "wecom-test-secret", 1000002

MESSAGES = {
    -1: "system busy",
    40001: "invalid credential",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    42001: "access_token expired",
    45009: "reach max api daily quota limit",
    81013: "user & party & tag all invalid",
}


class WecomFake:
    def __init__(self, users=("zhangsan", "lisi")):
        self.users = set(users)
        self.script: list[int] = []
        self.sent: list[dict] = []
        self.sends = 0
        self.token_requests = 0
        self.tokens: dict[str, bool] = {}  # token -> still valid
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/cgi-bin/gettoken":
                    self.send_error(404)
                    return
                self._answer(fake.gettoken(query))

            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path != "/cgi-bin/message/send":
                    self.send_error(404)
                    return
                self._answer(fake.send(query.get("access_token", ""), json.loads(body or b"{}")))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def config(self, **extra) -> dict:
        return {"corp_id": CORP_ID, "agent_id": AGENT_ID, "secret": SECRET,
                "base_url": self.base_url, **extra}

    def __enter__(self) -> WecomFake:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _error(code: int) -> dict:
        return {"errcode": code, "errmsg": MESSAGES.get(code, "error")}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, False)

    def gettoken(self, query: dict) -> dict:
        with self.lock:
            self.token_requests += 1
            if query.get("corpid") != CORP_ID:
                return self._error(40013)
            if query.get("corpsecret") != SECRET:
                return self._error(40001)
            token = secrets.token_urlsafe(32)
            self.tokens[token] = True
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def send(self, token: str, body: dict) -> dict:
        with self.lock:
            self.sends += 1
            if token not in self.tokens:
                return self._error(40014)
            if not self.tokens[token]:
                return self._error(42001)
            if self.script:
                return self._error(self.script.pop(0))
            if body.get("agentid") != AGENT_ID:
                return self._error(40056)
            if body.get("touser") not in self.users:
                return self._error(81013)
            self.sent.append(body)
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                    "msgid": f"msg{len(self.sent):04d}"}
