"""The LSP base protocol's framing: message bodies cut out of a byte stream by their headers.

Lenient in what it reads: header names in any case, no space after the
colon, "\\n" line ends as well as "\\r\\n", stray blank lines between
messages. Never stuck on a bad frame:

- a Content-Length that is missing, not a number (`abc`, `-5`) or absurd:
  the body is taken to be the JSON value it starts with;
- a Content-Length too large: the body ends where a complete JSON value is
  followed by the next message's header (or by silence: see `idle`);
- a Content-Length too small: the truncated body is handed on (the protocol
  answers it -32700), and reading resumes at the next header;
- a line that is not a header, or a header line too long: skipped up to the
  next "Content-Length" header.

Every such repair is reported as a `Problem`. The parser is sans-IO;
`read_frames` drives it from an asyncio stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

logger = logging.getLogger("switchboard.framing")

MAX_HEADER_LINE = 8 * 1024
MAX_BODY = 256 * 1024 * 1024
#: A body with no usable Content-Length is found by parsing JSON, up to this size; and a
#: Content-Length too large is noticed only in bodies up to this size.
MAX_UNFRAMED_BODY = 1024 * 1024
#: How long a short body may wait for the rest of a too-large Content-Length.
IDLE_S = 0.5
READ_CHUNK = 256 * 1024
#: Headers inside a stalled body tried as the start of a waiting message, at most.
MAX_PROBES = 8

_HEADER_MARK = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_WHITESPACE = b" \t\r\n"
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class Problem:
    """Something wrong in the stream, and what was done about it."""

    text: str


Frame = bytes | Problem


class FrameParser:
    """Feed it bytes, get message bodies (and problems) back, in order."""

    def __init__(
        self,
        max_header_line: int = MAX_HEADER_LINE,
        max_body: int = MAX_BODY,
        max_unframed_body: int = MAX_UNFRAMED_BODY,
    ) -> None:
        self._max_header_line = max_header_line
        self._max_body = max_body
        self._max_unframed = max_unframed_body
        self._buffer = bytearray()
        self._in_body = False
        self._skipping = False
        self._headers: dict[bytes, bytes] = {}
        self._length: int | None = None  # the body's declared length, when usable
        self._scanned = 0  # how far a too-long body has been searched for the next header

    @property
    def waiting_for_body(self) -> bool:
        """A body has begun but is not complete: `idle` may be able to finish it."""
        return self._in_body and bool(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while self._step(frames):
            pass
        return frames

    def idle(self) -> list[Frame]:
        """Nothing arrived for a while, so a body still short of its Content-Length is cut:
        where it is already complete JSON, or before a whole message waiting behind it."""
        frames: list[Frame] = []
        if self._in_body and self._length is not None:
            body = bytes(self._buffer[: self._max_unframed + 1]).rstrip(_WHITESPACE)
            if len(body) <= self._max_unframed and _may_end_json(body) and _is_json(body):
                self._take_short_body(len(self._buffer), body, frames)
            else:
                self._cut_before_waiting_message(frames)
        elif self._in_body and self._buffer.strip(_WHITESPACE):
            frames.append(bytes(self._buffer))  # not JSON: the protocol answers -32700
            self._buffer.clear()
            self._start_headers()
        while self._step(frames):
            pass
        return frames

    def _cut_before_waiting_message(self, frames: list[Frame]) -> None:
        buffer = self._buffer
        if len(buffer) > self._max_unframed:
            return  # a large body on its way, most likely: wait for it
        headers = [found.start() for found in _HEADER_MARK.finditer(buffer)][:MAX_PROBES]
        for header in headers:
            probe = FrameParser(self._max_header_line, self._max_body, self._max_unframed)
            found = probe.feed(bytes(buffer[header:]))
            waiting = next((item for item in found if isinstance(item, bytes)), None)
            if waiting is not None and _is_json(waiting):
                frames.append(
                    Problem(
                        f"Content-Length {self._length} was never reached and a message is "
                        "waiting after the body: the body was cut there"
                    )
                )
                frames.append(bytes(buffer[:header]))  # not JSON: answered -32700
                del buffer[:header]
                self._start_headers()
                return

    def close(self) -> list[Frame]:
        """The stream ended: what is left is delivered if it is a whole message, else reported."""
        frames = self.idle()
        if self._buffer.strip(_WHITESPACE) and not self._skipping:
            frames.append(Problem(f"the input ended inside a message ({len(self._buffer)} bytes)"))
        self._buffer.clear()
        return frames

    # ---- one step of the state machine; False when it needs more bytes ----

    def _step(self, frames: list[Frame]) -> bool:
        if self._skipping:
            return self._skip_to_header()
        if self._in_body:
            if self._length is None:
                return self._unframed_body(frames)
            return self._framed_body(frames)
        return self._header_line(frames)

    def _header_line(self, frames: list[Frame]) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\n", 0, self._max_header_line + 1)
        if end < 0:
            if len(buffer) > self._max_header_line:
                frames.append(
                    Problem(f"a header line longer than {self._max_header_line} bytes: skipped")
                )
                self._skip(1)
            return self._skipping
        line = bytes(buffer[:end]).rstrip(b"\r")
        if not line.strip(_WHITESPACE):
            del buffer[: end + 1]
            if self._headers:
                self._start_body(frames)
            return True  # a blank line before any header is ignored
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            if self._headers and not _HEADER_MARK.search(line):
                frames.append(Problem(f"not a header: {_excerpt(line)}: ignored"))
                del buffer[: end + 1]
                return True
            frames.append(Problem(f"not a header: {_excerpt(line)}: skipped to the next header"))
            self._skip(1)
            return True
        self._headers[name.strip().lower()] = value.strip()
        del buffer[: end + 1]
        return True

    def _start_body(self, frames: list[Frame]) -> None:
        declared = self._headers.get(b"content-length")
        self._in_body = True
        self._scanned = 0
        self._length = None
        if declared is None:
            frames.append(Problem("a message without Content-Length: read as one JSON value"))
        elif not declared.isdigit():
            frames.append(
                Problem(f"Content-Length {_excerpt(declared)} is not a length: read as JSON")
            )
        elif int(declared) > self._max_body:
            frames.append(
                Problem(
                    f"Content-Length {_excerpt(declared)} is more than {self._max_body} bytes: "
                    "read as JSON"
                )
            )
        else:
            self._length = int(declared)

    def _framed_body(self, frames: list[Frame]) -> bool:
        buffer, length = self._buffer, self._length
        assert length is not None
        if len(buffer) >= length:
            frames.append(bytes(buffer[:length]))
            del buffer[:length]
            self._start_headers()
            return True
        # Too large a length, or just not all here yet: a header after a complete
        # JSON value tells which.
        start = max(0, self._scanned - 32)
        if start > self._max_unframed:
            return False  # a large body: it will be whole when all its bytes are here
        self._scanned = len(buffer)
        # (positions first: a live finditer pins the buffer, which could then not shrink)
        headers = [found.start() for found in _HEADER_MARK.finditer(buffer, start)]
        for header in headers:
            if header > self._max_unframed:
                break
            body = bytes(buffer[:header]).rstrip(_WHITESPACE)
            if _may_end_json(body) and _is_json(body):
                self._take_short_body(header, body, frames)
                return True
        return False

    def _take_short_body(self, used: int, body: bytes, frames: list[Frame]) -> None:
        frames.append(
            Problem(f"Content-Length {self._length} is more than the body's {len(body)} bytes")
        )
        frames.append(body)
        del self._buffer[:used]
        self._start_headers()

    def _unframed_body(self, frames: list[Frame]) -> bool:
        buffer = self._buffer
        del buffer[: len(buffer) - len(buffer.lstrip(_WHITESPACE))]
        if not buffer:
            return False
        found = _HEADER_MARK.search(buffer)
        limit = min(found.start() if found else len(buffer), self._max_unframed)
        if found is not None or _may_end_json(bytes(buffer[:limit]).rstrip(_WHITESPACE)):
            used = _json_prefix(bytes(buffer[:limit]))
            if used:
                frames.append(bytes(buffer[:used]))
                del buffer[:used]
                self._start_headers()
                return True
        if found is not None:
            if found.start():
                frames.append(bytes(buffer[: found.start()]))  # not JSON: answered -32700
                del buffer[: found.start()]
            self._start_headers()
            return True
        if len(buffer) > self._max_unframed:
            frames.append(
                Problem(f"no JSON value in the first {self._max_unframed} bytes of a body: skipped")
            )
            self._skip(1)
            return True
        return False

    def _start_headers(self) -> None:
        self._in_body = False
        self._headers = {}
        self._length = None

    def _skip(self, start: int) -> None:
        """Drop bytes up to the next Content-Length header at or after `start`."""
        self._start_headers()
        found = _HEADER_MARK.search(self._buffer, start)
        if found is not None:
            del self._buffer[: found.start()]
            self._skipping = False
            return
        # Keep a tail that may be the start of a header cut by the read.
        del self._buffer[: max(0, len(self._buffer) - 32)]
        self._skipping = True

    def _skip_to_header(self) -> bool:
        self._skip(0)
        return not self._skipping


def _may_end_json(body: bytes) -> bool:
    """Whether `body` (stripped) could be a whole message: they are objects, or batches."""
    return body[-1:] in (b"}", b"]")


def _json_prefix(data: bytes) -> int:
    """The length in bytes of the JSON value `data` begins with; 0 if it begins with none."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        _, end = _decoder.raw_decode(text)
    except (ValueError, RecursionError):
        return 0
    return len(text[:end].encode("utf-8", "surrogateescape"))


