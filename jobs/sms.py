"""SMS through Alibaba Cloud (阿里云短信) or Tencent Cloud (腾讯云短信), with their official SDKs.

Configuration (instance/config.py or FLASK_* environment variables):

* ``SMS_PROVIDER = "aliyun"`` or ``"tencent"`` (empty: owners' SMS wait in the outbox, unsent);
* ``SMS_ALIYUN = {"access_key_id": …, "access_key_secret": …, "sign_name": "某某物业"}``;
* ``SMS_TENCENT = {"secret_id": …, "secret_key": …, "sdk_app_id": "1400…", "sign_name": …,
  "region": "ap-guangzhou"}``;
* either may add ``"endpoint": "host:port"`` and ``"protocol": "http"`` (tests and demos point
  the real SDK at a local fake that speaks the provider's API);
* ``SMS_TIMEOUT`` seconds per request (default 10).

Each provider wants a template approved in its console: the estate's `NotifyTemplate` names it
(Alibaba ``SMS_…`` with named parameters, Tencent a numeric id with parameters in order).

`send_sms` answers with a `ProviderAnswer`: sent (with the provider's receipt id), worth another
try later (flow control, a timeout, a server error) or refused for good (a bad number, a wrong
template, wrong keys). An error's text never holds the keys or the phone number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app

# Alibaba SendSms codes worth another try later (flow control per number/minute/hour/day,
# the account's rate, the provider's own trouble); everything else is final.
ALIYUN_RETRY = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling.User",
                "Throttling", "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY_TEMP",
                "ServiceUnavailable", "InternalError"}
# Tencent codes (per number, or for the whole request) worth another try later.
TENCENT_RETRY_PREFIXES = ("LimitExceeded.", "RequestLimitExceeded", "InternalError",
                          "FailedOperation.FailResolvePacket", "ResourceUnavailable")
PROVIDER_LABELS = {"aliyun": "阿里云短信", "tencent": "腾讯云短信"}


@dataclass(frozen=True)
class ProviderAnswer:
    sent: bool
    retry: bool = False
    code: str = ""
    message: str = ""
    provider_id: str = ""


class SmsNotConfigured(Exception):
    """No provider (or no keys) in the settings: the message waits."""


def provider_name() -> str:
    return (current_app.config.get("SMS_PROVIDER") or "").strip().lower()


def _settings(name: str) -> dict:
    settings = current_app.config.get(f"SMS_{name.upper()}") or {}
    if not isinstance(settings, dict):
        raise SmsNotConfigured(f"SMS_{name.upper()} 应为字典")
    return settings


def send_sms(phone: str, template: str, params: dict, param_names, key: str) -> ProviderAnswer:
    """Send one templated SMS to one mainland mobile number through the configured provider."""
    name = provider_name()
    if name == "aliyun":
        return _send_aliyun(_settings(name), phone, template, params, key)
    if name == "tencent":
        return _send_tencent(_settings(name), phone, template, params, param_names, key)
    raise SmsNotConfigured("未配置短信服务商（SMS_PROVIDER）")


def _timeout_ms() -> int:
    return int(float(current_app.config.get("SMS_TIMEOUT", 10)) * 1000)


def _require(settings: dict, *names: str) -> None:
    missing = [n for n in names if not settings.get(n)]
    if missing:
        raise SmsNotConfigured("短信配置缺少：" + "、".join(missing))


def _send_aliyun(settings: dict, phone: str, template: str, params: dict,
                 key: str) -> ProviderAnswer:
    from alibabacloud_dysmsapi20170525 import models as sms_models
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi import models as api_models
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from darabonba.runtime import RuntimeOptions

    _require(settings, "access_key_id", "access_key_secret", "sign_name")
    config = api_models.Config(access_key_id=settings["access_key_id"],
                               access_key_secret=settings["access_key_secret"],
                               endpoint=settings.get("endpoint") or "dysmsapi.aliyuncs.com")
    if settings.get("protocol"):
        config.protocol = settings["protocol"]
    request = sms_models.SendSmsRequest(
        phone_numbers=phone, sign_name=settings["sign_name"], template_code=template,
        template_param=json.dumps(params, ensure_ascii=False), out_id=key[:64])
    # Our outbox retries with backoff and records each try: the SDK must not retry unseen.
    runtime = RuntimeOptions(autoretry=False, max_attempts=0, read_timeout=_timeout_ms(),
                             connect_timeout=min(_timeout_ms(), 5000))
    try:
        body = Client(config).send_sms_with_options(request, runtime).body
    except AlibabaCloudException as exc:
        code = str(exc.code or "")
        status = getattr(exc, "status_code", None) or 0
        return ProviderAnswer(sent=False, retry=code in ALIYUN_RETRY or status >= 500
                              or status == 429, code=code, message=_short(exc.message))
    except Exception as exc:  # the SDK's transport errors: timeouts, refused connections
        return ProviderAnswer(sent=False, retry=True, code=type(exc).__name__,
                              message="网络错误或超时")
    if body.code == "OK":
        return ProviderAnswer(sent=True, code="OK", message=_short(body.message),
                              provider_id=body.biz_id or "")
    return ProviderAnswer(sent=False, retry=body.code in ALIYUN_RETRY, code=body.code or "",
                          message=_short(body.message))


def _send_tencent(settings: dict, phone: str, template: str, params: dict, param_names,
                  key: str) -> ProviderAnswer:
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sms.v20210111 import models, sms_client

    _require(settings, "secret_id", "secret_key", "sdk_app_id", "sign_name")
    http = HttpProfile(endpoint=settings.get("endpoint") or "sms.tencentcloudapi.com",
                       protocol=settings.get("protocol") or "https",
                       reqTimeout=max(1, _timeout_ms() // 1000))
    client = sms_client.SmsClient(
        credential.Credential(settings["secret_id"], settings["secret_key"]),
        settings.get("region") or "ap-guangzhou", ClientProfile(httpProfile=http))
    request = models.SendSmsRequest()
    request.PhoneNumberSet = [f"+86{phone}"]
    request.SmsSdkAppId = str(settings["sdk_app_id"])
    request.SignName = settings["sign_name"]
    request.TemplateId = template
    # Tencent's parameters are positional: the event's parameter order.
    request.TemplateParamSet = [str(params.get(name, "")) for name in param_names]
    request.SessionContext = key[:512]
    try:
        response = client.SendSms(request)
    except TencentCloudSDKException as exc:
        code = str(exc.get_code() or "")
        retry = code.startswith(TENCENT_RETRY_PREFIXES) or code in ("ClientNetworkError",
                                                                   "ServerNetworkError")
        return ProviderAnswer(sent=False, retry=retry, code=code,
                              message=_short(exc.get_message()))
    except Exception as exc:  # transport errors the SDK did not wrap
        return ProviderAnswer(sent=False, retry=True, code=type(exc).__name__,
                              message="网络错误或超时")
    status = (response.SendStatusSet or [None])[0]
    if status is None:
        return ProviderAnswer(sent=False, retry=True, code="EmptyAnswer",
                              message="服务商未返回结果")
    if status.Code == "Ok":
        return ProviderAnswer(sent=True, code="Ok", message=_short(status.Message),
                              provider_id=status.SerialNo or "")
    return ProviderAnswer(sent=False, retry=(status.Code or "").startswith(TENCENT_RETRY_PREFIXES),
                          code=status.Code or "", message=_short(status.Message))


def _short(text) -> str:
    return str(text or "")[:120]
