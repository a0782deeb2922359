"""The `vertexd` command: `serve`, and `custom-jobs` with gcloud's flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vertexd import __version__
from vertexd.cli import custom_jobs, hp_tuning_jobs, local_run, serve_grpc
from vertexd.cli import serve_security as sec
from vertexd.cli.common import CliError, reporting

if TYPE_CHECKING:
    from pydantic import ValidationError

app = typer.Typer(
    name="vertexd",
    help="Run Vertex AI custom training jobs on your own machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
custom_jobs.app.command("local-run")(local_run.local_run)
app.add_typer(custom_jobs.app, name="custom-jobs")
app.add_typer(hp_tuning_jobs.app, name="hp-tuning-jobs")


def _print_version(value: bool) -> None:
    if value:
        print(f"vertexd {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version."),
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the server's auth token (default: $VERTEXD_TOKEN, else "
            "<home>/auth-token when it exists)."
        ),
    ] = None,
) -> None:
    """Run Vertex AI custom training jobs on your own machine."""
    if token_file is not None:  # read by the HTTP client of every command
        os.environ["VERTEXD_TOKEN_FILE"] = str(token_file.expanduser().absolute())


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: 8080).")] = None,
    home: Annotated[
        Path | None, typer.Option(help="Where vertexd keeps its state (default: ~/.vertexd).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in the home).")
    ] = None,
    cpus: Annotated[float | None, typer.Option(help="CPUs jobs may use (default: all).")] = None,
    memory_gb: Annotated[
        float | None, typer.Option(help="Memory (GB) jobs may use (default: all).")
    ] = None,
    gpus: Annotated[
        str | None,
        typer.Option(
            help="GPUs jobs may use: 0,2 (those devices) or N (the first N; N declared devices "
            "where NVML is missing). Default: every NVIDIA GPU."
        ),
    ] = None,
    container_engine: Annotated[
        str | None,
        typer.Option(
            help="Docker Engine API socket for container pools, e.g. unix:///PATH; `none` "
            "turns containers off (default: DOCKER_HOST, CONTAINER_HOST, else the usual sockets)."
        ),
    ] = None,
    pull: Annotated[
        str | None,
        typer.Option(help="When to pull images: missing (the default), always or never."),
    ] = None,
    limit_containers: Annotated[
        bool | None,
        typer.Option(
            "--limit-containers",
            help="Cap each container at its machine type's vCPUs and memory.",
        ),
    ] = None,
    strict_resources: Annotated[
        bool | None,
        typer.Option(
            "--strict-resources",
            help="Refuse jobs that ask for more than this host has (GPUs, CPUs, memory) "
            "instead of running them with less and a warning.",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="Where replicas run: local (processes, the default) or ray."),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address for --backend ray (default: RAY_ADDRESS)."),
    ] = None,
    ray_warm_actors: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Idle replica actors kept on every Ray node, so replicas start at once "
            "(they reserve no resources; default 2, 0: none).",
        ),
    ] = None,
    warm_python: Annotated[
        bool | None,
        typer.Option(
            "--warm-python/--no-warm-python",
            help="Fork pythonPackageSpec replicas from a started interpreter of their "
            "environment (no Python start-up each; the default), or start each anew.",
        ),
    ] = None,
    allowed_host: sec.AllowedHost = None,
    allow_origin: sec.AllowOrigin = None,
    auth_token_file: sec.AuthTokenFile = None,
    generate_token: sec.GenerateToken = False,
    insecure_no_auth: sec.InsecureNoAuth = False,
    tls_cert: sec.TlsCert = None,
    tls_key: sec.TlsKey = None,
    grpc_port: serve_grpc.GrpcPort = None,
    grpc_insecure: serve_grpc.GrpcInsecure = False,
) -> None:
    """Run the vertexd server (REST API and scheduler) in the foreground.

    Flags override the VERTEXD_* environment variables (VERTEXD_HOME, VERTEXD_PORT, ...).
    """
    with reporting("serve"):
        from pydantic import ValidationError

        from vertexd.api.guard_policy import StartupRefused
        from vertexd.server import run_server
        from vertexd.settings import Settings

        given: dict[str, Any] = {
            "host": host,
            "port": port,
            "home": home.expanduser().absolute() if home else None,
            "database_url": database_url,
            "cpus": cpus,
            "memory_gb": memory_gb,
            "gpus": gpus,
            "backend": backend,
            "ray_address": ray_address,
            "ray_warm_actors": ray_warm_actors,
            "warm_python": warm_python,
            "container_engine": container_engine,
            "pull": pull,
            "limit_containers": limit_containers,
            "strict_resources": strict_resources,
            "grpc_port": grpc_port,
            "grpc_insecure": grpc_insecure or None,
            **sec.security_settings(
                allowed_host, allow_origin, auth_token_file, insecure_no_auth, tls_cert, tls_key
            ),
        }
        if backend not in (None, "local", "ray"):
            raise CliError(f"--backend must be local or ray, not {backend}.")
        if pull not in (None, "missing", "always", "never"):
            raise CliError(f"--pull must be missing, always or never, not {pull}.")
        try:
            settings = Settings(**{k: v for k, v in given.items() if v is not None})
        except ValidationError as invalid:
            raise CliError(bad_settings(invalid)) from None
        if generate_token:
            path = sec.generate_token(settings.token_path, auth_token_file)
            settings = settings.model_copy(update={"auth_token_file": path})
        try:
            run_server(settings)
        except StartupRefused as refused:
            raise CliError(str(refused)) from None


def bad_settings(invalid: ValidationError) -> str:
    """One line naming each setting that could not be read (a flag, or VERTEXD_NAME)."""
    problems = [
        f"{error['loc'][0]} (VERTEXD_{str(error['loc'][0]).upper()} or its flag): {error['msg']}"
        for error in invalid.errors()
        if error["loc"]
    ]
    return "Bad setting: " + "; ".join(problems or [str(invalid)]) + "."
