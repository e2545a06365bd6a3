#!/usr/bin/env python3
"""Fixed-rate HTTP/1.1 keep-alive load that records the outcome of every request.

wrk counts non-2xx answers and socket errors but cannot say *when* they happened or for which
request kind; the chaos and soak scripts need both (a timeline per second, per kind). This is
asyncio over raw sockets so a few hundred requests per second cost a few percent of a core and
leave the machine to the gateway.

usage: loadgen.py --target 127.0.0.1:8080 --rate 200 --duration 60 --mix mix.json
                  [--connections 8] [--timeline timeline.jsonl] [--summary summary.json]

mix.json: [{"name": "plain", "method": "GET", "path": "/plain", "headers": {...},
            "body_bytes": 0, "ok": [200]}, ...]; kinds are sent round-robin.
A request fails when the answer's status is not in its kind's `ok` list (default: any 2xx),
or when the connection breaks, times out or answers something that is not HTTP/1.1.
"""
import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict


class BrokenResponse(Exception):
    pass


async def read_response(reader, method):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BrokenResponse("not an HTTP/1.x status line: %r" % lines[0][:60])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    close = headers.get("connection", "").lower() == "close"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, close
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from the gateway
                break
            await reader.readexactly(size + 2)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # close-delimited
        close = True
    return status, close


def encode(kind, host):
    body = b"x" * kind.get("body_bytes", 0)
    lines = ["%s %s HTTP/1.1" % (kind.get("method", "GET"), kind["path"]), "Host: %s" % host]
    for name, value in kind.get("headers", {}).items():
        lines.append("%s: %s" % (name, value))
    if body or kind.get("method") in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Stats:
    def __init__(self):
        self.total = Counter()          # (kind, outcome) -> count
        self.second = defaultdict(Counter)  # second -> (kind, outcome) -> count
        self.latencies = defaultdict(list)
        self.first_failures = []

    def record(self, second, kind, outcome, latency):
        self.total[(kind, outcome)] += 1
        self.second[second][(kind, outcome)] += 1
        if latency is not None:
            self.latencies[kind].append(latency)
        if not outcome.startswith("ok") and len(self.first_failures) < 20:
            self.first_failures.append({"second": second, "kind": kind, "outcome": outcome})


async def connection_loop(args, kinds, stats, index, start, stop_at):
    host, port = args.target.rsplit(":", 1)
    interval = args.connections / args.rate
    next_at = start + index * interval / args.connections
    sequence = index
    reader = writer = None
    while True:
        now = time.monotonic()
        if now >= stop_at:
            break
        if next_at > now:
            await asyncio.sleep(next_at - now)
        next_at += interval
        kind = kinds[sequence % len(kinds)]
        sequence += 1
        second = int(time.monotonic() - start)
        sent = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port)), args.timeout)
            writer.write(kind["_bytes"])
            await writer.drain()
            status, close = await asyncio.wait_for(
                read_response(reader, kind.get("method", "GET")), args.timeout)
            ok = status in kind["ok"] if "ok" in kind else 200 <= status < 300
            stats.record(second, kind["name"], ("ok:%d" if ok else "fail:%d") % status,
                         time.monotonic() - sent)
            if close:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError, BrokenResponse, ValueError) as error:
            stats.record(second, kind["name"], "fail:" + type(error).__name__, None)
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--host", default="gateway.test")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--mix", required=True)
    parser.add_argument("--timeline")
    parser.add_argument("--summary")
    args = parser.parse_args()
    with open(args.mix) as file:
        kinds = json.load(file)
    for kind in kinds:
        kind["_bytes"] = encode(kind, args.host)
    stats = Stats()
    start_epoch = time.time()
    start = time.monotonic()
    stop_at = start + args.duration
    await asyncio.gather(*(connection_loop(args, kinds, stats, i, start, stop_at)
                           for i in range(args.connections)))
    if args.timeline:
        with open(args.timeline, "w") as out:
            for second in sorted(stats.second):
                counts = {"%s %s" % key: value for key, value in sorted(stats.second[second].items())}
                out.write(json.dumps({"second": second, "counts": counts}) + "\n")
    requests = sum(stats.total.values())
    failed = sum(v for (k, o), v in stats.total.items() if not o.startswith("ok"))
    summary = {
        "requests": requests,
        "failed": failed,
        "seconds": round(time.monotonic() - start, 1),
        "start_epoch": start_epoch,
        "outcomes": {"%s %s" % key: value for key, value in sorted(stats.total.items())},
        "p50_ms": {k: round(percentile(v, 0.5) * 1000, 2) for k, v in stats.latencies.items()},
        "p99_ms": {k: round(percentile(v, 0.99) * 1000, 2) for k, v in stats.latencies.items()},
        "first_failures": stats.first_failures,
    }
    text = json.dumps(summary, indent=1)
    if args.summary:
        with open(args.summary, "w") as out:
            out.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
