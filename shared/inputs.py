"""Text no column can store is refused at the door, naming where it was.

PostgreSQL's text types cannot hold NUL (U+0000), and a lone surrogate
(JSON allows `"\\ud800"`) cannot be encoded as UTF-8 at all: either one
reaching a query fails deep in the driver, as a server error, long after the
request was accepted. Models cannot be relied on to refuse them (query
parameters and bodies are declared in many places), so one ASGI middleware
looks at the path, the query string and JSON bodies before any route runs,
and answers 422 with a problem naming the offending parameter or field.

JSON bodies are only parsed here when their bytes contain an escape that
could decode to such a character (`\\u0000`, `\\ud800`-`\\udfff`); other bodies
pass through untouched, and streamed uploads (NDJSON, CSV) are not JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An escape in JSON text that decodes to NUL or to half of a surrogate pair.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """True when PostgreSQL could not store `text` (NUL, or a lone surrogate that has no UTF-8 form)."""
    return _UNSTORABLE.search(text) is not None


def printable(name: str) -> str:
    """A parameter or field name fit to be quoted back in a problem document."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def bad_json_fields(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """The dotted paths (`members.0.id_number`) of every key or string in `value` that cannot be stored."""
    if isinstance(value, str):
        if unstorable(value):
            yield ".".join(path) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if unstorable(key):
                yield ".".join((*path, printable(key)))
            else:
                yield from bad_json_fields(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from bad_json_fields(item, (*path, str(i)))


def _template_regex(template: str) -> re.Pattern[str]:
    """`/v1/persons/{person_id}` -> a pattern whose groups are the path parameters."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts)))


def _is_json(scope: Scope) -> bool:
    """As FastAPI decides: no content type, application/json or application/*+json."""
    content_type = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), b"").decode("latin-1")
    mime = content_type.split(";")[0].strip().lower()
    return not mime or mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


class RefuseUnstorableText:
    """ASGI middleware: 422 for NUL or lone surrogates in the path, the query string or a JSON body."""

    def __init__(self, app: ASGIApp, problem: Any) -> None:
        self.app = app
        # problem(request_scope, fields) -> an ASGI response; given by the app, which owns the problem format.
        self.problem = problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = self._path_fields(scope) + self._query_fields(scope)
        if not fields and scope["method"] in ("POST", "PUT", "PATCH") and _is_json(scope):
            body = await _read_body(receive)
            fields = self._body_fields(body)
            receive = _replay(body, receive)
        if fields:
            await self.problem(scope, list(dict.fromkeys(fields)))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _path_fields(scope: Scope) -> list[str]:
        path = scope.get("path", "")
        if not unstorable(path):
            return []
        # Name the path parameter from the documented route templates; else the path itself.
        app = scope.get("app")
        templates = app.openapi().get("paths", {}) if hasattr(app, "openapi") else {}
        for template in templates:
            match = _template_regex(template).fullmatch(path)
            if match:
                names = [name for name, value in match.groupdict().items() if unstorable(value)]
                if names:
                    return names
        return ["path"]

    @staticmethod
    def _query_fields(scope: Scope) -> list[str]:
        query = scope.get("query_string", b"").decode("latin-1")
        if "%00" not in query and "\x00" not in query:
            return []  # a lone surrogate cannot arrive here: percent-decoding replaces invalid UTF-8
        pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
        return [printable(name) for name, value in pairs if unstorable(name) or unstorable(value)]

    @staticmethod
    def _body_fields(body: bytes) -> list[str]:
        if not _SUSPECT_ESCAPE.search(body):
            return []
        try:
            document = json.loads(body)
        except ValueError:
            return []  # not JSON: the route's own parsing answers that
        return list(bad_json_fields(document))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app will see the same
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
