"""Login sessions (issue 18, finding 1): random server-side ids with an expiry, ended by logout and by a token
change; unknown session cookies count as wrong tokens, a stale one is forgiven for a moment per client only."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from helpers_service.web import TOKEN, VIEWER_TOKEN, started_service
from maskwatch.web import create_app
from maskwatch.web.auth import COOKIE


@pytest.fixture
def service(tmp_path):
    service = started_service(tmp_path, events=0, wrong_tokens_per_minute=3)
    yield service
    service.stop()


FORGIVE_SECONDS = 10.0  # as maskwatch.web.sessions
LIFETIME_SECONDS = 30 * 24 * 3600


class Clocks:
    """Both clocks of an app (the session store's wall clock, the wrong-token limit's monotonic one), moved together."""

    def __init__(self, app):
        self.now = 1_000_000.0
        app.state.sessions.clock = lambda: self.now
        app.state.wrong_tokens.clock = lambda: self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sign_in(client: TestClient, token: str = TOKEN) -> str:
    """The session id the login form's cookie holds; the client itself keeps no cookie."""
    r = client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    client.cookies.clear()
    return r.headers["set-cookie"].split(";")[0].split("=", 1)[1]


def me(client: TestClient, session_id: str):
    return client.get("/api/me", headers={"Cookie": f"{COOKIE}={session_id}"})


def test_the_cookie_is_a_random_id_that_says_nothing_of_the_token(service):
    client = TestClient(create_app(service))
    first, second = sign_in(client), sign_in(client)
    assert first != second and len(first) >= 43  # 256 bits each
    formerly = hmac.new(TOKEN.encode(), b"maskwatch-session-v1", hashlib.sha256).hexdigest()
    assert TOKEN not in first and first != formerly  # the cookie once was HMAC(token, fixed text): guessable offline
    assert me(client, first).json() == {"role": "admin"} and me(client, second).json() == {"role": "admin"}
    assert me(client, sign_in(client, VIEWER_TOKEN)).json() == {"role": "viewer"}


def test_logout_ends_the_session_for_good(service):
    client = TestClient(create_app(service))
    session_id, other = sign_in(client), sign_in(client)
    r = client.post("/logout", headers={"Cookie": f"{COOKIE}={session_id}"}, follow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    gone = me(client, session_id)
    assert gone.status_code == 401 and "Max-Age=0" in gone.headers["set-cookie"]  # the browser is told to drop it
    assert me(client, other).status_code == 200  # another browser's session goes on
    assert client.post("/logout", follow_redirects=False).status_code == 303  # without a cookie: nothing to end


def test_a_token_change_ends_its_sessions_and_a_stale_cookie_is_forgiven_only_for_a_moment(service):
    app = create_app(service)
    clocks, client = Clocks(app), TestClient(app)
    admin, viewer = sign_in(client), sign_in(client, VIEWER_TOKEN)
    service.config.ui.token = "a-new-admin-token-81c2"
    try:
        for _ in range(5):  # the page's requests under way when the token changed: no guesses
            assert me(client, admin).status_code == 401
        assert me(client, viewer).json() == {"role": "viewer"}  # the viewer token did not change
        clocks.advance(FORGIVE_SECONDS + 1)
        for _ in range(3):  # sent again and again later: each counts, up to the limit of 3 a minute
            assert me(client, admin).status_code == 401
        refused = client.get("/api/me", headers={"Authorization": "Bearer a-new-admin-token-81c2"})
        assert refused.status_code == 429
        clocks.advance(61)
        assert client.get("/api/me", headers={"Authorization": "Bearer a-new-admin-token-81c2"}).status_code == 200
        assert me(client, sign_in(client, "a-new-admin-token-81c2")).json() == {"role": "admin"}
        service.config.ui.token = TOKEN  # changed back: the session opened with the other token ends too
        assert me(client, admin).status_code == 401
    finally:
        service.config.ui.token = TOKEN


def test_forgiven_once_per_client_address(service):
    app = create_app(service)
    clocks = Clocks(app)
    here, there = TestClient(app, client=("10.0.0.1", 5000)), TestClient(app, client=("10.0.0.2", 5000))
    session_id = sign_in(here)
    service.config.ui.token = "a-new-admin-token-81c2"
    try:
        assert me(here, session_id).status_code == 401
        clocks.advance(FORGIVE_SECONDS + 1)
        assert me(there, session_id).status_code == 401  # the first time from there: forgiven
        for _ in range(3):
            assert me(here, session_id).status_code == 401
        assert me(here, session_id).status_code == 429
        assert there.get("/api/me", headers={"Authorization": "Bearer a-new-admin-token-81c2"}).status_code == 200
    finally:
        service.config.ui.token = TOKEN


def test_sessions_expire(service):
    app = create_app(service)
    clocks, client = Clocks(app), TestClient(app)
    session_id = sign_in(client)
    clocks.advance(LIFETIME_SECONDS - 60)
    assert me(client, session_id).status_code == 200
    clocks.advance(120)
    assert me(client, session_id).status_code == 401
    cookie = client.post("/login", data={"token": TOKEN}, follow_redirects=False).headers["set-cookie"]
    assert f"Max-Age={LIFETIME_SECONDS}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_sessions_outlive_a_restart_and_their_file_holds_no_usable_id(service, tmp_path):
    client = TestClient(create_app(service))
    session_id, ended = sign_in(client), sign_in(client)
    client.post("/logout", headers={"Cookie": f"{COOKIE}={ended}"})
    restarted = TestClient(create_app(service))  # a new app reads the sessions file
    assert me(restarted, session_id).json() == {"role": "admin"} and me(restarted, ended).status_code == 401
    [saved] = list(service.config.storage.database.parent.glob("web-sessions.json"))
    text = saved.read_text()
    assert session_id not in text and ended not in text and TOKEN not in text
    assert set(json.loads(text)) == {"open", "ended"} and (saved.stat().st_mode & 0o077) == 0  # owner only


def test_the_constants_are_the_sessions(tmp_path):
    from maskwatch.web import sessions

    assert (sessions.FORGIVE_SECONDS, sessions.LIFETIME_SECONDS) == (FORGIVE_SECONDS, LIFETIME_SECONDS)


def test_a_damaged_sessions_file_signs_everybody_out_and_nothing_more(tmp_path, caplog):
    from maskwatch.web.sessions import SessionStore

    path = tmp_path / "web-sessions.json"
    path.write_text("{not json")
    store = SessionStore(path)
    assert "everybody signs in again" in caplog.text
    session_id = store.open("admin", TOKEN)
    assert store.check(session_id, {"admin": TOKEN}, "127.0.0.1").role == "admin"
    assert SessionStore(path).check(session_id, {"admin": TOKEN}, "127.0.0.1").role == "admin"


def test_a_bookmarked_token_link_keeps_its_session(service):
    client = TestClient(create_app(service))
    first = client.get("/", params={"token": VIEWER_TOKEN}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/" and "set-cookie" in first.headers
    again = client.get("/", params={"token": VIEWER_TOKEN}, follow_redirects=False)  # the screen reloads the link
    assert again.status_code == 303 and again.headers["location"] == "/" and "set-cookie" not in again.headers
    assert client.get("/api/me").json() == {"role": "viewer"}
    admin = client.get("/", params={"token": TOKEN}, follow_redirects=False)  # another role: a session of its own
    assert "set-cookie" in admin.headers and client.get("/api/me").json() == {"role": "admin"}
