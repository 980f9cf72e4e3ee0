#!/usr/bin/python3
# A stand-in for a school's GitLab serving /USERNAME.keys over HTTPS, for tests/cli/keys.
# It runs inside the test's "Internet" network namespace, with a certificate from the
# test's own CA.
#
# usage: keyserver.py ADDR PORT CERT KEY KEYDIR READYFILE LOGFILE
#
# KEYDIR/NAME.keys is served as /NAME.keys (text/plain). Some names behave like the
# accounts a teacher meets (see ROUTES); /u/NAME.keys is KEYDIR/u/NAME.keys after a short
# delay, to measure fetching in parallel. Every request path is appended to LOGFILE.
# It writes READYFILE once it listens, and stops on SIGTERM or after 300 s.
import http.server
import os
import signal
import socketserver
import ssl
import sys
import threading
import time

addr, port, cert, key, keydir, ready, logfile = sys.argv[1:8]
log_lock = threading.Lock()


def login_page():
    return (b"<!DOCTYPE html>\n<html><head><title>Sign in \xc2\xb7 GitLab</title></head>"
            b"<body><form action=\"/users/sign_in\">...</form></body></html>\n")


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: a body without Content-Length ends when the connection closes.
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        with log_lock, open(logfile, "a") as f:
            f.write(self.path + "\n")

    def send(self, status, ctype, body, length=True, headers=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client stopped reading: what a size limit does

    def do_GET(self):
        p = self.path
        if p == "/carol.keys":          # a private GitLab: the keys need a login
            self.send(302, "text/html", b"", headers=[("Location", "/users/sign_in")])
        elif p == "/users/sign_in":
            self.send(200, "text/html; charset=utf-8", login_page())
        elif p == "/dave.keys":         # a server that never answers in time
            time.sleep(8)
            self.send(200, "text/plain", b"")
        elif p == "/erin.keys":         # far too much, and it says so
            self.send(200, "text/plain", b"x" * (100 * 1024))
        elif p == "/frank.keys":        # far too much, without saying so
            self.send(200, "text/plain", b"y" * (100 * 1024), length=False)
        elif p == "/hank.keys":         # a redirect to plain http
            self.send(301, None, b"", headers=[("Location", "http://%s/hank.keys" % addr)])
        elif p == "/loop.keys":         # redirects without end
            self.send(302, None, b"", headers=[("Location", "/loop.keys")])
        elif p == "/page.keys":         # a page that says it is text
            self.send(200, "text/plain", b"\n<html><body>Sign in</body></html>\n")
        elif p.startswith("/u/") and p.endswith(".keys"):
            time.sleep(0.3)
            self.serve_file(p[1:])
        elif p.endswith(".keys") and "/" not in p[1:]:
            self.serve_file(p[1:])
        else:
            self.send(404, "text/plain; charset=utf-8", b"Not Found")

    def serve_file(self, rel):
        path = os.path.join(keydir, rel)
        if ".." in rel or not os.path.isfile(path):
            self.send(404, "text/plain; charset=utf-8", b"Not Found")
            return
        with open(path, "rb") as f:
            self.send(200, "text/plain; charset=utf-8", f.read())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    srv = Server((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Timer(300, lambda: os._exit(0)).start()
    with open(ready, "w") as f:
        f.write("ready\n")
    srv.serve_forever()


main()
