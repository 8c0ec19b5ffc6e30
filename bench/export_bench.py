"""Unfiltered demand exports through the production server (`make bench BENCH=export`, #14 item 4).

The demand grid exported whole, as CSV and as XLSX, by a supervisor of every estate, over real
HTTP from gunicorn started as ops/server.py starts it (gunicorn.conf.py: gthread workers),
except that the worker timeout is gunicorn's default 30 s (WEB_TIMEOUT), so an export longer
than that shows whether a worker gets killed. A fresh server per format, so each worker's peak
memory belongs to one export. Printed per format: time to the response headers, to the first
byte of the body and to the first data row, total time, rows and bytes received, the serving
worker's peak resident memory (VmHWM in /proc/<pid>/status) beside a fresh worker's, what it
still holds afterwards (VmRSS), the server's CPU time, WORKER TIMEOUT lines in gunicorn's
output, the load average before and after, and whether the file ends with a row-cap notice.

The database is a copy (made with SQLite's backup API, the source opened read-only) of:
  BENCH_EXPORT_DB=/path/file.db    an already built SQLite file (e.g. the jobs bench's), or
  BENCH_EXPORT_DEMANDS=1000000     demands built by bench/demand_data.py (as the demand bench
                                   does), kept as demands_<n>.db in BENCH_DEMANDS_DIR if set.
BENCH_EXPORT_DIR keeps the working copy and the downloaded files (default: a temporary folder).
BENCH_EXPORT_KINDS=csv,xlsx chooses the formats. BENCH_EXPORT_SECONDS (600) stops reading a
download that takes longer (so a run fits the shared machine's 15-minute bench slot): the rows
received by then are counted (an XLSX's sheet inflated as far as it came) and the rate printed.
Never a timed test.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import requests

from bench.load_bench import wait_until_up

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench_exporter"
PASSWORD = "bench-password-1"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CAP_NOTICE = "已达导出上限"
GUNICORN_DEFAULT_TIMEOUT = 30
READ_SECONDS = float(os.environ.get("BENCH_EXPORT_SECONDS", "600"))


def source_database(folder: Path) -> Path:
    given = os.environ.get("BENCH_EXPORT_DB")
    if given:
        return Path(given)
    from bench.demands_bench import build_database

    n = int(os.environ.get("BENCH_EXPORT_DEMANDS", "1000000").replace("_", ""))
    keep = os.environ.get("BENCH_DEMANDS_DIR")
    path = (Path(keep) if keep else folder) / f"demands_{n}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"   building (or reusing) {n:,} demands in {path} …", flush=True)
    build_database(path, n, int(os.environ.get("BENCH_SEED", "20240601")))
    return path


def working_copy(source: Path, copy: Path) -> None:
    """A consistent copy of `source` (its WAL included), which is opened read-only."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, \
            sqlite3.connect(copy) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def prepare(copy: Path, env: dict) -> int:
    """Migrate the copy and give it a supervisor of every estate; the rows they may export."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    from app import create_app
    from models.base import db
    from models.estate import Estate
    from models.users import User, UserEstate

    create_app({"DATABASE_URL": f"sqlite:///{copy}", "SECRET_KEY": "bench"})
    with db.connection_context():
        user = User.get_or_none(User.username == USERNAME)
        if user is None:
            user = User(username=USERNAME, display_name="导出基准", role="supervisor")
            user.set_password(PASSWORD)
            user.save()
        for estate in Estate.select():
            UserEstate.get_or_create(user=user, estate=estate)
        visible = db.execute_sql("SELECT count(*) FROM demand WHERE voided = 0").fetchone()[0]
    db.close()
    return visible


def server_processes(master: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(children)


def memory(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS (now) of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024
    return out


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current VmRSS (Linux: 5 > /proc/<pid>/clear_refs), so the
    peak is the export's and not the login's (scrypt takes 32 MB for a moment)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_in(base: str) -> requests.Session:
    session = requests.Session()
    token = CSRF_RE.search(session.get(f"{base}/login", timeout=120).text).group(1)
    answer = session.post(f"{base}/login", data={"username": USERNAME, "password": PASSWORD,
                                                 "csrf_token": token},
                          allow_redirects=False, timeout=120)
    assert answer.status_code == 302, f"login failed: {answer.status_code}"
    session.get(f"{base}/admin/demand/", timeout=120).raise_for_status()  # as a user would
    return session


def download(session: requests.Session, url: str, target: Path) -> dict:
    """Fetch `url` into `target` as it arrives; when the headers, first byte and first row came."""
    started = time.perf_counter()
    result = {"first_byte": None, "first_row": None, "bytes": 0, "stopped": False}
    with session.get(url, stream=True, timeout=600) as response, open(target, "wb") as out:
        result["status"] = response.status_code
        result["headers"] = time.perf_counter() - started
        result["encoding"] = response.headers.get("Transfer-Encoding", "")
        newlines = 0
        for chunk in response.iter_content(chunk_size=None):
            if not chunk:
                continue
            now = time.perf_counter() - started
            if result["first_byte"] is None:
                result["first_byte"] = now
            if result["first_row"] is None and target.suffix == ".csv":
                newlines += chunk.count(b"\n")  # the header line, then a data row
                if newlines >= 2:
                    result["first_row"] = now
            result["bytes"] += len(chunk)
            out.write(chunk)
            if now > READ_SECONDS:
                result["stopped"] = True
                break
    result["total"] = time.perf_counter() - started
    return result


def count_rows(path: Path, whole: bool) -> tuple[int, bool]:
    """Data rows in the downloaded file (header excluded), and whether it ends in a cap notice.
    A download stopped early: the complete rows received (CSV lines; XLSX rows inflated from
    the sheet's zip entry, which is the first in the archive as far as it came)."""
    if path.suffix == ".csv":
        rows, last = 0, []
        with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
            for row in csv.reader(handle):
                rows, last = rows + 1, row
        return rows - 1 - (not whole), whole and bool(last) and CAP_NOTICE in last[0]
    if whole:
        with zipfile.ZipFile(path) as archive:
            sheet = next(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            stream = archive.open(sheet)
    else:
        stream = _inflated_first_entry(path)
    rows, tail = 0, b""
    with stream:
        while block := stream.read(1 << 20):
            rows += (tail[-8:] + block).count(b"<row ") - tail[-8:].count(b"<row ")
            tail = (tail + block)[-65536:]
    return rows - 1 - (not whole), whole and CAP_NOTICE.encode() in tail.rsplit(b"<row ", 1)[-1]


def _inflated_first_entry(path: Path):
    """The first zip entry's bytes, inflated as far as the (cut off) file holds them."""
    data = path.read_bytes()
    name_length, extra_length = struct.unpack("<HH", data[26:30])
    inflater = zlib.decompressobj(-15)
    return io.BytesIO(inflater.decompress(data[30 + name_length + extra_length:]))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def export_once(kind: str, folder: Path, env: dict) -> dict:
    """A fresh production server, one supervisor, one unfiltered export of `kind`."""
    from ops.server import web_command
    from ops.settings import load

    port = free_port()
    env = dict(env, WEB_PORT=str(port), WEB_TIMEOUT=str(GUNICORN_DEFAULT_TIMEOUT))
    log_path = folder / f"server-{kind}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(web_command(load(), dev=False), cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        session = log_in(base)
        workers = server_processes(server.pid)
        for pid in workers:
            reset_peak(pid)
        fresh = {pid: memory(pid) for pid in workers}
        cpu_before = {pid: cpu_seconds(pid) for pid in workers}
        load_before = os.getloadavg()[0]
        result = download(session, f"{base}/admin/demand/export/{kind}/",
                          folder / f"demands.{kind}")
        load_after = os.getloadavg()[0]
        cpu_used = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in workers}
        serving = max(cpu_used, key=cpu_used.get)
        after = memory(serving)
        alive = server_processes(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    output = log_path.read_text(errors="replace")
    rows, capped = count_rows(folder / f"demands.{kind}", whole=not result["stopped"])
    return result | {
        "rows": rows, "capped": capped, "load": (load_before, load_after),
        "fresh_mb": fresh[serving]["VmRSS"],
        "peak_mb": after["VmHWM"], "kept_mb": after["VmRSS"], "cpu": cpu_used[serving],
        "worker_timeouts": output.count("WORKER TIMEOUT"),
        "workers_replaced": len(set(alive) - set(workers)),
    }


def main() -> None:
    from bench.demand_report import machine

    kinds = [k.strip() for k in os.environ.get("BENCH_EXPORT_KINDS", "csv,xlsx").split(",")
             if k.strip()]
    keep = os.environ.get("BENCH_EXPORT_DIR")
    print(f"   machine: {machine()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        source = source_database(folder)
        copy = folder / "export-copy.db"
        started = time.perf_counter()
        working_copy(source, copy)
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{copy}", FLASK_SECRET_KEY="export-bench",
                   FLASK_LOG_DIR=str(folder / "logs"), FLASK_BACKUP_DIR=str(folder / "backups"),
                   WEB_HOST="127.0.0.1")
        env.pop("FLASK_EXPORT_MAX_ROWS", None)
        visible = prepare(copy, env)
        print(f"   {source} copied and migrated in {time.perf_counter() - started:.0f} s; "
              f"{visible:,} demands not voided (what an unfiltered export holds)", flush=True)
        print(f"   gunicorn as ops/server.py starts it (gthread), worker timeout "
              f"{GUNICORN_DEFAULT_TIMEOUT} s; one export per fresh server", flush=True)
        for kind in kinds:
            r = export_once(kind, folder, env)
            print(f"   {kind.upper():<4} HTTP {r['status']}  headers {r['headers'] * 1000:.0f} ms, "
                  f"first byte {r['first_byte'] * 1000:.0f} ms, "
                  + (f"first row {r['first_row'] * 1000:.0f} ms, " if r["first_row"] else "")
                  + f"total {r['total']:.1f} s", flush=True)
            if r["stopped"]:
                print(f"        stopped reading after {READ_SECONDS:.0f} s (BENCH_EXPORT_SECONDS); "
                      f"at this rate all {visible:,} rows take "
                      f"{visible / max(1, r['rows']) * r['total'] / 60:.0f} min", flush=True)
            print(f"        rows {r['rows']:,} of {visible:,}"
                  f"{' (the file says it was capped)' if r['capped'] else ''}, "
                  f"{r['bytes'] / 1e6:.1f} MB ({r['encoding'] or 'with Content-Length'}), "
                  f"{r['rows'] / r['total']:,.0f} rows/s", flush=True)
            print(f"        serving worker: peak RSS {r['peak_mb']:.0f} MB (before it "
                  f"{r['fresh_mb']:.0f} MB), kept afterwards {r['kept_mb']:.0f} MB, CPU "
                  f"{r['cpu']:.1f} s", flush=True)
            print(f"        WORKER TIMEOUT {r['worker_timeouts']}, workers replaced "
                  f"{r['workers_replaced']}; load average {r['load'][0]:.2f} → "
                  f"{r['load'][1]:.2f}", flush=True)
        if keep:
            print(f"   (copy and files kept in {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
