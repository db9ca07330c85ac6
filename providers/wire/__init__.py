"""What moves bytes: the request an adapter builds, the one httpx transport, retries,
SSE and AWS eventstream framing, tool-call assembly, the result accumulator, and
readers of decoded JSON values.

May import: `switchboard.protocol`, and from the top of providers only `base` and
`errors`. Never `auth`, `catalog`, `adapters` or `engine`.
"""
