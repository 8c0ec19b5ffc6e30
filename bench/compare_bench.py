"""The demand grid beside stock Flask-Admin and Django admin on the same file
(`make bench BENCH=compare`, #14: keep the comparison harness in bench/).

The page bench's six demand cases (bench/pages_bench.py, its names and, for ours, its very URLs:
pages_bench.register_urls), each a whole request through the framework's own test client, as a
logged-in user, on one SQLite file:

  demand: first page          the grid as it opens (newest received first)
  demand: page 20             rows 951–1,000 (Flask-Admin ?page=19 counts from 0; Django's
                              ?p=20 from 1: ChangeList reads int(GET["p"]) for paginator.page)
  demand: filter status=open  status = open and category = engineering
  demand: search 漏水          the description search
  demand: sort by reply_due   descending (Django: ?o=-<i>, i reply_due's index among the change
                              list's columns, action_checkbox first: ChangeList.get_ordering)
  demand: details             the largest demand id's page: ours /admin/demand/details/?id=N,
                              stock Flask-Admin's details view (can_view_details), Django's change
                              view /admin/django_admin/demand/N/change/ — Django's stock admin has
                              no read-only details page; its change form is what a user opens

- ours: the desk (create_app), logged in as the bench supervisor by a real POST to /login;
- stock Flask-Admin: a plain flask_admin.contrib.peewee.ModelView over the project's Demand
  model, with only what the cases need (the two filters, the search, the details view, newest
  first, 50 rows a page as ours and Django's; no auth, its defaults otherwise);
- Django admin: a stock ModelAdmin over models mapped onto the same tables with managed=False
  (bench/django_admin/), the desk's grid columns, a superuser logged in; Django's own tables in
  a scratch file. Django comes with `make bench` (the `bench` extra in pyproject.toml).

Every response must be HTTP 200, and its warm-up request's page passes one cheap check against
the file itself (the demand numbers it shows, looked up with sqlite3), so that no figure is an
error page or an empty grid: first page and sort, a full page (50 rows) with the file's latest
received_at / reply_due first and descending; page 20, its first row the 951st newest; filter
and search, only open engineering demands / descriptions holding the term (the filter shows none
where the file has none, as the page bench's 1,000-demand file); details, that one demand alone.
Where reply_due follows received_at row for row (that same small file: received + 2 days), the
sort's page and the first page are the same rows, and the check cannot tell them apart.

Prints the median of BENCH_COMPARE_REPEAT (5) requests after one warm-up, per case and
framework, the machine and the load average. Sizes: BENCH_COMPARE_DEMANDS (1000000); the file
is the demand bench's demands_<n>.db (bench/demand_data.py), built (about 10 minutes at 1M on an
idle core) or reused from BENCH_DEMANDS_DIR. Never a timed test.

BENCH_COMPARE_FILE=…/pages_1.db compares on the page bench's database instead, kept as
production keeps it (the sweep run, callbacks, ten estates: bench/pages_data.py), the file
behind `make bench BENCH=pages`' table; ours opens it as that bench does (jobs_data.sqlite_app)
and logs in as its supervisor of every estate. The file is opened as it is (copy it first if it
is kept for other benches).
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import tempfile
import time
import unicodedata
from contextlib import closing
from pathlib import Path
from urllib.parse import urlencode

from bench.pages_bench import DEEP_PAGE, DETAILED, register_urls

REPEAT = int(os.environ.get("BENCH_COMPARE_REPEAT", "5"))
PAGE_SIZE = 50  # ours (views/base.py), stock Flask-Admin's here, Django's list_per_page
DEMAND = next(d for d in DETAILED if d[0] == "demand")  # the page bench's demand row
_, COLUMN, VALUE, TERM, SORT = DEMAND
CASES = ("demand: first page", "demand: page 20", f"demand: filter {COLUMN}={VALUE}",
         f"demand: search {TERM}", f"demand: sort by {SORT}", "demand: details")
NUMBER_RE = re.compile(r"XQ-[A-Z0-9]+-\d+")  # a demand's number (XQ-B-00000001, XQ-2025-00001)


class Check:
    """One cheap check per case of what a page shows, against the file itself: the demand
    numbers on the page, in the order they appear, looked up with sqlite3 (read-only)."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.largest_id = self.one("SELECT MAX(id) FROM demand")
        # A full page: 50 rows, or every row of a smaller file (ours hides the voided ones)
        self.full = min(PAGE_SIZE, self.one("SELECT COUNT(*) FROM demand WHERE NOT voided"))

    def latest_first(self, shown: list[str], column: str) -> bool:
        """A full page, the file's latest value of the column first, descending (NULL last)."""
        values = [self.one(f"SELECT {column} FROM demand WHERE number = ?", (number,))
                  for number in shown]
        latest = self.one(f"SELECT MAX({column}) FROM demand WHERE NOT voided")
        return (len(shown) == self.full and values[0] is not None and values[0] >= latest
                and values == sorted(values, key=lambda v: v or "", reverse=True))

    def close(self) -> None:
        self.connection.close()

    def one(self, sql: str, params=()):
        return self.connection.execute(sql, tuple(params)).fetchone()[0]

    def __call__(self, framework: str, case: str, body: str) -> None:
        shown = list(dict.fromkeys(NUMBER_RE.findall(body)))
        where = f"number IN ({','.join('?' * len(shown))})"

        def among(condition: str, *params) -> int:  # the shown demands meeting the condition
            return self.one(f"SELECT COUNT(*) FROM demand WHERE {where} AND {condition}",
                            (*shown, *params))

        def most(column: str, condition: str = "1") -> str | None:
            return self.one(f"SELECT MAX({column}) FROM demand WHERE {condition}",
                            shown if "?" in condition else ())

        live = "NOT voided"  # ours hides voided rows, the stock ones show them
        problem = None
        if case == "demand: details":
            number = self.one("SELECT number FROM demand WHERE id = ?", (self.largest_id,))
            problem = None if shown == [number] else f"{shown[:3]} shown, not {number} alone"
        elif case == f"demand: filter {COLUMN}={VALUE}":
            rows = (f"{COLUMN} = ? AND category = 'engineering'", VALUE)
            expected = self.one(f"SELECT COUNT(*) FROM demand WHERE {live} AND {rows[0]}",
                                rows[1:])
            if bool(shown) != bool(expected) or (shown and among(*rows) < among("1")):
                problem = f"{len(shown)} shown, not all of the file's {expected}"
        elif not shown:
            problem = "no demand shown"
        elif case == "demand: first page":
            if not self.latest_first(shown, "received_at"):
                problem = f"{len(shown)} shown, not the {self.full} newest received, newest first"
        elif case == "demand: page 20":
            # Its first row is the 951st newest (received_at ties aside).
            before, first = DEEP_PAGE * PAGE_SIZE, most("received_at", where)
            newer = self.one(f"SELECT COUNT(*) FROM demand WHERE {live} AND received_at > ?",
                             (first,))
            as_new = self.one("SELECT COUNT(*) FROM demand WHERE received_at >= ?", (first,))
            if not newer <= before < as_new:
                problem = f"not from row {before + 1} ({newer} newer, {as_new} as new)"
        elif case == f"demand: search {TERM}":
            if among("description LIKE ?", f"%{TERM}%") < among("1"):
                problem = f"a demand without {TERM}"
        elif case == f"demand: sort by {SORT}":
            if not self.latest_first(shown, SORT):
                problem = f"{len(shown)} shown, not the latest {SORT} first, descending"
        assert problem is None, f"{framework}, {case}: {problem}"


