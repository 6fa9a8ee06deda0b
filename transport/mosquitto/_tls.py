"""TLS material for a Mosquitto listener: a throw-away CA and the server certificate."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

from .._errors import BrokerError

CA_CERT = "ca.crt"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"


def certificates(directory: Path, host: str) -> Path:
    """A throw-away CA and a server certificate it signs, made with the openssl binary.

    ``host`` is the name clients are told (never a wildcard bind address); the
    certificate is valid for it and for localhost. For tests and private deployments;
    the CA key is deleted once it has signed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerError("tls needs the openssl binary to generate certificates")
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    if host not in ("localhost", "127.0.0.1", "::1"):
        try:
            ipaddress.ip_address(host)
            names.append(f"IP:{host}")
        except ValueError:
            names.append(f"DNS:{host}")
    ca_key = directory / "ca.key"
    csr = directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        f"subjectAltName={','.join(names)}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [
            "req",
            "-x509",
            *curve,
            "-keyout",
            str(ca_key),
            "-out",
            str(directory / CA_CERT),
            "-days",
            "30",
            "-subj",
            "/CN=hemesh throw-away CA",
        ],
        [
            "req",
            *curve,
            "-keyout",
            str(directory / SERVER_KEY),
            "-out",
            str(csr),
            "-subj",
            "/CN=hemesh broker",
        ],
        [
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(directory / CA_CERT),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(directory / SERVER_CERT),
            "-days",
            "30",
            "-extfile",
            str(ext),
        ],
    ]
    try:
        for step in steps:
            done = subprocess.run(
                [openssl, *step], capture_output=True, text=True, timeout=30, check=False
            )
            if done.returncode != 0:
                raise BrokerError(f"openssl {step[0]} failed: {done.stderr.strip()}")
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"openssl did not finish within {exc.timeout} s") from exc
    finally:
        for leftover in (ca_key, csr, ext, directory / "ca.srl"):
            leftover.unlink(missing_ok=True)
    os.chmod(directory / SERVER_KEY, 0o600)
    return directory / CA_CERT
