"""What the code actions ask the model, and how its answer becomes the replacement text.

Pure functions: the code actions (server/code_actions.py) call them with the
document's text around the selection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REWRITE_SYSTEM = (
    "You edit code in the user's editor. Answer with the replacement for the selected code "
    "only, in one fenced code block, with no explanation before or after it. Keep the "
    "indentation of the original."
)

#: action -> (code action title, instruction); "fix" adds the problems the editor reported.
ACTIONS: dict[str, tuple[str, str]] = {
    "explain": (
        "Switchboard: explain with comments",
        "Keep the code exactly as it is and add comments that explain what it does, "
        "step by step, and anything surprising.",
    ),
    "simplify": (
        "Switchboard: simplify",
        "Make it simpler and clearer without changing what it does.",
    ),
    "fix": ("Switchboard: fix", "Fix these problems the editor reports:"),
    # Never offered as a code action: an editor's inline chat sends it with the instruction.
    "edit": ("Switchboard: edit", "Change it as asked:"),
}

#: How much of the file around the selection goes with it, in characters.
CONTEXT_BEFORE = 3000
CONTEXT_AFTER = 1000

_FENCED = re.compile(r"(?:^|\n)[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)\n[ \t]*\1[ \t]*(?:\n|$)", re.DOTALL)
_OPENED = re.compile(r"(?:^|\n)[ \t]*(?:`{3,}|~{3,})[^\n]*\n(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Selection:
    file_name: str
    language_id: str
    before: str
    selected: str
    after: str


def _fence(code: str, language_id: str = "") -> str:
    longest = max([2, *(len(run) for run in re.findall(r"`+", code))])
    marker = "`" * (longest + 1)
    return f"{marker}{language_id}\n{code}\n{marker}"


def rewrite_messages(
    selection: Selection,
    action: str,
    problems: list[str] | None = None,
    asked: str | None = None,
) -> list[dict[str, str]]:
    _, instruction = ACTIONS[action]
    if action == "fix":
        instruction += "".join(f"\n- {problem}" for problem in problems or [])
    if action == "edit":
        instruction += f" {(asked or '').strip()}"
    before = selection.before[-CONTEXT_BEFORE:]
    after = selection.after[:CONTEXT_AFTER]
    context = f"{before}<selection>{selection.selected}</selection>{after}"
    content = (
        f"File `{selection.file_name}` ({selection.language_id}), around the selection:\n\n"
        f"{_fence(context)}\n\nThe selected code:\n\n"
        f"{_fence(selection.selected, selection.language_id)}\n\n{instruction}"
    )
    return [{"role": "user", "content": content}]


def extract_code(answer: str) -> str:
    """The first fenced block of the answer; an unclosed one to its end; else the whole answer."""
    fenced = _FENCED.search(answer)
    if fenced:
        return fenced.group(2)
    opened = _OPENED.search(answer)
    return opened.group(1) if opened else answer.strip()


def fit_replacement(original: str, replacement: str) -> str:
    """The replacement, ending as the original did: whole lines keep their last newline."""
    ending = re.search(r"\r?\n$", original)
    body = replacement.rstrip()
    if ending:
        return body + ending.group(0)
    trailing_space = re.search(r"[ \t]*$", original)
    return body + (trailing_space.group(0) if trailing_space else "")