def measure(framework: str, get, urls: dict[str, str], check: Check) -> dict[str, float]:
    """Each case: one warm-up request (templates, caches, the file's pages) whose page is
    checked, then REPEAT timed ones; the median in ms."""
    assert list(urls) == list(CASES), (framework, list(urls))
    medians = {}
    for case in CASES:
        check(framework, case, get(urls[case]))
        samples = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            get(urls[case])
            samples.append((time.perf_counter() - started) * 1000)
        medians[case] = statistics.median(samples)
    return medians


def ours(path: Path, page_bench: bool, check: Check) -> dict[str, float]:
    """The desk, its URLs the page bench's (pages_bench.register_urls on its demand view)."""
    from bench.demand_data import make_app
    from bench.demands_bench import demand_view, get, logged_in_client
    from bench.jobs_data import sqlite_app

    app = sqlite_app(path) if page_bench else make_app(path)
    client = logged_in_client(app)
    urls = register_urls(demand_view(app), *DEMAND)
    return measure("ours", lambda url: get(client, url), urls, check)


def stock_flask_admin(check: Check) -> dict[str, float]:
    """A plain peewee ModelView over models.demands.Demand, bound to the file ours opened."""
    from flask import Flask
    from flask_admin import Admin
    from flask_admin.contrib.peewee import ModelView
    from flask_babel import Babel

    from bench.demands_bench import get
    from models.demands import Demand

    app = Flask("stock_flask_admin")
    app.config["SECRET_KEY"] = "bench"
    Babel(app)  # the model's labels are lazy strings

    class DemandView(ModelView):
        column_filters = ("status", "category")
        column_searchable_list = ("description",)
        column_default_sort = ("received_at", True)  # the first page: newest received first
        page_size = PAGE_SIZE  # the 20th page: rows 951–1,000 (its default is 20 rows)
        can_view_details = True

    view = DemandView(Demand, endpoint="demand")
    Admin(app, name="stock").add_view(view)
    client = app.test_client()
    with app.test_request_context():
        urls = register_urls(view, *DEMAND)
    return measure("stock Flask-Admin", lambda url: get(client, url), urls, check)


