"""The chat fallback for code completion: the prompt, and cleaning chat models' answers.

The answers below are the shapes chat models give when asked for the middle
of a file: fenced, introduced by prose, repeating the line they were given
or the whole file, running on into the code after the cursor, or closing a
bracket the editor had already closed.
"""

from __future__ import annotations

import pytest
from switchboard.providers.base import CompletionRequest
from switchboard.providers.catalog.fim_prompt import (
    GAP,
    SYSTEM,
    chat_prompt,
    clean_middle,
    first_line,
    strip_fences,
    strip_prefix_echo,
    trim_suffix_overlap,
)

ADD = CompletionRequest(prefix="def add(a, b):\n    ", suffix="\n\nprint(add(1, 2))\n")


def request(prefix: str, suffix: str = "", language: str | None = None) -> CompletionRequest:
    return CompletionRequest(prefix=prefix, suffix=suffix, language=language)


def test_the_prompt_shows_the_file_with_the_gap_and_asks_for_the_middle_only() -> None:
    full = CompletionRequest(
        prefix="def add(a, b):\n    ", suffix="\n", language="python", path="src/calc.py"
    )
    system, prompt = chat_prompt(full)
    assert GAP in system and "no code fences" in system and system == SYSTEM
    assert "File: src/calc.py" in prompt and "Language: python" in prompt
    assert f"def add(a, b):\n    {GAP}\n" in prompt
    assert prompt.endswith(f"Write the text that replaces {GAP}.")
    _, bare = chat_prompt(CompletionRequest(prefix="x = ", suffix=""))
    assert not bare.startswith("\n") and "File:" not in bare and "Language:" not in bare


@pytest.mark.parametrize(
    ("answer", "wanted"),
    [
        # GPT-style: a fenced block and nothing else
        ("```python\nreturn a + b\n```", "return a + b"),
        # Claude-style: a sentence, the fenced code with the indentation, a remark
        (
            "Here's the missing code:\n\n```python\n    return a + b\n```\n\n"
            "This returns the sum of both arguments.",
            "return a + b",
        ),
        # already clean
        ("return a + b", "return a + b"),
        # the indentation the cursor already has, repeated
        ("    return a + b", "return a + b"),
        # the whole function header repeated before the body
        ("def add(a, b):\n    return a + b", "return a + b"),
        # a fence cut off by max tokens
        ("```py\nreturn a +", "return a +"),
        # the gap marker echoed back
        (f"{GAP}return a + b", "return a + b"),
        # the call after the cursor repeated after the body
        ("return a + b\n\nprint(add(1, 2))", "return a + b"),
        ("", ""),
    ],
)
def test_answers_to_the_add_function(answer: str, wanted: str) -> None:
    assert clean_middle(answer, ADD) == wanted


def test_a_rewritten_file_keeps_only_the_middle() -> None:
    prefix = "import os\n\ndef main():\n    "
    suffix = '\n\nif __name__ == "__main__":\n    main()\n'
    answer = (
        "```python\nimport os\n\ndef main():\n    print(os.getcwd())\n\n"
        'if __name__ == "__main__":\n    main()\n```'
    )
    assert clean_middle(answer, request(prefix, suffix)) == "print(os.getcwd())"


def test_the_line_being_typed_is_not_written_twice() -> None:
    prefix = 'def greet(name):\n    return f"Hello, '
    answer = '    return f"Hello, {name}!"'
    assert clean_middle(answer, request(prefix, '"\n')) == "{name}!"
    # repeated without its indentation
    assert clean_middle('return f"Hello, {name}!', request(prefix, '"\n')) == "{name}!"


def test_a_closing_brace_the_file_already_has_is_dropped_but_inner_ones_stay() -> None:
    prefix = "function sign(a) {\n  "
    answer = "if (a < 0) {\n    return -1;\n  }\n  return 1;\n}"
    cleaned = clean_middle(answer, request(prefix, "\n}\n", "javascript"))
    assert cleaned == "if (a < 0) {\n    return -1;\n  }\n  return 1;"


def test_brackets_on_the_cursor_line_are_trimmed_only_when_they_are_the_editors() -> None:
    call = request("total = compute(", ")\n")
    assert clean_middle("items, tax)", call) == "items, tax"
    assert clean_middle("len(items))", call) == "len(items)"
    assert clean_middle("len(items)", call) == "len(items)"  # its own parenthesis
    assert clean_middle("prices[0]]", request("first = [", "]\n")) == "prices[0]"


def test_markdown_keeps_its_fences() -> None:
    doc = request("# Usage\n\n", "\n", "markdown")
    assert clean_middle("```sh\npip install x\n```", doc) == "```sh\npip install x\n```"


def test_stop_sequences_cut_the_answer() -> None:
    stopping = CompletionRequest(prefix="x = ", stop=("\n\n",))
    assert clean_middle("1\n\ny = 2", stopping) == "1"


def test_fences_with_tildes_and_longer_runs() -> None:
    assert strip_fences("~~~\ncode\n~~~") == "code"
    assert strip_fences("````md\n```inner```\n````") == "```inner```"
    assert strip_fences("no fence here") == "no fence here"


def test_prefix_echo_needs_a_line_start_or_the_typed_words() -> None:
    # "= 5" does not repeat "x = " from the start of a line: nothing is stripped
    assert strip_prefix_echo("= 5", "x = ") == "= 5"
    assert strip_prefix_echo("foo()", "a\n") == "foo()"
    assert strip_prefix_echo("x = 5", "x = ") == "5"


def test_suffix_overlap_without_a_suffix_is_nothing() -> None:
    assert trim_suffix_overlap("return 1\n}", "") == "return 1\n}"
    assert trim_suffix_overlap("return 1", "\n\n") == "return 1"


def test_first_line_waits_for_a_line_with_content() -> None:
    assert first_line("return a") is None
    assert first_line("\n\n") is None
    assert first_line("return a + b\n    more") == "return a + b"
    assert first_line("\n    return a\nnext") == "\n    return a"


def test_an_echo_of_the_last_lines_of_a_long_prefix_is_found() -> None:
    prefix = "".join(f"line_{i} = {i}\n" for i in range(500)) + "    ret"
    assert strip_prefix_echo("line_499 = 499\n    return 1", prefix) == "urn 1"
    assert strip_prefix_echo("    return 1", prefix) == "urn 1"
    assert strip_prefix_echo("line_498 = 0\n", prefix) == "line_498 = 0\n"
