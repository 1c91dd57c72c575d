"""One SEKMET process on 127.0.0.1: settings, start/stop/restart, and SMART client keys."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.fhir_server.venv import ServerUnavailable

LAUNCHER = Path(__file__).with_name("launch.py")
HOST = "127.0.0.1"  # SEKMET's default is 0.0.0.0: always bind loopback explicitly
START_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class SmartCredentials:
    """SMART Backend Services clients registered with a test server (keys made at test time).

    ``client_id`` signs with RSA (RS384), ``ec_client_id`` with EC P-384 (ES384). They are two
    clients because SEKMET tries every key of a client and fails with a 500 on a key of the
    other type.
    """

    client_id: str
    token_url: str
    scope: str
    private_key_pem: str
    kid: str
    ec_client_id: str
    ec_private_key_pem: str
    ec_kid: str
    alg: str = "RS384"


def make_smart_clients(
    root_url: str, client_id: str = "edc-tests", scopes: str = "system/*.read system/*.write"
) -> tuple[SmartCredentials, list[dict[str, Any]]]:
    """New key pairs, and the ``smart_clients`` entries that register their public JWKs."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_jwk = {**json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "rsa-1"}
    ec_jwk = {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec-1"}
    rsa_jwk.update(alg="RS384", use="sig")
    ec_jwk.update(alg="ES384", use="sig")
    credentials = SmartCredentials(
        client_id=client_id,
        token_url=f"{root_url}/auth/token",
        scope=scopes,
        private_key_pem=_pem(rsa_key),
        kid="rsa-1",
        ec_client_id=f"{client_id}-ec",
        ec_private_key_pem=_pem(ec_key),
        ec_kid="ec-1",
    )
    entries = [
        {"client_id": client_id, "jwks": {"keys": [rsa_jwk]}, "scopes": scopes},
        {"client_id": f"{client_id}-ec", "jwks": {"keys": [ec_jwk]}, "scopes": scopes},
    ]
    return credentials, entries


class FhirServer:
    """A SEKMET server process with its own data directory and port.

    ``stop()`` and ``start()`` keep the data directory and port, so a test can take the server
    away in the middle of a pull and bring it back with the same data.
    """

    def __init__(
        self,
        python: Path,
        workdir: Path,
        port: int,
        *,
        settings: dict[str, Any] | None = None,
        smart: SmartCredentials | None = None,
        stock: bool = False,
    ) -> None:
        self.python = python
        self.workdir = workdir
        self.port = port
        self.root_url = f"http://{HOST}:{port}"
        self.base_url = f"{self.root_url}/fhir"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        self.smart = smart
        self.stock = stock
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.settings_path = workdir / "settings.json"
        self.settings_path.write_text(json.dumps(self._settings(settings or {}), indent=2))

    def _settings(self, overrides: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "base_url": self.base_url,
            "host": HOST,
            "port": self.port,
            "data_dir": str(self.data_dir),
            "own_private_key_path": str(self.workdir / "keys" / "sekmet.pem"),
            # The simulator "fulfils" orders behind our back; off. Its delay also paces Bulk
            # jobs (SEKMET holds a finished job "in progress" for min(1 s, delay)).
            "simulator": {"enabled": False, "delay_seconds": 0.3},
            "log_inbound": False,  # no per-request traffic log: faster, and no tokens on disk
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key] = {**settings[key], **value}
            else:
                settings[key] = value
        return settings

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the process and wait until ``/metadata`` answers.

        :raises ServerUnavailable: when it exits or does not answer within ``timeout``.
        """
        if self.running:
            return
        command = [str(self.python), str(LAUNCHER), "--config", str(self.settings_path)]
        command += [
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--exit-with-parent",
            str(os.getpid()),
        ]
        if self.stock:
            command.append("--stock")
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.workdir, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reap()
                raise ServerUnavailable(f"SEKMET exited at start-up:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise ServerUnavailable(f"SEKMET did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s); the data directory stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap()

    def restart(self) -> None:
        """Stop, then start on the same port and data directory."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/metadata", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
