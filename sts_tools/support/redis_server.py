"""A throwaway redis-server on loopback, for the tests and `make bench-scale`.

Runs the Debian package's ``redis-server`` on 127.0.0.1 and a free port, with
nothing persisted (``--save '' --appendonly no``, its own temporary directory),
optionally behind TLS and a password. Stopped by `stop()` or the context manager.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import Optional

INSTALL_HINT = "apt-get install redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def executable() -> Optional[str]:
    return shutil.which("redis-server")


class RedisServer:
    def __init__(
        self,
        *,
        password: Optional[str] = None,
        tls: Optional[dict[str, str]] = None,  # {"cert", "key", "ca"}: PEM files
        port: int = 0,  # 0: a free one
        binary: Optional[str] = None,
    ) -> None:
        self.binary = binary or executable()
        if self.binary is None:
            raise FileNotFoundError(f"redis-server is not installed ({INSTALL_HINT})")
        self.password = password
        self.tls = tls
        self.port = port
        self._fixed_port = port
        self.process: Optional[subprocess.Popen] = None
        self._directory: Optional[str] = None

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = f":{self.password}@" if self.password else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def command_line(self, port: int) -> list[str]:
        listen = ["--port", "0", "--tls-port", str(port)] if self.tls else ["--port", str(port)]
        line = [self.binary or "redis-server", *listen, "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self._directory or ".",
                "--protected-mode", "no", "--loglevel", "warning"]  # fmt: skip
        if self.password:
            line += ["--requirepass", self.password]
        if self.tls:
            line += ["--tls-cert-file", self.tls["cert"], "--tls-key-file", self.tls["key"],
                     "--tls-ca-cert-file", self.tls["ca"], "--tls-auth-clients", "no"]  # fmt: skip
        return line

    def start(self, timeout: float = 10.0) -> RedisServer:
        self._directory = tempfile.mkdtemp(prefix="redis-")
        for _ in range(1 if self._fixed_port else 5):  # a probed port may be taken: retry
            self.port = self._fixed_port or free_port()
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                self.command_line(self.port),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            if self._wait_listening(timeout):
                return self
            self._kill()
        raise RuntimeError("redis-server did not start")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def stop(self) -> None:
        self._kill()
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - a convenience: python -m sts_tools.support.redis_server
    with RedisServer() as server:
        print(f"redis-server on {server.url} (Ctrl-C stops it)", flush=True)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
