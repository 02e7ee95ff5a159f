"""The Nchf front end's settings (nchf.md, "Listener")."""

from __future__ import annotations

import os
from dataclasses import dataclass

from conso.runtime.address import parse_listen

API_ROOT = "/nchf-convergedcharging/v3"


@dataclass(frozen=True, slots=True)
class NchfConfig:
    host: str
    port: int
    operator_key: str                      # the bearer token conso accepts (as the NRF's)
    tls_cert: str | None = None
    tls_key: str | None = None
    max_body: int = 1 << 20                # bytes; a larger body is 413
    validity_seconds: int = 600            # validityTime of every grant
    notify_timeout: float = 5.0            # seconds a notifyUri has to answer

    @classmethod
    def from_env(cls, listen: str, *, operator_key: str,
                 validity_seconds: int = 600) -> NchfConfig:
        """`listen` is HOST:PORT (`--nchf` or CONSO_NCHF); TLS from CONSO_NCHF_TLS_CERT
        and CONSO_NCHF_TLS_KEY (both or neither)."""
        host, port = parse_listen(listen, example="127.0.0.1:8443")
        env = os.environ
        cert = env.get("CONSO_NCHF_TLS_CERT") or None
        key = env.get("CONSO_NCHF_TLS_KEY") or None
        if (cert is None) != (key is None):
            raise ValueError("CONSO_NCHF_TLS_CERT and CONSO_NCHF_TLS_KEY go together")
        return cls(host=host, port=port, operator_key=operator_key, tls_cert=cert,
                   tls_key=key, max_body=int(env.get("CONSO_NCHF_MAX_BODY") or (1 << 20)),
                   validity_seconds=validity_seconds)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

