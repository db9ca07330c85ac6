"""The language server: lifecycle, configuration, and the custom methods' entry points.

Start-up imports only pygls and this module. The runtime (config, engine,
pydantic models, httpx) is built after `initialize` is answered, and warmed
up in the background so the first chat does not wait for imports.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from . import __version__
from .converter import make_converter
from .protocol import SwitchboardProtocol

if TYPE_CHECKING:
    from .runtime import Runtime
    from .stdio import PipeWriter

logger = logging.getLogger("switchboard.server")

REQUEST_FAILED = -32803
CUSTOM_METHODS = {
    "switchboard/models": "models",
    "switchboard/providers": "providers",
    "switchboard/chat": "chat",
    "switchboard/countTokens": "count_tokens",
    "switchboard/usage": "usage",
    "switchboard/setApiKey": "set_api_key",
    "switchboard/signOut": "sign_out",
    "switchboard/signIn": "sign_in",
    "switchboard/signInComplete": "sign_in_complete",
    "switchboard/history": "history",
}
HANDLERS = "switchboard.server.handlers"
CODE_ACTIONS = "switchboard.server.code_actions"
COMPLETION = "switchboard.server.completion"
#: workspace/executeCommand commands, for editors that send no custom methods.
COMMANDS = {
    "switchboard.signIn": ("switchboard.server.signin_ui", "sign_in_command"),
    "switchboard.signOut": ("switchboard.server.signin_ui", "sign_out_command"),
    "switchboard.rewrite": (CODE_ACTIONS, "rewrite_command"),
}


class SwitchboardServer(LanguageServer):
    def __init__(self, config_file: str | Path | None = None, *, warm_up: bool = True) -> None:
        super().__init__(
            "switchboard",
            __version__,
            protocol_cls=SwitchboardProtocol,
            converter_factory=make_converter,
        )
        self.config_file = config_file
        self.init_options: dict[str, Any] | None = None
        self._runtime: Runtime | None = None
        self._runtime_lock = threading.Lock()
        self._config_reported = False
        self._plugin_problems_shown: set[str] = set()
        #: load providers in the background after `initialized` (off: `serve --no-warm-up`)
        self.warms_up = warm_up

    def report_plugin_problems(self) -> None:
        """Provider plugins that broke since the last report, each shown once (again if it
        breaks again after a fix); read only when a request needed the plugins."""
        runtime = self._runtime
        if runtime is None or not runtime.engine.plugins.loaded:
            return
        current = {str(problem) for problem in runtime.engine.plugins.last_problems}
        for problem in sorted(current - self._plugin_problems_shown):
            self.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Error,
                    message=f"Switchboard provider plugin: {problem}",
                )
            )
        self._plugin_problems_shown = current

    def report_config_once(self) -> None:
        """The config's issues, shown once, before the first answer that depends on the config."""
        if not self._config_reported:
            self._config_reported = True
            _report_config(self, self.runtime().config.issues)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            with self._runtime_lock:
                if self._runtime is None:
                    from .runtime import Runtime

                    self._runtime = Runtime(self.config_file, self.init_options)
        return self._runtime

    def pipe_writer(self) -> PipeWriter | None:
        writer = self.protocol.writer
        return writer if hasattr(writer, "pending_bytes") else None  # type: ignore[return-value]

    def send_progress(self, token: int | str, value: dict[str, Any]) -> None:
        self.notify_json(lsp.PROGRESS, {"token": token, "value": value})

    def notify_json(self, method: str, params: dict[str, Any]) -> None:
        """A notification whose params are JSON values already: one encode, no converter."""
        cast(SwitchboardProtocol, self.protocol).notify_json(method, params)

    def client_supports_work_done(self) -> bool:
        window = getattr(self.client_capabilities, "window", None)
        return bool(window and window.work_done_progress)


def _translate_errors(
    name: str, module: str = HANDLERS
) -> Callable[[SwitchboardServer, Any], Awaitable[Any]]:
    """The handler `name` of `module`, imported on first use, with errors mapped."""

    async def handle(ls: SwitchboardServer, raw: Any) -> Any:
        from switchboard.protocol.validation import InvalidParams
        from switchboard.providers.errors import ProviderError

        from .shutdown import in_flight, is_shutting_down, shutting_down

        if is_shutting_down(ls):
            raise shutting_down(None)
        handlers = importlib.import_module(module)
        ls.report_config_once()
        try:
            with in_flight(ls):  # a shutdown waits for it, then cancels it
                try:
                    return await getattr(handlers, name)(ls, raw)
                finally:
                    ls.report_plugin_problems()
        except asyncio.CancelledError:
            if is_shutting_down(ls):
                raise shutting_down(None) from None
            raise
        except InvalidParams as error:
            logger.info("%s: %s", name, error)
            raise JsonRpcInvalidParams(str(error), data={"field": error.field}) from None
        except ProviderError as error:
            logger.warning("%s failed: %s: %s", name, error.code.value, error.message)
            raise JsonRpcException(
                error.message, code=REQUEST_FAILED, data=error.data().to_wire()
            ) from None
        except JsonRpcException:
            raise
        except Exception as error:
            logger.exception("internal error in %s", name)
            raise JsonRpcInternalError(f"internal error: {type(error).__name__}") from None

    handle.__name__ = name
    return handle


