"""A loopback HTTP proxy that signs every request it forwards to a Yuqing hub
(Protocol/security.md §2), so that a tool which knows nothing of the signatures (schemathesis)
reaches past authentication: pushes are signed by an enrolled device, everything else by the
operator. Usage: signing_proxy.py LISTEN_PORT HUB_PORT DEVICE_ID DEVICE_KEY OPERATOR_KEY
"""
import base64
import hashlib
import http.client
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def load_key(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    assert lines[0] == "yuqing ed25519 private key", path
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(lines[1]))


listen_port, hub_port, device_id = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
device_key, operator_key = load_key(sys.argv[4]), load_key(sys.argv[5])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        as_device = self.path.startswith("/v1/push")
        signer, key = (device_id, device_key) if as_device else ("operator", operator_key)
        now, nonce = str(int(time.time() * 1000)), os.urandom(16).hex()
        message = "\n".join(["YUQING-REQUEST-1", self.command.upper(), self.path, signer, now, nonce,
                             hashlib.sha256(body).hexdigest()]).encode()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        headers.update({"Yuqing-Signer": signer, "Yuqing-Time": now, "Yuqing-Nonce": nonce,
                        "Yuqing-Signature": base64.b64encode(key.sign(message)).decode(),
                        "Content-Length": str(len(body)), "Connection": "close"})
        hub = http.client.HTTPConnection("127.0.0.1", hub_port, timeout=60)
        try:
            hub.request(self.command, self.path, body=body, headers=headers)
            answer = hub.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError as e:
            # The hub closed or broke the connection: answered as a gateway error, which the
            # fuzz run counts as a failure of the hub.
            self.send_response(502)
            msg = f"hub connection failed: {e}".encode()
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
        finally:
            hub.close()

    def __getattr__(self, name):
        # Every method, TRACE and made-up ones included, goes to the hub as it came.
        if name.startswith("do_"):
            return self.forward
        raise AttributeError(name)


ThreadingHTTPServer(("127.0.0.1", listen_port), Handler).serve_forever()
