"""`make run`'s launcher: gunicorn with the scheduler beside it, stopped together (#13 item 1)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> dict[int, str]:
    """Every descendant process of `pid` (from /proc), with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes()
                except OSError:
                    continue
                found[child] = cmdline.replace(b"\0", b" ").decode()
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_make_run_calls_the_launcher_with_gunicorn():
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    assert "-m ops.server" in dry.stdout and "--dev" not in dry.stdout
    dev = subprocess.run(["make", "-n", "dev"], cwd=ROOT, capture_output=True, text=True)
    assert "-m ops.server --dev" in dev.stdout


@pytest.mark.parametrize("stop_with", ["SIGTERM", "Ctrl-C"])
def test_launcher_serves_gunicorn_with_a_scheduler_and_stops_both(template_db, tmp_path,
                                                                 stop_with):
    if PG_URL:
        url = PG_URL
    else:
        shutil.copy(template_db, tmp_path / "desk.db")
        url = f"sqlite:///{tmp_path / 'desk.db'}"
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, FLASK_SECRET_KEY="launcher-test",
               FLASK_LOG_DIR=str(tmp_path / "logs"), FLASK_BACKUP_DIR=str(tmp_path / "backups"),
               WEB_HOST="127.0.0.1", WEB_PORT=str(port), WEB_WORKERS="1", WEB_THREADS="2")
    launcher = subprocess.Popen([sys.executable, "-m", "ops.server"], cwd=ROOT, env=env,
                                start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    try:
        deadline, response = time.monotonic() + 90, None
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                if response.status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # still booting (a loaded machine can take a while)
            assert launcher.poll() is None, launcher.stdout.read().decode()
            time.sleep(0.5)
        assert response is not None and response.status_code == 200, response and response.text
        assert response.headers["Server"].startswith("gunicorn")
        assert "Werkzeug" not in response.headers["Server"]
        processes = children_of(launcher.pid)
        schedulers = [pid for pid, cmd in processes.items() if "jobs run" in cmd]
        web = [pid for pid, cmd in processes.items() if "gunicorn" in cmd]
        assert len(schedulers) == 1, processes
        assert len(web) >= 2, processes  # the arbiter and its worker
        # The scheduler is a sibling of the web server, not inside a worker.
        assert not any("jobs run" in cmd for pid in web for cmd in children_of(pid).values())

        if stop_with == "SIGTERM":
            launcher.send_signal(signal.SIGTERM)
        else:  # a terminal's Ctrl-C: SIGINT to the whole foreground process group
            os.killpg(launcher.pid, signal.SIGINT)
        assert launcher.wait(60) == 0, launcher.stdout.read().decode()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in processes if alive(pid)], processes
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
        launcher.stdout.close()
