"""The code actions' prompts, and how an answer becomes the replacement text."""

from __future__ import annotations

import pytest
from switchboard.server.rewrite_prompts import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    Selection,
    extract_code,
    fit_replacement,
    rewrite_messages,
)


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Sure:\n```python\nx = 1\n```\nDone.", "x = 1"),
        ("```\nfirst\n```\n```\nsecond\n```", "first"),
        ("````md\n```inner```\n````", "```inner```"),
        ("~~~\ntilde\n~~~", "tilde"),
        ("```python\ncut off by max tokens", "cut off by max tokens"),
        ("  just code, no fence  \n", "just code, no fence"),
    ],
)
def test_extract_code(answer: str, code: str) -> None:
    assert extract_code(answer) == code


@pytest.mark.parametrize(
    ("original", "replacement", "fitted"),
    [
        ("a\nb\n", "A\nB", "A\nB\n"),
        ("a\r\nb\r\n", "A\r\nB\n\n", "A\r\nB\r\n"),
        ("value  ", "VALUE\n", "VALUE  "),
        ("x", "y", "y"),
    ],
)
def test_fit_replacement(original: str, replacement: str, fitted: str) -> None:
    assert fit_replacement(original, replacement) == fitted


def test_the_prompt_bounds_the_context_and_fences_past_backticks() -> None:
    selection = Selection(
        file_name="notes.md",
        language_id="markdown",
        before="B" * (CONTEXT_BEFORE + 50),
        selected="use ```code``` here",
        after="A" * (CONTEXT_AFTER + 50),
    )
    (message,) = rewrite_messages(selection, "fix", ["first problem", "second"])
    content = message["content"]
    assert content.count("B") == CONTEXT_BEFORE and content.count("A") == CONTEXT_AFTER
    assert "````markdown\nuse ```code``` here\n````" in content
    assert content.endswith("reports:\n- first problem\n- second")


def test_an_edit_carries_the_users_instruction_after_the_selection() -> None:
    selection = Selection("calc.py", "python", "x = 1\n", "def f(): pass\n", "")
    (message,) = rewrite_messages(selection, "edit", asked="  rename f to g \n")
    assert message["content"].endswith("Change it as asked: rename f to g")
    assert "```python\ndef f(): pass\n\n```" in message["content"]