def _warm_up(ls: SwitchboardServer) -> None:
    """Build the runtime and import the handlers off the event loop."""
    try:
        ls.runtime().engine.warm_up()
        importlib.import_module(HANDLERS)
    except Exception:
        logger.exception("warm-up failed")
    _settle_memory()


def _settle_memory() -> None:
    """Collect what warm-up left for garbage, then freeze the rest, as the CLI froze the
    start-up heap: what warm-up built (pydantic's validators, the catalog, httpx) lives as long
    as the server, and no later collection, during a stream, walks it again."""
    gc.collect()
    gc.freeze()


def _report_config(ls: SwitchboardServer, issues: Any) -> None:
    for issue in issues:
        ls.window_show_message(
            lsp.ShowMessageParams(
                type=lsp.MessageType.Warning, message=f"Switchboard config: {issue}"
            )
        )


def create_server(
    config_file: str | Path | None = None, *, warm_up: bool = True
) -> SwitchboardServer:
    server = SwitchboardServer(config_file, warm_up=warm_up)

    @server.feature(lsp.INITIALIZE)
    def on_initialize(ls: SwitchboardServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("switchboard"), dict):
            options = options["switchboard"]
        ls.init_options = options if isinstance(options, dict) else None

    @server.feature(lsp.INITIALIZED)
    async def on_initialized(ls: SwitchboardServer, params: lsp.InitializedParams) -> None:
        from .logs import attach_client_handler

        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        def send_log(level: int, text: str) -> None:
            params = lsp.LogMessageParams(type=_message_type(level), message=text)
            if threading.get_ident() == loop_thread:
                ls.window_log_message(params)
            else:  # the transport belongs to the event loop's thread
                loop.call_soon_threadsafe(ls.window_log_message, params)

        attach_client_handler(send_log)
        if not ls.warms_up:
            return  # the first request builds the runtime, and reports the config then
        await loop.run_in_executor(None, _warm_up, ls)
        ls.report_config_once()
        ls.report_plugin_problems()  # read only if the config named a plugin's kind
        await ls.runtime().engine.rehearse()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def on_configuration(ls: SwitchboardServer, params: lsp.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("switchboard"), dict):
            settings = settings["switchboard"]
        new_issues = ls.runtime().apply_settings(settings if isinstance(settings, dict) else None)
        _report_config(ls, new_issues)

    @server.feature(lsp.SHUTDOWN)
    async def on_shutdown(ls: SwitchboardServer, params: Any) -> None:
        from .shutdown import drain

        await drain(ls)
        if ls._runtime is not None:
            await ls._runtime.aclose()

    @server.feature(lsp.EXIT)
    async def on_exit(ls: SwitchboardServer, params: Any) -> None:
        from .shutdown import stop

        await stop(ls)

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorRewrite]
        ),
    )
    def on_code_action(ls: SwitchboardServer, params: lsp.CodeActionParams) -> list[Any]:
        actions: list[Any] = importlib.import_module(CODE_ACTIONS).code_actions(ls, params)
        return actions

    @server.feature(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, lsp.InlineCompletionOptions())
    async def on_inline_completion(
        ls: SwitchboardServer, params: lsp.InlineCompletionParams
    ) -> lsp.InlineCompletionList:
        ls.report_config_once()
        completion = importlib.import_module(COMPLETION)
        answer: lsp.InlineCompletionList = await completion.inline_completion(ls, params)
        return answer

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(resolve_provider=False))
    async def on_completion(ls: SwitchboardServer, params: lsp.CompletionParams) -> Any:
        ls.report_config_once()
        return await importlib.import_module(COMPLETION).completion(ls, params)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: SwitchboardServer, params: lsp.DidChangeTextDocumentParams) -> None:
        from .recent_edits import note_change

        note_change(ls, params)

    for method, name in CUSTOM_METHODS.items():
        server.feature(method)(_translate_errors(name))
    for command, (module, name) in COMMANDS.items():
        server.command(command)(_command(_translate_errors(name, module)))
    return server


def _command(
    handle: Callable[[SwitchboardServer, Any], Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def run(ls: SwitchboardServer, *arguments: Any) -> Any:
        return await handle(ls, list(arguments))

    return run


def _message_type(level: int) -> lsp.MessageType:
    if level >= logging.ERROR:
        return lsp.MessageType.Error
    if level >= logging.WARNING:
        return lsp.MessageType.Warning
    return lsp.MessageType.Info
