"""A local fake of the Alibaba Cloud and Tencent Cloud SMS APIs, spoken to by their real SDKs.

`SmsFake` listens on 127.0.0.1 and answers SendSms as each provider does:

* Alibaba (dysmsapi 2017-05-25, RPC style): a POST with the parameters in the query string,
  signed ACS3-HMAC-SHA256 in the Authorization header (checked here with the secret);
  `{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}`, business errors such as
  isv.BUSINESS_LIMIT_CONTROL with HTTP 200, a bad signature as HTTP 400 SignatureDoesNotMatch.
* Tencent (sms 2021-01-11): a JSON POST with X-TC-Action SendSms, signed TC3-HMAC-SHA256;
  `{"Response": {"SendStatusSet": [{"SerialNo", "PhoneNumber", "Fee", "SessionContext",
  "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": …}}`, per-number
  errors such as LimitExceeded.PhoneNumberDailyLimit in the status, request errors (a bad
  signature: AuthFailure.SignatureFailure) as `{"Response": {"Error": {…}, "RequestId": …}}`.

`script` is a list of codes answered to the next requests in turn ("OK" when it runs out);
`sent` lists what was accepted (phone, template, params, key) — tests read login codes there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALIYUN_KEY, ALIYUN_SECRET = "LTAI-test-key", "aliyun-test-secret"
TENCENT_ID, TENCENT_KEY = "AKID-test-id", "tencent-test-key"

ALIYUN_MESSAGES = {
    "isv.BUSINESS_LIMIT_CONTROL": "触发小时级流控Permits:5",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
}
TENCENT_MESSAGES = {
    "LimitExceeded.PhoneNumberDailyLimit": "the number of sms messages sent from a single "
                                           "mobile number every day exceeds the upper limit",
    "InvalidParameterValue.IncorrectPhoneNumber": "incorrect phone number",
    "FailedOperation.TemplateIncorrectOrUnapproved": "template is not approved or not exist",
}


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def aliyun_signature_ok(method: str, path: str, query: dict, headers, body: bytes) -> bool:
    """Recompute ACS3-HMAC-SHA256 from the request as received."""
    auth = headers.get("Authorization", "")
    if not auth.startswith("ACS3-HMAC-SHA256 "):
        return False
    parts = dict(item.split("=", 1) for item in auth[len("ACS3-HMAC-SHA256 "):].split(","))
    if parts.get("Credential") != ALIYUN_KEY:
        return False
    signed = parts.get("SignedHeaders", "").split(";")
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical_query = "&".join(
        f"{key}={urllib.parse.quote(query[key], safe='~')}" for key in sorted(query))
    payload = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256") != payload:
        return False
    canonical = "\n".join([method, path or "/", canonical_query, canonical_headers,
                           ";".join(signed), payload])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(ALIYUN_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


def tencent_signature_ok(headers, body: bytes) -> bool:
    """Recompute TC3-HMAC-SHA256 (content-type;host, POST, JSON payload)."""
    auth = headers.get("Authorization", "")
    prefix = "TC3-HMAC-SHA256 "
    if not auth.startswith(prefix):
        return False
    parts = dict(item.strip().split("=", 1) for item in auth[len(prefix):].split(","))
    secret_id, date, service, _ = parts.get("Credential", "").split("/")
    if secret_id != TENCENT_ID:
        return False
    canonical = "\n".join(["POST", "/", "", f"content-type:{headers.get('Content-Type')}\n"
                           f"host:{headers.get('Host')}\n", parts.get("SignedHeaders", ""),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", headers.get("X-TC-Timestamp", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + TENCENT_KEY).encode(), date), service), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


class SmsFake:
    def __init__(self):
        self.script: list[str] = []
        self.sent: list[dict] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("X-TC-Action"):
                    status, answer = fake.tencent(self.headers, body)
                else:
                    url = urllib.parse.urlsplit(self.path)
                    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                    status, answer = fake.aliyun(url.path, query, self.headers, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SmsFake:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_code(self, default: str) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else default

    def aliyun(self, path, query, headers, body):
        request_id = str(uuid.uuid4()).upper()
        self.requests.append({"provider": "aliyun", **query})
        if not aliyun_signature_ok("POST", path, query, headers, body):
            return 400, {"Code": "SignatureDoesNotMatch", "RequestId": request_id,
                         "Message": "Specified signature does not match our calculation.",
                         "HostId": "dysmsapi.aliyuncs.com"}
        # The v3 signature carries the action and version in headers, not in the query.
        if headers.get("x-acs-action") != "SendSms" \
                or headers.get("x-acs-version") != "2017-05-25":
            return 404, {"Code": "InvalidAction.NotFound", "RequestId": request_id,
                         "Message": "Specified api is not found"}
        code = self._next_code("OK")
        if code != "OK":
            return 200, {"Code": code, "Message": ALIYUN_MESSAGES.get(code, code),
                         "RequestId": request_id}
        biz_id = f"{len(self.sent) + 900619746936498}^0"
        self.sent.append({"provider": "aliyun", "phone": query.get("PhoneNumbers"),
                          "template": query.get("TemplateCode"),
                          "params": json.loads(query.get("TemplateParam") or "{}"),
                          "sign": query.get("SignName"), "key": query.get("OutId")})
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def tencent(self, headers, body):
        request_id = str(uuid.uuid4())
        payload = json.loads(body or b"{}")
        self.requests.append({"provider": "tencent", **payload})
        if not tencent_signature_ok(headers, body):
            return 200, {"Response": {"Error": {
                "Code": "AuthFailure.SignatureFailure",
                "Message": "The provided credentials could not be validated."},
                "RequestId": request_id}}
        if headers.get("X-TC-Action") != "SendSms" or headers.get("X-TC-Version") != "2021-01-11":
            return 200, {"Response": {"Error": {"Code": "InvalidAction",
                                                "Message": "The action requested is invalid"},
                                      "RequestId": request_id}}
        code = self._next_code("Ok")
        phone = (payload.get("PhoneNumberSet") or [""])[0]
        if code.startswith("Request") or code.startswith("AuthFailure"):
            return 200, {"Response": {"Error": {"Code": code, "Message": code},
                                      "RequestId": request_id}}
        status = {"SerialNo": "", "PhoneNumber": phone, "Fee": 0,
                  "SessionContext": payload.get("SessionContext", ""), "Code": code,
                  "Message": TENCENT_MESSAGES.get(code, code), "IsoCode": "CN"}
        if code == "Ok":
            status.update(SerialNo=f"2640:{len(self.sent) + 1}7784381216", Fee=1,
                          Message="send success")
            self.sent.append({"provider": "tencent", "phone": phone.removeprefix("+86"),
                              "template": payload.get("TemplateId"),
                              "params": payload.get("TemplateParamSet"),
                              "sign": payload.get("SignName"),
                              "key": payload.get("SessionContext")})
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}

    def aliyun_config(self, **extra) -> dict:
        return {"access_key_id": ALIYUN_KEY, "access_key_secret": ALIYUN_SECRET,
                "sign_name": "测试物业", "endpoint": self.endpoint, "protocol": "http", **extra}

    def tencent_config(self, **extra) -> dict:
        return {"secret_id": TENCENT_ID, "secret_key": TENCENT_KEY, "sdk_app_id": "1400000001",
                "sign_name": "测试物业", "endpoint": self.endpoint, "protocol": "http", **extra}
