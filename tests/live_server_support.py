"""The app on a real HTTP server in a thread, for the browser tests (#2, #16).

Werkzeug's server leaves a response's file open when the browser drops the connection
mid-response (its `execute` reads the socket in a `finally` before closing the iterable, and
that read raises on a reset connection). With warnings as errors that ResourceWarning failed a
browser test in CI when Chromium abandoned a static script on navigating away. The served app
therefore hands the server a body already read and closed: nothing is left open to leak.
"""

from __future__ import annotations

import contextlib
import threading

from werkzeug.serving import make_server


def _closing(app):
    def wsgi(environ, start_response):
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    return wsgi


@contextlib.contextmanager
def served(app):
    """Yield the base URL of `app` served on a free port; stop the server afterwards."""
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
