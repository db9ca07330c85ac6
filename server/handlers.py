"""The custom `switchboard/` methods. Each takes raw JSON params and returns JSON.

Loaded on first use (server/app.py), not at start-up. Errors leave as
JSON-RPC errors: -32602 naming the field for bad params, RequestFailed
(-32803) with normalized data for provider failures.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from switchboard.protocol.auth import (
    SetApiKeyParams,
    SetApiKeyResult,
    SignInCompleteParams,
    SignInParams,
    SignInResult,
    SignOutParams,
)
from switchboard.protocol.catalog import (
    ModelsParams,
    ModelsResult,
    ProviderAuth,
    ProviderInfo,
    ProvidersParams,
    ProvidersResult,
)
from switchboard.protocol.chat import ChatParams, ChatResult
from switchboard.protocol.history import HistoryParams, HistoryResult
from switchboard.protocol.methods import USAGE_CHANGED
from switchboard.protocol.tokens import CountTokensParams, CountTokensResult
from switchboard.protocol.usage import UsageParams
from switchboard.protocol.validation import InvalidParams, parse_params
from switchboard.providers.auth.credential_chains import CredentialChain
from switchboard.providers.auth.redact import redact
from switchboard.providers.auth.signin import Accounts, PendingSignIn, SignInOutcome
from switchboard.providers.catalog.tokens import count_text
from switchboard.providers.engine import ChatEngine, ChatFailed, ChatRun
from switchboard.providers.errors import ProviderError

from .journal import CallRecorder, params_digest
from .journal_replay import detail_wire, partial_answer, replayable, replayed_result, summary
from .journal_store import StoredCall
from .progress import PartialResults, WorkDoneReporter
from .shutdown import is_shutting_down, shutting_down

if TYPE_CHECKING:
    from switchboard.providers.catalog.tokens import TokenCount

    from .app import SwitchboardServer

logger = logging.getLogger("switchboard.chat")

# Events that add to the answer, and so to the "N tokens" of the progress UI (about 4 chars each).
_GROWS_OUTPUT = frozenset({"text", "thinking", "toolUseDelta"})


async def models(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(ModelsParams, raw)
    engine = ls.runtime().engine
    provider = engine.provider_id(params.provider) if params.provider is not None else None
    listed = await engine.models.models(provider, refresh=params.refresh)
    return ModelsResult(models=listed).to_wire()


async def providers(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    parse_params(ProvidersParams, raw)
    engine = ls.runtime().engine
    found = []
    for provider in engine.provider_ids():
        adapter = engine.adapter(provider)
        credential = engine.credential(provider)
        signed_in = engine.has_credentials(provider)
        found.append(
            ProviderInfo(
                id=provider,
                name=adapter.display_name if provider == adapter.kind else provider,
                icon=adapter.icon or adapter.kind,
                base_url=redact(engine.base_url(provider)),
                auth=ProviderAuth(
                    methods=_auth_methods(ls, provider),
                    status="signedIn" if signed_in else "signedOut",
                    source=credential.source if credential else _chain_source(engine, provider),
                ),
                **_version_and_features(engine, provider),
            )
        )
    return ProvidersResult(providers=found).to_wire()


def _chain_source(engine: ChatEngine, provider: str) -> str | None:
    """Where a cloud's credential chain (AWS, Google) found its credentials, if it did."""
    try:
        authenticator = engine.authenticator(provider, engine.adapter(provider), None)
    except ProviderError:
        return None
    if isinstance(authenticator, CredentialChain):
        return authenticator.credentials_source()
    return None


def _version_and_features(engine: ChatEngine, provider: str) -> dict[str, Any]:
    """A plugin's own version and features; a built-in provider's are the server's version
    and what its catalog models can do."""
    from . import __version__

    plugin = engine.plugin(provider)
    if plugin is not None:
        return {"version": plugin.version or __version__, "features": list(plugin.features)}
    kind = engine.settings(provider).kind
    catalog = engine.catalog
    models = catalog.models(kind) if kind in catalog.provider_ids() else []
    features = ["chat", "streaming"]
    features += [
        name
        for name in ("tools", "images", "thinking", "fim")
        if any(getattr(info.capabilities, name) for info in models)
    ]
    return {"version": __version__, "features": features}


def _auth_methods(ls: SwitchboardServer, provider: str) -> list[Any]:
    """How one can sign in: an interactive flow first, then a key, then the environment."""
    engine = ls.runtime().engine
    methods: list[Any] = list(ls.runtime().sign_ins.methods(provider))
    if engine.adapter(provider).api_key_envs:
        methods += ["apiKey", "env"]
    return methods or ["none"]


