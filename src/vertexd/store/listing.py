"""List requests: AIP-160 filters, orderBy and page tokens, turned into SQL clauses.

Supported filter fields: state, display_name, labels.KEY, create_time, update_time, with
=, !=, <, <=, >, >= and `:` (has; `*` is a wildcard), joined by AND / OR / NOT and
parentheses. OR binds tighter than AND, as AIP-160 says.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select

from vertexd.core.errors import InvalidArgument
from vertexd.store.tables import labels, resources

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_TOKEN = re.compile(
    r'\s*(?:(?P<paren>[()])|(?P<op>!=|<=|>=|=|<|>|:)|(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')'
    r"|(?P<word>[^\s()=!<>:\"']+))"
)
_ORDER_FIELDS = {
    "create_time": resources.c.create_time,
    "update_time": resources.c.update_time,
    "display_name": resources.c.display_name,
    "name": resources.c.name,
    "state": resources.c.state,
}


@dataclass(frozen=True)
class ListQuery:
    filter: str = ""
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str = ""
    order_by: str = ""

    def __post_init__(self) -> None:
        if self.page_size < 0:  # above the maximum is clamped, as Vertex does
            raise InvalidArgument("must not be negative.", "page_size")

    @property
    def limit(self) -> int:
        return min(self.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        if not self.page_token:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(self.page_token.encode()))
            offset = int(data["offset"])
        except (ValueError, KeyError, TypeError):
            raise InvalidArgument("Invalid page token.", "page_token") from None
        if offset < 0:
            raise InvalidArgument("Invalid page token.", "page_token")
        return offset

    def next_page_token(self) -> str:
        payload = json.dumps({"offset": self.offset + self.limit}).encode()
        return base64.urlsafe_b64encode(payload).decode()

    def order_by_columns(self) -> list[Any]:
        columns = []
        for part in filter(None, (p.strip() for p in self.order_by.split(","))):
            words = part.split()
            field = re.sub(r"(?<!^)(?=[A-Z])", "_", words[0]).lower()
            if field not in _ORDER_FIELDS or len(words) > 2:
                raise InvalidArgument(f"Unsupported order_by field: {part!r}.", "order_by")
            descending = len(words) == 2 and words[1].lower() == "desc"
            column = _ORDER_FIELDS[field]
            columns.append(column.desc() if descending else column.asc())
        if not columns:
            columns.append(resources.c.create_time.desc())
        return [*columns, resources.c.name.desc()]


def where_clauses(query: ListQuery) -> list[Any]:
    if not query.filter.strip():
        return []
    return [_Parser(query.filter).parse()]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise self.error()
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def error(self) -> InvalidArgument:
        return InvalidArgument(f"Unable to parse filter: {self.text!r}.", "filter")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.error()
        self.pos += 1
        return token

    def parse(self) -> Any:
        clause = self.conjunction()
        if self.peek() is not None:
            raise self.error()
        return clause

    def conjunction(self) -> Any:
        parts = [self.disjunction()]
        while self.peek() is not None and self.peek() != ("paren", ")"):
            if self.peek() == ("word", "AND"):
                self.take()
            parts.append(self.disjunction())
        return and_(*parts)

    def disjunction(self) -> Any:
        parts = [self.unary()]
        while self.peek() == ("word", "OR"):
            self.take()
            parts.append(self.unary())
        return or_(*parts)

    def unary(self) -> Any:
        token = self.take()
        if token in (("word", "NOT"), ("word", "-")):
            return not_(self.unary())
        if token == ("paren", "("):
            inner = self.conjunction()
            if self.take() != ("paren", ")"):
                raise self.error()
            return inner
        if token[0] != "word":
            raise self.error()
        op_kind, op = self.take()
        value_kind, value = self.take()
        if op_kind != "op" or value_kind not in ("str", "word"):
            raise self.error()
        if value_kind == "str":
            value = value[1:-1].replace('\\"', '"').replace("\\'", "'")
        return _comparison(token[1], op, value)


def _comparison(field: str, op: str, value: str) -> Any:
    field = re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower() if "." not in field else field
    if field.startswith("labels."):
        return _label_comparison(field.split(".", 1)[1], op, value)
    if field == "state":
        return _compare(resources.c.state, op, value)
    if field == "display_name":
        return _compare(resources.c.display_name, op, value)
    if field in ("create_time", "update_time"):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(f"Invalid time in filter: {value!r}.", "filter") from None
        # Stored times are UTC; a time with another offset (or none: UTC) is compared as UTC.
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        return _compare(resources.c[field], op, utc)
    raise InvalidArgument(f"Unsupported filter field: {field!r}.", "filter")


def _compare(column: Any, op: str, value: Any) -> Any:
    if op == ":":
        if value == "*":
            return column.is_not(None)
        # Case-insensitive on every database (SQLite's LIKE is; PostgreSQL's is not).
        return column.ilike(str(value).replace("*", "%"))
    ops = {
        "=": column == value,
        "!=": column != value,
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
    }
    return ops[op]


def _label_comparison(key: str, op: str, value: str) -> Any:
    base = select(labels.c.resource_name).where(
        labels.c.resource_name == resources.c.name, labels.c.key == key
    )
    if op == ":" and value == "*":
        return exists(base)
    if op == "!=":
        return not_(exists(base.where(labels.c.value == value)))
    if op in ("=", ":"):
        return exists(base.where(_compare(labels.c.value, op, value)))
    raise InvalidArgument(f"Unsupported operator {op!r} for labels.", "filter")
