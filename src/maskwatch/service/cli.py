"""`serve` and `config check`, mounted by the main CLI as `maskwatch serve` / `maskwatch config check`."""

from __future__ import annotations

import logging
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from maskwatch.core.errors import UserError

if TYPE_CHECKING:
    import uvicorn

    from maskwatch.config import AppConfig, UIConfig
    from maskwatch.service import Service

config_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Configuration files.")

log = logging.getLogger("maskwatch.serve")


def _load(config: Path | None) -> tuple[AppConfig, Path]:
    """The config and the file zone edits are saved into: the one given, or the demo's own (written once)."""
    from maskwatch.config import DEMO_VIDEO, load_config

    if config is not None:
        return load_config(config), config
    from maskwatch.service.demo import demo_config_file, demo_photo_paths, make_demo_video

    if not DEMO_VIDEO.is_file():
        demo_photo_paths()
        typer.echo(f"building the demo video {DEMO_VIDEO} ...", err=True)
        make_demo_video(DEMO_VIDEO)
    path, written = demo_config_file()
    typer.echo(
        f"maskwatch: demo config {'written to' if written else 'read from'} {path}: zones drawn in the UI are saved "
        "there (delete it to start over; serve --config FILE for your own cameras)"
    )
    return load_config(path), path


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            raise UserError(
                f"cannot listen on {host}:{port} for the web UI: {err.strerror} (set ui.port or --port)"
            ) from None


