"""CPU per request of the pages the load bench drives (`make bench BENCH=render`, issue #14
item 1): the demand grid's 50-row page, a demand's details and the intake form, rendered
in-process through the test client on a fresh demo database, logged in as a clerk.

CPU time (time.process_time), not wall time: on a machine shared with other work the CPU a
request costs is what decides the server's requests/s, and it does not move with the load
average. Prints the median of BENCH_RENDER_REPEAT (40) renders per page, the statements per
request, and with BENCH_PROFILE=1 the cProfile of the grid's renders (top 30 by own time).
"""

from __future__ import annotations

import cProfile
import logging
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app import create_app
from models.base import db
from ops import settings

ROOT = Path(__file__).resolve().parent.parent
REPEAT = int(os.environ.get("BENCH_RENDER_REPEAT", "40"))
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.n = 0

    def emit(self, record):
        if record.name == "peewee":  # the statements, not the pool's "returning to pool"
            self.n += 1


def statements(client, url: str) -> int:
    logger, handler = logging.getLogger("peewee"), _Count()
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        client.get(url)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    return handler.n


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="render-bench-") as folder:
        database = Path(folder) / "desk.db"
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}",
                   FLASK_SECRET_KEY="render-bench", FLASK_LOG_DIR=str(Path(folder) / "logs"),
                   FLASK_BACKUP_DIR=str(Path(folder) / "backups"))
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        for step in (["db", "upgrade"], ["demo", "seed"]):
            subprocess.run(flask + step, cwd=ROOT, env=env, check=True, capture_output=True)
        # The connection pool as gunicorn.conf.py sets it (one per thread; BENCH_RENDER_POOL=0:
        # a connection per request, as before #14's throughput work).
        pool = int(os.environ.get("BENCH_RENDER_POOL", settings.load()["WEB_THREADS"]))
        app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "render-bench",
                          "LOG_DIR": str(Path(folder) / "logs"), "DATABASE_POOL": pool})
        client = app.test_client()
        token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        login = client.post("/login", data={"username": "clerk", "password": "demo12345",
                                            "csrf_token": token})
        assert login.status_code == 302, login.status_code
        with app.app_context(), db.connection_context():
            demand_id = db.execute_sql("SELECT min(id) FROM demand").fetchone()[0]
        pages = {
            "demand grid (50 rows)": "/admin/demand/",
            "demand details": f"/admin/demand/details/?id={demand_id}",
            "intake form": "/admin/demand/new/",
        }
        print(f"   CPU per request, median and fastest of {REPEAT} "
              f"(process time, in-process test client, DATABASE_POOL={pool}):")
        for name, url in pages.items():
            for _ in range(3):  # warm-up: template compilation, caches of the process
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            samples = []
            for _ in range(REPEAT):
                started = time.process_time()
                client.get(url)
                samples.append((time.process_time() - started) * 1000)
            print(f"     {name:<22} {statistics.median(samples):6.1f} ms CPU"
                  f" (min {min(samples):5.1f})"
                  f"  (p90 {sorted(samples)[int(0.9 * len(samples))]:6.1f} ms)"
                  f"  {statements(client, url)} statements")
        if os.environ.get("BENCH_PROFILE"):
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(REPEAT):
                client.get(pages["demand grid (50 rows)"])
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(60)
