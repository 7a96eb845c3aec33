import json
def test_smoke(drive, collector_server):
    try:
        r = drive("debug")
        print(r["debug"]["console"], [p["body"] for p in r["debug"]["posts"]])
    except AssertionError as e:
        print(str(e)[:3000])
    print(collector_server.query("SELECT type, name, path, engaged_ms, scroll_pct, value, target_host FROM analytics.events ORDER BY ts"))
