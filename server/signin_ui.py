"""Signing in from an editor with no Switchboard plugin, through `workspace/executeCommand`.

The server does the plugin's part through standard LSP: it opens the
verification or authorization URL with `window/showDocument` (external),
shows the device code with `window/showMessageRequest` (with a Cancel
action), and says how the sign-in ended with `window/showMessage`. Each
is used only when the client says it supports it; a client that supports
neither still gets the code and URL in the command's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.auth.signin import PendingSignIn, SignInOutcome

from .handlers import sign_in_result

if TYPE_CHECKING:
    from .app import SwitchboardServer

logger = logging.getLogger("switchboard.signin")

SIGN_IN_COMMAND = "switchboard.signIn"
SIGN_OUT_COMMAND = "switchboard.signOut"
CANCEL = "Cancel sign-in"

# Tasks that outlive the command's answer; kept so they are not garbage-collected mid-flight.
_background: set[asyncio.Task[None]] = set()


async def sign_in_command(ls: SwitchboardServer, arguments: list[Any] | None) -> dict[str, Any]:
    provider, method = await _target(ls, arguments or [])
    started = await ls.runtime().sign_ins.start(provider, method)
    if isinstance(started, SignInOutcome):
        _tell(ls, started, provider)
        return sign_in_result(started).to_wire()
    _spawn(_guide(ls, started))
    return sign_in_result(started).to_wire()


async def sign_out_command(ls: SwitchboardServer, arguments: list[Any] | None) -> dict[str, Any]:
    from .handlers import sign_out

    first = (arguments or [None])[0]
    provider = first.get("provider") if isinstance(first, dict) else first
    if not isinstance(provider, str) or not provider:
        raise InvalidParams(
            "invalid params: arguments[0]: the provider to sign out of", "arguments"
        )
    result = await sign_out(ls, {"provider": provider})
    text = f"Switchboard: signed out of {provider}"
    if result.get("message"):
        text += f" ({result['message']})"
    ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=text))
    return result


async def _target(ls: SwitchboardServer, arguments: list[Any]) -> tuple[str, str | None]:
    """`[provider]`, `[provider, method]` or `[{provider, method?}]`; none: ask the user."""
    first = arguments[0] if arguments else None
    if isinstance(first, dict):
        provider, method = first.get("provider"), first.get("method")
    else:
        provider = first
        method = arguments[1] if len(arguments) > 1 else None
    if provider is None:
        provider = await _ask_provider(ls)
    if not isinstance(provider, str) or not provider:
        raise InvalidParams("invalid params: arguments[0]: the provider to sign in to", "arguments")
    if method is not None and not isinstance(method, str):
        raise InvalidParams("invalid params: arguments[1]: the sign-in method", "arguments")
    return provider, method


async def _ask_provider(ls: SwitchboardServer) -> str | None:
    runtime = ls.runtime()
    offering = [p for p in runtime.engine.provider_ids() if runtime.sign_ins.methods(p)]
    if not offering or not _supports_message_request(ls):
        return None
    try:
        answer = await ls.window_show_message_request_async(
            lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info,
                message="Switchboard: sign in to which provider?",
                actions=[lsp.MessageActionItem(title=p) for p in offering],
            )
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:
        logger.info("window/showMessageRequest failed: %s", error)
        return None
    return answer.title if answer is not None else None


async def _guide(ls: SwitchboardServer, started: PendingSignIn) -> None:
    prompt = started.prompt
    sign_ins = ls.runtime().sign_ins
    if _supports_show_document(ls):
        with contextlib.suppress(Exception):
            await ls.window_show_document_async(
                lsp.ShowDocumentParams(uri=prompt.url, external=True)
            )
    if prompt.user_code:
        message = (
            f"Switchboard: to sign in to {started.provider}, enter the code {prompt.user_code} "
            f"at {prompt.verification_uri}"
        )
    else:
        message = (
            f"Switchboard: finish signing in to {started.provider} in your browser: {prompt.url}"
        )
    asking: asyncio.Task[None] | None = None
    if _supports_message_request(ls):
        asking = _spawn(_offer_cancel(ls, message, started.flow_id))
    else:
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=message))
    try:
        outcome = await sign_ins.complete(started.flow_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("sign-in to %s", started.provider)
        return
    finally:
        if asking is not None:
            asking.cancel()
    _tell(ls, outcome, started.provider)


async def _offer_cancel(ls: SwitchboardServer, message: str, flow_id: str) -> None:
    try:
        answer = await ls.window_show_message_request_async(
            lsp.ShowMessageRequestParams(
                type=lsp.MessageType.Info,
                message=message,
                actions=[lsp.MessageActionItem(title=CANCEL)],
            )
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the client refused the request: the code still went out
        logger.info("window/showMessageRequest failed: %s", error)
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=message))
        return
    if answer is not None and answer.title == CANCEL:
        ls.runtime().sign_ins.cancel(flow_id)


def _tell(ls: SwitchboardServer, outcome: SignInOutcome, provider: str) -> None:
    if outcome.status == "signedIn":
        kind, text = lsp.MessageType.Info, f"Switchboard: signed in to {provider}"
    else:
        kind, text = lsp.MessageType.Warning, f"Switchboard: sign-in to {provider} {outcome.status}"
    if outcome.message:
        text += f" ({outcome.message})"
    ls.window_show_message(lsp.ShowMessageParams(type=kind, message=text))


def _supports_show_document(ls: SwitchboardServer) -> bool:
    window = getattr(ls.client_capabilities, "window", None)
    show = getattr(window, "show_document", None)
    return bool(show and show.support)


def _supports_message_request(ls: SwitchboardServer) -> bool:
    window = getattr(ls.client_capabilities, "window", None)
    return getattr(window, "show_message", None) is not None


def _spawn(coroutine: Any) -> asyncio.Task[None]:
    task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task
