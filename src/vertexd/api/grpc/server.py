"""The gRPC endpoint: the RPCs of rpcs.py on a `grpc.server` thread pool, with TLS and the
same token as REST.

Its port is bound when it is made (before the HTTP server starts, so a busy port is a
start-up error), it serves from `start()` and stops with `stop()`: the app's lifespan calls
both. The handlers run on the pool's threads, as REST's plain routes run on FastAPI's, so
the blocking service calls never reach the event loop."""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from vertexd.api.grpc import convert
from vertexd.api.grpc.rpcs import Rpc, Services, all_rpcs
from vertexd.api.grpc.tls import ServerTls, load_given, private_tls
from vertexd.api.guard_policy import (
    WILDCARD_BINDS,
    GuardConfig,
    StartupRefused,
    bearer,
    is_loopback,
)
from vertexd.core.errors import ApiError
from vertexd.settings import Settings

log = logging.getLogger(__name__)

WORKERS = 16
STOP_GRACE_SECONDS = 2.0
UNAUTHENTICATED = "Missing or invalid auth token: send `authorization: Bearer TOKEN` metadata."


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    tls: ServerTls | None  # None: plaintext
    explicit: bool  # the port was asked for: a busy one refuses to start


class GrpcEndpoint:
    def __init__(self, rpcs: list[Rpc], guard: GuardConfig, listen: Listen) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="grpc"),
            handlers=list(generic_handlers(rpcs, guard).values()),
            options=[
                ("grpc.so_reuseport", 0),  # a second server must not share the port
                ("grpc.max_receive_message_length", guard.max_body_bytes),  # REST's bound
            ],
        )
        self.port = bind(self.server, listen)

    def start(self) -> None:
        if self.port:
            self.server.start()

    def stop(self) -> None:
        if self.port:
            self.server.stop(STOP_GRACE_SECONDS).wait()


def bind(server: grpc.Server, listen: Listen) -> int:
    """Binds the port (0 when it cannot be had and was not asked for: gRPC is then off)."""
    address = f"{_bracketed(listen.host)}:{listen.port}"
    try:
        if listen.tls is None:
            port = server.add_insecure_port(address)
        else:
            pair = [(listen.tls.key_pem, listen.tls.cert_pem)]
            port = server.add_secure_port(address, grpc.ssl_server_credentials(pair))
    except RuntimeError:
        port = 0
    if port:
        return port
    message = f"Cannot listen for gRPC on {address} (in use?)"
    if listen.explicit:
        raise StartupRefused(f"{message}: choose another --grpc-port, or 0 to turn gRPC off.")
    log.warning("%s: gRPC is off; pass --grpc-port PORT to choose another port.", message)
    return 0


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def generic_handlers(rpcs: list[Rpc], guard: GuardConfig) -> dict[str, grpc.GenericRpcHandler]:
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for rpc in rpcs:
        by_service.setdefault(rpc.service, {})[rpc.method] = method_handler(rpc, guard)
    return {
        service: grpc.method_handlers_generic_handler(service, methods)
        for service, methods in by_service.items()
    }


def method_handler(rpc: Rpc, guard: GuardConfig) -> grpc.RpcMethodHandler:
    def handle(request: Message, context: grpc.ServicerContext) -> Message:
        if not authenticated(context, guard):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED)
        failure = None
        try:
            return convert.to_message(rpc.call(convert.to_dict(request)), rpc.response)
        except ApiError as error:
            failure = convert.failure_of(error)
        except Exception as error:  # noqa: BLE001 - a client sees a status, never a traceback
            log.exception("unhandled error in %s/%s", rpc.service, rpc.method)
            failure = convert.internal_failure(error)
        if failure.trailers:
            context.set_trailing_metadata(failure.trailers)
        context.abort(failure.code, failure.message)
        raise AssertionError("unreachable")  # abort raises

    return grpc.unary_unary_rpc_method_handler(
        handle,
        request_deserializer=rpc.request.FromString,
        response_serializer=_serialize,
    )


def _serialize(message: Any) -> bytes:
    data: bytes = message.SerializeToString()
    return data


def authenticated(context: grpc.ServicerContext, guard: GuardConfig) -> bool:
    """The guard's token rule: any credentials without a token, else a matching bearer."""
    if guard.token is None:
        return True
    metadata = dict(context.invocation_metadata())
    presented = metadata.get("authorization", "")
    return guard.token_matches(bearer(presented if isinstance(presented, str) else ""))


def grpc_endpoint(settings: Settings, guard: GuardConfig, services: Services) -> GrpcEndpoint:
    """The endpoint `vertexd serve` runs: TLS from --tls-cert/--tls-key, else the private CA
    in `<home>/tls/`; plaintext with --grpc-insecure."""
    listen = Listen(
        settings.host,
        settings.grpc_port,
        None if settings.grpc_insecure else server_tls(settings),
        "grpc_port" in settings.model_fields_set,
    )
    endpoint = GrpcEndpoint(all_rpcs(services), guard, listen)
    if endpoint.port:
        log.info("gRPC on %s", describe(settings, listen, endpoint.port))
    return endpoint


def server_tls(settings: Settings) -> ServerTls:
    if settings.tls_cert is not None and settings.tls_key is not None:
        return load_given(settings.tls_cert, settings.tls_key)
    host = settings.host.strip("[]")
    extra = () if host in WILDCARD_BINDS or is_loopback(host) else (host,)
    return private_tls(settings.home / "tls", extra)


def describe(settings: Settings, listen: Listen, port: int) -> str:
    where = f"{_bracketed(settings.host)}:{port}"
    if listen.tls is None:
        return f"{where} (plaintext)"
    if listen.tls.ca_path is None:
        return f"{where} (TLS, the certificate of --tls-cert)"
    return f"{where} (TLS; clients trust GRPC_DEFAULT_SSL_ROOTS_FILE_PATH={listen.tls.ca_path})"
