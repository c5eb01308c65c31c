"""A phone-like sync client (role `device`) in plain Python: a minimal RFC 6455 WebSocket client
(text frames, masked, no extensions) speaking docs/SYNC-PROTOCOL.md. A reader thread answers
pings, sends heartbeats and collects every frame."""
import base64
import json
import os
import socket
import struct
import threading
import time
import urllib.parse


class Phone:
    def __init__(self, url, token, device_id="e2e-phone", device_name="E2E Phone", heartbeat_s=2.0):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        path = u.path or "/sync"
        self.sock.sendall(
            (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError(f"upgrade refused: {head!r}")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"upgrade refused: {status!r}")
        self.frames, self.closed, self.lock = [], None, threading.Lock()
        self.send({"type": "hello", "version": 1, "token": token, "device_id": device_id,
                   "device_name": device_name, "role": "device"})
        self.sock.settimeout(0.2)
        self.running = True
        self.heartbeat_s = heartbeat_s
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    # --- frames -------------------------------------------------------------------------------
    def _write(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.lock:
            self.sock.sendall(header + mask + masked)

    def send(self, obj):
        self._write(0x1, json.dumps(obj).encode())

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except socket.timeout:
                if not self.running:
                    raise
                continue
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def _frame(self):
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exact(8))[0]
        return b0 & 0x0F, self._exact(n) if n else b""

    def _run(self):
        seq, next_ping = 0, time.time() + self.heartbeat_s
        while self.running:
            if time.time() >= next_ping:
                seq += 1
                try:
                    self.send({"type": "ping", "seq": seq})
                except OSError:
                    break
                next_ping = time.time() + self.heartbeat_s
            try:
                self.sock.settimeout(0.2)
                first = self.sock.recv(1, socket.MSG_PEEK)
                if not first:
                    self.closed = self.closed or "eof"
                    break
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                opcode, payload = self._frame()
            except (ConnectionError, OSError):
                self.closed = self.closed or "eof"
                break
            if opcode == 0x1:
                self.frames.append(json.loads(payload))
            elif opcode == 0x9:
                self._write(0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = (code, payload[2:].decode(errors="replace"))
                break
        self.running = False

    # --- protocol -----------------------------------------------------------------------------
    def wait(self, pred, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for f in list(self.frames):
                if pred(f):
                    return f
            if self.closed:
                raise AssertionError(f"the server closed the phone's connection: {self.closed}; frames: {self.frames}")
            time.sleep(0.05)
        raise AssertionError(f"timed out; frames: {self.frames}")

    def command(self, cid, command, timeout=10.0):
        self.send({"type": "command", "id": cid, "command": command})
        return self.wait(lambda f: f.get("type") == "command_result" and f.get("id") == cid, timeout)["result"]

    def close(self):
        if self.running:
            try:
                self._write(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
        self.running = False
        self.thread.join(5)
        self.sock.close()
