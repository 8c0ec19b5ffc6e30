"""The browser tests' server survives a client that drops a static file mid-response (#16).

CI failed once when Chromium abandoned select2.min.js on navigating away: Werkzeug left the
file open and the ResourceWarning (an error under this suite's filterwarnings) failed the test.
Here a raw socket asks for the same file and resets the connection after the first bytes.
"""

from __future__ import annotations

import gc
import socket
import struct
import time

from live_server_support import served

STATIC = "/admin/static/vendor/select2/select2.min.js"


def _drop_after_first_bytes(base: str, times: int = 20) -> None:
    host, port = base.removeprefix("http://").split(":")
    for _ in range(times):
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.sendall(f"GET {STATIC} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
        # SO_LINGER 0: close sends RST, as a browser tab navigating away does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def test_a_dropped_static_download_leaves_no_file_open(app):
    with served(app) as base:
        _drop_after_first_bytes(base)
        time.sleep(0.3)
    gc.collect()
