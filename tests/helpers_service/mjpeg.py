"""An MJPEG-over-HTTP camera (multipart/x-mixed-replace, as IP cameras serve it) on a free localhost port."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2


class MjpegServer:
    def __init__(self, clip=None, fps: float = 10.0, jpegs: list[bytes] | None = None):
        """The clip's frames as JPEGs, or the `jpegs` given, looped."""
        self.jpegs = list(jpegs or [])
        cap = cv2.VideoCapture(str(clip)) if clip is not None else None
        while cap is not None:
            ok, image = cap.read()
            if not ok:
                break
            self.jpegs.append(cv2.imencode(".jpg", image)[1].tobytes())
        self.requests = 0
        self.fps = fps
        self.closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not server.closed.is_set():
                        jpeg = server.jpegs[i % len(server.jpegs)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                            + jpeg
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(1 / server.fps)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/video.mjpg"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()
