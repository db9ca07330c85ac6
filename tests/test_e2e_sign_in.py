"""Interactive sign-in end to end, from a pytest-lsp client to loopback fakes.

- GitHub's device flow (`switchboard/signIn` copilot) stores the GitHub token,
  and Copilot chats keep working while the short-lived Copilot token is
  refreshed: before it expires, and once after the fake refused it.
- OpenRouter's PKCE key flow, started with `workspace/executeCommand` as an
  editor with no plugin would: the test plays the browser from the URL the
  server opened with `window/showDocument`; a wrong state is rejected.
- A provider declared with its own `oauth` table: sign-in, then chats whose
  access token is refreshed with the stored refresh token.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.fakes.copilot import FakeCopilot
from tests.fakes.github import FakeGitHub
from tests.fakes.oauth import FakeAuthServer
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openrouter import FakeOpenRouter
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session

USER = [{"role": "user", "content": "hi"}]
COPILOT_MODEL = "copilot/gpt-5-mini"
ROUTER_MODEL = "openrouter/anthropic/claude-sonnet-4.5"
SHOW_DOCUMENT = lsp.ClientCapabilities(
    window=lsp.WindowClientCapabilities(
        show_document=lsp.ShowDocumentClientCapabilities(support=True),
        show_message=lsp.ShowMessageRequestClientCapabilities(),
    )
)


def keyring_entries(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "keyring.json"
    return json.loads(path.read_text()) if path.exists() else {}


def stored(tmp_path: Path, username: str) -> str | None:
    value = keyring_entries(tmp_path).get("switchboard", {}).get(username)
    return str(value) if value is not None else None


def assert_nothing_leaked(session: Session, secrets: list[str], capfd: Any) -> None:
    captured = capfd.readouterr()
    texts = [m.message for m in session.client.messages]
    texts += [m.message for m in session.client.log_messages]
    texts += [captured.out, captured.err]
    for secret in secrets:
        for text in texts:
            assert secret not in text
        for path in session.data_dir.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


async def eventually(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def port_is_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((parts.hostname or "", parts.port or 80)) != 0


# ---- GitHub device flow → Copilot -------------------------------------------------


def copilot_config(github: FakeGitHub, copilot: FakeCopilot) -> str:
    return f'[providers.copilot]\ngithub_url = "{github.url}"\ngithub_api_url = "{copilot.url}"\n'


async def test_device_flow_to_copilot_chat_with_token_refresh(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with (
        FakeGitHub(("pending", "success"), interval=1) as github,
        FakeCopilot(lifetime_s=4, refresh_in=2) as copilot,
    ):
        copilot.github_tokens = github.issued_tokens
        async with open_session(tmp_path, copilot_config(github, copilot)) as session:
            with pytest.raises(JsonRpcException) as before:
                await session.request(
                    "switchboard/chat", {"model": COPILOT_MODEL, "messages": USER}
                )
            assert before.value.data["code"] == "authenticationFailed"

            pending = await session.request("switchboard/signIn", {"provider": "copilot"})
            assert pending["status"] == "pending"
            assert pending["userCode"] == github.user_code
            assert pending["verificationUri"] == f"{github.url}/login/device"
            assert pending["expiresIn"] == github.expires_in
            done = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert done["status"] == "signedIn", done
            assert len(github.polls()) == 2  # pending, then the token
            (token,) = github.issued_tokens
            assert stored(tmp_path, "copilot/default") == token

            providers = await session.request("switchboard/providers", {})
            auth = next(p for p in providers["providers"] if p["id"] == "copilot")["auth"]
            assert auth["status"] == "signedIn" and auth["source"] == "keyring"
            assert auth["methods"][0] == "device"

            texts = []
            for step in range(3):
                if step == 1:
                    await asyncio.sleep(2.5)  # past refresh_in, before the token expires
                if step == 2:
                    copilot.expire_tokens()  # refused from now on, as after an expiry
                copilot.enqueue_scenario(Scenario(text=f"answer {step}"))
                result = await session.request(
                    "switchboard/chat", {"model": COPILOT_MODEL, "messages": USER}
                )
                texts.append(result["content"][0]["text"])
            messages = list(session.client.messages)
        assert texts == ["answer 0", "answer 1", "answer 2"]
        chats = copilot.chats()
        used = [c.headers["authorization"] for c in chats]
        # Chat 1 on the first token; chat 2 on a token fetched ahead of expiry, at once;
        # chat 3 refused once on a stale token, then sent again with a fresh one.
        assert len(chats) == 4
        assert used[1] != used[0]
        assert used[2] == used[1] and used[3] != used[2]
        assert len(copilot.exchanges()) >= 3
        assert not [
            m for m in messages if m.type in (lsp.MessageType.Error, lsp.MessageType.Warning)
        ]
        assert_nothing_leaked(session, [token, *copilot.issued], capfd)


async def test_device_flow_refused_stores_nothing(tmp_path: Path) -> None:
    with FakeGitHub(("pending", "denied"), interval=1) as github, FakeCopilot() as copilot:
        async with open_session(tmp_path, copilot_config(github, copilot)) as session:
            pending = await session.request("switchboard/signIn", {"provider": "copilot"})
            done = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert done["status"] == "failed"
            assert "refused" in done["message"]
            providers = await session.request("switchboard/providers", {})
        auth = next(p for p in providers["providers"] if p["id"] == "copilot")["auth"]
        assert auth["status"] == "signedOut"
    assert stored(tmp_path, "copilot/default") is None


async def test_sign_in_errors_name_the_problem(tmp_path: Path) -> None:
    async with open_session(tmp_path, "") as session:
        with pytest.raises(JsonRpcException) as unknown_flow:
            await session.request("switchboard/signInComplete", {"flowId": "nope"})
        assert unknown_flow.value.code == -32602 and "flowId" in str(unknown_flow.value)
        with pytest.raises(JsonRpcException) as no_flow:
            await session.request("switchboard/signIn", {"provider": "anthropic"})
        assert no_flow.value.data["code"] == "unsupported"
        assert no_flow.value.data["suggestion"] == "setApiKey"
        with pytest.raises(JsonRpcException) as bad_method:
            await session.request("switchboard/signIn", {"provider": "copilot", "method": "sso"})
        assert bad_method.value.code == -32602 and "method" in str(bad_method.value)
        with pytest.raises(JsonRpcException) as unknown:
            await session.request("switchboard/signIn", {"provider": "copilt"})
        assert unknown.value.data["code"] == "unknownProvider"


# ---- OpenRouter PKCE through workspace/executeCommand ------------------------------


def with_state(callback_url: str, state: str) -> str:
    parts = urlsplit(callback_url)
    path = parts.path.rsplit("/", 1)[0] + "/" + state
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


async def test_openrouter_pkce_from_execute_command(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = '[providers.openrouter]\nbase_url = "{url}"\n'
    with FakeOpenRouter() as router:
        async with (
            open_session(
                tmp_path, config.format(url=router.url), capabilities=SHOW_DOCUMENT
            ) as session,
            httpx.AsyncClient(timeout=10) as browser,
        ):
            requests: list[lsp.ShowMessageRequestParams] = []

            @session.client.feature(lsp.WINDOW_SHOW_MESSAGE_REQUEST)
            def on_request(ls: Any, params: lsp.ShowMessageRequestParams) -> None:
                requests.append(params)
                return None

            # A forged answer (wrong state) is not found, nothing is stored, and the
            # sign-in goes on: the user's real answer still completes it.
            first = await session.request(
                "workspace/executeCommand",
                lsp.ExecuteCommandParams(command="switchboard.signIn", arguments=["openrouter"]),
            )
            assert first["status"] == "pending" and first["authUrl"]
            await eventually(lambda: len(session.client.shown_documents) == 1)
            shown = session.client.shown_documents[0]
            assert shown.external is True and shown.uri == first["authUrl"]
            query = parse_qs(urlsplit(shown.uri).query)
            assert query["code_challenge_method"] == ["S256"]
            callback = query["callback_url"][0]
            assert urlsplit(callback).hostname == "127.0.0.1"
            forged = await browser.get(with_state(callback, "forged-state"), params={"code": "x"})
            assert forged.status_code == 404
            bare = await browser.get(callback.rsplit("/", 1)[0], params={"code": "x"})
            assert bare.status_code == 404
            assert not port_is_closed(callback)
            assert stored(tmp_path, "openrouter/default") is None

            # The real answer: the browser follows OpenRouter's redirect to the callback.
            page = await browser.get(shown.uri, follow_redirects=True)
            assert page.status_code == 200 and "close this tab" in page.text
            outcome = await session.request(
                "switchboard/signInComplete", {"flowId": first["flowId"]}
            )
            assert outcome["status"] == "signedIn"
            (key,) = router.key_flow.keys
            assert stored(tmp_path, "openrouter/default") == key
            assert port_is_closed(callback)

            router.enqueue_scenario(Scenario(text="Signed in through the browser."))
            result = await session.request(
                "switchboard/chat", {"model": ROUTER_MODEL, "messages": USER}
            )
            assert result["content"][0]["text"] == "Signed in through the browser."
            assert router.requests[-1].headers["authorization"] == f"Bearer {key}"
            await eventually(
                lambda: any("signed in to openrouter" in m.message for m in session.client.messages)
            )
            assert requests and "browser" in requests[0].message
        assert_nothing_leaked(session, [key], capfd)


async def test_a_sign_in_nobody_finishes_times_out(tmp_path: Path) -> None:
    with FakeAuthServer() as auth, FakeOpenAI() as api:
        config = auth.provider_config(api.url, timeout=1)
        async with open_session(tmp_path, config) as session:
            pending = await session.request("switchboard/signIn", {"provider": "corp"})
            callback = parse_qs(urlsplit(pending["authUrl"]).query)["redirect_uri"][0]
            assert not port_is_closed(callback)
            outcome = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert outcome["status"] == "expired"
            assert port_is_closed(callback)


async def test_cancelling_the_wait_cancels_the_sign_in(tmp_path: Path) -> None:
    with FakeAuthServer() as auth, FakeOpenAI() as api:
        async with open_session(tmp_path, auth.provider_config(api.url)) as session:
            pending = await session.request("switchboard/signIn", {"provider": "corp"})
            callback = parse_qs(urlsplit(pending["authUrl"]).query)["redirect_uri"][0]
            waiting = asyncio.ensure_future(
                session.request(
                    "switchboard/signInComplete",
                    {"flowId": pending["flowId"]},
                    msg_id="wait-for-sign-in",
                )
            )
            await asyncio.sleep(0.3)
            session.client.protocol.notify(
                lsp.CANCEL_REQUEST, lsp.CancelParams(id="wait-for-sign-in")
            )
            with pytest.raises(JsonRpcRequestCancelled):
                await waiting
            await eventually(lambda: port_is_closed(callback))
            again = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert again["status"] == "failed" and "cancelled" in again["message"]


# ---- a provider with its own OAuth -------------------------------------------------


async def test_configured_oauth_provider_signs_in_and_refreshes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Access tokens live 62 s; with the 60 s margin they are refreshed after about 2 s.
    with FakeAuthServer(expires_in=62) as auth, FakeOpenAI() as api:
        api.accepted_tokens = auth.access_tokens
        async with (
            open_session(tmp_path, auth.provider_config(api.url)) as session,
            httpx.AsyncClient(timeout=10) as browser,
        ):
            with pytest.raises(JsonRpcException) as before:
                await session.request(
                    "switchboard/chat", {"model": "corp/corp-model", "messages": USER}
                )
            assert before.value.data["code"] == "authenticationFailed"
            assert "login corp" in before.value.data["suggestion"]

            pending = await session.request("switchboard/signIn", {"provider": "corp"})
            query = parse_qs(urlsplit(pending["authUrl"]).query)
            assert query["scope"] == ["models.read chat"]
            assert query["code_challenge_method"] == ["S256"]
            page = await browser.get(pending["authUrl"], follow_redirects=True)
            assert page.status_code == 200
            done = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert done["status"] == "signedIn"
            record = json.loads(stored(tmp_path, "corp/oauth") or "{}")
            assert record["access_token"] == auth.access_tokens[0]

            api.enqueue_scenario(Scenario(text="first"))
            await session.request(
                "switchboard/chat", {"model": "corp/corp-model", "messages": USER}
            )
            await asyncio.sleep(2.2)
            api.enqueue_scenario(Scenario(text="after refresh"))
            result = await session.request(
                "switchboard/chat", {"model": "corp/corp-model", "messages": USER}
            )
            assert result["content"][0]["text"] == "after refresh"
            assert len(auth.access_tokens) == 2
            assert api.requests[-1].headers["authorization"] == f"Bearer {auth.access_tokens[1]}"
            record = json.loads(stored(tmp_path, "corp/oauth") or "{}")
            assert record["access_token"] == auth.access_tokens[1]
            assert record["refresh_token"] in auth.refresh_tokens

            out = await session.request("switchboard/signOut", {"provider": "corp"})
            assert out["status"] == "signedOut"
            assert stored(tmp_path, "corp/oauth") is None
            with pytest.raises(JsonRpcException) as after:
                await session.request(
                    "switchboard/chat", {"model": "corp/corp-model", "messages": USER}
                )
            assert after.value.data["code"] == "authenticationFailed"
        assert_nothing_leaked(session, [*auth.access_tokens, *auth.refresh_tokens], capfd)
