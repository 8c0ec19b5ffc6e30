"""The desk's message catalogues (#12 item 2): no English on Chinese pages, a complete English.

Flask-Admin's shipped zh catalogue lacks "Failed to create record." (FINDINGS); WTForms' lacks
a few messages and plain action forms had no catalogue at all. Our catalogues live in
translations/ and are compiled into the repository: these tests fail when a string of ours has
no English, when a compiled catalogue is older than its .po, and when English shows through.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from conftest import csrf_token, login
from decoration_support import make_staff
from flask import session
from peewee import CharField, TextField
from sheets_mirror_support import add_resident, fake, server  # noqa: F401 (fixtures)
from test_deposits import refundable
from test_form_rounds import banners, field_errors
from test_records import form_data

import models
from demo import DEMO_PASSWORD
from demo import seed as seed_demo
from models.org import Resident
from sync import run_sync
from sync.http import make_client
from sync.state import SheetTarget
from tests.sheets_helpers import SHEET_ID
from views.i18n import TRANSLATIONS

ROOT = Path(__file__).resolve().parent.parent
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"


def our_strings() -> set[str]:
    """What `make translations-extract` finds in the code and templates (babel.cfg)."""
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "L_": None,
                "lazy_gettext": None}
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context
            in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}


def test_every_string_of_ours_has_an_english_translation():
    with open(EN_PO, "rb") as handle:
        catalog = read_po(handle, locale="en")
    english = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
    untranslated = sorted(s for s in our_strings() if not english.get(s))
    assert untranslated == [], "no English (run `make translations`, fill in msgstr):\n" \
        + "\n".join(untranslated)
    # The menu's names are found by the extractor, not only the gettext calls.
    assert {"需求与投诉", "钥匙", "回访队列", "审计日志"} <= our_strings()


def entries(catalog) -> dict:
    def key(value):
        return value if isinstance(value, str) else tuple(value)
    return {key(m.id): key(m.string) for m in catalog if m.id}


def test_compiled_catalogues_match_their_po_files():
    """The .mo files are committed: each must be what `make translations-compile` builds."""
    pos = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
    assert {p.stem for p in pos} == {"messages", "admin", "wtforms"}
    for po in pos:
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        built = io.BytesIO()
        write_mo(built, catalog)
        built.seek(0)
        with open(po.with_suffix(".mo"), "rb") as handle:
            committed = read_mo(handle)
        fresh = read_mo(built)
        assert entries(committed) == entries(fresh), f"{po} changed: make translations-compile"


def test_a_refused_form_speaks_chinese_everywhere(login_as, conn):
    """No "Failed to create record." banner, and WTForms' own messages in Chinese too."""
    client = login_as("clerk")
    data = form_data(client, "/admin/resident/new/")
    data.update({"unit": "", "name": "", "kind": "nobody", "moved_in": "not a date"})
    html = client.post("/admin/resident/new/", data=data).get_data(as_text=True)
    assert banners(html) == ["未能保存，请按各项旁的提示修改后重新提交。"]
    errors = field_errors(html)
    assert errors["kind"] == ["请从列表中选择"]
    assert errors["moved_in"] == ["日期格式不正确，应如 2026-11-26"]
    assert "Failed to" not in html and "Not a valid" not in html


def test_an_action_form_translates_wtforms_messages(app, make_user, estate, conn):
    """Row actions' plain forms: a bad choice or moment is said in Chinese, not English."""
    deposit = refundable(estate, make_staff(estate))
    make_user("cashier", "dept", estate, department="finance")
    client = app.test_client()
    assert login(client, "cashier").status_code == 302
    url = f"/admin/deposit/refund/?id={deposit.id}"
    data = form_data(client, url)
    data.update({"refunded_at": "昨天下午"})
    html = client.post(url, data=data).get_data(as_text=True)
    errors = field_errors(html)
    assert errors["refunded_at"] == ["日期时间格式不正确，应如 2026-11-26 14:30"]
    assert "Not a valid" not in html


