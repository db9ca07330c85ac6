"""A loopback fake of AWS Bedrock Runtime's Converse API, speaking its wire format.

It answers POST /model/{modelId}/converse-stream with real AWS eventstream
frames (`:message-type`, `:event-type`, `:content-type` headers, JSON
payloads carrying the `p` padding field, CRC32 checksums), POST
/model/{modelId}/converse with a Converse JSON response, POST
/model/{modelId}/count-tokens (CountTokens: `{"input": {"converse": ...}}` in,
`{"inputTokens": N}` out, for Claude foundation-model ids only, as AWS), and GET
/foundation-models. Like AWS it checks every request's SigV4 signature
(re-signed with botocore from the headers the client signed) or its
Bedrock API key, and answers a bad one with 403 and `x-amzn-ErrorType`.

The frame encoder is written here because botocore only parses eventstream.
A Scenario's `input_tokens` is the normalized total, so the wire
`inputTokens` is that minus the cache reads and writes (Bedrock's meaning).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

EVENT_STREAM = "application/vnd.amazon.eventstream"
WIRE_STOP = {
    "endTurn": "end_turn",
    "maxTokens": "max_tokens",
    "toolUse": "tool_use",
    "stopSequence": "stop_sequence",
    "refusal": "end_turn",
    "contentFilter": "content_filtered",
}
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
GEO_PREFIXES = frozenset({"us", "eu", "apac", "global", "jp", "au", "ca", "us-gov", "in"})
PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DEFAULT_MODELS = [
    {
        "modelId": "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "modelName": "Claude Sonnet 4.5",
        "providerName": "Anthropic",
        "inputModalities": ["TEXT", "IMAGE"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "inferenceTypesSupported": ["INFERENCE_PROFILE"],
        "modelLifecycle": {"status": "ACTIVE"},
    },
    {
        "modelId": "amazon.nova-micro-v1:0",
        "modelName": "Nova Micro",
        "providerName": "Amazon",
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
        "modelLifecycle": {"status": "ACTIVE"},
    },
]


@dataclass(frozen=True)
class AwsKey:
    access_key: str
    secret_key: str
    token: str | None = None


# Shaped like real keys (AKIA + 16, 40-character secret), valid nowhere.
DEFAULT_KEY = AwsKey("AKIAFAKEL00PBACK0001", "fAkEs3cr3tK3yF0rL00pb4ckT3st1ngOnly00000")


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One eventstream message: prelude, string headers, payload, CRC32s."""
    encoded_headers = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded_headers += struct.pack("!B", len(raw_name)) + raw_name
        encoded_headers += struct.pack("!BH", 7, len(raw_value)) + raw_value
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded_headers + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def event_frame(event_type: str, body: dict[str, Any], serial: int = 0) -> bytes:
    padded = {**body, "p": PADDING[: 1 + (serial * 7) % len(PADDING)]}
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, json.dumps(padded, separators=(",", ":")).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, json.dumps({"message": message}).encode())


