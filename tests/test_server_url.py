"""CLICKHOUSE_URL: ClickHouse's usual URL form plus `proxy_path`, parsed into clickhouse-connect's arguments;
a malformed URL fails at startup, and no error or repr ever shows the password."""

from __future__ import annotations

import pytest

from collector.server_url import ServerUrlError, parse, redact
from collector.settings import SettingsError, from_env

PASSWORD = "s3cr3t-p%40ss"  # URL-encoded: the password is s3cr3t-p@ss


def test_the_usual_form_and_proxy_path() -> None:
    url = parse(f"https://ingest:{PASSWORD}@ch.example:9443/analytics?proxy_path=/sql/")
    assert url.client_kwargs() == {"host": "ch.example", "port": 9443, "username": "ingest",
                                   "password": "s3cr3t-p@ss", "secure": True, "interface": "https",
                                   "proxy_path": "/sql"}
    assert url.http_base == "https://ch.example:9443/sql"


def test_defaults_port_user_database() -> None:
    url = parse("http://localhost")
    assert (url.port, url.username, url.password, url.database, url.proxy_path) == (8123, "default", "",
                                                                                   "analytics", "")
    assert parse("https://h/analytics").port == 8443


@pytest.mark.parametrize("bad", [
    f"ftp://u:{PASSWORD}@h/analytics", f"http://u:{PASSWORD}@/analytics", f"http://u:{PASSWORD}@h:99999/analytics",
    f"http://u:{PASSWORD}@h/analytics?proxy=/sql", f"http://u:{PASSWORD}@h/analytics?compress=1",
    f"http://u:{PASSWORD}@h/other", f"http://u:{PASSWORD}@h/analytics/more",
    f"http://u:{PASSWORD}@h/analytics?proxy_path=/a&proxy_path=/b", f"http://u:{PASSWORD}@h/analytics#x",
])
def test_a_bad_url_is_a_clear_error_without_the_password(bad: str) -> None:
    with pytest.raises(ServerUrlError) as caught:
        parse(bad)
    assert "s3cr3t" not in str(caught.value) and "***" in str(caught.value)
    with pytest.raises(SettingsError) as from_settings:
        from_env({"CLICKHOUSE_URL": bad})
    assert "s3cr3t" not in str(from_settings.value)


def test_an_unknown_parameter_is_named() -> None:
    with pytest.raises(ServerUrlError, match="unknown parameter 'compress'"):
        parse("http://h/analytics?compress=1")


def test_the_password_is_in_no_repr() -> None:
    assert "s3cr3t" not in repr(parse(f"http://u:{PASSWORD}@h/analytics"))
    assert "s3cr3t" not in repr(from_env({"CLICKHOUSE_URL": f"http://u:{PASSWORD}@h/analytics",
                                         "COLLECTOR_SECRET": "ab" * 32}))
    assert redact(f"http://u:{PASSWORD}@h:1/analytics") == "http://u:***@h:1/analytics"


def test_collector_secret_is_64_hex_characters() -> None:
    assert from_env({"COLLECTOR_SECRET": "AB" * 32}).secret_hex == "ab" * 32
    for bad in ("ab" * 31, "zz" * 32, "secret"):
        with pytest.raises(SettingsError, match="COLLECTOR_SECRET must be 64 hexadecimal") as caught:
            from_env({"COLLECTOR_SECRET": bad})
        assert bad not in str(caught.value)