def _is_json(body: bytes) -> bool:
    if not body:
        return False
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def _excerpt(data: bytes, limit: int = 60) -> str:
    shown = data[:limit].decode("utf-8", "replace")
    return repr(shown + "…" if len(data) > limit else shown)


async def read_frames(reader: asyncio.StreamReader, idle_s: float = IDLE_S) -> AsyncIterator[Frame]:
    """The bodies (and problems) of the messages on `reader`, until it ends."""
    parser = FrameParser()
    while True:
        try:
            if parser.waiting_for_body:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), idle_s)
            else:
                data = await reader.read(READ_CHUNK)
        except TimeoutError:
            for frame in parser.idle():
                yield frame
            continue
        if not data:
            for frame in parser.close():
                yield frame
            return
        for frame in parser.feed(data):
            yield frame


async def serve_frames(
    reader: asyncio.StreamReader,
    receive: Callable[[bytes], None],
    stop: threading.Event | None = None,
) -> None:
    """Hand every body on `reader` to `receive` until it ends; problems go to stderr and the log.

    Should reading itself fail, the error is on stderr and is raised: the
    server must then exit non-zero, not stay alive unable to read.
    """
    try:
        async for frame in read_frames(reader):
            if isinstance(frame, Problem):
                logger.warning("framing: %s", frame.text)
                print(f"switchboard: {frame.text}", file=sys.stderr, flush=True)
            else:
                try:
                    receive(frame)
                except Exception:
                    logger.exception("a message could not be handled")
            if stop is not None and stop.is_set():
                return
    except Exception as error:
        logger.exception("reading the input failed")
        print(f"switchboard: reading the input failed: {error!r}", file=sys.stderr, flush=True)
        raise
