"""Provider discovery: TOML declarations and Python modules in the plugins directory,
entry points, hot reload by mtime, problems that name the file and key, and laziness."""

from __future__ import annotations

import os
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from switchboard.protocol.chat import ChatParams, Usage
from switchboard.providers.adapters.declared import DeclarationError, read_declaration
from switchboard.providers.adapters.plugins import (
    ENTRY_POINT_GROUP,
    PluginProblem,
    PluginRegistry,
    _installed_entry_points,
)
from switchboard.providers.config import Config, apply_overrides, load_config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

KINDS = frozenset({"openai", "anthropic"})
EXAMPLE_REQUIRED = os.environ.get("SWITCHBOARD_REQUIRE_PLUGIN_EXAMPLE") == "1"

ACME = """
id = "acme"
name = "Acme AI"
api = "openai-chat"
base_url = "https://api.acme.example/v1"
api_key_env = "ACME_API_KEY"
headers = { "X-Team" = "editors" }
version = "2.1"

[[models]]
id = "acme-large"
context_window = 128000
max_output_tokens = 8192
input_per_m_tok = 1.0
output_per_m_tok = 3.0
tools = true

[[models]]
id = "acme-coder"
context_window = 32000
fim = true
"""

ECHO_MODULE = """
from switchboard.protocol.chat import StopEvent, TextEvent
from switchboard.providers.adapters.contract import (
    OutgoingRequest, PluginModel, ProviderPlugin,
)


class Echo(ProviderPlugin):
    id = "echo"
    name = "Echo"
    version = "{version}"
    base_url = "http://127.0.0.1:9"
    models = (PluginModel(id="echo-1", context_window=1000, input_per_m_tok=0.5,
                          output_per_m_tok=0.5),)

    def format_request(self, params, model):
        return OutgoingRequest(path="/echo", body={{"model": model}})

    def parse_response(self, body, model):
        return [TextEvent(text=body["text"]), StopEvent(reason="endTurn")]

    def handle_stream_chunk(self, chunk, state):
        return [TextEvent(text=chunk.data)]


provider = Echo
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def no_entry_points() -> list[EntryPoint]:
    return []


def registry(directory: Path | None, *entry_points: EntryPoint) -> PluginRegistry:
    return PluginRegistry(directory, lambda: list(entry_points), builtin=KINDS)


def engine_with(plugins: Path, **environ: str) -> ChatEngine:
    engine = ChatEngine(Config(plugins_dir=plugins), environ=environ)
    engine.plugins = registry(plugins)
    return engine


# ---- TOML declarations -------------------------------------------------------


def test_a_declaration_reads_every_key(tmp_path: Path) -> None:
    declared = read_declaration(write(tmp_path, "acme.toml", ACME))
    assert (declared.id, declared.name, declared.api) == ("acme", "Acme AI", "openai-chat")
    assert declared.headers == {"X-Team": "editors"} and declared.version == "2.1"
    large, coder = declared.models
    assert (large.context_window, large.max_output_tokens, large.tools) == (128000, 8192, True)
    assert (large.input_per_m_tok, large.output_per_m_tok) == (1.0, 3.0)
    assert coder.fim and coder.input_per_m_tok is None and not coder.images


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (('api = "openai-chat"', 'api = "cohere"'), "api", "not one of openai-chat"),
        (('api = "openai-chat"\n', ""), "api", "is required"),
        (('base_url = "https://api.acme.example/v1"', 'base_url = "ftp://x"'), "base_url", "http"),
        (
            ("context_window = 128000", "context_window = -5"),
            "models[0].context_window",
            "positive",
        ),
        (("context_window = 32000\n", ""), "models[1].context_window", "is required"),
        (("fim = true", 'fim = "yes"'), "models[1].fim", "true or false"),
        (("output_per_m_tok = 3.0", "outputs = 3.0"), "models[0].outputs", "unknown key"),
        (("input_per_m_tok = 1.0\n", ""), "models[0].output_per_m_tok", "needs both"),
        (('version = "2.1"', 'colour = "red"'), "colour", "unknown key"),
        (('id = "acme-coder"', 'id = "acme-large"'), "models[1].id", "declared twice"),
        (('id = "acme"', 'id = "ac me"'), "id", "letters, digits"),
        (('headers = { "X-Team" = "editors" }', "headers = { X = 1 }"), "headers", "strings"),
    ],
)
def test_declaration_errors_name_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], key: str, words: str
) -> None:
    old, new = change
    assert old in ACME
    path = write(tmp_path, "acme.toml", ACME.replace(old, new, 1))
    with pytest.raises(DeclarationError) as caught:
        read_declaration(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert words in str(caught.value)


def test_a_declaration_without_models_or_not_toml_is_refused(tmp_path: Path) -> None:
    no_models = write(tmp_path, "a.toml", ACME.split("[[models]]")[0])
    with pytest.raises(DeclarationError, match=r"a\.toml: models: needs at least one"):
        read_declaration(no_models)
    broken = write(tmp_path, "b.toml", "id = \n")
    with pytest.raises(DeclarationError, match=r"b\.toml: not valid TOML"):
        read_declaration(broken)


# ---- the plugins directory -------------------------------------------------------


def test_a_declared_provider_lists_its_models_prices_them_and_sends_its_headers(
    tmp_path: Path,
) -> None:
    plugins = tmp_path / "providers"
    write(plugins, "acme.toml", ACME)
    engine = engine_with(plugins, ACME_API_KEY="sk-acme-test")
    assert "acme" in engine.provider_ids()
    target = engine.resolve("acme/acme-large")
    assert target.info.context_window == 128000 and target.info.capabilities.tools
    assert target.info.pricing is not None and target.info.pricing.output_per_m_tok == 3.0
    cost = engine.cost(target, Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert cost is not None and cost.total_usd == pytest.approx(4.0)
    listed = {info.id: info for info in engine.models.provider_models("acme")}
    assert set(listed) == {"acme/acme-large", "acme/acme-coder"}
    assert listed["acme/acme-coder"].capabilities.fim and listed["acme/acme-large"].available
    adapter = engine.adapter("acme")
    assert (adapter.kind, adapter.display_name) == ("acme", "Acme AI")
    assert adapter.models_request(engine.settings("acme"), engine.credential("acme")) is None
    params = ChatParams(model="acme/acme-large", messages=[{"role": "user", "content": "hi"}])
    request = adapter.build_request(
        params, target, engine.settings("acme"), engine.credential("acme")
    )
    assert request.url == "https://api.acme.example/v1/chat/completions"
    assert request.headers["X-Team"] == "editors"
    assert request.headers["Authorization"] == "Bearer sk-acme-test"
    assert request.json["model"] == "acme-large"


def test_a_python_module_in_the_directory_is_a_provider(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    write(plugins, "echo.py", ECHO_MODULE.format(version="1.0"))
    engine = engine_with(plugins)
    echo = engine.plugins.providers()["echo"]
    assert (echo.display_name, echo.version) == ("Echo", "1.0")
    assert echo.features == ("chat", "streaming") and echo.listed
    target = engine.resolve("echo/echo-1")
    assert target.info.pricing is not None and target.info.pricing.input_per_m_tok == 0.5
    (text, stop) = engine.adapter("echo").decode_body({"text": "hey"}, target)
    assert (text.text, stop.reason) == ("hey", "endTurn")
    params = ChatParams(model="echo/echo-1", messages=[{"role": "user", "content": "hi"}])
    request = engine.adapter("echo").build_request(params, target, engine.settings("echo"), None)
    assert (request.method, request.url, request.json) == (
        "POST",
        "http://127.0.0.1:9/echo",
        {"model": "echo-1"},
    )


def test_a_new_or_changed_file_takes_effect_at_the_next_look_and_a_removed_one_goes(
    tmp_path: Path,
) -> None:
    plugins = tmp_path / "providers"
    plugins.mkdir()
    found = registry(plugins)
    assert dict(found.providers()) == {}
    path = write(plugins, "acme.toml", ACME)
    assert set(found.providers()) == {"acme"}
    generation = found.generation
    assert set(found.providers()) == {"acme"} and found.generation == generation
    # The same second and the same size: the mtime in nanoseconds still tells.
    stat = path.stat()
    path.write_text(ACME.replace("acme-large", "acme-LARGE"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert found.providers()["acme"].catalog["models"][0]["id"] == "acme-LARGE"
    echo = write(plugins, "echo.py", ECHO_MODULE.format(version="1.0"))
    assert found.providers()["echo"].version == "1.0"
    echo.write_text(textwrap.dedent(ECHO_MODULE.format(version="1.1")), encoding="utf-8")
    os.utime(echo, ns=(echo.stat().st_atime_ns, echo.stat().st_mtime_ns + 1))
    assert found.providers()["echo"].version == "1.1"
    path.unlink()
    assert set(found.providers()) == {"echo"}


def test_a_broken_plugin_is_a_problem_and_the_others_stay(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    write(plugins, "acme.toml", ACME)
    write(
        plugins,
        "broken.toml",
        ACME.replace('id = "acme"', 'id = "other"').replace("api =", "apii ="),
    )
    write(plugins, "crash.py", "raise RuntimeError('no such thing')\n")
    write(plugins, "empty.py", "x = 1\n")
    write(plugins, "openai.toml", ACME.replace('id = "acme"', 'id = "openai"'))
    write(plugins, "again.toml", ACME)
    write(plugins, "_draft.toml", "not toml at all [")
    found = registry(plugins)
    assert set(found.providers()) == {"acme"}
    problems = {Path(p.source).name: str(p) for p in found.problems()}
    assert set(problems) == {"broken.toml", "crash.py", "empty.py", "openai.toml", "again.toml"}
    assert problems["broken.toml"].startswith(f"{plugins / 'broken.toml'}: apii: unknown key")
    assert "RuntimeError: no such thing" in problems["crash.py"]
    assert "defines no `provider`" in problems["empty.py"]
    assert "built-in provider id" in problems["openai.toml"]
    assert "already used by" in problems["again.toml"] and "acme.toml" in problems["again.toml"]


def test_a_plugin_whose_metadata_is_wrong_is_refused_by_name(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    module = ECHO_MODULE.format(version="1")
    write(
        plugins,
        "echo.py",
        module.replace("provider = Echo", 'Echo.features = ("telepathy",)\nprovider = Echo'),
    )
    (problem,) = registry(plugins).problems()
    assert problem.source.endswith("echo.py")
    assert "features: unknown ['telepathy']" in str(problem)


def test_a_failing_plugin_function_is_the_providers_error_not_the_servers(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    write(plugins, "echo.py", ECHO_MODULE.format(version="1"))
    engine = engine_with(plugins)
    target = engine.resolve("echo/echo-1")
    adapter = engine.adapter("echo")
    with pytest.raises(ProviderError, match="echo: the provider plugin failed in parse_response"):
        adapter.decode_body({}, target)
    assert adapter.decoder(target).close() == []


# ---- entry points ----------------------------------------------------------------


def test_an_entry_point_adds_a_provider_and_a_broken_one_is_named(tmp_path: Path) -> None:
    good = EntryPoint("cohere", "switchboard_cohere:CohereProvider", ENTRY_POINT_GROUP)
    bad = EntryPoint("ghost", "no_such_module_here:Ghost", ENTRY_POINT_GROUP)
    if not _example_installed():
        pytest.skip("the example plugin (examples/provider-plugin) is not installed")
    found = registry(None, good, bad)
    cohere = found.providers()["cohere"]
    assert cohere.origin == "entry point 'cohere'" and cohere.listed
    assert "tools" in cohere.features and cohere.version == "0.1.0"
    (problem,) = found.problems()
    assert problem.source == "entry point 'ghost'"
    assert "cannot import: ModuleNotFoundError" in str(problem)


def test_the_installed_example_is_found_through_its_entry_point() -> None:
    names = {entry_point.name for entry_point in _installed_entry_points()}
    if "cohere" not in names:
        if EXAMPLE_REQUIRED:
            pytest.fail(
                "SWITCHBOARD_REQUIRE_PLUGIN_EXAMPLE=1 but examples/provider-plugin is not installed"
            )
        pytest.skip("the example plugin is not installed: pip install -e examples/provider-plugin")
    found = PluginRegistry(None, builtin=KINDS).providers()
    assert found["cohere"].origin.startswith("entry point 'cohere' (switchboard-cohere 0.1.0")


def _example_installed() -> bool:
    try:
        import switchboard_cohere  # noqa: F401
    except ImportError:
        if EXAMPLE_REQUIRED:
            pytest.fail("SWITCHBOARD_REQUIRE_PLUGIN_EXAMPLE=1 but switchboard_cohere is missing")
        return False
    return True


# ---- laziness and the config -------------------------------------------------------


def test_nothing_is_discovered_for_built_in_providers(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    write(plugins, "acme.toml", ACME)
    config_file = tmp_path / "config.toml"
    config_file.write_text('[providers.work]\nkind = "openai"\n', encoding="utf-8")
    config = load_config(config_file, KINDS)
    assert config.plugins_dir == plugins and not config.issues
    engine = ChatEngine(config, environ={})
    engine.plugins = registry(plugins)
    engine.resolve("openai/gpt-4o")
    engine.resolve("work/gpt-4o")
    assert not engine.plugins.loaded
    assert engine.catalog is engine._catalog
    engine.resolve("acme/acme-large")
    assert engine.plugins.loaded and "acme" in engine.catalog.provider_ids()


def test_the_config_names_the_plugins_dir_and_accepts_plugin_kinds(tmp_path: Path) -> None:
    elsewhere = tmp_path / "mine"
    write(elsewhere, "acme.toml", ACME)
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        'plugins_dir = "mine"\n[providers.team]\nkind = "acme"\nbase_url = "https://x.example"\n'
        '[providers.bad]\nkind = "acne"\n',
        encoding="utf-8",
    )
    config = load_config(config_file, KINDS)
    assert config.plugins_dir == elsewhere
    assert config.providers["team"].kind == "acme"
    (issue,) = config.issues
    assert "unknown kind 'acne'" in str(issue) and "acme" in str(issue)
    engine = ChatEngine(config, environ={"ACME_API_KEY": "k"})
    assert engine.resolve("team/acme-large").info.pricing is not None
    assert engine.base_url("team") == "https://x.example"


def test_a_plugin_that_goes_away_fails_its_provider_clearly(tmp_path: Path) -> None:
    plugins = tmp_path / "providers"
    path = write(plugins, "acme.toml", ACME)
    engine = engine_with(plugins)
    engine.resolve("acme/acme-large")
    path.unlink()
    with pytest.raises(ProviderError) as caught:
        engine.resolve("acme/acme-large")
    assert caught.value.code.value == "unknownProvider"


def test_problems_render_with_their_source() -> None:
    assert str(PluginProblem("x.toml", "x.toml: id: is required")) == "x.toml: id: is required"
    assert str(PluginProblem("entry point 'a'", "boom")) == "entry point 'a': boom"


# ---- the example plugin's translation (Cohere v2), against the fake's bytes ---------------


def test_the_example_parses_whole_and_streamed_answers_and_errors() -> None:
    if not _example_installed():
        pytest.skip("the example plugin (examples/provider-plugin) is not installed")
    from switchboard.providers.wire.sse import SSEDecoder

    from tests.fakes.cohere import _stream, _whole
    from tests.fakes.scenario import Scenario, ToolCall

    engine = ChatEngine(Config(), environ={})
    target = engine.resolve("cohere/command-r-08-2024")
    adapter = engine.adapter("cohere")
    call = ToolCall(id="c1", name="lookup", input={"q": "x" * 20})
    scenario = Scenario(text="Let me see.", thinking="Plan.", tool_calls=[call], stop="toolUse")

    whole = adapter.decode_body(_whole(scenario), target)
    assert [type(e).__name__ for e in whole] == [
        "ThinkingEvent",
        "TextEvent",
        "ToolUseEvent",
        "UsageEvent",
        "StopEvent",
    ]
    assert whole[2].input == call.input and whole[-1].reason == "toolUse"

    framer, decoder = SSEDecoder(), adapter.decoder(target)
    events = [e for chunk in _stream(scenario) for w in framer.feed(chunk) for e in decoder.feed(w)]
    events += decoder.close()
    text = "".join(e.text for e in events if type(e).__name__ == "TextEvent")
    (use,) = [e for e in events if type(e).__name__ == "ToolUseEvent"]
    assert text == "Let me see." and use.input == call.input
    assert events[-1].reason == "toolUse"
    usage = next(e for e in events if type(e).__name__ == "UsageEvent")
    assert (usage.input_tokens, usage.output_tokens) == (12, 7)

    error = adapter.parse_error(401, {}, b'{"message": "invalid api token"}')
    assert error.code.value == "authenticationFailed" and "invalid api token" in error.message


def test_the_editor_settings_may_move_the_plugins_dir(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('log_level = "debug"\n', encoding="utf-8")
    config = load_config(config_file, KINDS)
    assert config.plugins_dir == tmp_path / "providers"
    assert apply_overrides(config, {"logLevel": "info"}, KINDS).plugins_dir == config.plugins_dir
    moved = apply_overrides(config, {"pluginsDir": str(tmp_path / "elsewhere")}, KINDS)
    assert moved.plugins_dir == tmp_path / "elsewhere" and not moved.issues
    (issue,) = apply_overrides(config, {"pluginsDir": 3}, KINDS).issues
    assert issue.key == "plugins_dir" and "directory path" in issue.message