class FakeBedrock(FakeHTTPServer):
    region = "us-east-1"

    def __init__(
        self,
        keys: list[AwsKey] | None = None,
        bearer_tokens: list[str] | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(default=self._default_answer)
        self.keys = {key.access_key: key for key in (keys or [DEFAULT_KEY])}
        self.bearer_tokens = set(bearer_tokens or [])
        self.models = models if models is not None else list(DEFAULT_MODELS)
        self.auth_failures: list[str] = []
        #: the `converse` input of every CountTokens request answered
        self.counted: list[dict[str, Any]] = []
        #: set: CountTokens answers every request with this ValidationException
        self.count_refusal: str | None = None
        self._serial = itertools.count(1)

    @property
    def key(self) -> AwsKey:
        return next(iter(self.keys.values()))

    # ---- scripting -------------------------------------------------------------

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._render(scenario, request))

    def enqueue_stream_exception(
        self, exception_type: str, message: str, scenario: Scenario | None = None
    ) -> None:
        """A 200 stream that sends the scenario's content, then an exception frame."""

        def answer(request: RecordedRequest) -> Reply:
            frames = self._content_frames(scenario) if scenario else [self._start_frame()]
            frames.append(exception_frame(exception_type, message))
            return self._stream_reply(frames, 0.0)

        self.enqueue(answer)

    def enqueue_error(self, status: int, error_type: str, message: str) -> None:
        self.enqueue(self._error(status, error_type, message))

    # ---- routing ---------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        problem = self._auth_problem(request)
        if problem is not None:
            self.auth_failures.append(problem[1])
            return self._error(403, *problem)
        path = request.path.partition("?")[0]
        if request.method == "GET" and path == "/foundation-models":
            return Reply.json({"modelSummaries": self.models}, headers=self._ids())
        if request.method == "POST" and path.startswith("/model/"):
            operation = path.rsplit("/", 1)[-1]
            if operation in ("converse", "converse-stream"):
                return super()._next_reply(request)
            if operation == "count-tokens":
                return self._count_tokens(request)
        return self._error(404, "UnknownOperationException", "Unknown operation")

    def _default_answer(self, request: RecordedRequest) -> Reply:
        return self._render(Scenario(), request)

    # ---- authentication --------------------------------------------------------

    def _auth_problem(self, request: RecordedRequest) -> tuple[str, str] | None:
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            if authorization.removeprefix("Bearer ") in self.bearer_tokens:
                return None
            return (
                "UnrecognizedClientException",
                "Invalid API Key format: Must start with pre-defined prefix",
            )
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        fields = _authorization_fields(authorization)
        scope = fields.get("Credential", "").split("/")
        key = self.keys.get(scope[0]) if len(scope) == 5 else None
        if key is None:
            return (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if key.token is not None and request.headers.get("x-amz-security-token") != key.token:
            return (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if scope[2] != self.region or scope[3] != "bedrock":
            return (
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region and service 'bedrock',"
                f" not '{scope[2]}/{scope[3]}'.",
            )
        if resign(request, key, scope[2], scope[3]) != authorization:
            return (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided."
                " Check your AWS Secret Access Key and signing method. Consult the service"
                " documentation for details.",
            )
        return None

    # ---- answers ---------------------------------------------------------------

    def _render(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        body = _json_object(request.body)
        problem = _validation_problem(body)
        if problem:
            return self._error(400, "ValidationException", problem)
        if request.path.partition("?")[0].endswith("/converse"):
            return Reply.json(_converse_response(scenario), headers=self._ids())
        frames = self._content_frames(scenario)
        frames.append(event_frame("messageStop", {"stopReason": _wire_stop(scenario)}, 3))
        frames.append(event_frame("metadata", _metadata(scenario), 5))
        return self._stream_reply(frames, scenario.delay_s)

    def _count_tokens(self, request: RecordedRequest) -> Reply:
        model = model_id(request)
        if not model.startswith("anthropic.") or model.split(".", 1)[0] in GEO_PREFIXES:
            return self._error(
                400, "ValidationException", "The provided model doesn't support counting tokens."
            )
        if self.count_refusal is not None:
            return self._error(400, "ValidationException", self.count_refusal)
        converse = _json_object(request.body).get("input", {}).get("converse")
        if not isinstance(converse, dict):
            return self._error(400, "ValidationException", "input: exactly one member is required")
        problem = _validation_problem(converse)
        if problem:
            return self._error(400, "ValidationException", problem)
        self.counted.append(converse)
        return Reply.json({"inputTokens": counted_tokens(converse)}, headers=self._ids())

    def _start_frame(self) -> bytes:
        return event_frame("messageStart", {"role": "assistant"}, next(self._serial))

    def _content_frames(self, scenario: Scenario) -> list[bytes]:
        frames = [self._start_frame()]
        for index, (kind, block) in enumerate(_blocks(scenario)):
            at = {"contentBlockIndex": index}
            if kind == "toolUse":
                start = {"toolUse": {"toolUseId": block["toolUseId"], "name": block["name"]}}
                frames.append(event_frame("contentBlockStart", {**at, "start": start}, index))
            for serial, delta in enumerate(_deltas(kind, block, scenario.pieces)):
                frames.append(event_frame("contentBlockDelta", {**at, "delta": delta}, serial))
            frames.append(event_frame("contentBlockStop", at, index))
        return frames

    def _stream_reply(self, frames: list[bytes], delay_s: float) -> Reply:
        headers = {"content-type": EVENT_STREAM, **self._ids()}
        return Reply(headers=headers, chunks=frames, delay_s=delay_s)

    def _error(self, status: int, error_type: str, message: str) -> Reply:
        headers = {"x-amzn-ErrorType": f"{error_type}:{ERROR_NAMESPACE}", **self._ids()}
        return Reply.json({"message": message}, status, headers)

    def _ids(self) -> dict[str, str]:
        return {"x-amzn-RequestId": str(uuid.UUID(int=next(self._serial)))}


def counted_tokens(converse: dict[str, Any]) -> int:
    """The fake's tokenizer: one token per 4 characters of the input's JSON, plus 7."""
    return len(json.dumps(converse, sort_keys=True)) // 4 + 7


def resign(request: RecordedRequest, key: AwsKey, region: str, service: str) -> str:
    """The Authorization header botocore computes for the request's signed headers and date."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    fields = _authorization_fields(request.headers.get("authorization", ""))
    signed = fields.get("SignedHeaders", "").split(";")
    headers = {name: request.headers.get(name, "") for name in signed}
    url = f"http://{request.headers.get('host', '')}{request.path}"
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(key.access_key, key.secret_key, key.token), service, region)
    canonical = signer.canonical_request(aws_request)
    signature = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(aws_request)},"
        f" SignedHeaders={signer.signed_headers(signer.headers_to_sign(aws_request))},"
        f" Signature={signature}"
    )


def model_id(request: RecordedRequest) -> str:
    """The modelId of a /model/{modelId}/... request, URL-decoded."""
    return unquote(request.path.partition("?")[0].split("/")[2])


def signature_of(thinking: str) -> str:
    return base64.b64encode(b"fake-sig:" + hashlib.sha256(thinking.encode()).digest()).decode()


# ---- rendering -------------------------------------------------------------------


def _blocks(scenario: Scenario) -> list[tuple[str, dict[str, Any]]]:
    blocks: list[tuple[str, dict[str, Any]]] = []
    if scenario.thinking is not None:
        text = {"text": scenario.thinking, "signature": signature_of(scenario.thinking)}
        blocks.append(("reasoningContent", {"reasoningText": text}))
    if scenario.text:
        blocks.append(("text", {"text": scenario.text}))
    for call in scenario.tool_calls:
        blocks.append(("toolUse", {"toolUseId": call.id, "name": call.name, "input": call.input}))
    return blocks


def _deltas(kind: str, block: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    if kind == "text":
        return [{"text": piece} for piece in _split(block["text"], pieces)]
    if kind == "reasoningContent":
        reasoning = block["reasoningText"]
        deltas = [{"reasoningContent": {"text": p}} for p in _split(reasoning["text"], pieces)]
        return [*deltas, {"reasoningContent": {"signature": reasoning["signature"]}}]
    arguments = json.dumps(block["input"], separators=(",", ":"))
    return [{"toolUse": {"input": piece}} for piece in _split(arguments, pieces)]


def _usage(scenario: Scenario) -> dict[str, Any]:
    read, written = scenario.cache_read_tokens, scenario.cache_write_tokens
    uncached = max(0, scenario.input_tokens - read - written)
    usage: dict[str, Any] = {
        "inputTokens": uncached,
        "outputTokens": scenario.output_tokens,
        "totalTokens": uncached + read + written + scenario.output_tokens,
    }
    if read or written:
        usage["cacheReadInputTokens"] = read
        usage["cacheWriteInputTokens"] = written
    return usage


def _metadata(scenario: Scenario) -> dict[str, Any]:
    return {"usage": _usage(scenario), "metrics": {"latencyMs": 321}}


def _wire_stop(scenario: Scenario) -> str:
    return WIRE_STOP.get(scenario.stop, "end_turn")


def _converse_response(scenario: Scenario) -> dict[str, Any]:
    content = [{kind: block} if kind != "text" else block for kind, block in _blocks(scenario)]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _wire_stop(scenario),
        **_metadata(scenario),
    }


def _validation_problem(body: dict[str, Any]) -> str | None:
    """A few of the checks Bedrock's ValidationException reports, in its words."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return (
            "A conversation must start with a user message. Try again with a conversation"
            " that starts with a user message."
        )
    expected = "user"
    uses_tools = False
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != expected:
            return (
                "A conversation must alternate between user and assistant roles. Make sure the"
                " conversation alternates between user and assistant roles and try again."
            )
        expected = "assistant" if expected == "user" else "user"
        for block in message.get("content") or []:
            if isinstance(block, dict) and ("toolUse" in block or "toolResult" in block):
                uses_tools = True
            if isinstance(block, dict) and block.get("text") == "":
                return "The text field in the ContentBlock object is blank."
    if uses_tools and "toolConfig" not in body:
        return (
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    return None


def _authorization_fields(authorization: str) -> dict[str, str]:
    _, _, rest = authorization.partition(" ")
    fields = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    return fields


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
