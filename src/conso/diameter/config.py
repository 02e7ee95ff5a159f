"""The Diameter front end's settings (diameter.md, "Listener and peers")."""

from __future__ import annotations

import os
from dataclasses import dataclass

from conso.runtime.address import parse_listen


@dataclass(frozen=True, slots=True)
class DiameterConfig:
    host: str
    port: int
    origin_host: str = "conso.localdomain"
    origin_realm: str = "localdomain"
    peers: frozenset[str] | None = None        # Origin-Hosts allowed; None: any
    max_message: int = 65536                   # bytes; a larger message closes the link
    watchdog_seconds: float = 30.0             # Tw of RFC 3539: DWR after this much silence
    answer_timeout: float = 10.0               # how long a RAR waits for its RAA
    validity_seconds: int = 600                # Validity-Time of every grant
    max_in_flight: int = 256                   # requests a connection may have unanswered

    @classmethod
    def from_env(cls, listen: str, *, validity_seconds: int = 600) -> DiameterConfig:
        """`listen` is HOST:PORT (`--diameter` or CONSO_DIAMETER); the rest comes from
        CONSO_DIAMETER_HOST, _REALM, _PEERS and _MAX_MESSAGE."""
        host, port = parse_listen(listen, example="127.0.0.1:3868")
        env = os.environ
        peers = {p.strip() for p in env.get("CONSO_DIAMETER_PEERS", "").split(",") if p.strip()}
        return cls(
            host=host, port=port,
            origin_host=env.get("CONSO_DIAMETER_HOST") or "conso.localdomain",
            origin_realm=env.get("CONSO_DIAMETER_REALM") or "localdomain",
            peers=frozenset(peers) if peers else None,
            max_message=int(env.get("CONSO_DIAMETER_MAX_MESSAGE") or 65536),
            validity_seconds=validity_seconds,
        )

