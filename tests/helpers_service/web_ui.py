"""A real Service behind uvicorn and a headless Chromium (Debian's /usr/bin/chromium), for the page's tests."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml
from playwright import sync_api

from helpers_service.requires import require
from helpers_service.servers import wait_for

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def served(folder: Path, pipeline, config: dict, token: str):
    """The service of `config` (written to folder/maskwatch.yaml) with its web app on a free port:
    {"service", "base", "api" (an httpx client with the admin token)}."""
    import uvicorn

    from maskwatch.config import load_config
    from maskwatch.service import Service
    from maskwatch.web import create_app

    config_path = folder / "maskwatch.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    service = Service(load_config(config_path), config_path, pipeline=pipeline)
    service.start()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(service), log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    try:
        assert wait_for(lambda: server.started, 10), "uvicorn did not start"
        yield {"service": service, "base": base, "api": api}
    finally:
        api.close()
        server.should_exit = True
        thread.join(5)
        service.stop()


@contextmanager
def chromium():
    require(CHROMIUM.is_file(), f"Chromium at {CHROMIUM}", "Debian package 'chromium'")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def slow_answers(page, when: str, seconds: float = 1.5, sent_late: bool = False):
    """A slow network for the page's API calls for which `when` holds (a JavaScript condition on `path` and
    `options`): each is read at once and its answer delivered `seconds` late, or with sent_late, sent that late."""
    wait = f"await new Promise((done) => setTimeout(done, {round(seconds * 1000)}))"
    call = "window.fastApi(path, options)"
    late = (
        f"if ({when}) {wait}; return {call};" if sent_late else f"const a = await {call}; if ({when}) {wait}; return a;"
    )
    page.evaluate(f"() => {{ window.fastApi = api; api = async (path, options) => {{ {late} }}; }}")
    try:
        yield
    finally:
        page.evaluate("() => { api = window.fastApi; }")
