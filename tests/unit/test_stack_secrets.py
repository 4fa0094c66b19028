"""`darkhorses up`: secrets generated once per install and kept; the API's read-only login."""

import stat
from pathlib import Path

from api.live.settings import LiveSettings
from api.settings import ApiSettings
from darkhorses.settings import READER_ROLE, login_url
from darkhorses.stack import install_secrets


def test_an_install_generates_its_secrets_once_and_keeps_them_private(tmp_path: Path) -> None:
    first = install_secrets(tmp_path / "home")
    assert install_secrets(tmp_path / "home") == first  # a restart keeps tokens valid
    assert install_secrets(tmp_path / "other") != first  # per install
    path = tmp_path / "home" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    LiveSettings(secret=first["stream_secret"]).check_secret(auth_required=True)  # strong enough
    path.write_text("{not json")
    assert install_secrets(tmp_path / "home") != first  # unreadable: made anew, not a crash


def test_the_api_logs_in_as_the_reader_on_the_database_url_server() -> None:
    url = "postgresql://postgres:pw@db.example:5433/darkhorses?sslmode=require"
    assert login_url(url, READER_ROLE) == (
        "postgresql://darkhorses_reader@db.example:5433/darkhorses?sslmode=require"
    )
    assert login_url(url, READER_ROLE, "p@ss:/w") == (
        "postgresql://darkhorses_reader:p%40ss%3A%2Fw@db.example:5433/darkhorses?sslmode=require"
    )
    assert ApiSettings(DATABASE_URL=url).reader_url == login_url(url, READER_ROLE)
    explicit = "postgresql://reader:x@elsewhere/db"
    settings = ApiSettings(DATABASE_URL=url, DARKHORSES_API_DATABASE_URL=explicit)
    assert settings.reader_url == explicit
