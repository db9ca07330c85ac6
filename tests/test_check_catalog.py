"""tools/check_catalog.py against the loopback OpenRouter and Copilot fakes (never the internet)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from switchboard.providers.base import ListedModel
from switchboard.providers.catalog.models import Catalog, catalog_data

from tools import check_catalog
from tools.check_catalog import CATALOG_DIR, listed_rates, main

from .fakes.copilot import FakeCopilot, model_entry
from .fakes.openrouter import FakeOpenRouter
from .test_catalog import catalog_problems

OPENROUTER_KEY = "sk-or-v1-" + "c0ffee" * 10 + "beef"


class RepricedOpenRouter(FakeOpenRouter):
    """OpenRouter after a price change and a new window for Claude Sonnet 4.5."""

    def _model(self, name: str) -> dict[str, Any]:
        model = super()._model(name)
        if name == "anthropic/claude-sonnet-4.5":
            model["pricing"]["prompt"] = "0.0000035"
            model["pricing"]["input_cache_read"] = "0.00000035"
            model["context_length"] = 200000
        return model


def run(capsys: pytest.CaptureFixture[str], *argv: str, **environ: str) -> tuple[int, list[str]]:
    status = main(list(argv), environ=environ)
    return status, capsys.readouterr().out.splitlines()


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """The packaged catalog files in a scratch folder laid out like the package's."""
    target = tmp_path / "data" / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    shutil.copy(CATALOG_DIR.parent / "catalog.json", tmp_path / "data" / "catalog.json")
    return target


def copied_data(catalog_dir: Path) -> dict[str, Any]:
    data = json.loads((catalog_dir.parent / "catalog.json").read_text("utf-8"))
    data["providers"] = {
        path.stem: json.loads(path.read_text("utf-8"))
        for path in sorted(catalog_dir.glob("*.json"))
    }
    return data


# ---- OpenRouter -------------------------------------------------------------------------