def test_the_english_switch_switches_menus_labels_and_pages(app, login_as, conn):
    client = login_as("supervisor")
    home = client.get("/admin/").get_data(as_text=True)
    assert "需求与投诉" in home and "前台工作台" in home
    token = csrf_token(client, "/admin/")
    client.post("/lang", data={"lang": "en", "next": "/admin/", "csrf_token": token})
    home = client.get("/admin/").get_data(as_text=True)
    for english in ("Demands &amp; complaints", "Front-desk registers", "Callback queue",
                    "Front desk", "Log out", "This shift (since"):
        assert english in home, english
    for chinese in ("需求与投诉", "前台工作台", "退出登录", "回访队列"):
        assert chinese not in home, chinese
    # Flask-Admin's own strings follow (its English), and the error pages.
    grid = client.get("/admin/resident/").get_data(as_text=True)
    assert "Residents" in grid
    missing = client.get("/admin/resident/details/?id=999999", follow_redirects=True)
    assert "Record does not exist" in missing.get_data(as_text=True) \
        or missing.status_code == 404
    assert "Page not found" in client.get("/admin/nowhere/").get_data(as_text=True)
    client.post("/lang", data={"lang": "zh_Hans_CN", "next": "/admin/", "csrf_token": token})
    assert "前台工作台" in client.get("/admin/").get_data(as_text=True)


