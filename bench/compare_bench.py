"""The demand grid beside stock Flask-Admin and Django admin on the same file
(`make bench BENCH=compare`, #14: keep the comparison harness in bench/).

Three cases, each a whole request through the framework's own test client, as a logged-in
user, on one SQLite file built by bench/demand_data.py (the demand bench's demands_<n>.db):

  first page       the grid as it opens (newest received first)
  status+category  status = open and category = engineering
  search 漏水       the description search

- ours: the desk (create_app), logged in as the bench supervisor by a real POST to /login;
- stock Flask-Admin: a plain flask_admin.contrib.peewee.ModelView over the project's Demand
  model, with only the filters and the search the cases need (no auth, its defaults otherwise);
- Django admin: a stock ModelAdmin over models mapped onto the same tables with managed=False
  (bench/django_admin/), the desk's grid columns, a superuser logged in; Django's own tables in
  a scratch file. Django comes with `make bench` (the `bench` extra in pyproject.toml).

Prints the median of BENCH_COMPARE_REPEAT (5) requests after one warm-up, per case and
framework, and the load average. Sizes: BENCH_COMPARE_DEMANDS (1000000); the file is built
(about 10 minutes at 1M on an idle core) or reused from BENCH_DEMANDS_DIR. Never a timed test.

BENCH_COMPARE_FILE=…/pages_1.db compares on the page bench's database instead, kept as
production keeps it (the sweep run, callbacks, ten estates: bench/pages_data.py), the file
behind `make bench BENCH=pages`' table; ours logs in as that bench's supervisor of every
estate. The file is opened as it is (copy it first if it is kept for other benches).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.demand_data import SEARCH_TERM

REPEAT = int(os.environ.get("BENCH_COMPARE_REPEAT", "5"))
CASES = ("first page", "status+category", f"search {SEARCH_TERM}")


def timed(get, url: str) -> float:
    get(url)  # warm-up: templates, caches, the file's pages
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def ours(path: Path) -> dict[str, float]:
    from bench.demand_data import make_app
    from bench.demands_bench import case_urls, get, logged_in_client

    app = make_app(path)
    client = logged_in_client(app)
    urls = case_urls(app)
    return {case: timed(lambda u: get(client, u), urls[case]) for case in CASES}


def stock_flask_admin() -> dict[str, float]:
    """A plain peewee ModelView over models.demands.Demand, bound to the file ours opened."""
    from flask import Flask
    from flask_admin import Admin
    from flask_admin.contrib.peewee import ModelView
    from flask_babel import Babel

    from bench.demands_bench import filter_index
    from models.demands import Demand

    app = Flask("stock_flask_admin")
    app.config["SECRET_KEY"] = "bench"
    Babel(app)  # the model's labels are lazy strings

    class DemandView(ModelView):
        column_filters = ("status", "category")
        column_searchable_list = ("description",)

    view = DemandView(Demand, endpoint="demand")
    Admin(app, name="stock").add_view(view)
    client = app.test_client()
    with app.test_request_context():
        status = filter_index(view, "FilterEqual", "status")
        category = filter_index(view, "FilterEqual", "category")
    urls = {"first page": "/admin/demand/",
            "status+category": "/admin/demand/?" + urlencode(
                {f"flt0_{status}": "open", f"flt1_{category}": "engineering"}),
            f"search {SEARCH_TERM}": "/admin/demand/?" + urlencode({"search": SEARCH_TERM})}

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return {case: timed(get, urls[case]) for case in CASES}


def django_admin(path: Path, scratch: Path) -> dict[str, float]:
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
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    client = Client()
    client.force_login(User.objects.create_superuser("bench", "bench@example.invalid", "bench"))
    base = "/admin/django_admin/demand/"
    urls = {"first page": base,
            "status+category": base + "?" + urlencode({"status__exact": "open",
                                                       "category__exact": "engineering"}),
            f"search {SEARCH_TERM}": base + "?" + urlencode({"q": SEARCH_TERM})}

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return {case: timed(get, urls[case]) for case in CASES}


def _demands_in(path: Path) -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute("SELECT COUNT(*) FROM demand").fetchone()[0]


def main() -> None:
    from bench.demand_report import machine
    from bench.demands_bench import build_database

    n = int(os.environ.get("BENCH_COMPARE_DEMANDS", "1000000").replace("_", ""))
    given = os.environ.get("BENCH_COMPARE_FILE")
    print(f"   machine: {machine()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="compare-bench-") as tmp:
        if given:
            path = Path(given)
            n = _demands_in(path)
            print(f"   {n:,} demands in {path} (as kept) …", flush=True)
        else:
            keep = os.environ.get("BENCH_DEMANDS_DIR")
            path = (Path(keep) if keep else Path(tmp)) / f"demands_{n}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"   {n:,} demands in {path} (built if missing) …", flush=True)
            build_database(path, n, int(os.environ.get("BENCH_SEED", "20240601")))
        measured = {"ours": ours(path)}
        print(f"   ours done; load average {os.getloadavg()[0]:.2f}", flush=True)
        measured["stock Flask-Admin"] = stock_flask_admin()
        print(f"   stock Flask-Admin done; load average {os.getloadavg()[0]:.2f}", flush=True)
        measured["Django admin"] = django_admin(path, Path(tmp) / "django.db")
        print(f"   Django admin done; load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"   median of {REPEAT} whole requests after a warm-up, {n:,} demands, SQLite:")
    names = list(measured)
    print("   " + f"{'case':<18}" + "".join(f"{name:>20}" for name in names))
    for case in CASES:
        print("   " + f"{case:<18}" + "".join(f"{measured[name][case]:>17.0f} ms"
                                           for name in names))


if __name__ == "__main__":
    main()
