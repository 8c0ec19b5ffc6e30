"""`python -m ops.server [--dev]`: the web server and the scheduler, started and stopped together.

What `make run` (gunicorn) and `make dev` (Flask's auto-reloading development server) call.
The scheduler (`flask --app app jobs run`) is its own child process, never inside a web worker.
Ctrl-C or SIGTERM stops both; if either dies, the other is stopped too and the exit code says so.
Under systemd the two run as separate units instead (deploy/); this is for one terminal.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ops import settings

STOP_GRACE_SECONDS = 35  # gunicorn's graceful_timeout (30 s) and a little


def web_command(config, dev: bool) -> list[str]:
    if dev:
        return [sys.executable, "-m", "flask", "--app", "app", "run", "--debug",
                "--host", str(config["WEB_HOST"]), "--port", str(config["WEB_PORT"])]
    return [sys.executable, "-m", "gunicorn", "-c",
            str(settings.PROJECT_ROOT / "gunicorn.conf.py")]


def scheduler_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", "jobs", "run"]


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every live child, wait for them, SIGKILL whatever outlives the grace period."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(dev: bool = False) -> int:
    config = settings.load()
    logs = settings.log_dir(config)
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(Path(logs) / "jobs.log", "ab") as jobs_log:
        scheduler = subprocess.Popen(scheduler_command(), cwd=settings.PROJECT_ROOT, env=env,
                                     stdout=jobs_log, stderr=subprocess.STDOUT)
    web = subprocess.Popen(web_command(config, dev), cwd=settings.PROJECT_ROOT, env=env)
    children = [web, scheduler]
    stopping = False

    def _stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    # A terminal's Ctrl-C reaches the whole process group; systemd or `kill` sends SIGTERM to
    # us alone. Either way the children get one SIGTERM from here and are waited for.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"  客服中心：http://{config['WEB_HOST']}:{config['WEB_PORT']}/"
          f"（{'开发服务器，自动重载' if dev else 'gunicorn'}；进程 {web.pid}）\n"
          f"  调度器：进程 {scheduler.pid}，日志 {logs / 'jobs.log'}；Ctrl-C 一并停止。",
          flush=True)
    failed = None
    while not stopping:
        time.sleep(0.2)
        for name, process in (("网页服务器", web), ("调度器", scheduler)):
            if process.poll() is not None and not stopping:
                # A terminal's Ctrl-C can reach a child a moment before our own handler runs.
                time.sleep(0.5)
                if not stopping:
                    failed = f"{name}已退出（返回码 {process.returncode}），停止另一个进程。"
                    stopping = True
    stop(children)
    if failed:
        print(failed, file=sys.stderr, flush=True)
        return 1
    print("网页服务器和调度器已停止。", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true",
                        help="Flask's development server with auto-reload instead of gunicorn.")
    return serve(dev=parser.parse_args(argv).dev)


if __name__ == "__main__":
    sys.exit(main())
