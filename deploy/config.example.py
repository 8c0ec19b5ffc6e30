"""Production settings: copy to /srv/desk/instance/config.py, edit, chmod 640, chown root:desk.

Read by the app (app.py), gunicorn (gunicorn.conf.py) and the scheduler; environment variables
(FLASK_<NAME>, DATABASE_URL, WEB_*) win over what is written here.
"""

from pathlib import Path

_instance = Path(__file__).resolve().parent

# --- security -----------------------------------------------------------------------------
# Signs sessions and CSRF tokens. Create it once:
#   python3 -c 'import secrets; print(secrets.token_hex(32))' > /srv/desk/instance/secret_key
SECRET_KEY = (_instance / "secret_key").read_text().strip()
# The host names the office uses (the nginx server_name); any other Host header is refused.
TRUSTED_HOSTS = ["desk.example.cn"]
# Served over HTTPS only (deploy/nginx-desk.conf): cookies never travel in clear text.
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True
PREFERRED_URL_SCHEME = "https"
# nginx on this machine sets X-Forwarded-For/-Proto/-Host: trust exactly that one hop.
BEHIND_PROXY = True

# --- database -----------------------------------------------------------------------------
# PostgreSQL through the local socket, as the system user `desk` (peer authentication).
# For a single small office SQLite also works: "sqlite:////srv/desk/instance/desk.db".
DATABASE_URL = "postgresql://desk@/desk"
OFFICE_TZ = "Asia/Shanghai"

# --- web server (gunicorn.conf.py) ----------------------------------------------------------
WEB_HOST = "127.0.0.1"  # nginx proxies to this address
WEB_PORT = 5000
WEB_WORKERS = 3  # 2-core office PC: cores + 1
WEB_THREADS = 4
WEB_TIMEOUT = 120  # seconds; above the longest export

# --- logs (one line per request; rotated) -----------------------------------------------------
LOG_DIR = "/srv/desk/instance/logs"
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUP_COUNT = 10

# --- backups (nightly job at 02:30; `flask --app app db backup` any time) --------------------
BACKUP_DIR = "/srv/desk/instance/backups"  # copy this folder off the machine every day
BACKUP_KEEP_DAILY = 7
BACKUP_KEEP_WEEKLY = 4
BACKUP_KEEP_MONTHLY = 12
BACKUP_MAX_AGE_HOURS = 26  # the front desk warns when the newest backup is older
HEALTH_HEARTBEAT_MAX_AGE = 180  # seconds without a scheduler heartbeat before /healthz is 503

# --- Google Sheets mirror -------------------------------------------------------------------
# A service-account key limited to the spreadsheets scope; per-estate spreadsheets are set
# with `flask --app app sheets configure --estate CODE --spreadsheet ID`.
SHEETS_CREDENTIALS_FILE = "/srv/desk/instance/sheets-service-account.json"
SHEETS_TIMEOUT = 30
SHEETS_MAX_RETRIES = 5
SHEETS_REQUESTS_PER_MINUTE = 60

# --- daily digest robots (WeChat Work / DingTalk) ---------------------------------------------
JOBS_DIGEST_WEBHOOKS = {
    # "DEMO": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…", "kind": "wecom"},
}
JOBS_DIGEST_WEBHOOK = None  # the robot for every estate not listed above
JOBS_WEBHOOK_TIMEOUT = 10
JOBS_WEBHOOK_ATTEMPTS = 3