def django_admin(path: Path, scratch: Path, check: Check) -> dict[str, float]:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["testserver"], USE_TZ=True,
        TIME_ZONE="Asia/Shanghai", LANGUAGE_CODE="zh-hans", ROOT_URLCONF="bench.django_admin.urls",
        INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth",
                        "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "bench.django_admin"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.middleware.common.CommonMiddleware",
                    "django.middleware.csrf.CsrfViewMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True,
                    "OPTIONS": {"context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages"]}}],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(scratch)},
                   "desk": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}},
        DATABASE_ROUTERS=["bench.django_admin.router.DeskRouter"],
        STATIC_URL="/static/", DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # setup only
    )
    django.setup()
    from django.contrib import admin
    from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client, RequestFactory

    from bench.django_admin.models import Demand

    call_command("migrate", verbosity=0, interactive=False)
    client = Client()
    user = User.objects.create_superuser("bench", "bench@example.invalid", "bench")
    client.force_login(user)
    base = "/admin/django_admin/demand/"
    request = RequestFactory().get(base)
    request.user = user
    model_admin = admin.site._registry[Demand]
    assert model_admin.list_per_page == PAGE_SIZE and model_admin.sortable_by is None
    # ?o= indexes the change list's columns, action_checkbox first (not ModelAdmin.list_display)
    columns = model_admin.get_changelist_instance(request).list_display
    urls = dict(zip(CASES, (
        base,
        base + "?" + urlencode({PAGE_VAR: DEEP_PAGE + 1}),  # Django counts pages from 1
        base + "?" + urlencode({f"{COLUMN}__exact": VALUE, "category__exact": "engineering"}),
        base + "?" + urlencode({SEARCH_VAR: TERM}),
        # "-<i>": list_display[i] descending (ChangeList.get_ordering)
        base + "?" + urlencode({ORDER_VAR: f"-{columns.index(SORT)}"}),
        f"{base}{check.largest_id}/change/",
    ), strict=True))

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content.decode()

    return measure("Django admin", get, urls, check)


def main() -> None:
    from bench.demand_report import machine
    from bench.demands_bench import build_database

    n = int(os.environ.get("BENCH_COMPARE_DEMANDS", "1000000").replace("_", ""))
    given = os.environ.get("BENCH_COMPARE_FILE")
    print(f"   machine: {machine()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="compare-bench-") as tmp:
        if given:
            path = Path(given)
        else:
            keep = os.environ.get("BENCH_DEMANDS_DIR")
            path = (Path(keep) if keep else Path(tmp)) / f"demands_{n}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"   {n:,} demands in {path} (built if missing) …", flush=True)
            build_database(path, n, int(os.environ.get("BENCH_SEED", "20240601")))
        with closing(Check(path)) as check:
            if given:
                n = check.one("SELECT COUNT(*) FROM demand")
                print(f"   {n:,} demands in {path} (as kept) …", flush=True)
            measured = {"ours": ours(path, bool(given), check)}
            print(f"   ours done; load average {os.getloadavg()[0]:.2f}", flush=True)
            measured["stock Flask-Admin"] = stock_flask_admin(check)
            print(f"   stock Flask-Admin done; load average {os.getloadavg()[0]:.2f}",
                  flush=True)
            measured["Django admin"] = django_admin(path, Path(tmp) / "django.db", check)
            print(f"   Django admin done; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"   median of {REPEAT} whole requests after a warm-up, {n:,} demands, SQLite:")
    names = list(measured)
    width = max(map(_wide, CASES)) + 2
    print("   " + "case".ljust(width) + "".join(f"{name:>20}" for name in names))
    for case in CASES:
        print("   " + case + " " * (width - _wide(case))
              + "".join(f"{measured[name][case]:>17.0f} ms" for name in names))


def _wide(text: str) -> int:
    """Columns the text takes in a terminal (漏水: two each)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


if __name__ == "__main__":
    main()
