"""TLS client contexts: verified by default, CA bundles from the usual environment variables."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

__all__ = ["CA_BUNDLE_ENV", "client_ssl_context"]

#: Environment variables naming a CA bundle, first set wins.
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def client_ssl_context(
    *,
    self_signed: bool = False,
    cafile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ssl.SSLContext:
    """A client context that verifies the hub's certificate.

    ``cafile`` wins over the environment; without either the system store is used.
    ``self_signed=True`` turns verification off (development only).
    """
    env = os.environ if environ is None else environ
    if cafile is None:
        cafile = next((env[name] for name in CA_BUNDLE_ENV if env.get(name)), None)
    context = ssl.create_default_context(cafile=cafile)
    if self_signed:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