def _check_tls(cert: Path | None, key: Path | None) -> None:
    """Loads the pair once before starting, so that a bad one is a one-line error rather than a dead web thread."""
    if cert is None or key is None:
        return
    for path in (cert, key):
        if not path.is_file():
            raise UserError(f"TLS file not found: {path} (ui.tls_cert / ui.tls_key)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as err:
        why = err.reason if isinstance(err, ssl.SSLError) else err
        raise UserError(f"cannot use {cert} with {key} for HTTPS: {why}") from None


def _ui_url(ui: UIConfig, path: str = "/", local: bool = False) -> str:
    """The UI's address as the config gives it; `local`: reached from this machine (a wildcard host → loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(ui.host, ui.host) if local else ui.host
    return f"{'https' if ui.tls_cert else 'http'}://{f'[{host}]' if ':' in host else host}:{ui.port}{path}"


def _web_server(
    service: Service, host: str, port: int, cert: Path | None, key: Path | None
) -> tuple[uvicorn.Server | None, threading.Thread | None]:
    """uvicorn running the web app in a thread, or None when the web package is not there."""
    try:
        import uvicorn

        from maskwatch.web import create_app
    except ImportError as err:
        log.warning("web UI not available (%s); running without it", err)
        return None, None
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,  # the app believes X-Forwarded-For from ui.trusted_proxies only (not loopback's)
            timeout_graceful_shutdown=1,
            lifespan="on",
            ssl_certfile=str(cert) if cert else None,
            ssl_keyfile=str(key) if key else None,
        )
    )
    thread = threading.Thread(target=server.run, name="web", daemon=True)  # not the main thread: no signal capture
    thread.start()
    return server, thread


def serve(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (default: the embedded demo).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Override ui.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override ui.port.")] = None,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Run without the web UI.")] = False,
) -> None:
    """Run the cameras, rules, alerts and web UI until SIGINT/SIGTERM."""
    from maskwatch.service import Service

    logging.getLogger("maskwatch").setLevel(logging.INFO)  # cameras going on/offline, sinks, start/stop
    cfg, config = _load(config)
    if host:
        cfg.ui.host = host
    if port is not None:
        cfg.ui.port = port
    generated = not cfg.ui.token
    token = cfg.ensure_token()
    ui = cfg.ui.enabled and not no_ui
    if ui:
        if exposed := cfg.ui.exposure_warning():
            log.warning(exposed)
        _check_port(cfg.ui.host, cfg.ui.port)
        _check_tls(cfg.ui.tls_cert, cfg.ui.tls_key)
    service = Service(cfg, config)
    stop = threading.Event()

    def handle_signals() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    handle_signals()
    service.start()
    handle_signals()  # again: starting Ray (scale.ray) replaces the SIGTERM handler with one that kills at once
    server = thread = None
    try:
        names = ", ".join(c.name for c in cfg.cameras if c.enabled)
        typer.echo(f"maskwatch: {len(service.camera_names())} camera(s) ({names}); events in {cfg.storage.database}")
        if ui:
            server, thread = _web_server(service, cfg.ui.host, cfg.ui.port, cfg.ui.tls_cert, cfg.ui.tls_key)
            url = _ui_url(cfg.ui)
            if server is not None and generated:
                typer.echo(f"maskwatch: web UI at {url}?token={token}")
                typer.echo(f"maskwatch: access token {token}")
            elif server is not None:  # the config's token stays out of logs and journals
                typer.echo(f"maskwatch: web UI at {url} (access token: ui.token in the config)")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if thread is not None and not thread.is_alive():
                raise UserError(f"the web server stopped (is {cfg.ui.host}:{cfg.ui.port} already in use?)")
    finally:
        if server is not None and thread is not None:
            # endless MJPEG/SSE responses are cut after timeout_graceful_shutdown; that is expected, not an error
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
            service.closing.set()
            server.should_exit = True
            thread.join(1.5)
        service.stop(timeout=3.0)
        typer.echo("maskwatch: stopped")


def health(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The config `serve` runs with (ui.host, ui.port, TLS).")
    ],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 4.0,
) -> None:
    """Ask a running service's /healthz; exit 0 when it answers ok, 1 when not (container and monitoring checks)."""
    import json
    import urllib.error
    import urllib.request

    from maskwatch.config import load_config

    ui = load_config(config).ui
    if not ui.enabled:
        raise UserError(f"{config}: ui.enabled is false, so the service serves no /healthz to ask")
    url = _ui_url(ui, "/healthz", local=True)
    context = None
    if ui.tls_cert:  # this asks whether the service runs, not who it is: the certificate need not name the address
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            answer = response.read()
    except urllib.error.HTTPError as err:  # 503: the analysis loop stalled
        answer = err.read()
    except (urllib.error.URLError, OSError) as err:
        typer.echo(f"unhealthy: no answer from {url}: {getattr(err, 'reason', err)}", err=True)
        raise typer.Exit(1) from None
    try:
        healthy = json.loads(answer).get("status") == "ok"
    except (ValueError, AttributeError):  # something else listens on that port
        healthy = False
    said = " ".join(answer.decode(errors="replace").split())[:200]
    typer.echo(f"{'healthy' if healthy else 'unhealthy'}: {url} says {said}", err=not healthy)
    raise typer.Exit(0 if healthy else 1)


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The YAML config to validate.")]) -> None:
    """Validate a config file without starting anything."""
    from maskwatch.config import load_config

    cfg = load_config(file)
    s = cfg.sinks
    sinks = (
        (["log"] if s.log else [])
        + (["mqtt"] if s.mqtt else [])
        + [f"webhook {w.url}" for w in s.webhooks]
        + [f"email to {', '.join(e.to)}" for e in s.email]
        + [f"apprise {a.url.split('://', 1)[0]}://" for a in s.apprise]  # its tokens stay off the screen
    )
    for cam in cfg.cameras:
        if cam.kind == "file" and not Path(str(cam.source)).is_file():
            typer.echo(f"warning: camera {cam.name}: file {cam.source} does not exist (yet)", err=True)
    if cfg.ui.enabled and (exposed := cfg.ui.exposure_warning()):
        typer.echo(f"warning: {exposed}", err=True)
    zones = sum(len(c.zones) for c in cfg.cameras)
    typer.echo(
        f"{file}: OK: {len(cfg.cameras)} camera(s) ({', '.join(c.name for c in cfg.cameras)}), {zones} zone(s), "
        f"sinks: {', '.join(sinks) or 'none'}"
    )


@config_app.command("reference")
def config_reference(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write it here (default: print it).")] = None,
) -> None:
    """The configuration reference (docs/configuration.md), written from the config models."""
    from maskwatch.config.reference import reference, write_reference

    if out is None:
        typer.echo(reference(), nl=False)
    else:
        typer.echo(f"wrote {write_reference(out)}")
