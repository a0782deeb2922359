"""gcloud's format expressions: `NAME[ATTRIBUTES](KEY[:ATTR...], ...)`, parsed by hand.

A key is a dotted path with optional indexes (`a.b[0].c`, `a[].b`), then transforms
(`name.basename()`, `createTime.date("%Y-%m-%d")`), then key attributes (`:label=ID`,
`:sort=1`, `:reverse`, `:align=right`). Errors point at the place with ` *HERE* `, as gcloud's do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRINTERS = ("csv", "json", "list", "none", "table", "value", "yaml")
# A key component: a field name, a list index, or None for a whole slice (`[]`).
KeyPart = str | int | None
Value = str | int | bool


class FormatError(ValueError):
    """A format expression that cannot be parsed, with gcloud's wording."""


class UnknownFormat(FormatError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Format must be one of {', '.join(PRINTERS)}; received [{name}].")
        self.name = name


@dataclass(frozen=True)
class Transform:
    name: str
    args: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, str], ...] = ()


@dataclass
class Column:
    key: tuple[KeyPart, ...]
    transforms: tuple[Transform, ...] = ()
    label: str | None = None  # explicit :label=; the default comes from the key
    order: int | None = None  # :sort=N
    reverse: bool = False
    align: str = "left"


@dataclass
class Format:
    name: str
    attributes: dict[str, Value] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)


class _Reader:
    """The expression and a position in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def here(self, position: int | None = None) -> str:
        at = self.pos if position is None else position
        return f"{self.text[:at]} *HERE* {self.text[at:]}"

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def eat(self, char: str) -> bool:
        self.skip_space()
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def token(self, stops: str) -> str:
        """Characters up to one of `stops` (or a space); '...' and "..." quote anything."""
        self.skip_space()
        out: list[str] = []
        while not self.done():
            char = self.peek()
            if char in "'\"":
                out.append(self._quoted(char))
                continue
            if char in stops or char.isspace():
                break
            out.append(char)
            self.pos += 1
        return "".join(out)

    def _quoted(self, quote: str) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while not self.done():
            char = self.peek()
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\" and not self.done():
                char = self.peek()
                self.pos += 1
            out.append(char)
        raise FormatError(f"Unterminated quoted string [{self.here(start)}].")


def parse(text: str) -> Format:
    """`table[no-heading](name:label=ID, state)` -> Format; raises FormatError."""
    reader = _Reader(text)
    start = reader.pos
    name = reader.token("[(")
    if not name:
        raise FormatError(f"Format name expected [{reader.here(start)}].")
    if name not in PRINTERS:
        raise UnknownFormat(name)
    spec = Format(name)
    while True:
        if reader.eat("["):
            _attributes(reader, spec.attributes)
        elif reader.eat("("):
            spec.columns += _columns(reader)
        else:
            break
    reader.skip_space()
    if not reader.done():
        raise FormatError(f"Parse error near [{reader.here()}].")
    if name in ("csv", "table", "value") and not spec.columns:
        raise FormatError(f"Format [{name}] requires a non-empty projection.")
    return spec


def _attributes(reader: _Reader, into: dict[str, Value]) -> None:
    """`no-heading, separator=";"]` (the `[` already read)."""
    while True:
        name = reader.token("=,])(")
        if name:
            if reader.eat("="):
                into[name] = _convert(reader.token(",])"))
            elif name.startswith("no-"):
                into[name] = True  # gcloud keeps `no-heading` as the attribute's name
                into[name[3:]] = False
            else:
                into[name] = True
        if reader.eat("]"):
            return
        if not reader.eat(","):
            raise FormatError(f"Expected ] in attribute list [{reader.here()}].")


def _convert(value: str) -> Value:
    return int(value) if value.lstrip("-").isdigit() else value


def _columns(reader: _Reader) -> list[Column]:
    """`name:label=ID, state)` (the `(` already read)."""
    columns: list[Column] = []
    if reader.eat(")"):
        return columns
    while True:
        columns.append(_column(reader))
        if reader.eat(")"):
            return columns
        if not reader.eat(","):
            raise FormatError(f"Expected ) in projection expression [{reader.here()}].")


def _column(reader: _Reader) -> Column:
    key: list[KeyPart] = []
    transforms: list[Transform] = []
    while True:
        start = reader.pos
        name = reader.token(".[]():,=")
        if reader.eat("("):
            if not name:
                raise FormatError(f"Transform function name expected [{reader.here(start)}].")
            transforms.append(_transform(reader, name, start))
        elif transforms:
            raise FormatError(f"Transform function expected [{reader.here(start)}].")
        elif name:
            key.append(name)
        elif not key or reader.peek() != "[":
            raise FormatError(f"Key name expected [{reader.here(start)}].")
        while not transforms and reader.eat("["):
            key.append(_index(reader))
        if not reader.eat("."):
            break
    column = Column(tuple(key), tuple(transforms))
    while reader.eat(":"):
        _key_attribute(reader, column)
    return column


def _index(reader: _Reader) -> int | None:
    start = reader.pos
    text = reader.token("]")
    if not reader.eat("]"):
        raise FormatError(f"Unterminated [ in key [{reader.here(start)}].")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormatError(f"Integer index expected [{reader.here(start)}].") from None


def _transform(reader: _Reader, name: str, start: int) -> Transform:
    from vertexd.cli.formats.transforms import TRANSFORMS  # noqa: PLC0415 - no cycle at import

    if name not in TRANSFORMS:
        raise FormatError(f"Unknown transform function {name} [{reader.here(reader.pos)}].")
    args: list[str] = []
    kwargs: list[tuple[str, str]] = []
    if not reader.eat(")"):
        while True:
            value = reader.token(",)=")
            if reader.eat("="):
                kwargs.append((value, reader.token(",)")))
            else:
                args.append(value)
            if reader.eat(")"):
                break
            if not reader.eat(","):
                raise FormatError(f"Closing ) expected in argument list [{reader.here(start)}].")
    return Transform(name, tuple(args), tuple(kwargs))


def _key_attribute(reader: _Reader, column: Column) -> None:
    start = reader.pos
    name = reader.token("=:,)")
    value = reader.token(":,)") if reader.eat("=") else None
    if name in ("reverse", "no-reverse", "optional", "wrap"):
        if value is not None:
            raise FormatError(f"value not expected [{reader.here(start)}].")
        column.reverse = name == "reverse" if "reverse" in name else column.reverse
        return
    if value is None:
        raise FormatError(f"value expected [{reader.here(start)}].")
    if name == "label":
        column.label = value
    elif name == "sort" and value.isdigit():
        column.order = int(value)
    elif name == "align" and value in ("left", "center", "right"):
        column.align = value
    elif name == "align":
        raise FormatError(f"Unknown alignment [{reader.here(start)}].")
    else:
        raise FormatError(f"Unknown key attribute [{reader.here(start)}].")


def parse_key(text: str) -> tuple[KeyPart, ...]:
    """`jobSpec.workerPoolSpecs[0].machineSpec` -> ("jobSpec", "workerPoolSpecs", 0, ...)."""
    reader = _Reader(text)
    column = _column(reader)
    reader.skip_space()
    if column.transforms or not reader.done():
        raise FormatError(f"Parse error near [{reader.here()}].")
    return column.key
