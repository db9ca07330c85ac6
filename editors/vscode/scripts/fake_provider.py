"""The loopback OpenAI fake for the extension-host tests (run from the repository root).

Uses the project's FakeOpenAI (tests/fakes/openai.py), which speaks OpenAI's
Chat Completions SSE as the real API does. What it answers depends on the
prompt, so the tests inside VS Code can ask for each case by what they send.
Beside it, GitHub's device flow and Copilot (tests/fakes/github.py, copilot.py)
for Sign In. Prints one JSON line {url, apiKey, githubUrl, copilotUrl} when they
listen; stops when stdin closes.
"""

from __future__ import annotations

import json
import sys

from tests.fakes.copilot import FakeCopilot
from tests.fakes.github import FakeGitHub
from tests.fakes.http import RecordedRequest, Reply
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario

CHAT_TEXT = (
    "**Hello** from the fake provider. Here is a function:\n\n"
    "```python\ndef greet(name):\n    return f'Hello, {name}!'\n```\n\n"
    "- it streams\n- it has a `code block`\n"
)
SLOW_TEXT = " ".join(f"word{i}" for i in range(60))
GHOST_TEXT = "return a + b"
REFACTOR_TEXT = "Here you go:\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n"
EXPLAIN_TEXT = (
    "```python\ndef add(a: int, b: int) -> int:\n"
    "    # The sum of the two arguments; works for any type with +.\n    return a + b\n```\n"
)


def scenario_for(prompt: str) -> Scenario:
    if "<FILL_HERE>" in prompt:  # ghost text, through the server's chat fallback
        if "slow_completion" in prompt:
            return Scenario(
                text=SLOW_TEXT, pieces=60, delay_s=0.15, input_tokens=300, output_tokens=60
            )
        return Scenario(text=GHOST_TEXT, pieces=3, delay_s=0.01, input_tokens=120, output_tokens=5)
    if "add comments that explain" in prompt:
        return Scenario(text=EXPLAIN_TEXT, pieces=4, input_tokens=190, output_tokens=32)
    # The server's simplify rewrite (server/rewrite_prompts.py), and inline chat's instruction.
    if "Make it simpler" in prompt or "add type hints" in prompt:
        return Scenario(text=REFACTOR_TEXT, pieces=5, input_tokens=180, output_tokens=30)
    if "slowly" in prompt:
        return Scenario(
            text=SLOW_TEXT, pieces=60, delay_s=0.12, input_tokens=1000, output_tokens=900
        )
    return Scenario(text=CHAT_TEXT, pieces=12, delay_s=0.03, input_tokens=1200, output_tokens=800)


def last_user_text(request: RecordedRequest) -> str:
    try:
        messages = request.json().get("messages", [])
    except ValueError:
        return ""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content)
            return str(content)
    return ""


class PromptedFake(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        self.default = self._by_prompt

    def _by_prompt(self, request: RecordedRequest) -> Reply:
        return self._scenario_reply(scenario_for(last_user_text(request)), request)


def main() -> int:
    fake = PromptedFake().start()
    # The device flow answers "pending" once, then issues a token: a user who typed the code.
    github = FakeGitHub(("pending", "success"), interval=1).start()
    copilot = FakeCopilot().start()
    copilot.github_tokens = github.issued_tokens
    urls = {"url": fake.url, "apiKey": fake.api_key, "githubUrl": github.url}
    print(json.dumps({**urls, "copilotUrl": copilot.url}), flush=True)
    try:
        sys.stdin.read()
    finally:
        for server in (fake, github, copilot):
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
