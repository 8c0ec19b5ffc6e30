"""The mirror's thin gspread edge: client factory, bounded retries, client-side rate limit.

gspread 6.2.1 needs three things from us (see FINDINGS, "gspread 6.2.1"):

* it sets no HTTP timeout, so a stalled connection would hang the sync job forever;
* its ``BackOffHTTPClient`` retries a persistent 429 forever, so we subclass the plain
  ``HTTPClient`` with a bounded retry loop instead;
* ``gspread.urls`` constants were copied into other modules at import, so the emulator is reached
  by a ``requests`` transport adapter that rewrites Google's origins, not by patching URLs.

``make_client(emulator_host=...)`` talks to a local fake (``tests/sheets_fake.py``) or any
emulator given by ``SHEETS_EMULATOR_HOST``; without it a service-account JSON file is used with
the spreadsheets scope only (no Drive: open spreadsheets with ``open_by_key``).
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import gspread
import requests
from google.auth.credentials import AnonymousCredentials, Credentials
from gspread.exceptions import APIError
from gspread.http_client import FileType, HTTPClient, ParamsType
from requests.adapters import HTTPAdapter

from sync.limiter import SlidingWindowLimiter

__all__ = [
    "EMULATOR_ENV",
    "RETRY_STATUSES",
    "SHEETS_SCOPE",
    "DEFAULT_REQUESTS_PER_MINUTE",
    "EmulatorAdapter",
    "SheetsHTTPClient",
    "SheetsTransportError",
    "SlidingWindowLimiter",
    "SyncDeadlineExceeded",
    "emulator_host_from_env",
    "make_client",
]

log = logging.getLogger(__name__)

SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets"
EMULATOR_ENV = "SHEETS_EMULATOR_HOST"
# Both origins gspread uses: Sheets v4, and Drive (which the mirror avoids, but a stray Drive call
# must still land on the emulator rather than on Google).
GOOGLE_ORIGINS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
# Google's quota is 60 write requests per minute per user; at exactly 60 a sliding window on
# our clock still met 429s (its minute and ours do not line up, and reads share the user), so
# the client keeps a margin below it (#15).
GOOGLE_REQUESTS_PER_MINUTE = 60
DEFAULT_REQUESTS_PER_MINUTE = 50
# 429: quota; 5xx: Google's documented transient errors.  Everything else is the caller's bug.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def emulator_host_from_env() -> str | None:
    """``host:port`` of a local Sheets emulator from SHEETS_EMULATOR_HOST, or None."""
    value = os.environ.get(EMULATOR_ENV, "").strip()
    return value or None


class EmulatorAdapter(HTTPAdapter):
    """Sends requests for Google's API origins to ``http://host:port`` instead."""

    def __init__(self, host: str) -> None:
        if not host or "://" in host or "/" in host:
            raise ValueError(f"emulator host must look like 'host:port', not {host!r}")
        super().__init__()
        self.base = f"http://{host}"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        for origin in GOOGLE_ORIGINS:
            if url == origin or url.startswith(origin + "/"):
                request.url = self.base + url[len(origin) :]
                break
        return super().send(request, *args, **kwargs)


class SyncDeadlineExceeded(APIError):
    """The sync's time budget is spent: no further request (or retry) is started.

    Raised by the client itself, so a run can never outlive its lock however the server behaves
    (#15): every request's timeout is cut to the time left and a retry that would wait past
    the deadline is not waited for. ``code`` is 408.
    """

    def __init__(self, method: str, endpoint: str, budget: float) -> None:
        message = f"Sheets sync deadline of {budget:.0f} s reached before {method.upper()} " \
                  f"{_path_only(endpoint)}"
        super().__init__(_synthetic_response(method, endpoint, 408, "DEADLINE_EXCEEDED", message))
        self.budget = budget


class SheetsTransportError(APIError):
    """No HTTP answer (timeout or connection failure) after all retries.

    A subclass of gspread's APIError so that callers handle every Sheets failure in one place;
    ``code`` is 408 (timeout) or 503 (connection), ``cause`` the last requests exception.
    """

    def __init__(self, response: requests.Response, cause: requests.RequestException) -> None:
        super().__init__(response)
        self.cause = cause