async def set_api_key(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(SetApiKeyParams, raw)
    accounts = Accounts(ls.runtime().engine)
    check = await accounts.set_api_key(params.provider, params.api_key.get_secret_value())
    _report_fallback_store(ls)
    return SetApiKeyResult(
        status=check.status, verified=check.verified, message=check.message
    ).to_wire()


async def sign_in(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(SignInParams, raw)
    started = await ls.runtime().sign_ins.start(params.provider, params.method)
    _report_fallback_store(ls)
    return sign_in_result(started).to_wire()


async def sign_in_complete(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(SignInCompleteParams, raw)
    try:
        outcome = await ls.runtime().sign_ins.complete(params.flow_id)
    except KeyError:
        from switchboard.protocol.validation import InvalidParams

        raise InvalidParams(
            "invalid params: flowId: no sign-in with this id (it ended long ago or never began)",
            "flowId",
        ) from None
    return sign_in_result(outcome).to_wire()


def sign_in_result(started: PendingSignIn | SignInOutcome) -> SignInResult:
    if isinstance(started, SignInOutcome):
        return SignInResult(status=started.status, account=started.account, message=started.message)
    prompt = started.prompt
    return SignInResult(
        status="pending",
        flow_id=started.flow_id,
        user_code=prompt.user_code,
        verification_uri=prompt.verification_uri,
        auth_url=prompt.auth_url,
        callback_url=prompt.callback_url,
        callback_port=prompt.callback_port,
        expires_in=prompt.expires_in,
    )


async def sign_out(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(SignOutParams, raw)
    ls.runtime().sign_ins.cancel_provider(params.provider)
    remaining = Accounts(ls.runtime().engine).sign_out(params.provider)
    if remaining is None:
        return SignInResult(status="signedOut").to_wire()
    message = f"the stored key is gone, but a credential still comes from {remaining}"
    return SignInResult(status="signedIn", message=message).to_wire()


def _report_fallback_store(ls: SwitchboardServer) -> None:
    """Once per session: secrets went to the 0600 file because no OS keyring works here."""
    store = ls.runtime().engine.store
    if store is None or not store.fallback or getattr(ls, "_fallback_reported", False):
        return
    ls._fallback_reported = True  # type: ignore[attr-defined]
    ls.window_show_message(
        lsp.ShowMessageParams(
            type=lsp.MessageType.Warning,
            message=f"Switchboard: no OS keyring is available; keys are kept in {store.describe()}",
        )
    )


async def usage(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    parse_params(UsageParams, raw)
    return ls.runtime().ledger.snapshot().to_wire()


async def count_tokens(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(CountTokensParams, raw)
    engine = ls.runtime().engine
    target = engine.resolve(params.model)
    kind = engine.settings(target.provider).kind
    if params.messages is not None:
        request = ChatParams(model=target.id, messages=params.messages, system=params.system)
        counted = await engine.counter.count(request, target)
    elif params.text is not None:
        counted = await asyncio.to_thread(count_text, kind, target.model, params.text)
    else:
        counted = await _count_document(ls, params, kind, target.model)
    cost, most = engine.cost_before_sending(target, counted.input_tokens)
    return CountTokensResult(
        input_tokens=counted.input_tokens,
        exact=counted.exact,
        method=counted.method,
        cost_usd=cost,
        max_cost_usd=most,
    ).to_wire()


async def _count_document(
    ls: SwitchboardServer, params: CountTokensParams, kind: str, model: str
) -> TokenCount:
    """An open document, or a range of it; re-counts reuse the previous version's chunks.

    Counted on a worker thread, like every count, so that a large document never holds
    up other requests (tiktoken is about 1.2x slower there than on its first thread).
    """
    from switchboard.protocol.validation import InvalidParams

    from .documents import counts_for, position_encoding

    ref = params.text_document
    assert ref is not None
    open_documents = ls.workspace.text_documents
    counts = counts_for(ls)
    counts.forget_all_but(set(open_documents))
    document = open_documents.get(ref.uri)
    if document is None:
        raise InvalidParams(
            f"invalid params: textDocument.uri: {ref.uri} is not open", "textDocument.uri"
        )
    encoding = position_encoding(document.position_codec.encoding)
    return await asyncio.to_thread(
        counts.count, kind, model, ref.uri, document.version, document.source, ref.range, encoding
    )


async def chat(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(ChatParams, raw)
    runtime = ls.runtime()
    model = params.model or runtime.engine.default_model()
    claim = await runtime.journal.claim(
        params.request_id,
        model=model,
        provider=model.partition("/")[0],
        digest=params_digest(raw if isinstance(raw, dict) else {}),
        resume=params.resume is not False,
    )
    if claim.kind == "replay":
        assert claim.stored is not None
        return _replayed(ls, params, claim.stored)
    recorder = runtime.journal.recorder(claim.call_id)
    continuing = None
    if claim.kind == "resume":
        assert claim.stored is not None
        continuing = partial_answer(claim.stored)
        recorder.continue_after(claim.stored.batches)
        shown = replayable(claim.stored.events or [], finished=False)
        if params.partial_result_token is not None and shown:
            ls.send_progress(params.partial_result_token, {"events": shown})
    try:
        # On a worker thread: shaping may tokenize the whole input (10 MB takes seconds).
        run = await asyncio.to_thread(runtime.engine.prepare, params, continuing=continuing)
    except ProviderError as failure:
        recorder.finish("failed", result=_wire(continuing), error=failure.data().to_wire())
        await recorder.settled()
        raise ChatFailed(failure, continuing) from None
    except BaseException:
        recorder.finish("failed", result=_wire(continuing))
        raise
    if run.target.id != model:
        recorder.resolved(run.target.id)
    return await _run_chat(ls, params, run, recorder)


async def _run_chat(
    ls: SwitchboardServer, params: ChatParams, run: ChatRun, recorder: CallRecorder
) -> dict[str, Any]:
    runtime = ls.runtime()
    partial = (
        PartialResults(ls.send_progress, params.partial_result_token, ls.pipe_writer())
        if params.partial_result_token is not None
        else None
    )
    work = _work_done(ls, params.work_done_token, f"Switchboard: {run.target.id}")

    def emit(event: Any) -> None:
        wire = event.to_wire()
        recorder.add(wire)
        if partial is not None:
            partial.emit_wire(wire)
        if work is not None and event.type in _GROWS_OUTPUT:
            work.report(f"{max(1, run.accumulator.output_chars // 4)} tokens")

    status, result = "failed", None
    try:
        chat_result = await run.execute(emit)
        status, result = "completed", chat_result
        if partial is not None:
            partial.close()
        answer = chat_result.to_wire()
        # Not waited for: the journal thread writes it before anything asked after it, and
        # another server waits while this one lives.
        recorder.finish(status, result=answer, usage=answer["usage"], cost=answer.get("cost"))
        changed = runtime.ledger.record(chat_result.model, chat_result.usage, chat_result.cost)
        ls.notify_json(USAGE_CHANGED, changed.to_wire())
        runtime.announce_budget(ls.window_show_message)
        return answer
    except asyncio.CancelledError:
        result = run.partial()
        if partial is not None:
            partial.close()
        if not is_shutting_down(ls):
            status = "cancelled"
            recorder.finish(status, result=_wire(result), **_spent(result))
            await recorder.settled()
            raise
        status = "interrupted"
        recorder.finish(status, result=_wire(result), **_spent(result))
        await recorder.settled()
        raise shutting_down(result) from None
    except ProviderError as failure:
        result = failure.partial if isinstance(failure, ChatFailed) else run.partial()
        if partial is not None:
            partial.close()
        error = failure.data().model_copy(update={"partial": None}).to_wire()
        recorder.finish(status, error=error, **_spent(result))
        await recorder.settled()
        if not isinstance(failure, ChatFailed):
            raise ChatFailed(failure, result) from None
        raise
    finally:
        if not recorder.finished:  # an internal error: what streamed is kept all the same
            result = run.partial()
            recorder.finish("failed", result=_wire(result), **_spent(result))
        if work is not None:
            work.end(_summary(status, result))


def _wire(result: ChatResult | None) -> dict[str, Any] | None:
    return result.to_wire() if result is not None else None


def _spent(result: ChatResult | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {
        "usage": result.usage.to_wire(),
        "cost": result.cost.to_wire() if result.cost else None,
    }


def _replayed(ls: SwitchboardServer, params: ChatParams, stored: StoredCall) -> dict[str, Any]:
    """A chat already answered under this requestId: the journal's answer, not a new call."""
    shown = replayable(stored.events or [], finished=True)
    if params.partial_result_token is not None and shown:
        ls.send_progress(params.partial_result_token, {"events": shown})
    return replayed_result(stored)


async def history(ls: SwitchboardServer, raw: Any) -> dict[str, Any]:
    params = parse_params(HistoryParams, raw)
    journal = ls.runtime().journal
    if params.id is not None:
        stored = await journal.call(params.id)
        if stored is None:
            raise InvalidParams(f"invalid params: id: no call '{params.id}' in the journal", "id")
        return detail_wire(stored)
    # startedAt is rounded to the microsecond: half of one keeps a page's last call out.
    before = params.before.timestamp() - 5e-7 if params.before is not None else None
    page = await journal.history(limit=params.limit or 50, before=before, status=params.status)
    return HistoryResult(calls=[summary(stored) for stored in page]).to_wire()


def _work_done(
    ls: SwitchboardServer, token: int | str | None, title: str
) -> WorkDoneReporter | None:
    if token is not None:
        reporter = WorkDoneReporter(ls.send_progress, token)
        reporter.begin(title)
        return reporter
    if not ls.client_supports_work_done():
        return None
    created = f"switchboard-{uuid.uuid4().hex[:12]}"

    def release() -> None:  # pygls keeps each token it created until told otherwise
        ls.work_done_progress.tokens.pop(created, None)

    reporter = WorkDoneReporter(ls.send_progress, created, release=release)

    def begin_when_created(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            reporter.begin(title)

    # Do not wait for the client before calling the provider: begin when it answers.
    reporter.creation = asyncio.ensure_future(ls.work_done_progress.create_async(created))
    reporter.creation.add_done_callback(begin_when_created)
    return reporter


def _summary(status: str, result: ChatResult | None) -> str:
    if status != "completed" or result is None:
        return status
    cost = f" · ${result.cost.total_usd:.4f}" if result.cost else ""
    return f"{result.usage.input_tokens + result.usage.output_tokens} tokens{cost}"