def test_openrouter_matching_prices_leave_only_the_unlisted_models(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenRouter() as fake:
        status, lines = run(capsys, "--source", "openrouter", "--openrouter-url", fake.url)
        assert [r.path for r in fake.requests] == ["/api/v1/models"]
    # the fake lists Claude Sonnet 4.5 and GPT-4o mini at the catalog's prices and limits;
    # its "0" cache-write price for GPT-4o mini means "not priced apart", as the catalog's null
    assert status == 1
    assert lines[:2] == [
        "openrouter x-ai/grok-4: in the catalog, not in the list",
        "openrouter google/gemini-2.5-flash: in the catalog, not in the list",
    ]
    assert lines[-1] == "openrouter: 2 listed, 2 differences"


def test_openrouter_price_and_limit_changes_are_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with RepricedOpenRouter() as fake:
        status, lines = run(capsys, "--source", "openrouter", "--openrouter-url", fake.url)
    assert status == 1
    claude = [line for line in lines if line.startswith("openrouter anthropic/claude-sonnet-4.5")]
    assert claude == [
        "openrouter anthropic/claude-sonnet-4.5: contextWindow catalog 1000000 list 200000",
        "openrouter anthropic/claude-sonnet-4.5: inputPerMTok catalog 3 list 3.5",
        "openrouter anthropic/claude-sonnet-4.5: cacheReadPerMTok catalog 0.3 list 0.35",
    ]


def test_openrouter_models_outside_the_catalog_are_counted_or_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenRouter() as fake:
        fake.models = (*FakeOpenRouter.models, "qwen/qwen3-coder", "z-ai/glm-5")  # type: ignore[assignment]
        _, counted = run(capsys, "--source", "openrouter", "--openrouter-url", fake.url)
        _, named = run(capsys, "--source", "openrouter", "--openrouter-url", fake.url, "--list-new")
    assert "openrouter: 2 listed models are not in the catalog (--list-new: which)" in counted
    assert "openrouter qwen/qwen3-coder: listed, not in the catalog" in named
    assert "openrouter z-ai/glm-5: listed, not in the catalog" in named


def test_write_puts_the_listed_prices_and_the_date_into_the_openrouter_file(
    capsys: pytest.CaptureFixture[str], catalog_copy: Path
) -> None:
    path = catalog_copy / "openrouter.json"
    before = json.loads(path.read_text("utf-8"))
    with RepricedOpenRouter() as fake:
        args = ["--source", "openrouter", "--openrouter-url", fake.url]
        status, lines = run(
            capsys, *args, "--catalog-dir", str(catalog_copy), "--write", "--date", "2026-12-01"
        )
        assert status == 1
        assert lines[-1] == f"openrouter: wrote {path} (2 entries changed)"
        _, again = run(capsys, *args, "--catalog-dir", str(catalog_copy))

    after = json.loads(path.read_text("utf-8"))
    claude_before, claude = before["models"][0], after["models"][0]
    assert claude["id"] == "anthropic/claude-sonnet-4.5"
    assert claude["pricing"]["inputPerMTok"] == 3.5
    assert claude["pricing"]["cacheReadPerMTok"] == 0.35
    assert claude["pricing"]["checked"] == "2026-12-01"
    assert claude["pricing"]["source"] == claude_before["pricing"]["source"]
    # limits are reported, not rewritten; unlisted models keep their entries as they were
    assert claude["contextWindow"] == claude_before["contextWindow"]
    assert after["models"][1] == before["models"][1]
    mini = next(m for m in after["models"] if m["id"] == "openai/gpt-4o-mini")
    assert mini["pricing"]["cacheWritePerMTok"] is None
    assert mini["pricing"]["checked"] == "2026-12-01"

    # the prices now match; what is left is the limit and the unlisted models
    assert not [line for line in again if "PerMTok" in line]
    data = copied_data(catalog_copy)
    assert data["checked"] == "2026-12-01"
    assert catalog_problems(data) == []
    Catalog(data)


def test_write_leaves_the_files_as_they_were_when_nothing_changed(
    capsys: pytest.CaptureFixture[str], catalog_copy: Path
) -> None:
    path = catalog_copy / "openrouter.json"
    text = path.read_text("utf-8")
    checked = catalog_data()["providers"]["openrouter"]["models"][0]["pricing"]["checked"]
    with FakeOpenRouter() as fake:
        run(
            capsys,
            *("--source", "openrouter", "--openrouter-url", fake.url),
            *("--catalog-dir", str(catalog_copy), "--write", "--date", checked),
        )
    assert path.read_text("utf-8") == text


def test_an_unreadable_list_is_status_2_and_never_shows_the_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeCopilot() as elsewhere:  # answers 401 to a key it does not know
        status, lines = run(
            capsys,
            *("--source", "openrouter", "--openrouter-url", elsewhere.url),
            OPENROUTER_API_KEY=OPENROUTER_KEY,
        )
        sent = elsewhere.requests[0].headers["authorization"]
    assert sent == f"Bearer {OPENROUTER_KEY}"
    assert status == 2
    assert lines[0].startswith("openrouter: the model list could not be read:")
    assert OPENROUTER_KEY not in "\n".join(lines)


# ---- Copilot ------------------------------------------------------------------------------


def copilot_args(fake: FakeCopilot) -> list[str]:
    return ["--source", "copilot", "--github-api-url", fake.url]


def test_copilot_limits_match_and_multipliers_are_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeCopilot() as fake:
        status, lines = run(capsys, *copilot_args(fake), GITHUB_COPILOT_TOKEN=fake.github_token)
        assert len(fake.exchanges()) == 1
    assert status == 0
    assert lines == [
        "copilot gpt-5-mini: premium-request multiplier 0",
        "copilot claude-sonnet-4.5: listed, not in the catalog"
        " (premium-request multiplier 1, premium)",
        "copilot gpt-4.1: listed, not in the catalog (premium-request multiplier 0)",
        "copilot: 3 listed, 0 differences",
    ]
    assert fake.github_token not in "\n".join(lines)


def test_copilot_limit_changes_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeCopilot() as fake:
        fake.models[0] = model_entry(
            "gpt-5-mini", "GPT-5 mini", "OpenAI", 200000, 64000, 32000, 0.0, False
        )
        status, lines = run(capsys, *copilot_args(fake), GITHUB_COPILOT_TOKEN=fake.github_token)
    assert status == 1
    assert lines[:3] == [
        "copilot gpt-5-mini: contextWindow catalog 264000 list 200000",
        "copilot gpt-5-mini: maxOutputTokens catalog 64000 list 32000",
        "copilot gpt-5-mini: maxInputTokens catalog 128000 list 64000",
    ]


def test_copilot_gone_from_the_list_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeCopilot() as fake:
        del fake.models[0]
        status, lines = run(capsys, *copilot_args(fake), GITHUB_COPILOT_TOKEN=fake.github_token)
    assert status == 1
    assert lines[0] == "copilot gpt-5-mini: in the catalog, not in the list"


def test_copilot_without_a_token_is_skipped_or_an_error_when_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeCopilot() as fake:
        status, lines = run(capsys, *copilot_args(fake))
        assert not fake.requests
    assert (status, lines) == (2, ["copilot: skipped; set GITHUB_COPILOT_TOKEN to check it"])
    with FakeOpenRouter() as router:
        status, lines = run(capsys, "--openrouter-url", router.url)
    assert lines[-1] == "copilot: skipped; set GITHUB_COPILOT_TOKEN to check it"
    assert status == 1  # OpenRouter's unlisted models; the skip itself is no failure


def test_a_rejected_github_token_is_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeCopilot() as fake:
        status, lines = run(capsys, *copilot_args(fake), GITHUB_COPILOT_TOKEN="gho_wrong")
    assert status == 2
    assert lines[0].startswith("copilot: the model list could not be read:")
    assert "gho_wrong" not in "\n".join(lines)


# ---- prices as the catalog writes them ---------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        (
            ListedModel("a", input_per_m_tok=3.0, output_per_m_tok=15.0, cache_write_per_m_tok=0.0),
            {
                "inputPerMTok": 3,
                "outputPerMTok": 15,
                "cacheReadPerMTok": None,
                "cacheWritePerMTok": None,
            },
        ),
        (
            ListedModel(
                "free", input_per_m_tok=0.0, output_per_m_tok=0.0, cache_read_per_m_tok=0.0
            ),
            {
                "inputPerMTok": 0,
                "outputPerMTok": 0,
                "cacheReadPerMTok": 0,
                "cacheWritePerMTok": None,
            },
        ),
        (
            ListedModel("b", input_per_m_tok=0.075, output_per_m_tok=0.3),
            {
                "inputPerMTok": 0.075,
                "outputPerMTok": 0.3,
                "cacheReadPerMTok": None,
                "cacheWritePerMTok": None,
            },
        ),
    ],
)
def test_listed_rates(listed: ListedModel, expected: dict[str, Any]) -> None:
    # a zero cache rate beside a paid input rate is "not priced apart"; a free model stays free
    assert listed_rates(listed) == expected


def test_the_script_names_the_package_catalog_by_default() -> None:
    assert (check_catalog.CATALOG_DIR / "openrouter.json").is_file()
    assert check_catalog.CATALOG_DIR.parent.name == "data"
