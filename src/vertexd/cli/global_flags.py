"""gcloud's flags that every command takes (`-q`, `--verbosity`, `--account`, `--flags-file`, ...).

gcloud accepts them anywhere on the command line, so they are taken out of the arguments
before typer parses them: `split_global_flags` finds them (after expanding `--flags-file`),
`apply` gives them their effect. `--project`, `--format` and `--flatten` stay where the
command declares them and are taken out only where it does not.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vertexd.cli.common import OUTPUT, FlagSyntaxError, InvalidFlagValue, warn

VERBOSITIES = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}
# Accepted and ignored, with the reason the warning gives.
IGNORED = {
    "--account": "vertexd has no Google accounts",
    "--impersonate-service-account": "vertexd calls no Google API, so there is no one to "
    "impersonate",
    "--billing-project": "vertexd charges no project for quota",
    "--access-token-file": "vertexd uses no Google credentials",
    "--configuration": "vertexd has no gcloud configurations (VERTEXD_* variables, --endpoint "
    "and --home choose the server)",
    "--trace-token": "vertexd has no server-side tracing",
}
VALUE_FLAGS = {"--verbosity", "--flags-file", *IGNORED}
SWITCHES = {"-q", "--quiet", "--log-http", "--user-output-enabled", "--no-user-output-enabled"}
# gcloud-wide too, but declared by the commands that use them: ignored only elsewhere.
DECLARED_ELSEWHERE = {
    "--project": "this command uses no project",
    "--format": "this command prints no resource",
    "--flatten": "this command prints no resource",
}
MAX_FLAGS_FILE_DEPTH = 10


@dataclass
class GlobalFlags:
    """The gcloud-wide flags of one command line."""

    command: str = ""  # e.g. "custom-jobs.create", for error messages
    verbosity: str = "warning"
    quiet: bool = False  # vertexd never prompts: nothing to answer
    log_http: bool = False
    user_output: bool = True
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (flag, reason)


def split_global_flags(argv: Sequence[str], root: Any) -> tuple[list[str], GlobalFlags]:
    """`argv` without the gcloud-wide flags (those after a `--` are the program's), and them."""
    args = list(argv)
    tail: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, tail = args[:at], args[at:]
    args = _expand_flags_files(args, 0)
    path, command = command_path(args, root)
    found = GlobalFlags(command=path)
    declared = _declared_options(command)
    kept: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        name, has_value, value = token.partition("=")
        index += 1
        if token == "-h":  # gcloud's short help
            kept.append("--help")
        elif name in SWITCHES and not has_value:
            _switch(found, name)
        elif name in VALUE_FLAGS or (name in DECLARED_ELSEWHERE and name not in declared):
            if not has_value:
                if index >= len(args):
                    raise FlagSyntaxError(name, "expected one argument")
                value, index = args[index], index + 1
            _value_flag(found, name, value)
        else:
            kept.append(token)
    return kept + tail, found


def apply(flags: GlobalFlags, argv: Sequence[str]) -> None:
    """Give the flags their effect on this process: log level, user output, warnings."""
    OUTPUT.level = VERBOSITIES[flags.verbosity]
    OUTPUT.user_output = flags.user_output
    if OUTPUT.level < logging.WARNING:
        logging.basicConfig(
            level=OUTPUT.level, format="%(levelname)s: %(message)s", stream=sys.stderr
        )
        logging.getLogger("vertexd.cli").debug(
            "Running [vertexd.%s] with arguments: %s", flags.command, list(argv)
        )
    if flags.log_http:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        http = logging.getLogger("httpx")
        http.addHandler(handler)
        http.setLevel(logging.INFO)
        http.propagate = False
    if not flags.user_output:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process
    for flag, reason in flags.ignored:
        warn(f"{flag} is accepted for gcloud compatibility and ignored: {reason}.")


def _switch(found: GlobalFlags, name: str) -> None:
    if name in ("-q", "--quiet"):
        found.quiet = True
    elif name == "--log-http":
        found.log_http = True
    else:
        found.user_output = name == "--user-output-enabled"


def _value_flag(found: GlobalFlags, name: str, value: str) -> None:
    if name == "--verbosity":
        if value not in VERBOSITIES:
            choices = ", ".join(VERBOSITIES)
            raise FlagSyntaxError(
                name, f"Invalid choice: '{value}'. Valid choices are [{choices}]."
            )
        found.verbosity = value
    elif name in IGNORED:
        _ignore(found, name, IGNORED[name])
    else:
        _ignore(found, name, DECLARED_ELSEWHERE[name])


def _ignore(found: GlobalFlags, name: str, reason: str) -> None:
    if all(flag != name for flag, _ in found.ignored):
        found.ignored.append((name, reason))


def _expand_flags_files(args: list[str], depth: int) -> list[str]:
    """gcloud's `--flags-file=YAML_FILE`: the file's `--flag: value` pairs stand where it stood."""
    expanded: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        name, has_value, value = token.partition("=")
        index += 1
        if name != "--flags-file":
            expanded.append(token)
            continue
        if not has_value:
            if index >= len(args):
                raise FlagSyntaxError(name, "expected one argument")
            value, index = args[index], index + 1
        if depth >= MAX_FLAGS_FILE_DEPTH:
            raise InvalidFlagValue(name, f"[{value}] includes flags files too deeply.")
        expanded += _expand_flags_files(_flags_file(value), depth + 1)
    return expanded


def _flags_file(path: str) -> list[str]:
    try:
        content: Any = yaml.safe_load(Path(path).expanduser().read_text())
    except OSError as error:
        message = f"Unable to read [{path}]: {error.strerror}."
        raise InvalidFlagValue("--flags-file", message) from None
    except yaml.YAMLError as error:
        message = f"Failed to parse YAML from [{path}]: {error}"
        raise InvalidFlagValue("--flags-file", message) from None
    if not isinstance(content, dict):
        raise InvalidFlagValue("--flags-file", f"[{path}] must hold a mapping of flags to values.")
    args: list[str] = []
    for flag, value in content.items():
        if not isinstance(flag, str) or not flag.startswith("-"):
            raise InvalidFlagValue("--flags-file", f"[{flag}] in [{path}] is not a flag.")
        for item in value if isinstance(value, list) else [value]:
            if item is None or item is True:
                args.append(flag)
            elif item is not False:
                args.append(f"{flag}={_flag_text(item)}")
    return args


def _flag_text(value: Any) -> str:
    """A YAML value as gcloud's flag syntax: a mapping becomes `k=v,k2=v2`."""
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def command_path(args: list[str], root: Any) -> tuple[str, Any]:
    """The command the arguments name, e.g. ("custom-jobs.create", its click command)."""
    names: list[str] = []
    command = root
    tokens = iter(args)
    for token in tokens:
        if token in VALUE_FLAGS:
            next(tokens, None)  # `--verbosity debug`: the value is no command name
            continue
        if token.startswith("-"):
            continue
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click)
        if not isinstance(subcommands, dict) or token not in subcommands:
            break
        names.append(token)
        command = subcommands[token]
    return ".".join(names), command


def _declared_options(command: Any) -> set[str]:
    params = getattr(command, "params", [])
    return {option for param in params for option in (*param.opts, *param.secondary_opts)}
