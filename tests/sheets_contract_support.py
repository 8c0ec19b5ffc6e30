"""How the fake Sheets server's answers are compared with recorded Google Sheets v4 traffic,
and the fixtures of the fake's own tests (#10 split test_sheets_fake.py).

``replay`` sends a cassette's requests to ``FakeSheets`` and ``shape_diff`` compares each
answer's *shape* with the recorded one: status code, JSON keys (recursively), value types, and
exact equality for ``EXACT_KEYS``; keys in ``OMITTED_KEYS`` the fake leaves out on purpose.
Drive requests are not replayed: they only seed and drop spreadsheets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.sheets_fake import FakeSheets

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "shared" / "sheets-contract"
CASSETTE_DIR = CONTRACT_DIR / "cassettes"
SHEETS_HOST = "sheets.googleapis.com"
DRIVE_HOST = "www.googleapis.com"

# Why formatting is left out: of a whole cassette (test_sheets_fake_contract) or of a key.
FORMATTING = "cell formatting / display state is not modelled (the mirror writes plain values)"

# Keys of recorded answers the fake leaves out on purpose ("[]" = any list element).
OMITTED_KEYS: dict[str, str] = {
    "properties.defaultFormat": FORMATTING,
    "properties.spreadsheetTheme": FORMATTING,
}

# Keys whose values the fake must reproduce exactly, not just their type.
EXACT_KEYS = frozenset(
    {
        "range",
        "updatedRange",
        "clearedRange",
        "clearedRanges",
        "tableRange",
        "majorDimension",
        "spreadsheetId",
        "title",
        "locale",
        "timeZone",
        "sheetType",
        "index",
        "hidden",
        "rowCount",
        "columnCount",
        "frozenRowCount",
        "frozenColumnCount",
        "updatedRows",
        "updatedColumns",
        "updatedCells",
        "totalUpdatedRows",
        "totalUpdatedColumns",
        "totalUpdatedCells",
        "totalUpdatedSheets",
        "code",
        "status",
        "message",
    }
)


def _kind(value: Any) -> str:
    # JSON types: Google prints 1 and 1.0 alike, so ints and floats are both "number".
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def shape_diff(recorded: Any, actual: Any, path: str = "", key: str = "") -> list[str]:
    """Differences in shape between a recorded answer and the fake's answer."""
    where = path or "<root>"
    if _kind(recorded) != _kind(actual):
        return [f"{where}: recorded {_kind(recorded)} {recorded!r:.60}, fake {actual!r:.60}"]
    if isinstance(recorded, dict):
        diffs = []
        for k in recorded:
            sub = f"{path}.{k}" if path else k
            if k not in actual:
                if _omitted(sub):
                    continue
                diffs.append(f"{sub}: missing in the fake's answer")
            else:
                diffs.extend(shape_diff(recorded[k], actual[k], sub, k))
        for k in actual:
            if k not in recorded:
                diffs.append(f"{path}.{k}: the fake answers a key the API did not")
        return diffs
    if isinstance(recorded, list):
        if len(recorded) != len(actual):
            return [f"{where}: recorded {len(recorded)} items, fake {len(actual)}"]
        diffs = []
        for rec, act in zip(recorded, actual, strict=True):
            diffs.extend(shape_diff(rec, act, f"{path}[]", key))
        return diffs
    if key in EXACT_KEYS and recorded != actual:
        return [f"{where}: recorded {recorded!r}, fake {actual!r}"]
    return []


def _omitted(dotted: str) -> bool:
    return dotted in OMITTED_KEYS


def cassette_names() -> list[str]:
    if not CASSETTE_DIR.is_dir():
        return []
    return sorted(p.stem for p in CASSETTE_DIR.glob("*.json"))


MISSING = f"recorded Sheets traffic not found at {CASSETTE_DIR} (shared contract folder absent)"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSheets]:
    # One server for the module; each test starts from an empty fake (reset()).
    with FakeSheets() as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _map_sheet_ids(value: Any, mapping: dict[int, int]) -> Any:
    """Recorded sheetIds -> the fake's (Google and the fake both pick random ids for new tabs)."""
    if isinstance(value, dict):
        return {
            k: mapping.get(v, v)
            if k == "sheetId" and isinstance(v, int)
            else _map_sheet_ids(v, mapping)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_sheet_ids(v, mapping) for v in value]
    return value


def _drive_effect(fake: FakeSheets, method: str, path: str, body: Any, answer: Any) -> None:
    """Drive calls are not replayed; creating and deleting a spreadsheet seed the fake instead."""
    if method == "POST" and path == "/drive/v3/files" and isinstance(answer, dict):
        if body and body.get("mimeType") == "application/vnd.google-apps.spreadsheet":
            if not fake.has_spreadsheet(answer["id"]):
                fake.create_spreadsheet(answer["id"], answer["name"])
    elif method == "DELETE" and path.startswith("/drive/v3/files/"):
        fake.delete_spreadsheet(path.rsplit("/", 1)[1])


def _json_or_none(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def replay(fake: FakeSheets, session: requests.Session, name: str) -> tuple[int, list[str]]:
    """Replay one cassette; returns (Sheets requests replayed, differences)."""
    cassette = json.loads((CASSETTE_DIR / f"{name}.json").read_text(encoding="utf-8"))
    sheet_ids: dict[int, int] = {}
    replayed = 0
    diffs: list[str] = []
    for n, interaction in enumerate(cassette["interactions"]):
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        body = _json_or_none(request.get("body"))
        recorded_status = response["status"]["code"]
        recorded = _json_or_none(response["body"].get("string"))
        if url.netloc == DRIVE_HOST:
            _drive_effect(fake, request["method"], url.path, body, recorded)
            continue
        assert url.netloc == SHEETS_HOST, request["uri"]
        data = None
        if body is not None:
            data = json.dumps(_map_sheet_ids(body, sheet_ids)).encode()
        target = f"{fake.url}{url.path}" + (f"?{url.query}" if url.query else "")
        answer = session.request(
            request["method"],
            target,
            data=data,
            headers={"Content-Type": "application/json"} if data is not None else {},
            timeout=10,
        )
        replayed += 1
        label = f"#{n} {request['method']} {unquote(url.path)[-70:]}"
        if answer.status_code != recorded_status:
            diffs.append(
                f"{label}: status {answer.status_code} (recorded {recorded_status}): "
                f"{answer.text[:300]}"
            )
            continue
        actual = answer.json()
        if recorded is not None:
            diffs.extend(f"{label}: {d}" for d in shape_diff(recorded, actual))
        _learn_sheet_ids(recorded, actual, sheet_ids)
    return replayed, diffs


def _learn_sheet_ids(recorded: Any, actual: Any, mapping: dict[int, int]) -> None:
    if not isinstance(recorded, dict) or "replies" not in recorded:
        return
    for rec, act in zip(recorded["replies"], actual.get("replies", []), strict=False):
        if "addSheet" in rec and "addSheet" in act:
            mapping[rec["addSheet"]["properties"]["sheetId"]] = act["addSheet"]["properties"][
                "sheetId"
            ]

