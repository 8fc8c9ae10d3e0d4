"""Signing in and out (the login page's form), and who the caller is."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from maskwatch.web.auth import COOKIE, clear_cookie, client_address, cookie_value, role_of, safe_next, session_cookie
from maskwatch.web.defs.bodies import LoginForm
from maskwatch.web.defs.common import Role, Tag
from maskwatch.web.defs.responses import Me
from maskwatch.web.deps import READ, current_role

STATIC = Path(__file__).parent.parent / "static"

router = APIRouter(tags=[Tag.auth])


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(next_page: Annotated[str, Query(alias="next")] = "/", error: str | None = None) -> HTMLResponse:
    return HTMLResponse(login_html(next_page, "Wrong access token." if error else ""))


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """The form's token opens a session (a cookie) and goes on to `next`; wrong tokens count toward the limit."""
    try:
        form = LoginForm.model_validate(dict(parse_qsl((await request.body()).decode("utf-8", "replace"))))
    except ValidationError:
        form = LoginForm()
    client = client_address(request.scope)
    wrong = request.app.state.wrong_tokens
    if wait := wrong.wait_seconds(client):
        message = f"Too many wrong tokens from this address: try again in {wait} s."
        return HTMLResponse(login_html(form.next, message), status_code=429, headers={"Retry-After": str(wait)})
    tokens = request.app.state.tokens()
    role = role_of(form.token.strip(), tokens)
    if role is None:
        wrong.failed(client)
        return HTMLResponse(login_html(form.next, "Wrong access token."), status_code=401)
    session_id = request.app.state.sessions.open(role, tokens[role])
    response = RedirectResponse(safe_next(form.next), status_code=303)
    response.headers["set-cookie"] = session_cookie(session_id, secure=request.url.scheme == "https")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> RedirectResponse:
    """Ends the session of the cookie sent (if any) and drops the cookie."""
    request.app.state.sessions.close(cookie_value(request.headers.get("cookie", ""), COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.headers["set-cookie"] = clear_cookie()
    return response


@router.get("/api/me", responses=READ)
def me(role: Annotated[Role, Depends(current_role)]) -> Me:
    """The role of the token in use: `admin` (everything) or `viewer` (read only: ui.viewer_token)."""
    return Me(role=role)


def login_html(next_path: str, error: str) -> str:
    page = (STATIC / "login.html").read_text(encoding="utf-8")
    return (
        page.replace("{{next}}", html.escape(safe_next(next_path), quote=True))
        .replace("{{error}}", html.escape(error))
        .replace("{{error_class}}", "error" if error else "error hidden")
    )
