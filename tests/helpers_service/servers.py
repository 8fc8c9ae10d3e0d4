"""Real servers for the service tests: a mosquitto broker, a webhook receiver and an SMTP server (aiosmtpd) on free
localhost ports, and self-signed certificates for their TLS."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from maskwatch.sinks import verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Mosquitto:
    """A real mosquitto with persistence, so a subscriber's queued QoS 1 messages survive a broker restart."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\nautosave_interval 1\nlog_dest file {self.folder}/log.txt\n"
        )
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return Path(shutil.which("mosquitto") or "/usr/sbin/mosquitto").is_file()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_for(lambda: port_open(self.port), 10):
            raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        wait_for(lambda: not port_open(self.port), 5)


class WebhookReceiver:
    """Collects POSTed JSON events; fails the first `fail_first` requests with HTTP 503 (to exercise retries)."""

    def __init__(self, secret: str | None = None, fail_first: int = 0):
        self.secret, self.fail_first = secret, fail_first
        self.received: list[dict] = []
        self.bad_signatures = 0
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail_first
                    if not failing:
                        if receiver.secret and not verify(
                            body, receiver.secret, self.headers.get("X-Maskwatch-Signature")
                        ):
                            receiver.bad_signatures += 1
                        else:
                            receiver.received.append(json.loads(body))
                self.send_response(503 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self) -> set[int]:
        with self.lock:
            return {e["id"] for e in self.received}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SmtpReceiver:
    """Collects the messages it accepts; with a certificate it requires STARTTLS, with a user a login; answers 451
    (try again later) to the first `fail_first` messages."""

    def __init__(self, tls: tuple[Path, Path] | None = None, user: tuple[str, str] | None = None, fail_first: int = 0):
        import ssl
        from email import message_from_bytes, policy

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.logins: list[str] = []
        self.attempts = 0
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd calls it by this name)
                receiver.attempts += 1
                if receiver.attempts <= fail_first:
                    return "451 busy, try again later"
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = user is not None and (auth_data.login.decode(), auth_data.password.decode()) == user
            if ok:
                receiver.logins.append(user[0])
            return AuthResult(success=ok)

        context = None
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=tls is not None,
            authenticator=authenticate if user else None,
            auth_required=user is not None,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
