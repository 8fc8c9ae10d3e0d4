"""The size of the frames an HTTP camera sends, read from the first JPEG's header before anything is decoded (MJPEG
over HTTP, multipart/x-mixed-replace, or a single JPEG), so that a camera sending oversized frames is refused
before one of them takes gigabytes to decode."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

from maskwatch.core.image_header import jpeg_size

HEADER_BYTES = 256 * 1024  # a JPEG's frame header comes within its first few kB; give up past this


def _opener(url: str) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener that answers basic and digest logins with the URL's user:password, and the URL without them. The
    certificate is not checked: this only reads a size, as the video reader (FFmpeg) does not check it either."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    handlers: list = [urllib.request.HTTPSHandler(context=context)]
    if parts.username is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        bare = urlunsplit(parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")))
        passwords.add_password(None, bare, unquote(parts.username), unquote(parts.password or ""))
        handlers += [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]
        url = bare
    return urllib.request.build_opener(*handlers), url


def http_frame_size(url: str, timeout: float = 5.0) -> tuple[int, int] | None:
    """(width, height) of the first JPEG the camera sends; None when it sends something else (a video stream the
    reader then sizes after opening it), the header does not come within HEADER_BYTES, or the request fails (the
    reader then reports why it cannot open the camera)."""
    opener, bare = _opener(url)
    try:
        with opener.open(urllib.request.Request(bare, headers={"User-Agent": "maskwatch"}), timeout=timeout) as r:
            kind = r.headers.get_content_type()
            if not (kind.startswith("multipart/") or kind == "image/jpeg"):
                return None
            data = b""
            while len(data) < HEADER_BYTES:
                chunk = r.read1(16384)
                if not chunk:
                    return None
                data += chunk
                start = data.find(b"\xff\xd8")
                if start >= 0 and (size := jpeg_size(data[start:])) is not None:
                    return size
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return None