def test_the_login_page_switches_too(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "物业管理处客服中心" in page and 'lang="zh-CN"' in page
    token = csrf_token(client, "/login")
    client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    page = client.get("/login").get_data(as_text=True)
    assert "Service Desk" in page and "User name" in page and 'lang="en"' in page
    response = client.post("/login", data={"username": "", "password": "",
                                           "csrf_token": token})
    assert "Please enter the user name" in response.get_data(as_text=True)


# -- the English switch on every page (#12 item 2) ------------------------------------------

CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
# The language switch names each language in itself.
OWN_NAMES = ("中文",)


def ascii_user_data() -> None:
    """Every stored text made ASCII, one letter per character (lengths and JSON kept).

    What remains Chinese on an English page then comes from our code or templates, not from
    what users typed: demo data are user data and would hide a label left untranslated.
    """
    letters = "abcdefghijklmnopqrstuvwxyz"

    def plain(text):
        return CJK_CHAR.sub(lambda m: letters[ord(m.group()) % 26], text)

    from jobs.models import JobRun, OverdueDigest, OverdueFlag
    from sync.state import SheetTab, SheetTarget

    for model in [*models.MODELS, JobRun, OverdueFlag, OverdueDigest, SheetTarget, SheetTab]:
        texts = [f for f in model._meta.sorted_fields
                 if isinstance(f, CharField | TextField) and not f.primary_key]
        if not texts:
            continue
        pk = model._meta.primary_key
        for row in model.select(pk, *texts).tuples():
            changed = {f: plain(v) for f, v in zip(texts, row[1:], strict=True)
                       if isinstance(v, str) and CJK_CHAR.search(v)}
            if changed:
                model.update(changed).where(pk == row[0]).execute()


# What a form holds is data (a default to be stored, text turned over from another record);
# an amount in words on a receipt is written in Chinese capitals by law (大写金额); a text
# marked lang="zh" is the office's own on purpose (a notification's default wording, the
# Sheets mirror's tab names and its preview, which shows the sheet as the office keeps it).
DATA = re.compile(r'value="[^"]*"|<textarea[^>]*>[^<]*</textarea>|RMB [^<]*'
                  r'|<span lang="zh">[^<]*</span>|<table[^>]*lang="zh"[^>]*>.*?</table>', re.S)


def chinese_left(html: str) -> list[str]:
    for name in OWN_NAMES:
        html = html.replace(name, "")
    html = DATA.sub("", html)
    return [html[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
            for m in CJK_CHAR.finditer(html)]


def english_pages(app, client):
    """Every GET page of the panel, with a few rows' details, edit, print and action pages."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/admin") or "<" in rule.rule or "GET" not in rule.methods:
            continue
        if rule.rule.endswith(("/export/csv/", "/export/xlsx/", "/delete/")):
            continue
        response = client.get(rule.rule)
        yield rule.rule, response
        if not rule.endpoint.endswith(".index_view") or response.status_code != 200:
            continue
        base = rule.rule.rstrip("/")
        ids = sorted(set(re.findall(r"details/\?id=(\d+)", response.get_data(as_text=True))))
        for row_id in ids[:2]:
            details = client.get(f"{base}/details/?id={row_id}")
            yield f"{base}/details/?id={row_id}", details
            for page in ("edit", "print"):
                yield f"{base}/{page}/?id={row_id}", client.get(f"{base}/{page}/?id={row_id}")
            # The row's action forms, as its buttons open them.
            actions = set(re.findall(rf'href="({re.escape(base)}/[a-z_]+/\?id={row_id}[^"]*)"',
                                     details.get_data(as_text=True)))
            for url in sorted(actions):
                url = url.replace("&amp;", "&")
                if "/details/" not in url:
                    yield url, client.get(url)


@pytest.mark.parametrize("username", ["clerk", "supervisor", "engineer", "finance", "manager",
                                      "director", "admin"])
def test_no_chinese_is_left_under_the_english_switch(app, conn, username):
    """Grids, forms, details, action forms, prints: labels, choices, titles, buttons, help
    texts and messages all in English for each role, on data whose own texts are ASCII."""
    with app.app_context():
        seed_demo(units=30, seed=7)
    client = app.test_client()
    assert login(client, username, DEMO_PASSWORD).status_code == 302
    with app.app_context():
        ascii_user_data()  # after the login: its audit row is stored (Chinese) data too
    token = csrf_token(client, "/admin/")
    client.post("/lang", data={"lang": "en", "next": "/admin/", "csrf_token": token})
    seen, left = 0, {}
    for url, response in english_pages(app, client):
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            continue
        seen += 1
        found = chinese_left(response.get_data(as_text=True))
        if found:
            left[url] = found[:3]
    assert seen > 40
    assert left == {}, "\n".join(f"{url}: {snippets}" for url, snippets in left.items())


# -- what the office keeps stays Chinese under the English switch (#12 item 2) -------------


def test_the_mirror_writes_chinese_headers_and_labels_under_an_english_request(
        app, fake, estate, conn):  # noqa: F811 (the mirror tests' fake Sheets)
    """A sync started from an English page (the 镜像状态 button) still writes the office's
    sheet in Chinese: headers from verbose_name, choice labels, tab titles."""
    SheetTarget.create(estate=estate, spreadsheet_id=SHEET_ID)
    add_resident(estate, "Wang", "1-1-102")
    sheets = make_client(emulator_host=fake.host, sleep=lambda _s: None, timeout=5,
                         requests_per_minute=100_000)
    with app.test_request_context("/admin/sheets/"):
        session["lang"] = "en"
        # The request really is English: the same labels read in English here.
        assert str(Resident.kind.verbose_name) == "Relation"
        assert str(dict(Resident.kind.choices)["owner"]) == "Owner"
        report = run_sync("TEST", client=sheets)
    sheets.http_client.session.close()
    assert report.error == ""
    values = fake.values(SHEET_ID, "住户")
    assert values[0][:4] == ["记录号（系统自动同步，手工修改会被覆盖）", "房屋", "姓名", "身份"]
    first = dict(zip(values[0], values[1], strict=False))
    assert first["身份"] == "业主" and first["证件类型"] == "居民身份证"


def test_an_export_from_the_english_grid_is_the_offices_chinese_file(login_as, conn, estate):
    """The grid speaks English; its CSV export keeps Chinese headers and labels."""
    add_resident(estate, "Wang", "1-1-102")
    client = login_as("supervisor")
    token = csrf_token(client, "/admin/")
    client.post("/lang", data={"lang": "en", "next": "/admin/", "csrf_token": token})
    grid = client.get("/admin/resident/").get_data(as_text=True)
    assert "Relation" in grid and "身份" not in grid
    response = client.get("/admin/resident/export/csv/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert "身份" in rows[0] and "Relation" not in rows[0]
    assert dict(zip(rows[0], rows[1], strict=False))["身份"] == "业主"
    assert "住户" in unquote(response.headers["Content-Disposition"])
