#!/usr/bin/env python3
"""`scry serve` on a large library: time to the first answer, text-query latency
through the HTTP API, and resident memory, for one or more builds in one run.

    cargo build --release --bin scry --example synthetic_library
    target/release/examples/synthetic_library /tmp/lib-1m 1000000 MODEL_DIR
    python3 scripts/serve_bench.py --db /tmp/lib-1m --model MODEL_DIR \\
        [--bin target/release/scry --bin /tmp/scry-before] [--queries 200] [--rounds 1]

Each build serves the library in turn (rounds interleave the builds, so a busy
machine slows them alike). For each: seconds from the process start to the
first answered search (library open, model read, the query itself), then
`--queries` distinct text queries one at a time (each is encoded: nothing is
answered from the query cache), their p50 and p99 in ms, then as many "more
like this" queries (`like:ID` of images spread over the library: query vectors
drawn like the photos, where a text tower of random weights gives vectors far
from all of them), and the server's VmRSS and VmHWM (peak) after them. Medians
over rounds, and ratios against the first build, are printed last.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

SUBJECTS = ["a red car", "a dog on the beach", "snow on the mountains", "a birthday cake",
            "kids building a sandcastle at dusk", "a cat asleep on a sofa", "the city at night",
            "a receipt", "a bowl of ramen", "sunflowers in a field", "a sailing boat",
            "an old church", "people dancing", "a bicycle against a wall", "fireworks"]
STYLES = ["", " in the rain", " at sunset", " from above", " in black and white",
          " close up", " in winter", " with friends", " on holiday", " long ago"]


def queries(n: int) -> list[str]:
    out = []
    for i in range(n):
        out.append(f"{SUBJECTS[i % len(SUBJECTS)]}{STYLES[(i // len(SUBJECTS)) % len(STYLES)]}"
                   f"{'' if i < len(SUBJECTS) * len(STYLES) else f' {i}'}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) // 1024  # MiB
    return out


FILTERS = {
    "folder": {"in": "/srv/photos/user3"},
    "folder_year": {"in": "/srv/photos/user3/2019"},
    "camera": {"camera": "Canon"},
    "format": {"format": "heic"},
    "month": {"after": "2019-01-01", "before": "2019-02-01"},
}


def search(port: int, q: str, extra: dict | None = None) -> float:
    url = f"http://127.0.0.1:{port}/api/search?" + urllib.parse.urlencode(
        {"q": q, "k": 24, **(extra or {})})
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    elapsed = time.perf_counter() - t
    hits = json.loads(body)
    if not (hits.get("results") or hits.get("hits") or hits.get("items")):
        raise SystemExit(f"no results for {q!r}: {body[:200]!r}")
    return elapsed


def run(binary: str, db: str, model: str, texts: list[str], filters: bool) -> dict:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--db", db, "--model", model,
                             "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{binary} serve exited: {proc.stderr.read()[-2000:]}")
            try:
                search(port, "a photo")
                break
            except (ConnectionError, urllib.error.URLError, OSError):
                time.sleep(0.02)
        first = time.perf_counter() - t0
        lat = sorted(search(port, q) * 1e3 for q in texts)
        images = status_images(port)
        step = max(1, images // len(texts))
        like = sorted(search(port, f"like:{1 + i * step}") * 1e3 for i in range(len(texts)))
        filtered = {}
        if filters:
            n = max(10, len(texts) // 4)
            for name, extra in FILTERS.items():
                v = sorted(search(port, f"like:{1 + i * step}", extra) * 1e3 for i in range(n))
                filtered[f"f:{name}"] = v[len(v) // 2]
        mem = status(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    p = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
    return {"first_s": first, "p50_ms": p(lat, 0.5), "p99_ms": p(lat, 0.99),
            "like_p50_ms": p(like, 0.5), "like_p99_ms": p(like, 0.99), **filtered, **mem}


def status_images(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=60) as r:
        body = json.loads(r.read())
    return int(body.get("images") or body.get("total") or body.get("count") or 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--bin", action="append")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--filters", action="store_true")
    args = ap.parse_args()
    bins = args.bin or ["target/release/scry"]
    texts = queries(args.queries)
    results: dict[str, list[dict]] = {b: [] for b in bins}
    for r in range(args.rounds):
        for b in bins:
            res = run(b, args.db, args.model, texts, args.filters)
            results[b].append(res)
            print(f"round {r + 1} {b}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float)
                                                   else f"{k} {v}" for k, v in res.items()),
                  flush=True)
    keys = ["first_s", "p50_ms", "p99_ms", "like_p50_ms", "like_p99_ms",
            *([f"f:{n}" for n in FILTERS] if args.filters else []),
            "VmRSS", "VmHWM", "RssAnon", "RssFile"]
    print("\n| build | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    med = {b: {k: statistics.median(r[k] for r in rs if k in r) for k in keys} for b, rs in results.items()}
    for b in bins:
        print(f"| {b} | " + " | ".join(f"{med[b][k]:.2f}" if isinstance(med[b][k], float)
                                       else str(med[b][k]) for k in keys) + " |")
    if len(bins) > 1:
        base = med[bins[0]]
        for b in bins[1:]:
            print(f"{b} / {bins[0]}: " + ", ".join(
                f"{k} {med[b][k] / base[k]:.2f}x" for k in keys if base[k]))


if __name__ == "__main__":
    main()
