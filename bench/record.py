# ruff: noqa: E501  (long user-agent strings and SQL expressions read better unwrapped)
"""Write bench/data/payloads.tsv: the recorded requests every bench replays.

Each line is one beacon as the tracker sends it: `user agent \t origin \t sec-gpc \t dnt \t client ip \t body`.
The mix follows what a content site sees: mostly pageviews and engagement pings, a few clicks, custom
events, vitals, errors and form events; two thirds of visitors without a consent choice, a quarter with
consent (and so a first-party id), some refusals, GPC and DNT; a few per cent bots; UTM-tagged and
search/social referrals. Seeded, so the file is the same on every run: `python -m bench.record`.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import orjson

DATA = Path(__file__).resolve().parent / "data" / "payloads.tsv"
SITE = "bench.example"
RECORDS = 1000

# (weight, user agent): desktop Chrome/Edge/Firefox/Safari, iOS, Android, tablets, a few bots.
AGENTS = [
    (22, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (8, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"),
    (6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (7, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"),
    (6, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (2, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (2, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (14, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (5, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"),
    (2, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    (10, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
    (3, "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (3, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (1, "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (1, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (1, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"),
    (1, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
]
SECTIONS = ["blog", "docs", "pricing", "about", "news", "guides", "products", "careers"]
REFERRERS = [(40, ""), (25, "https://www.google.com/"), (5, "https://www.bing.com/"), (4, "https://duckduckgo.com/"),
             (5, "https://news.ycombinator.com/"), (4, "https://t.co/"), (3, "https://www.reddit.com/"),
             (3, "https://www.linkedin.com/"), (2, "https://github.com/"), (9, "internal")]
TYPES = [(62, "pageview"), (16, "engagement"), (7, "click"), (4, "custom"), (6, "vital"), (2, "error"),
         (2, "form"), (1, "exposure")]
# Address ranges with many /24s, so geolocation sees realistic network diversity.
FIRST_OCTETS = [2, 5, 24, 31, 37, 46, 62, 66, 68, 71, 73, 76, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
                90, 91, 92, 93, 94, 95, 98, 99, 104, 107, 108, 109, 128, 151, 176, 178, 185, 186, 188, 189, 190,
                191, 193, 194, 195, 200, 201, 212, 213, 217]


def _pick(rng: random.Random, weighted: list[tuple[int, str]]) -> str:
    return rng.choices([v for _, v in weighted], [w for w, _ in weighted])[0]


def _path(rng: random.Random) -> str:
    section = SECTIONS[min(int(rng.expovariate(0.6)), len(SECTIONS) - 1)]
    return "/" if rng.random() < 0.12 else f"/{section}/{int(rng.paretovariate(1.1)) % 400}-post"


def _url(rng: random.Random) -> str:
    query = ""
    roll = rng.random()
    if roll < 0.08:
        query = f"?utm_source=newsletter&utm_medium=email&utm_campaign=week-{rng.randint(1, 52)}"
    elif roll < 0.12:
        query = f"?utm_source=twitter&utm_medium=social&utm_campaign=launch&utm_content=v{rng.randint(1, 3)}"
    elif roll < 0.15:
        query = f"?ref=partner{rng.randint(1, 9)}&session_token={uuid.UUID(int=rng.getrandbits(128)).hex}"
    elif roll < 0.18:
        query = f"?q=search+term&email=someone{rng.randint(1, 99)}%40mail.example"
    return f"https://{SITE}{_path(rng)}{query}"


def _typed(rng: random.Random, kind: str) -> dict[str, object]:
    if kind == "engagement":
        return {"engaged_ms": int(rng.lognormvariate(9.5, 1.2)) % 3_600_000, "scroll": rng.randint(0, 100)}
    if kind == "click":
        roll = rng.random()
        if roll < 0.7:
            return {"kind": "heatmap", "x": round(rng.random(), 3), "y": round(rng.random(), 3),
                    "tag": rng.choice(["a", "button", "div", "img", "span"])}
        if roll < 0.9:
            return {"kind": "outbound", "link": rng.choice(["github.com", "twitter.com", "docs.python.org"])}
        return {"kind": "download", "file": rng.choice(["pdf", "zip", "csv"])}
    if kind == "custom":
        return {"name": rng.choice(["signup", "newsletter", "share", "play_video"]),
                "props": {"plan": rng.choice(["free", "pro", "team"]), "position": rng.randint(1, 5)}}
    if kind == "vital":
        name = rng.choice(["LCP", "CLS", "INP", "FCP", "TTFB"])
        return {"name": name, "value": round(rng.random() * 0.3, 3) if name == "CLS" else int(rng.lognormvariate(6.5, 0.6))}
    if kind == "error":
        return {"message": f"TypeError: cannot read properties of undefined (reading 'x{rng.randint(1, 20)}')",
                "source": "cdn.bench.example"}
    if kind == "form":
        return {"form": "signup", "field": rng.choice(["email", "name", ""]),
                "action": rng.choice(["focus", "change", "submit", "abandon"])}
    if kind == "exposure":
        return {"experiment": "hero-copy", "variant": rng.choice(["a", "b"])}
    return {}


def record(rng: random.Random) -> str:
    ua = _pick(rng, [(w, a) for w, a in AGENTS])
    kind = _pick(rng, TYPES)
    event: dict[str, object] = {"site": SITE, "type": kind, "url": _url(rng)}
    referrer = _pick(rng, REFERRERS)
    if referrer == "internal":
        referrer = f"https://{SITE}{_path(rng)}"
    if referrer and kind == "pageview":
        event["referrer"] = referrer
    roll = rng.random()
    gpc = dnt = "0"
    if roll < 0.25:
        event["consent"] = {"analytics": True, "marketing": rng.random() < 0.5}
        event["vid"] = uuid.UUID(int=rng.getrandbits(128)).hex[:22]
        event["sid"] = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    elif roll < 0.33:
        event["consent"] = {"analytics": False}
    else:
        event["consent"] = {}
        gpc = "1" if roll > 0.94 else "0"
        dnt = "1" if 0.9 < roll <= 0.94 else "0"
    if rng.random() < 0.7:
        event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
    event.update(_typed(rng, kind))
    ip = f"{rng.choice(FIRST_OCTETS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    body = orjson.dumps(event).decode()
    return "\t".join([ua, f"https://{SITE}", gpc, dnt, ip, body])


def main() -> None:
    rng = random.Random(20261125)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text("\n".join(record(rng) for _ in range(RECORDS)) + "\n")
    print(f"wrote {RECORDS} payloads to {DATA}")


if __name__ == "__main__":
    main()
