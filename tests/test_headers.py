"""The Content-Security-Policy and the cache headers of pages and static files (#13 item 6)."""

from __future__ import annotations

import re

import pytest
from conftest import login
from test_demo_crawl import demo  # noqa: F401 (the demo estate fixture)

from demo import DEMO_PASSWORD

DIRECTIVES = ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
              "form-action 'self'", "frame-ancestors 'none'")
PAGES = ("/admin/", "/admin/cluster/", "/admin/cluster/new/", "/admin/resident/new/",
         "/admin/demand/new/", "/admin/demand/", "/admin/review/", "/admin/jobs/")


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part for part in header.split("; ")}


def _check_page(response) -> None:
    policy = _policy(response)
    for directive in DIRECTIVES:
        assert directive in policy.values()
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    # An inline script runs only with this response's nonce; no on…= handler anywhere.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)
    assert not re.search(r"<[^>]+\sstyle\s*=", html)
    for tag in re.findall(r"<style\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, tag
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_login_and_error_pages_carry_the_policy(app):
    client = app.test_client()
    _check_page(client.get("/login"))
    _check_page(client.get("/no-such-page"))


@pytest.mark.parametrize("url", PAGES)
def test_every_admin_page_carries_a_strict_policy(login_as, url):
    response = login_as("supervisor").get(url)
    assert response.status_code == 200
    _check_page(response)


def test_each_response_has_its_own_nonce(login_as):
    client = login_as("clerk")
    first = _policy(client.get("/admin/"))["script-src"]
    assert first != _policy(client.get("/admin/"))["script-src"]


def test_versioned_static_files_are_cached_and_pages_are_not(app, login_as):
    client = login_as("clerk")
    html = client.get("/admin/").get_data(as_text=True)
    ours = re.search(r'src="(/desk-static/desk\.js\?v=[0-9a-f]+)"', html).group(1)
    theirs = re.search(r'src="(/admin/static/vendor/jquery\.min\.js\?v=[^"]+)"', html).group(1)
    for url in (ours, theirs):
        response = client.get(url)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "no-store" not in response.headers["Cache-Control"]
        response.close()


def test_every_demo_page_and_print_is_free_of_inline_script(demo):  # noqa: F811
    client = demo.test_client()
    assert login(client, "supervisor", DEMO_PASSWORD).status_code == 302
    checked = 0
    for rule in demo.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "<" in rule.rule or "GET" not in rule.methods \
                or rule.rule.endswith(("/export/csv/", "/export/xlsx/", "/delete/")):
            continue
        response = client.get(rule.rule)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        _check_page(response)
        checked += 1
        if rule.endpoint.endswith(".index_view"):
            ids = re.findall(r"details/\?id=(\d+)", response.get_data(as_text=True))[:1]
            for row_id in ids:
                for page in ("details", "edit", "print"):
                    detail = client.get(f"{rule.rule.rstrip('/')}/{page}/?id={row_id}")
                    if detail.status_code == 200:
                        _check_page(detail)
                        checked += 1
    assert checked > 60
