"""City-level GeoIP: country, subdivision and city from a MaxMind DB, cached per network.

Only these four values ever leave this module: no coordinates, postal code, accuracy radius or ASN.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import maxminddb

Place = tuple[str, str, str, int]  # country ISO, subdivision ISO (e.g. "US-CA"), city name, GeoNames id
NOWHERE: Place = ("", "", "", 0)
_CACHE_MAX = 200_000


def default_db_path() -> Path:
    """The GeoLite2-City database shipped by the maxminddb-geolite2 package."""
    from _maxminddb_geolite2 import geolite2_database

    return Path(geolite2_database())


def _place(record: Any) -> Place:
    if not isinstance(record, dict):
        return NOWHERE
    country = (record.get("country") or record.get("registered_country") or {}).get("iso_code", "")
    subdivisions = record.get("subdivisions") or [{}]
    sub = subdivisions[0].get("iso_code", "")
    city = record.get("city") or {}
    return (country, f"{country}-{sub}" if country and sub else "",
            (city.get("names") or {}).get("en", ""), int(city.get("geoname_id", 0)))


class GeoLookup:
    """Looks addresses up once per network: all addresses of a /24 (IPv4) or /48 (IPv6) that the
    database maps as one block share a cache entry; finer blocks are cached per address."""

    def __init__(self, db_path: Path) -> None:
        self._reader = maxminddb.open_database(str(db_path), maxminddb.MODE_AUTO)
        self._cache: dict[bytes, Place] = {}

    def lookup(self, ip: str) -> Place:
        try:
            packed = socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
        except OSError:
            return NOWHERE
        if len(packed) == 16 and packed[:12] == b"\0" * 10 + b"\xff\xff":  # IPv4-mapped IPv6
            packed, ip = packed[12:], socket.inet_ntop(socket.AF_INET, packed[12:])
        wide = packed[:3] if len(packed) == 4 else packed[:6]
        place = self._cache.get(wide) or self._cache.get(packed)
        if place is not None:
            return place
        record, prefix_len = self._reader.get_with_prefix_len(ip)
        place = _place(record)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        wide_bits = 24 if len(packed) == 4 else 48
        self._cache[wide if prefix_len <= wide_bits else packed] = place
        return place

    def close(self) -> None:
        self._reader.close()


def coarsen(place: Place, level: str) -> Place:
    """Cut a place down to the site's granularity: city, region, country or none."""
    if level == "city":
        return place
    if level == "region":
        return (place[0], place[1], "", 0)
    if level == "country":
        return (place[0], "", "", 0)
    return NOWHERE