def _synthetic_response(
    method: str, url: str, code: int, status: str, message: str
) -> requests.Response:
    # APIError reads Google's error body from a Response; build one for client-side failures.
    response = requests.Response()
    response.status_code = code
    response.url = url
    response.reason = status
    response.encoding = "utf-8"
    response.headers["Content-Type"] = "application/json; charset=UTF-8"
    body = {"error": {"code": code, "message": message, "status": status}}
    response._content = json.dumps(body).encode("utf-8")
    response.request = requests.Request(method.upper(), url).prepare()
    return response


def _body_length(prepared: requests.Request | requests.PreparedRequest | None) -> int:
    # requests' exceptions carry the PreparedRequest that failed; a bare Request has no body yet.
    body = prepared.body if isinstance(prepared, requests.PreparedRequest) else None
    if body is None:
        return 0
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, bytes | bytearray):
        return len(body)
    return 0  # a stream: gspread never sends one


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds (what Google sends) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)


def _path_only(url: str) -> str:
    # Logged instead of the full URL: no query string; bodies are never logged.
    return urlsplit(url).path


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client with a timeout, bounded retries and a client-side rate limit.

    * every request carries ``timeout`` (gspread's default is none: wait forever);
    * 429/500/502/503/504 and requests' Timeout/ConnectionError are retried up to
      ``max_retries`` times, waiting ``rand() * min(backoff_cap, backoff_base * 2**attempt)``
      ("full jitter"), or the server's Retry-After (capped at ``backoff_cap``) when it sends one;
    * then the error propagates: gspread's APIError for an HTTP error, SheetsTransportError (an
      APIError) when no answer came;
    * ``request_count`` (HTTP attempts, retries included: they count against the quota) and
      ``bytes_sent`` (request body bytes) feed the sync report; ``retry_count`` and
      ``throttled_seconds`` say how much waiting happened.

    ``sleep``, ``clock`` and ``rand`` are injectable so tests run without real waiting.
    """

    def __init__(
        self,
        auth: Credentials,
        session: requests.Session | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(auth, session)
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.default_timeout = float(timeout)
        self.timeout = self.default_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.rand = rand
        self.limiter = SlidingWindowLimiter(requests_per_minute, 60.0, clock=clock, sleep=sleep)
        self.clock = clock
        # Set by the engine for one sync (see ``bounded``): a monotonic deadline and a callback
        # run before every attempt (the sync's lock heartbeat).
        self.deadline: float | None = None
        self.budget = 0.0
        self.on_progress: Callable[[], None] | None = None
        self.request_count = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.retry_count = 0
        self.throttled_seconds = 0.0
        self._counter_lock = threading.Lock()

    def set_timeout(self, timeout: float | tuple[float, float] | None) -> None:
        # gspread uses None for "no timeout"; here None restores the default instead.
        self.timeout = self.default_timeout if timeout is None else timeout

    def backoff_delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (attempt counts from 0)."""
        hinted = _parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.backoff_cap)
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0**attempt)
        return self.rand() * ceiling

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        attempt = 0
        while True:
            waited = self.limiter.acquire()
            timeout = self._attempt_timeout(method, endpoint)
            response: requests.Response | None = None
            failure: requests.RequestException | None = None
            try:
                response = self.session.request(
                    method=method,
                    url=endpoint,
                    json=json,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=timeout,
                )
                sent = _body_length(response.request)
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure = exc
                sent = _body_length(exc.request)
            with self._counter_lock:
                self.request_count += 1
                self.bytes_sent += sent
                if response is not None:
                    # What the answer weighed on the wire (the unchanged sync's cost, #15).
                    self.bytes_received += len(response.content or b"")
                self.throttled_seconds += waited

            if response is not None:
                if response.ok:
                    return response
                if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise APIError(response)
                what = str(response.status_code)
                delay = self.backoff_delay(attempt, response.headers.get("Retry-After"))
                if not self.time_for(delay):  # waiting would pass the sync's deadline
                    raise SyncDeadlineExceeded(method, endpoint, self.budget) from APIError(
                        response)
            else:
                assert failure is not None
                if attempt >= self.max_retries:
                    raise self._transport_error(method, endpoint, failure, attempt + 1)
                delay = self.backoff_delay(attempt)
                if not self.time_for(delay):
                    raise SyncDeadlineExceeded(method, endpoint, self.budget) from failure
                what = type(failure).__name__
            attempt += 1
            with self._counter_lock:
                self.retry_count += 1
            log.warning(
                "Sheets API %s %s: %s; retry %d/%d in %.1f s",
                method.upper(),
                _path_only(endpoint),
                what,
                attempt,
                self.max_retries,
                delay,
            )
            self.sleep(delay)

    def remaining(self) -> float | None:
        """Seconds left before the sync's deadline (None: no deadline set)."""
        return None if self.deadline is None else self.deadline - self.clock()

    def time_for(self, delay: float) -> bool:
        left = self.remaining()
        return left is None or delay < left

    def _attempt_timeout(self, method: str, endpoint: str) -> float | tuple[float, float]:
        """The attempt's timeout, cut to the time left; past the deadline nothing is sent."""
        timeout = self.timeout if self.timeout is not None else self.default_timeout
        left = self.remaining()
        if left is not None:
            if left <= 0:
                raise SyncDeadlineExceeded(method, endpoint, self.budget)
            if isinstance(timeout, tuple):
                timeout = tuple(min(t, left) for t in timeout)  # type: ignore[assignment]
            else:
                timeout = min(timeout, left)
        if self.on_progress is not None:
            self.on_progress()
        return timeout

    def _transport_error(
        self, method: str, endpoint: str, failure: requests.RequestException, attempts: int
    ) -> SheetsTransportError:
        if isinstance(failure, requests.Timeout):
            code, status = 408, "DEADLINE_EXCEEDED"
            what = f"no answer within {self.timeout} s"
        else:
            code, status = 503, "UNAVAILABLE"
            what = "could not connect"
        message = (
            f"Google Sheets: {what} after {attempts} attempt(s) "
            f"({type(failure).__name__}: {method.upper()} {_path_only(endpoint)})"
        )
        error = SheetsTransportError(
            _synthetic_response(method, endpoint, code, status, message), failure
        )
        error.__cause__ = failure
        return error


