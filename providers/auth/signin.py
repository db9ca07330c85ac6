"""Signing in and out: keys into the credential store, checked; sign-in flows tracked by id.

No LSP here: the server maps its methods onto these, the CLI calls them directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from switchboard.protocol.errors import ErrorCode
from switchboard.protocol.validation import InvalidParams

from ..base import Credential
from ..errors import ProviderError
from ..wire.transport import Timeouts
from .github_oauth import OAuthError
from .oauth_tokens import OAUTH_ACCOUNT
from .oauth_web import post_form_with, post_json_with
from .redact import redact, register_secret
from .signin_flows import FlowHttp, FlowMethod, InteractiveFlow, Prompt

if TYPE_CHECKING:
    from ..base import ProviderAccess

logger = logging.getLogger("switchboard.signin")

CHECK_TIMEOUTS = Timeouts(connect_s=5.0, headers_s=15.0, stall_s=15.0, total_s=30.0)
REJECTED = frozenset({ErrorCode.AUTHENTICATION_FAILED, ErrorCode.PERMISSION_DENIED})


@dataclass(frozen=True)
class KeyCheck:
    status: Literal["signedIn", "failed"]
    verified: bool | None
    message: str | None = None


class Accounts:
    def __init__(self, engine: ProviderAccess) -> None:
        self._engine = engine

    async def set_api_key(self, provider: str, api_key: str) -> KeyCheck:
        """Store the key, then check it with the provider's cheapest authenticated call.

        A key the provider rejects is not kept (any previous key stays); a key
        that cannot be checked (offline, no list endpoint) is kept, unverified.
        """
        engine = self._engine
        engine.settings(provider)  # an unknown provider fails here, before anything is stored
        store = engine.store
        if store is None:
            raise ProviderError(ErrorCode.UNSUPPORTED, "signing in needs a credential store")
        key = api_key.strip()
        refuse_unsendable_key(key)
        register_secret(key)
        previous = store.get(provider)
        store.set(provider, key)
        engine.forget_credentials(provider)
        try:
            verified = await self._check(provider, Credential(secret=key, source="keyring"))
        except ProviderError as error:
            if error.code in REJECTED:
                self._restore(provider, previous)
                return KeyCheck("failed", False, f"{provider} rejected the key: {error.message}")
            message = f"stored, but could not be checked: {redact(error.message)}"
            return KeyCheck("signedIn", None, message)
        where = store.describe()
        if verified is None:
            return KeyCheck("signedIn", None, f"stored in {where}; {provider} has no check")
        return KeyCheck("signedIn", True, f"stored in {where}")

    def sign_out(self, provider: str) -> str | None:
        """Forget the stored key; says where a credential still comes from, if one does."""
        engine = self._engine
        engine.settings(provider)
        if engine.store is not None:
            engine.store.delete(provider)
            engine.store.delete(provider, OAUTH_ACCOUNT)
        engine.forget_credentials(provider)
        remaining = engine.credential(provider)
        return remaining.source if remaining is not None else None

    def _restore(self, provider: str, previous: str | None) -> None:
        store = self._engine.store
        assert store is not None
        if previous is None:
            store.delete(provider)
        else:
            store.set(provider, previous)
        self._engine.forget_credentials(provider)

    async def _check(self, provider: str, credential: Credential) -> bool | None:
        engine = self._engine
        adapter = engine.adapter(provider)
        settings = engine.settings(provider)
        request = adapter.models_request(settings, credential)
        if request is None:
            return None
        request = await engine.authorize(provider, adapter, credential, request)
        await engine.transport.fetch_json(
            request, provider=provider, parse_error=adapter.parse_error, timeouts=CHECK_TIMEOUTS
        )
        return True


def refuse_unsendable_key(key: str) -> None:
    """InvalidParams naming `apiKey` when the key could not be sent in an HTTP header."""
    problem = unsendable_key_problem(key)
    if problem is not None:
        raise InvalidParams(f"invalid params: apiKey: {problem}", "apiKey")


def unsendable_key_problem(key: str) -> str | None:
    """What keeps a key out of a header (anything but printable ASCII), or None.

    A key pasted with a zero-width space, a smart quote or a line break would be stored and
    then fail every request; this names the character and where it is, never the key.
    """
    for position, char in enumerate(key, start=1):
        if not " " < char <= "~":
            name = unicodedata.name(char, "a control character").lower()
            return (
                f"character {position} is U+{ord(char):04X} ({name}); a key is printable "
                "ASCII with no spaces: paste it again without that character"
            )
    return None


# ---- interactive sign-in flows ---------------------------------------------------

#: A finished flow's outcome stays readable (signInComplete) this long.
KEEP_FINISHED_S = 600.0
#: The user's answer must come within this long, however long the provider allows.
MAX_FLOW_S = 1800.0
EXPIRED_CODES = frozenset({"expired_token", "timeout"})

SignInStatus = Literal["signedIn", "failed", "expired"]


@dataclass(frozen=True)
class SignInOutcome:
    status: SignInStatus
    message: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class PendingSignIn:
    flow_id: str
    provider: str
    prompt: Prompt


@dataclass
class _Running:
    provider: str
    flow: InteractiveFlow
    prompt: Prompt
    task: asyncio.Task[SignInOutcome] | None = None
    finished_at: float | None = None
    listeners: list[asyncio.Future[SignInOutcome]] = field(default_factory=list)


class SignInFlows:
    """Interactive sign-ins in progress, by flow id; each runs to its end in the background.

    A flow stores its credential when the user finishes, whether or not anyone
    waits on it; `complete` waits for the outcome, and cancelling that wait
    cancels the flow (the user gave up). A new flow for a provider replaces
    the one in progress.
    """

    def __init__(self, engine: ProviderAccess) -> None:
        self._engine = engine
        self._flows: dict[str, _Running] = {}

    def methods(self, provider: str) -> list[FlowMethod]:
        flow_method = self._flow_method(provider)
        return [flow_method] if flow_method else []

    async def start(
        self, provider: str, method: str | None = None
    ) -> PendingSignIn | SignInOutcome:
        engine = self._engine
        engine.settings(provider)
        offered = self._flow_method(provider)
        if method == "apiKey":
            raise ProviderError(
                ErrorCode.UNSUPPORTED,
                f"{provider}: an API key is given with switchboard/setApiKey, not signIn",
                provider=provider,
                suggestion="switchboard/setApiKey",
            )
        if offered is None or (method is not None and method != offered):
            how = f"it offers '{offered}'" if offered else "it has no interactive sign-in"
            hint = "setApiKey" if engine.adapter(provider).api_key_envs else "its credential chain"
            raise ProviderError(
                ErrorCode.UNSUPPORTED,
                f"{provider} cannot sign in with '{method or 'a flow'}': {how}",
                provider=provider,
                suggestion=offered or hint,
            )
        if method is None and engine.has_credentials(provider):
            credential = engine.credential(provider)
            where = credential.source if credential else "a stored sign-in"
            return SignInOutcome("signedIn", f"already signed in ({where})")
        self._prune()
        self.cancel_provider(provider)
        flow = self._new_flow(provider)
        try:
            prompt = await flow.start()
        except (OAuthError, ProviderError) as error:
            await flow.aclose()
            return _failed(provider, error)
        flow_id = secrets.token_urlsafe(12)
        running = _Running(provider, flow, prompt)
        running.task = asyncio.create_task(self._run(running), name=f"sign-in {provider}")
        self._flows[flow_id] = running
        logger.info("sign-in to %s started (%s)", provider, prompt.method)
        return PendingSignIn(flow_id, provider, prompt)

    async def complete(self, flow_id: str) -> SignInOutcome:
        """The flow's outcome once the user is done; KeyError for an unknown flow id."""
        running = self._flows[flow_id]
        task = running.task
        assert task is not None
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                task.cancel()
            raise

    def cancel(self, flow_id: str) -> bool:
        running = self._flows.get(flow_id)
        if running is None or running.task is None or running.task.done():
            return False
        running.task.cancel()
        return True

    def cancel_provider(self, provider: str) -> None:
        for flow_id, running in list(self._flows.items()):
            if running.provider == provider:
                self.cancel(flow_id)

    async def aclose(self) -> None:
        tasks = [r.task for r in self._flows.values() if r.task is not None and not r.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _flow_method(self, provider: str) -> FlowMethod | None:
        settings = self._engine.settings(provider)
        if settings.oauth is not None:
            return "oauth"
        flow = self._engine.adapter(provider).sign_in_flow(settings, self._http())
        return flow.method if flow is not None else None

    def _new_flow(self, provider: str) -> InteractiveFlow:
        engine = self._engine
        settings = engine.settings(provider)
        if settings.oauth is not None:
            from .signin_flows import ConfiguredOAuthSignIn

            return ConfiguredOAuthSignIn(self._http(), settings.oauth, engine.environ)
        flow = engine.adapter(provider).sign_in_flow(settings, self._http())
        assert flow is not None
        return flow

    def _http(self) -> FlowHttp:
        client = self._engine.transport.client()
        return FlowHttp(post_form_with(client), post_json_with(client))

    async def _run(self, running: _Running) -> SignInOutcome:
        provider = running.provider
        try:
            limit = min(max(running.prompt.expires_in, 1), MAX_FLOW_S)
            obtained = await asyncio.wait_for(running.flow.finish(), limit)
        except asyncio.CancelledError:
            logger.info("sign-in to %s cancelled", provider)
            return SignInOutcome("failed", "the sign-in was cancelled")
        except TimeoutError:
            return SignInOutcome("expired", "the sign-in was not finished in time; start again")
        except (OAuthError, ProviderError) as error:
            outcome = _failed(provider, error)
            logger.info("sign-in to %s ended: %s", provider, outcome.message)
            return outcome
        finally:
            await running.flow.aclose()
            running.finished_at = time.monotonic()
        store = self._engine.store
        if store is None:
            return SignInOutcome("failed", "signing in needs a credential store")
        register_secret(obtained.secret)
        store.set(provider, obtained.secret, obtained.account)
        if obtained.account == OAUTH_ACCOUNT:
            store.delete(provider)
        self._engine.forget_credentials(provider)
        logger.info("signed in to %s; credential stored in %s", provider, store.describe())
        return SignInOutcome("signedIn", f"stored in {store.describe()}")

    def _prune(self) -> None:
        now = time.monotonic()
        for flow_id, running in list(self._flows.items()):
            if running.finished_at is not None and now - running.finished_at > KEEP_FINISHED_S:
                del self._flows[flow_id]


def _failed(provider: str, error: OAuthError | ProviderError) -> SignInOutcome:
    if isinstance(error, OAuthError):
        status: SignInStatus = "expired" if error.code in EXPIRED_CODES else "failed"
        return SignInOutcome(status, redact(f"{provider}: {error}"))
    return SignInOutcome("failed", redact(error.message))
