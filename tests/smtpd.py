"""An SMTP server for the tests, from Debian's python3-aiosmtpd.

usage: /usr/bin/python3 smtpd.py PORTFILE MAILDIR [FAILS]

Listens on 127.0.0.1 on a free port, written to PORTFILE once it answers.
Each message received is written to MAILDIR/N.eml, and its envelope to
MAILDIR/N.json.  The first FAILS messages (default 0) are refused at DATA
with "451 try again later" (a transient failure).
"""
import asyncio
import json
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller

portfile, maildir = sys.argv[1], sys.argv[2]
fails = int(sys.argv[3]) if len(sys.argv) > 3 else 0
os.makedirs(maildir, exist_ok=True)


class Handler:
    def __init__(self):
        self.n = 0
        self.tries = 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= fails:
            return "451 4.3.0 try again later"
        self.n += 1
        base = os.path.join(maildir, str(self.n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpt_tos": envelope.rcpt_tos}, f)
        return "250 OK"


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
ctl.start()
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % port)
os.rename(tmp, portfile)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    ctl.stop()
