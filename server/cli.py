"""The `switchboard` command: serve, chat, models, doctor, tokens, history."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from . import __version__

#: gen-1 collections before a full one while the server starts: in effect, none
START_UP_FULL_GC_THRESHOLD = 1000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="One AI backend for every editor (a language server)."
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $SWITCHBOARD_CONFIG, else the user config dir)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the language server on stdio")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="load nothing after `initialized` until the first request: about 25 MB less "
        "while idle, and a first request slower by the imports (about 0.2 s)",
    )

    chat = commands.add_parser("chat", help="chat from the terminal through the language server")
    chat.add_argument("prompt", help="what to ask")
    chat.add_argument("-m", "--model", help="provider/model (default: the configured default)")
    chat.add_argument("--system", help="a system prompt")
    chat.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help="cap the answer at N tokens "
        "(default: as many as the model and its context window allow)",
    )
    chat.add_argument(
        "-v", "--verbose", action="store_true", help="also print the server's log messages"
    )

    commands.add_parser("models", help="the model catalog, marking which have credentials")
    commands.add_parser("doctor", help="config, data dir, credentials and tokenizer status")

    login = commands.add_parser("login", help="sign in to a provider (device code or browser)")
    login.add_argument("provider")
    login.add_argument("--method", choices=["device", "oauth"], help="the sign-in flow to use")
    login.add_argument(
        "--no-browser", action="store_true", help="print the address instead of opening it"
    )
    logout = commands.add_parser("logout", help="forget a provider's stored key or sign-in")
    logout.add_argument("provider")
    set_key = commands.add_parser("set-key", help="store a provider's API key (read without echo)")
    set_key.add_argument("provider")

    history = commands.add_parser("history", help="the journal's calls, newest first")
    history.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    history.add_argument(
        "--status", choices=["running", "completed", "failed", "cancelled", "interrupted"]
    )
    history_commands = history.add_subparsers(dest="history_command", metavar="show ID")
    show = history_commands.add_parser("show", help="one call in full: its answer, its usage")
    show.add_argument("id")

    tokens = commands.add_parser("tokens", help="count a file's tokens for a model, with its cost")
    tokens.add_argument("file", help='the file to count ("-" reads stdin)')
    tokens.add_argument("-m", "--model", help="provider/model (default: the configured default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(_parser().parse_args(argv))
    except BrokenPipeError:  # `switchboard models | head`
        sys.stderr.close()
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "chat":
        from .terminal_chat import run_chat

        return run_chat(
            args.prompt,
            model=args.model,
            system=args.system,
            max_tokens=args.max_tokens,
            config=args.config,
            verbose=args.verbose,
        )
    if args.command == "models":
        from .reports import print_models

        return print_models(args.config)
    if args.command in ("login", "logout", "set-key"):
        from . import accounts_cli

        if args.command == "login":
            return accounts_cli.login(
                args.provider, args.method, args.config, open_browser=not args.no_browser
            )
        if args.command == "logout":
            return accounts_cli.logout(args.provider, args.config)
        return accounts_cli.set_key(args.provider, args.config)
    if args.command == "doctor":
        from .reports import print_doctor

        return print_doctor(args.config)
    if args.command == "history":
        from . import history_cli

        if args.history_command == "show":
            return history_cli.print_call(args.id)
        return history_cli.print_history(max(1, args.limit), args.status)
    if args.command == "tokens":
        from .token_report import print_token_count

        return print_token_count(args.file, args.model, args.config)
    return 2


def _serve(args: argparse.Namespace) -> int:
    # Start-up builds a few hundred thousand long-lived objects (lsprotocol's types and their
    # converter). Full collections meanwhile only re-walk them (a tenth of start-up); young
    # ones still run, so garbage does not pile up. Frozen afterwards, no later collection,
    # during streams either, walks them again.
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], START_UP_FULL_GC_THRESHOLD)
    from switchboard.providers.paths import data_dir

    from .app import create_server
    from .logs import setup_file_logging

    # Without either, the config's log_level applies once the config is read.
    level = args.log_level or os.environ.get("SWITCHBOARD_LOG_LEVEL") or None
    setup_file_logging(data_dir(), level)
    server = create_server(args.config, warm_up=args.warm_up)
    gc.freeze()
    gc.set_threshold(*thresholds)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print("switchboard serve: --tcp takes HOST:PORT", file=sys.stderr)
            return 2
        from .tcp import serve_tcp

        serve_tcp(server, host, int(port))
        return 0
    from .stdio import serve_stdio

    serve_stdio(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
