"""Vertex's rules for the user metadata every job carries: `displayName` (up to 128
characters, any UTF-8) and `labels` (at most 64; keys and values up to 64 characters of
lowercase letters, digits, `_` and `-`, international letters allowed; keys start with a
letter)."""

from __future__ import annotations

from vertexd.core.errors import InvalidArgument

MAX_DISPLAY_NAME = 128
MAX_LABELS = 64
MAX_LABEL_CHARS = 64


def validate_metadata(display_name: str | None, labels: dict[str, str] | None) -> None:
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument(f"must be at most {MAX_DISPLAY_NAME} characters.", "display_name")
    if not labels:
        return
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"at most {MAX_LABELS} labels are allowed.", "labels")
    for key, value in labels.items():
        problem = _label_problem(key, is_key=True) or _label_problem(value, is_key=False)
        if problem:
            raise InvalidArgument(problem, f"labels[{key!r}]")


def _label_problem(text: str, is_key: bool) -> str | None:
    what = "label key" if is_key else "label value"
    if is_key and not text:
        return "a label key must not be empty."
    if len(text) > MAX_LABEL_CHARS:
        return f"a {what} must be at most {MAX_LABEL_CHARS} characters."
    if is_key and not (text[0].isalpha() and not text[0].isupper()):
        return "a label key must start with a lowercase letter."
    if not all(_allowed(char) for char in text):
        return f"a {what} may hold only lowercase letters, digits, '_' and '-'."
    return None


def _allowed(char: str) -> bool:
    """Lowercase (or uncased international) letters, digits, `_` and `-`."""
    if char in "_-":
        return True
    if char.isdigit():
        return char.isascii() or char.isdecimal()
    return char.isalpha() and not char.isupper()
