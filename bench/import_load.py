#!/usr/bin/env python3
"""Drives sign-ins and page views against a running gigaops server while an import runs.

Usage: import_load.py BASE_URL EMAIL PASSWORD WORKERS STOP_FILE OUT_TSV

Each worker loops until STOP_FILE exists: GET /login, POST /login (a new session each time),
GET /, /fleet/devices, /fleet/report, /usage/report, then POST /logout. Every request is written
to OUT_TSV as `worker, method, path, status, seconds`. A request counts as an error when its
status is not the expected one (200, or 303 after the login and logout POSTs) or it fails.
Prints the totals, the errors and the latency percentiles. Not a test: it asserts nothing.
Standard library only.
"""
import http.cookiejar
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

base, email, password, workers, stop_file, out = sys.argv[1:7]
workers = int(workers)
PAGES = ["/", "/fleet/devices", "/fleet/report", "/usage/report"]
lock = threading.Lock()
records = []


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(opener, method, path, data=None):
    t0 = time.monotonic()
    body = b""
    try:
        req = urllib.request.Request(base + path, data=data, method=method)
        with opener.open(req, timeout=120) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except Exception as e:  # connection refused, timeout
        status = f"failed: {e}"
    return status, time.monotonic() - t0, body


def worker(n):
    while not os.path.exists(stop_file):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        steps = []
        status, secs, body = call(opener, "GET", "/login")
        steps.append(("GET", "/login", status, secs, 200))
        m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
        token = m.group(1).decode() if m else ""
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        status, secs, _ = call(opener, "POST", "/login", form)
        steps.append(("POST", "/login", status, secs, 303))
        for p in PAGES:
            status, secs, body = call(opener, "GET", p)
            steps.append(("GET", p, status, secs, 200))
        m = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', body)
        token = m.group(1).decode() if m else token
        status, secs, _ = call(opener, "POST", "/logout", urllib.parse.urlencode({"csrf_token": token}).encode())
        steps.append(("POST", "/logout", status, secs, 303))
        with lock:
            records.extend((n, *s) for s in steps)


threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()

errors = [r for r in records if r[3] != r[5]]
with open(out, "w") as f:
    for r in records:
        f.write("\t".join(str(x) for x in r[:5]) + "\n")
lat = sorted(r[4] for r in records)


def pct(p):
    return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else 0


logins = sum(1 for r in records if r[1] == "POST" and r[2] == "/login")
print(f"requests {len(records)} (sign-ins {logins}), errors {len(errors)}; "
      f"latency p50 {pct(50):.0f} ms, p99 {pct(99):.0f} ms, max {lat[-1] * 1000 if lat else 0:.0f} ms")
for r in errors[:20]:
    print("error:", r)
