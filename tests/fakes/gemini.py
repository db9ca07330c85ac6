"""A loopback fake of Google's Gemini API and of Vertex AI, speaking their wire formats.

AI Studio shape (any version prefix, `/v1beta` as the SDK sends it):
`POST /v1beta/models/{model}:streamGenerateContent?alt=sse | :generateContent | :countTokens`
and `GET /v1beta/models`, authorized by `x-goog-api-key` (or `?key=`).

Vertex shape: `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:...` (same
bodies), `publishers/anthropic/models/{m}:streamRawPredict | :rawPredict` (Anthropic's
body and SSE), authorized by a Bearer token that the fake's own OAuth endpoint
`POST /token` issued for a service-account JWT assertion.

A Scenario streams the way the live API does: thought parts, text parts, whole
functionCall parts (the first one signed), one JSON object per `data:` line with
Google's `"key": value` spacing, events separated by CRLF CRLF, cumulative
usageMetadata, finishReason on the last chunk.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .anthropic import _message as anthropic_message
from .anthropic import _sse as anthropic_sse
from .anthropic import _stream_events as anthropic_stream_events
from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

SSE_CONTENT_TYPE = "text/event-stream"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth addresses its JWT to Google's token endpoint whatever the file's token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
WIRE_FINISH = {
    "endTurn": "STOP",
    "toolUse": "STOP",
    "stopSequence": "STOP",
    "maxTokens": "MAX_TOKENS",
    "contentFilter": "SAFETY",
    "refusal": "SAFETY",
}
DEFAULT_MODELS: list[dict[str, Any]] = [
    {"name": "gemini-2.5-pro", "displayName": "Gemini 2.5 Pro", "thinking": True},
    {"name": "gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "thinking": True},
    {
        "name": "text-embedding-004",
        "displayName": "Text Embedding 004",
        "methods": ["embedContent"],
    },
]
_MODEL_PATH = re.compile(r"^/[^/]+/models/(?P<model>[^/:]+):(?P<method>\w+)$")
_VERTEX_PATH = re.compile(
    r"^/[^/]+/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/(?P<publisher>google|anthropic)/models/(?P<model>[^/:]+):(?P<method>\w+)$"
)
_LIST_PATH = re.compile(r"^/[^/]+/models$")


class _ErrorReply(Reply):
    """A queued error answers whichever endpoint is called next."""


class FakeGemini(FakeHTTPServer):
    api_key = "AIza" + "FakeL00pb4ckGeminiKeyN0tR3al0000000"

    def __init__(self, models: list[dict[str, Any]] | None = None) -> None:
        super().__init__(default=self._default_answer)
        self.models = models if models is not None else list(DEFAULT_MODELS)
        self.token_requests: list[dict[str, Any]] = []
        self.issued_tokens: list[str] = []
        self.token_lifetime_s = 3600
        self.trusted_keys: list[Any] = []  # public keys whose JWT signatures the endpoint accepts
        self._serial = itertools.count(1)

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # ---- scripting -------------------------------------------------------------

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._render(scenario, request))

    def enqueue_replay(
        self, source: str | Path | bytes, chunk_size: int | None = None, status: int = 200
    ) -> None:
        raw = bytes(source) if isinstance(source, bytes) else Path(source).read_bytes()
        is_json = raw.lstrip()[:1] in (b"{", b"[")
        headers = {"content-type": "application/json" if is_json else SSE_CONTENT_TYPE}
        size = chunk_size or len(raw) or 1
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        self.enqueue(Reply(status=status, headers=headers, chunks=chunks))

    def enqueue_error(
        self,
        status: int,
        google_status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.enqueue(self._error(status, google_status, message, details, headers))

    # ---- routing -----------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if request.method == "POST" and path == "/token":
            return self._token(request)
        vertex = _VERTEX_PATH.match(path)
        if vertex:
            problem = self._check_bearer(request)
            if problem:
                return problem
            return self._route(request, vertex["publisher"], vertex["method"])
        problem = self._check_key(request)
        if problem:
            return problem
        model_call = _MODEL_PATH.match(path)
        if model_call and request.method == "POST":
            return self._route(request, "google", model_call["method"])
        if _LIST_PATH.match(path) and request.method == "GET":
            return self._queued_error() or self._list_models()
        return self._error(404, "NOT_FOUND", f"Method not found: {path}")

    def _route(self, request: RecordedRequest, publisher: str, method: str) -> Reply:
        if method in ("streamGenerateContent", "generateContent", "streamRawPredict", "rawPredict"):
            return super()._next_reply(request)
        if method == "countTokens" and publisher == "google":
            return self._queued_error() or self._count_tokens(request)
        return self._error(404, "NOT_FOUND", f"unknown method {method}")

    def _check_key(self, request: RecordedRequest) -> Reply | None:
        query = parse_qs(urlsplit(request.path).query)
        key = request.headers.get("x-goog-api-key") or next(iter(query.get("key", [])), None)
        if key is None:
            return self._error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established"
                " identity). Please use API Key or other form of API consumer identity"
                " to call this API.",
            )
        if key != self.api_key:
            return self._error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                    }
                ],
            )
        return None

    def _check_bearer(self, request: RecordedRequest) -> Reply | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.issued_tokens:
            return self._error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access"
                " token, login cookie or other valid authentication credential.",
            )
        return None

    def _queued_error(self) -> Reply | None:
        with self.replies.mutex:
            if self.replies.queue and isinstance(self.replies.queue[0], _ErrorReply):
                reply: Reply = self.replies.queue.popleft()
                return reply
        return None

    def _default_answer(self, request: RecordedRequest) -> Reply:
        return self._render(Scenario(), request)

    # ---- answers -----------------------------------------------------------------

    def _render(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        body = _json_object(request.body)
        vertex = _VERTEX_PATH.match(path)
        if vertex and vertex["publisher"] == "anthropic":
            return self._render_claude(scenario, body, vertex["model"], vertex["method"])
        match = vertex or _MODEL_PATH.match(path)
        model = scenario.model or (match["model"] if match else "gemini")
        if not isinstance(body.get("contents"), list) or not body["contents"]:
            return self._error(400, "INVALID_ARGUMENT", "* contents: must not be empty")
        chunks = _chunks(scenario, model, f"fakeResp{next(self._serial):08d}")
        if match and match["method"] == "generateContent":
            if scenario.stop == "error":
                return self._error(503, "UNAVAILABLE", "The model is overloaded.")
            return Reply.json(_merged(chunks))
        if "alt=sse" not in request.path:
            return Reply.json(chunks)  # without alt=sse the stream is one JSON array
        return Reply(
            headers={"content-type": SSE_CONTENT_TYPE},
            chunks=[
                b"data: "
                + json.dumps(chunk, separators=(",", ": "), ensure_ascii=False).encode()
                + b"\r\n\r\n"
                for chunk in chunks
            ],
            delay_s=scenario.delay_s,
        )

    def _render_claude(
        self, scenario: Scenario, body: dict[str, Any], model: str, method: str
    ) -> Reply:
        version = body.get("anthropic_version")
        # Vertex's own version, or the dated API version that newer official SDKs send.
        if version != "vertex-2023-10-16" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(version)):
            return self._error(400, "INVALID_ARGUMENT", "anthropic_version: Field required")
        if "model" in body:
            return self._error(400, "INVALID_ARGUMENT", "model: Extra inputs are not permitted")
        message_id = f"msg_vrtx_Fake{next(self._serial):012d}"
        name = scenario.model or model
        if method == "rawPredict":
            return Reply.json(anthropic_message(scenario, name, message_id, None))
        events = anthropic_stream_events(scenario, name, message_id, None)
        return Reply(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=[anthropic_sse(event) for event in events],
            delay_s=scenario.delay_s,
        )

    def _count_tokens(self, request: RecordedRequest) -> Reply:
        body = _json_object(request.body)
        inner = body.get("generateContentRequest")
        counted = inner if isinstance(inner, dict) else body
        if not isinstance(counted.get("contents"), list):
            return self._error(400, "INVALID_ARGUMENT", "* contents: must not be empty")
        read = json.dumps(
            [counted.get("systemInstruction"), counted["contents"], counted.get("tools")],
            sort_keys=True,
        )
        return Reply.json({"totalTokens": max(1, len(read) // 4)})

    def _list_models(self) -> Reply:
        listed = [
            {
                "name": f"models/{model['name']}",
                "version": "001",
                "displayName": model["displayName"],
                "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": model.get(
                    "methods", ["generateContent", "countTokens", "createCachedContent"]
                ),
                "temperature": 1,
                "topP": 0.95,
                "topK": 64,
                "maxTemperature": 2,
                **({"thinking": model["thinking"]} if "thinking" in model else {}),
            }
            for model in self.models
        ]
        return Reply.json({"models": listed})

    def _token(self, request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        claims = _jwt_claims(form.get("assertion", ""))
        self.token_requests.append({"form": form, "claims": claims})
        if form.get("grant_type") != JWT_BEARER or claims is None:
            return Reply.json({"error": "invalid_grant", "error_description": "bad assertion"}, 400)
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_AUDIENCE):
            return Reply.json({"error": "invalid_grant", "error_description": "bad aud"}, 400)
        if CLOUD_PLATFORM not in str(claims.get("scope", "")).split():
            return Reply.json({"error": "invalid_scope", "error_description": "no scope"}, 400)
        if self.trusted_keys and not _signed_by(form["assertion"], self.trusted_keys):
            return Reply.json(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
            )
        token = (
            f"ya29.fake-{next(self._serial):06d}-"
            + hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()[:24]
        )
        self.issued_tokens.append(token)
        return Reply.json(
            {"access_token": token, "expires_in": self.token_lifetime_s, "token_type": "Bearer"}
        )

    def _error(
        self,
        status: int,
        google_status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        error: dict[str, Any] = {"code": status, "message": message, "status": google_status}
        if details:
            error["details"] = details
        return _ErrorReply.json({"error": error}, status, headers)


# ---- rendering -------------------------------------------------------------------


def _chunks(scenario: Scenario, model: str, response_id: str) -> list[dict[str, Any]]:
    """The stream's GenerateContentResponse chunks, one per wire event."""
    parts: list[dict[str, Any]] = []
    if scenario.thinking:
        parts += [{"text": piece, "thought": True} for piece in _split(scenario.thinking, 2)]
    pieces = scenario.text_pieces()
    signature = _signature(model, scenario.text)
    for index, piece in enumerate(pieces):
        part: dict[str, Any] = {"text": piece}
        if index == 0 and not scenario.tool_calls and scenario.thinking:
            part["thoughtSignature"] = signature
        parts.append(part)
    for index, call in enumerate(scenario.tool_calls):
        function_part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.input}}
        if index == 0:
            function_part["thoughtSignature"] = _signature(model, call.name)
        parts.append(function_part)
    if not parts:
        parts = [{"text": ""}]
    chunks: list[dict[str, Any]] = []
    total = len(parts)
    for index, part in enumerate(parts):
        last = index == total - 1
        candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}, "index": 0}
        if last and scenario.stop != "error":
            candidate["finishReason"] = WIRE_FINISH.get(scenario.stop, "STOP")
        chunk: dict[str, Any] = {
            "candidates": [candidate],
            "usageMetadata": _usage(scenario, final=last),
            "modelVersion": model,
            "responseId": response_id,
        }
        chunks.append(chunk)
    if scenario.stop == "error":
        chunks.append(
            {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
        )
    return chunks


def _usage(scenario: Scenario, final: bool) -> dict[str, Any]:
    thoughts = scenario.output_tokens // 2 if scenario.thinking else 0
    candidates = scenario.output_tokens - thoughts if final else max(0, scenario.output_tokens // 3)
    usage: dict[str, Any] = {
        "promptTokenCount": scenario.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": scenario.input_tokens + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": scenario.input_tokens}],
    }
    if scenario.cache_read_tokens:
        usage["cachedContentTokenCount"] = scenario.cache_read_tokens
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _merged(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streamed response: every part in one candidate, the last chunk's metadata."""
    parts = [
        part
        for chunk in chunks
        for candidate in chunk.get("candidates", [])
        for part in candidate["content"]["parts"]
    ]
    last = chunks[-1]
    candidate = {**last["candidates"][0], "content": {"parts": parts, "role": "model"}}
    return {**last, "candidates": [candidate]}


def _split(text: str, pieces: int) -> list[str]:
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _signature(model: str, seed: str) -> str:
    return base64.b64encode(
        b"fake-sig:" + hashlib.sha256(f"{model}:{seed}".encode()).digest()
    ).decode()


def _jwt_claims(assertion: str) -> dict[str, Any] | None:
    pieces = assertion.split(".")
    if len(pieces) != 3:
        return None
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _signed_by(assertion: str, keys: list[Any]) -> bool:
    """An RS256 JWT whose signature one of the RSA public keys verifies."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signed, _, signature = assertion.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    for key in keys:
        try:
            key.verify(raw, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return True
    return False


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def service_account_info(fake: FakeGemini, project: str = "switchboard-test") -> dict[str, Any]:
    """A service-account key file's content with a fresh RSA key the fake trusts."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.trusted_keys.append(key.public_key())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": hashlib.sha1(pem.encode()).hexdigest(),
        "private_key": pem,
        "client_email": f"switchboard@{project}.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": fake.token_uri,
    }
