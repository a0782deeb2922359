"""Preconditions of a request (ifGenerationMatch and friends): 412 when one does not hold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vertexd.storage.gcs.errors import bad_request, precondition_failed
from vertexd.storage.gcs.metadata import ObjectMeta


@dataclass(frozen=True)
class Conditions:
    generation_match: int | None = None
    generation_not_match: int | None = None
    metageneration_match: int | None = None
    metageneration_not_match: int | None = None

    @staticmethod
    def from_query(query: Mapping[str, str], prefix: str = "if") -> Conditions:
        """`ifGenerationMatch`... (or, with prefix "ifSource", the source's conditions)."""
        names = ("GenerationMatch", "GenerationNotMatch", "MetagenerationMatch")
        values = [_number(query, prefix + n) for n in (*names, "MetagenerationNotMatch")]
        return Conditions(*values)

    def check(self, meta: ObjectMeta | None, what: str) -> None:
        """Raise 412 unless every condition holds for `meta` (None: no such object, which has
        generation 0 for the generation conditions)."""
        generation = meta.generation if meta else 0
        if self.generation_match is not None and generation != self.generation_match:
            raise precondition_failed(
                f"{what}: ifGenerationMatch={self.generation_match} does not hold "
                f"(the generation is {generation})."
            )
        if self.generation_not_match is not None and generation == self.generation_not_match:
            raise precondition_failed(
                f"{what}: ifGenerationNotMatch={self.generation_not_match} does not hold."
            )
        metageneration = meta.metageneration if meta else None
        if self.metageneration_match is not None and (metageneration != self.metageneration_match):
            raise precondition_failed(
                f"{what}: ifMetagenerationMatch={self.metageneration_match} does not hold "
                f"(the metageneration is {metageneration or 'none: no such object'})."
            )
        if self.metageneration_not_match is not None and (
            metageneration == self.metageneration_not_match
        ):
            raise precondition_failed(
                f"{what}: ifMetagenerationNotMatch={self.metageneration_not_match} does not hold."
            )


def _number(query: Mapping[str, str], key: str) -> int | None:
    value = query.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"{key} must be an integer, not {value!r}.") from None


def generation_of(query: Mapping[str, str], key: str = "generation") -> int | None:
    return _number(query, key)
