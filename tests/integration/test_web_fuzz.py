"""The whole HTTP API fuzzed from its own OpenAPI document (schemathesis): a real Service analysing the test clip,
served by uvicorn as `serve` serves it. Every answer must be one the document describes (status, content type, JSON
schema), none a 5xx but the documented 503s, no traceback in the log, and the service still analysing afterwards.

Bounded: a fixed seed and a few dozen examples per operation (about a minute here). The two endless streams (MJPEG,
Server-Sent Events) are left out: their parameters have their own tests (tests/web/test_web_security.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpers_service.servers import free_port, wait_for
from maskwatch.config import load_config
from maskwatch.service import Service

TOKEN = "fuzz-token-2b6e91"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 60  # per operation and mode
SENT = dict.fromkeys(GenerationMode, 0)  # requests, for the log
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]  # not negative_data_rejection: a query parameter given twice is read once (FastAPI), which it counts as accepted


class Problems(logging.Handler):
    """Log records at ERROR or with a traceback, from anywhere (uvicorn's own loggers do not reach the root)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def served(tmp_path_factory, pipeline, test_clip):
    from maskwatch.service.cli import _web_server

    tmp = tmp_path_factory.mktemp("web_fuzz")
    config_path = tmp / "maskwatch.yaml"
    config = {
        "cameras": [{"name": "door-cam", "source": str(test_clip), "fps": 5}],
        "detector": {"input_size": 640, "threads": 1},
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 2.0},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "clips": {"enabled": True},
        "ui": {"token": TOKEN, "wrong_tokens_per_minute": 0},  # the fuzzer sends no wrong tokens, but just in case
    }
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    service = Service(load_config(config_path), config_path, pipeline=pipeline)
    service.start()
    port = free_port()
    server, thread = _web_server(service, "127.0.0.1", port, None, None)
    problems = Problems()
    watched = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    for logger in watched:
        logger.addHandler(problems)
    try:
        assert wait_for(lambda: server.started, 10), "uvicorn did not start"
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: service.events(limit=1), 30), "no alert within 30 s: nothing to fuzz against"
        yield {"service": service, "base": base, "problems": problems}
    finally:
        for logger in watched:
            logger.removeHandler(problems)
        server.should_exit = True
        thread.join(10)
        service.stop()


@pytest.fixture(scope="module")
def operations(served):
    document = httpx.get(f"{served['base']}/openapi.json", headers=BEARER, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex=r"/(stream|live)$")
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(operation, mode: GenerationMode, base: str) -> str | None:
    """EXAMPLES cases of `operation` (fitting its schema, or not), sent and checked; the first failure, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same examples every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing case is reported as it is
        suppress_health_check=list(HealthCheck),
    )
    def send(case):
        SENT[mode] += 1
        response = case.call(base_url=base, headers=BEARER, timeout=20)
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 500:  # the documented 503s only: not running, or no frame yet
            assert response.status_code == 503, response.text

    try:
        send()
    except Unsatisfiable:  # nothing to send that breaks its schema (no parameters, no body)
        return None
    except Exception as failure:  # noqa: BLE001 (reported with the others below)
        return f"{operation.label} ({mode}): {failure}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_one_the_document_describes(operations, served, mode):
    assert len(operations) >= 14
    failures = [f for operation in operations if (f := fuzz(operation, mode, served["base"]))]
    logging.getLogger(__name__).info("%d %s requests over %d operations", SENT[mode], mode, len(operations))
    assert failures == [], "\n\n".join(failures)


def test_no_traceback_and_still_analysing(served):
    """After the fuzzing (this runs after it)."""
    assert [r.getMessage() for r in served["problems"].records] == []
    service = served["service"]
    before = sum(c["frames_analysed"] for c in service.camera_status())
    assert wait_for(lambda: sum(c["frames_analysed"] for c in service.camera_status()) > before + 5, 15)
    health = httpx.get(f"{served['base']}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
