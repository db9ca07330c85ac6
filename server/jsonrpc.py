"""JSON-RPC 2.0 envelopes checked before pygls sees them, and the errors that answer bad ones."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_CALL_KEYS = ("jsonrpc", "id", "method", "params")
_RESPONSE_KEYS = ("jsonrpc", "id", "result", "error")
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")


@dataclass(frozen=True)
class Envelope:
    """A well-formed message: a request, a notification or a response."""

    kind: str  # "request", "notification" or "response"
    message: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.message.get("method", ""))

    @property
    def id(self) -> int | str | None:
        return self.message.get("id")


@dataclass(frozen=True)
class Rejected:
    """A message that gets an error instead of a handler: its answer's code, text and id."""

    code: int
    message: str
    id: int | str | None = None
    data: Any = None

    def to_wire(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return {"jsonrpc": "2.0", "id": self.id, "error": error}


def parse(body: bytes) -> Envelope | Rejected:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as error:
        return Rejected(PARSE_ERROR, f"parse error: the body is not JSON ({_reason(error)})")
    return check(message)


def check(message: Any) -> Envelope | Rejected:
    if isinstance(message, list):
        return Rejected(INVALID_REQUEST, "invalid request: batches are not supported")
    if not isinstance(message, dict):
        return Rejected(INVALID_REQUEST, "invalid request: a message is a JSON object")
    has_id = "id" in message
    msg_id = message.get("id")
    if has_id and not _valid_id(msg_id):
        return Rejected(INVALID_REQUEST, "invalid request: id must be an integer or a string")
    answer_to = msg_id if has_id else None
    if message.get("jsonrpc") != "2.0":
        return Rejected(INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"', answer_to)
    if "method" in message:
        if not isinstance(message["method"], str):
            return Rejected(INVALID_REQUEST, "invalid request: method must be a string", answer_to)
        params = message.get("params")
        if params is not None and not isinstance(params, (dict, list)):
            return Rejected(
                INVALID_PARAMS,
                "invalid params: params must be an object or an array",
                answer_to,
                {"field": "params"},
            )
        return Envelope("request" if has_id else "notification", _only(message, _CALL_KEYS))
    if has_id and (("result" in message) != ("error" in message)):
        if "error" in message and not _valid_error(message["error"]):
            return Rejected(INVALID_REQUEST, "invalid response: a malformed error", answer_to)
        return Envelope("response", _only(message, _RESPONSE_KEYS))
    return Rejected(INVALID_REQUEST, "invalid request: no method", answer_to)


def _only(message: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The members JSON-RPC defines; pygls's message types take no others."""
    return {key: message[key] for key in keys if key in message}


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _valid_error(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _valid_id(value.get("code"))
        and not isinstance(value.get("code"), str)
        and isinstance(value.get("message"), str)
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(":", 1)[0] if isinstance(error, UnicodeDecodeError) else str(error)


def invalid_params(msg_id: int | str | None, error: BaseException) -> Rejected:
    """-32602 for params that do not structure into the method's lsprotocol type."""
    field, problem = params_problem(error)
    where = field or "params"
    return Rejected(INVALID_PARAMS, f"invalid params: {where}: {problem}", msg_id, {"field": where})


def params_problem(error: BaseException) -> tuple[str | None, str]:
    """The field (camelCase, dotted, from params) and the problem cattrs found first."""
    from cattrs import transform_error

    try:
        described = transform_error(error, path="$")
    except Exception:
        described = []
    if not described:
        return None, "does not fit the method"
    problem, _, path = described[0].rpartition(" @ ")
    return _field(path), problem or described[0]


def _field(path: str) -> str | None:
    """`$.params.text_document.uri` as `textDocument.uri`; None for the params themselves."""
    if not path.startswith("$.params"):
        return None
    parts: list[str] = []
    for name, index in _PATH_PART.findall(path[len("$.params") :]):
        if name:
            parts.append(_camel(name))
        else:
            parts[-1:] = [f"{parts[-1] if parts else ''}[{index.strip(chr(39))}]"]
    return ".".join(parts) or None


def _camel(name: str) -> str:
    first, *rest = name.rstrip("_").split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