def make_client(
    *,
    credentials_file: str | None = None,
    emulator_host: str | None = None,
    timeout: float = 30,
    max_retries: int = 5,
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> gspread.Client:
    """A gspread Client whose HTTP client is a SheetsHTTPClient.

    With ``emulator_host`` ("host:port", e.g. from ``emulator_host_from_env()``) requests go to
    that emulator with anonymous credentials; the credentials file is then ignored, so real
    credentials never travel to a local endpoint.  Otherwise ``credentials_file`` is a
    service-account JSON key, scoped to Sheets only.  Close ``client.http_client.session`` when
    done.
    """
    credentials: Credentials
    if emulator_host:
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    elif credentials_file:
        from google.oauth2 import service_account

        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            credentials_file, scopes=[SHEETS_SCOPE]
        )
    else:
        raise ValueError(
            f"no Google credentials: pass credentials_file, or emulator_host ({EMULATOR_ENV})"
        )
    http_client = SheetsHTTPClient(
        credentials,
        timeout=timeout,
        max_retries=max_retries,
        requests_per_minute=requests_per_minute,
        sleep=sleep,
        clock=clock,
    )
    if emulator_host:
        adapter = EmulatorAdapter(emulator_host)
        for origin in GOOGLE_ORIGINS:
            http_client.session.mount(origin + "/", adapter)
    # gspread.Client builds its HTTP client from a class taking (auth, session) only; build it on
    # our session, then swap in the configured SheetsHTTPClient.
    client = gspread.Client(credentials, session=http_client.session)
    client.http_client = http_client
    return client
