"""GeoIP: only country/subdivision/city leave the lookup; cached per network; coarsened per site."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from collector.geo import NOWHERE, GeoLookup, coarsen, default_db_path

FULL_RECORD = {
    "city": {"geoname_id": 2643743, "names": {"en": "London"}},
    "country": {"iso_code": "GB", "geoname_id": 2635167, "names": {"en": "United Kingdom"}},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
    "location": {"latitude": 51.5142, "longitude": -0.0931, "accuracy_radius": 5, "time_zone": "Europe/London"},
    "postal": {"code": "EC2V"},
    "traits": {"autonomous_system_number": 64500},
}


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoIP DB with known networks, including fields we must never copy (coordinates, postcode, ASN)."""
    path = tmp_path_factory.mktemp("geo") / "fixture.mmdb"
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(IPSet(["198.51.100.0/24"]), FULL_RECORD)
    writer.insert_network(IPSet(["192.0.2.128/25"]), {"country": {"iso_code": "FR"}})
    writer.insert_network(IPSet(["2001:db8:1::/48"]), {"country": {"iso_code": "DE"}})
    writer.to_db_file(str(path))
    return path


def test_only_coarse_fields_leave_the_lookup(fixture_db: Path) -> None:
    geo = GeoLookup(fixture_db)
    place = geo.lookup("198.51.100.7")
    assert place == ("GB", "GB-ENG", "London", 2643743)
    assert not any(str(v) in str(place) for v in ("51.5142", "EC2V", "64500", "Europe/London"))


def test_cache_is_per_network(fixture_db: Path) -> None:
    geo = GeoLookup(fixture_db)
    for i in range(1, 255):
        geo.lookup(f"198.51.100.{i}")
    assert len(geo._cache) == 1  # one /24, one entry: addresses are not kept one by one
    geo.lookup("192.0.2.200")  # a /25 block: cached per address, since its /24 is not uniform
    geo.lookup("192.0.2.5")
    assert geo.lookup("192.0.2.200")[0] == "FR" and geo.lookup("192.0.2.5") == NOWHERE
    assert geo.lookup("2001:db8:1::1")[0] == "DE" and geo.lookup("2001:db8:1:ffff::2")[0] == "DE"


def test_unknown_and_malformed_addresses(fixture_db: Path) -> None:
    geo = GeoLookup(fixture_db)
    assert geo.lookup("203.0.113.9") == NOWHERE
    assert geo.lookup("not-an-ip") == NOWHERE
    assert geo.lookup("") == NOWHERE


def test_packaged_geolite2_database() -> None:
    geo = GeoLookup(default_db_path())
    assert geo.lookup("81.2.69.142") == ("GB", "GB-ENG", "Willesden", 2633907)
    assert geo.lookup("::ffff:128.101.101.101")[:3] == ("US", "US-MN", "Minneapolis")


@pytest.mark.parametrize(("level", "expected"), [
    ("city", ("GB", "GB-ENG", "London", 2643743)), ("region", ("GB", "GB-ENG", "", 0)),
    ("country", ("GB", "", "", 0)), ("none", NOWHERE)])
def test_coarsen(level: str, expected: tuple[str, str, str, int]) -> None:
    assert coarsen(("GB", "GB-ENG", "London", 2643743), level) == expected


def test_collector_uses_the_configured_database(make_api, fixture_db: Path) -> None:
    from conftest import event

    api = make_api(peer="198.51.100.20", geoip_db=fixture_db)
    api.send(event())
    assert api.rows("SELECT country, region, city FROM analytics.events") == [("GB", "GB-ENG", "London")]
