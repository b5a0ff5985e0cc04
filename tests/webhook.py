"""A webhook for the tests: fails the first N requests, then accepts.

usage: python3 webhook.py PORTFILE LOGFILE [FAILS [STATUS]]

Listens on 127.0.0.1 on a port of its own choosing, written to PORTFILE
once it accepts connections.  Every request is appended to LOGFILE as one
JSON line: method, path, content type, status answered and body.  The
first FAILS requests (default 0) get STATUS (default 503).
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, logfile = sys.argv[1], sys.argv[2]
fails = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_status = int(sys.argv[4]) if len(sys.argv) > 4 else 503
lock = threading.Lock()
seen = 0


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            seen += 1
            status = fail_status if seen <= fails else 200
            with open(logfile, "a") as f:
                f.write(json.dumps({
                    "method": "POST", "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "status": status, "body": body}) + "\n")
        reply = b'{"ok":true}' if status == 200 else b'{"ok":false}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, portfile)
srv.serve_forever()
