#!/usr/bin/env python3
"""A loopback HTTP or HTTPS server with fault modes, for kvmrun's download tests.

Serves the files in --root under these paths (F is a file name):
  /ok/F           the file, with byte-range support
  /slow/F         the file, paced over about one second
  /norange/F      the file, ignoring Range headers (always 200 and the whole body)
  /redirect/F     302 to /ok/F
  /loop           302 to /loop, forever
  /to-http/F      302 to http://127.0.0.1:<--http-port>/ok/F (a scheme downgrade)
  /stall/F        headers and half the body, then silence
  /drip/F         one byte every half second
  /reset/F        half the body, then a TCP reset
  /short/F        claims the full length, sends half, closes
  /wrong/F        the right length, other bytes
  /status/N       an empty response with status N
  /stats          JSON: how many requests each path received
It prints "PORT <n>" once listening, binds 127.0.0.1 only, and exits after --lifetime seconds.
"""
import argparse
import http.server
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

STATS = {}
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body_of(self, name):
        path = os.path.join(self.server.root, os.path.basename(name))
        with open(path, "rb") as f:
            return f.read()

    def send_body(self, data, status=200, length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def do_GET(self):
        with LOCK:
            STATS[self.path] = STATS.get(self.path, 0) + 1
        parts = self.path.split("/", 2)
        mode = parts[1] if len(parts) > 1 else ""
        name = parts[2] if len(parts) > 2 else ""
        try:
            if mode == "stats":
                data = json.dumps(STATS).encode()
                self.send_body(data)
                self.wfile.write(data)
            elif mode in ("ok", "slow"):
                data = self.body_of(name)
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                if start:
                    self.send_body(data[start:], 206, extra=[
                        ("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
                else:
                    self.send_body(data)
                chunk = data[start:]
                if mode == "slow":
                    step = max(1, len(chunk) // 10)
                    for i in range(0, len(chunk), step):
                        self.wfile.write(chunk[i:i + step])
                        self.wfile.flush()
                        time.sleep(0.1)
                else:
                    self.wfile.write(chunk)
            elif mode == "norange":
                data = self.body_of(name)
                self.send_body(data)
                self.wfile.write(data)
            elif mode == "redirect":
                self.redirect("/ok/" + name)
            elif mode == "loop":
                self.redirect("/loop")
            elif mode == "to-http":
                self.redirect(f"http://127.0.0.1:{self.server.http_port}/ok/{name}")
            elif mode == "stall":
                data = self.body_of(name)
                self.send_body(data)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                time.sleep(60)
            elif mode == "drip":
                data = self.body_of(name)
                self.send_body(data)
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            elif mode == "reset":
                data = self.body_of(name)
                self.send_body(data)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                # Linger 0 and the last reference closed: the kernel sends a TCP RST.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.wfile.close()
                self.connection.close()
                self.close_connection = True
            elif mode == "short":
                data = self.body_of(name)
                self.send_body(data)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif mode == "wrong":
                data = self.body_of(name)
                wrong = bytes((b ^ 0x5A) for b in data)
                self.send_body(wrong)
                self.wfile.write(wrong)
            elif mode == "status":
                self.send_body(b"", int(name))
            else:
                self.send_body(b"", 404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--http-port", type=int, default=1)
    p.add_argument("--lifetime", type=float, default=600)
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root = args.root
    server.http_port = args.http_port
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
