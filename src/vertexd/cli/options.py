"""The flags every job command shares (gcloud's --region, --project, --format, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from vertexd.cli.common import CliError, FlagSyntaxError, InvalidFlagValue
from vertexd.cli.formats import FormatError, UnknownFormat, parse

CONNECTION = "Connection"
Region = Annotated[
    str | None,
    typer.Option(help="Region of the job (default: $CLOUDSDK_AI_REGION or us-central1)."),
]
Project = Annotated[
    str | None,
    typer.Option(
        help="Project of the job (default: $VERTEXD_PROJECT, $CLOUDSDK_CORE_PROJECT or vertexd)."
    ),
]
Endpoint = Annotated[
    str | None,
    typer.Option(
        help="URL of a vertexd server (default: $VERTEXD_ENDPOINT, else <home>/server.json, "
        "else one is started).",
        rich_help_panel=CONNECTION,
    ),
]
Home = Annotated[
    Path | None,
    typer.Option(
        help="vertexd home (default: $VERTEXD_HOME or ~/.vertexd).", rich_help_panel=CONNECTION
    ),
]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Output format, as gcloud's: yaml, json, value(KEYS), table(KEYS), csv(KEYS), list "
        "or none; e.g. value(name), table(name.basename():label=ID,state).",
    ),
]
PollingInterval = Annotated[
    float, typer.Option(help="Seconds between two fetches of new log lines.", min=0.0)
]


def checked_format(value: str | None) -> str | None:
    """The --format value (None when not given, or given empty), checked: an unknown format name
    is a syntax error of the flag, a malformed expression an error like gcloud's."""
    if value:
        try:
            parse(value)
        except UnknownFormat as error:
            raise FlagSyntaxError("--format", f"Invalid choice: '{error.name}'. {error}") from None
        except FormatError as error:
            raise CliError(str(error)) from None
    return value or None


def connection_flags(endpoint: str | None, home: Path | None) -> str:
    """The --endpoint and --home a hint repeats, so that the suggested command reaches the same
    server."""
    flags = f" --endpoint={endpoint}" if endpoint else ""
    return flags + (f" --home={home}" if home else "")


ENCRYPTION = "Encryption (accepted and stored; vertexd encrypts nothing)"
KmsKeyName = Annotated[
    str | None,
    typer.Option(
        help="Full name of a Cloud KMS key, projects/P/locations/L/keyRings/R/cryptoKeys/K: "
        "the job's encryptionSpec.kmsKeyName.",
        rich_help_panel=ENCRYPTION,
    ),
]
KmsKey = Annotated[
    str | None,
    typer.Option(
        help="gcloud's --kms-key: the key's ID (with --kms-keyring, --kms-location and "
        "--kms-project) or its full name.",
        rich_help_panel=ENCRYPTION,
    ),
]
KmsKeyring = Annotated[
    str | None, typer.Option(help="The KMS keyring of --kms-key.", rich_help_panel=ENCRYPTION)
]
KmsLocation = Annotated[
    str | None, typer.Option(help="The KMS location of --kms-key.", rich_help_panel=ENCRYPTION)
]
KmsProject = Annotated[
    str | None,
    typer.Option(
        help="The KMS project of --kms-key (default: the job's project).",
        rich_help_panel=ENCRYPTION,
    ),
]
KMS_KEY_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")


@dataclass(frozen=True)
class KmsFlags:
    key_name: str | None = None  # --kms-key-name
    key: str | None = None  # --kms-key and the flags that complete it
    keyring: str | None = None
    location: str | None = None
    project: str | None = None


def encryption_spec(flags: KmsFlags, job_project: str) -> dict[str, str] | None:
    """The `encryptionSpec` the KMS flags name, or None when none is given."""
    if flags.key_name and flags.key:
        raise CliError("At most one of --kms-key | --kms-key-name may be specified.", exit_code=2)
    parts = {"--kms-keyring": flags.keyring, "--kms-location": flags.location}
    parts["--kms-project"] = flags.project
    if not flags.key:
        given = [flag for flag, value in parts.items() if value]
        if given:
            raise FlagSyntaxError(given[0], "requires --kms-key.")
        name = flags.key_name
        if name and not KMS_KEY_NAME.match(name):
            raise InvalidFlagValue("--kms-key-name", f"[{name}] is not of the form {KMS_FORM}.")
        return {"kmsKeyName": name} if name else None
    if "/" in flags.key:
        if not KMS_KEY_NAME.match(flags.key):
            raise InvalidFlagValue("--kms-key", f"[{flags.key}] is not of the form {KMS_FORM}.")
        return {"kmsKeyName": flags.key}
    if not flags.keyring or not flags.location:
        raise InvalidFlagValue(
            "--kms-key",
            f"the key ID [{flags.key}] needs --kms-keyring and --kms-location (or give the "
            f"full name, {KMS_FORM}).",
        )
    project = flags.project or job_project
    name = f"projects/{project}/locations/{flags.location}/keyRings/{flags.keyring}"
    return {"kmsKeyName": f"{name}/cryptoKeys/{flags.key}"}


KMS_FORM = "projects/P/locations/L/keyRings/R/cryptoKeys/K"
