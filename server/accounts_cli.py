"""`switchboard login | logout | set-key PROVIDER`: signing in from the terminal.

The same sign-in code as the editor methods (providers/auth/signin.py): the
device flow prints the code and the URL; the browser flow opens the browser
when there is one to open, and prints the URL either way.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from switchboard.providers.auth.signin import (
    Accounts,
    PendingSignIn,
    SignInFlows,
    SignInOutcome,
    unsendable_key_problem,
)
from switchboard.providers.errors import ProviderError

from .reports import engine_for
from .secret_input import NoKeyInput, read_secret

Out = Callable[[str], None]


def login(
    provider: str,
    method: str | None,
    config_file: str | None,
    *,
    open_browser: bool = True,
    out: Out = print,
) -> int:
    if method is None and _signs_in_with_a_key(provider, config_file):
        out(f"{provider} signs in with an API key.")
        return set_key(provider, config_file, out=out)

    async def run() -> int:
        engine, _ = engine_for(config_file)
        flows = SignInFlows(engine)
        try:
            started = await flows.start(provider, method or _default_method(flows, provider))
            if isinstance(started, SignInOutcome):
                return _report(provider, started, out)
            _show(started, open_browser, out)
            return _report(provider, await flows.complete(started.flow_id), out)
        finally:
            await flows.aclose()
            await engine.aclose()

    return _guarded(run, out)


def logout(provider: str, config_file: str | None, *, out: Out = print) -> int:
    async def run() -> int:
        engine, _ = engine_for(config_file)
        try:
            remaining = Accounts(engine).sign_out(provider)
        finally:
            await engine.aclose()
        out(f"signed out of {provider}")
        if remaining is not None:
            out(f"note: a credential still comes from {remaining}")
        return 0

    return _guarded(run, out)


def set_key(
    provider: str,
    config_file: str | None,
    *,
    read_key: Callable[[str], str] = read_secret,
    out: Out = print,
) -> int:
    try:
        key = read_key(f"API key for {provider} (not shown): ").strip()
    except NoKeyInput:
        out(
            f"error: no API key for {provider}: there is no terminal to ask on and stdin "
            f"gave none; run this in a terminal, or pipe the key in: "
            f"printf '%s\\n' \"$KEY\" | switchboard set-key {provider}"
        )
        return 2
    except KeyboardInterrupt:
        out("cancelled")
        return 130
    if not key:
        out("no key given; nothing changed")
        return 2
    problem = unsendable_key_problem(key)
    if problem is not None:
        out(f"error: the key was not stored: {problem}")
        return 2

    async def run() -> int:
        engine, _ = engine_for(config_file)
        try:
            check = await Accounts(engine).set_api_key(provider, key)
        finally:
            await engine.aclose()
        out(f"{provider}: {check.status}" + (f" ({check.message})" if check.message else ""))
        return 0 if check.status == "signedIn" else 1

    return _guarded(run, out)


def _signs_in_with_a_key(provider: str, config_file: str | None) -> bool:
    engine, _ = engine_for(config_file)
    try:
        flows = SignInFlows(engine)
        return not flows.methods(provider) and bool(engine.adapter(provider).api_key_envs)
    except ProviderError:
        return False  # an unknown provider: `login` reports it


def _default_method(flows: SignInFlows, provider: str) -> str | None:
    """From the terminal, `login` means the interactive flow even when a key is already set."""
    offered = flows.methods(provider)
    return offered[0] if offered else None


def _show(started: PendingSignIn, open_browser: bool, out: Out) -> None:
    prompt = started.prompt
    if prompt.user_code:
        out(f"Open {prompt.verification_uri} and enter the code: {prompt.user_code}")
    else:
        out(f"Open this address to sign in to {started.provider}:\n  {prompt.url}")
    if open_browser and _has_browser():
        import webbrowser

        webbrowser.open(prompt.url)
    out(f"Waiting for you to finish (up to {prompt.expires_in // 60 or 1} min; Ctrl-C cancels)…")


def _has_browser() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _report(provider: str, outcome: SignInOutcome, out: Out) -> int:
    text = f"{provider}: {outcome.status}"
    if outcome.message:
        text += f" ({outcome.message})"
    out(text)
    return 0 if outcome.status == "signedIn" else 1


def _guarded(run: Callable[[], Coroutine[Any, Any, int]], out: Out) -> int:
    try:
        return asyncio.run(run())
    except ProviderError as error:
        message = error.message
        if error.suggestion:
            message += f" (try: {error.suggestion})"
        out(f"error: {message}")
        return 2
    except KeyboardInterrupt:
        out("cancelled")
        return 130
