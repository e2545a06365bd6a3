#!/usr/bin/env python3
"""RSS per idle HTTP/1.1 keep-alive connection, and `maxConnections` under a crowd.

Starts `portcullis quickstart` (listener 127.0.0.1:8080, built-in upstreams), opens N client
connections that each send one GET and then stay open and silent, and reports the growth of
the gateway's RSS divided by N. The ports 8080, 9901 and 18081-18083 must be free.

With --max-connections LIMIT it serves examples/quickstart.yaml with that `maxConnections`
instead (`portcullis serve`, upstreams from `portcullis example-upstreams`), opens N idle
connections and then --extra more, and checks that exactly the ones beyond LIMIT are closed at
accept without an answer and counted in `portcullis_connections_refused_total` (admin
/metrics), that the gateway still answers once a held connection goes, and reports RSS.

usage: bench/idle_connections.py [--binary target/release/portcullis] [--connections 5000]
       bench/idle_connections.py --connections 10000 --max-connections 10000 --extra 500
       bench/idle_connections.py --pid PID --port PORT --path /   (a proxy already running,
       e.g. nginx from ../shared/bench/peers.sh on 8081: one worker, so give the worker's pid)
"""
import argparse
import os
import re
import resource
import socket
import subprocess
import tempfile
import time
import urllib.request



def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


def one_request(port, request):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        if not chunk:
            raise RuntimeError("the gateway closed the connection")
        received += chunk
    return conn


def refused_by_gateway(port):
    """Connect and send a request: True when the gateway closes without answering."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.settimeout(5)
    try:
        conn.sendall(b"GET /v1/users/42 HTTP/1.1\r\nHost: bench\r\n\r\n")
        return conn.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    finally:
        conn.close()


def metric(admin, name):
    text = urllib.request.urlopen(f"http://{admin}/metrics", timeout=5).read().decode()
    match = re.search(rf'^{name}{{listener="default"}} (\d+)$', text, re.M)
    return int(match.group(1)) if match else None


def limited_config(limit):
    """examples/quickstart.yaml with `maxConnections: limit`, no access log, in a temp file."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "examples", "quickstart.yaml")) as source:
        text = source.read()
    text = text.replace("    address: 127.0.0.1:8080      # `quickstart --listen ADDR` overrides it",
                        f"    address: 127.0.0.1:8080\n    maxConnections: {limit}\n"
                        "    headerReadTimeoutMs: 600000\n    idleTimeoutMs: 600000")
    text = text.replace("  path: stdout                   # one JSON line per request",
                        "  enabled: false")
    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    handle.write(text)
    handle.close()
    return handle.name


def crowd(args, pid, request):
    """`maxConnections` with a crowd: LIMIT held, --extra refused and counted."""
    admin = "127.0.0.1:9901"
    before = rss_kib(pid)
    started = time.time()
    idle = [one_request(args.port, request) for _ in range(args.connections)]
    opened = time.time() - started
    time.sleep(2)
    held = rss_kib(pid)
    refused = sum(refused_by_gateway(args.port) for _ in range(args.extra))
    counted = metric(admin, "portcullis_connections_refused_total")
    open_now = metric(admin, "portcullis_connections_open")
    idle.pop().close()
    served = False
    for _ in range(50):
        time.sleep(0.05)
        try:
            one_request(args.port, request).close()
            served = True
            break
        except (OSError, RuntimeError):
            continue
    print(f"maxConnections {args.max_connections}: {args.connections} idle connections opened "
          f"in {opened:.1f} s, RSS {before} KiB -> {held} KiB "
          f"({(held - before) / args.connections:.1f} KiB per connection); "
          f"{refused} of {args.extra} extra connections closed without an answer, "
          f"portcullis_connections_refused_total {counted}, portcullis_connections_open "
          f"{open_now}; served again after one closed: {served}")
    for conn in idle:
        conn.close()
    expected_refused = max(0, args.connections + args.extra - args.max_connections)
    ok = refused == expected_refused and counted == expected_refused and served
    if not ok:
        raise SystemExit(f"FAILED: expected {expected_refused} refusals, saw {refused} "
                         f"(counted {counted}), served again: {served}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/portcullis")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--pid", type=int, help="measure this running process instead")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--path", default="/v1/users/42")
    parser.add_argument("--max-connections", type=int,
                        help="serve quickstart.yaml with this maxConnections and check refusals")
    parser.add_argument("--extra", type=int, default=500,
                        help="with --max-connections: connections opened beyond --connections")
    args = parser.parse_args()
    request = f"GET {args.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (min(hard, args.connections + args.extra + 1024), hard))

    gateway = None
    upstreams = None
    pid = args.pid
    if pid is None and args.max_connections is not None:
        upstreams = subprocess.Popen([args.binary, "example-upstreams"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gateway = subprocess.Popen([args.binary, "serve", "--config",
                                    limited_config(args.max_connections), "--no-watch"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = gateway.pid
    elif pid is None:
        gateway = subprocess.Popen([args.binary, "quickstart"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = gateway.pid
    try:
        for _ in range(100):
            try:
                one_request(args.port, request).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm up the allocator and the upstream pool, then measure the baseline.
        for conn in [one_request(args.port, request) for _ in range(200)]:
            conn.close()
        time.sleep(1)
        if args.max_connections is not None:
            crowd(args, pid, request)
            return
        before = rss_kib(pid)
        idle = [one_request(args.port, request) for _ in range(args.connections)]
        time.sleep(2)
        after = rss_kib(pid)
        per_connection = (after - before) / args.connections
        print(f"{args.connections} idle keep-alive connections: RSS {before} KiB -> {after} KiB, "
              f"{per_connection:.1f} KiB per connection")
        for conn in idle:
            conn.close()
    finally:
        for process in (gateway, upstreams):
            if process is not None:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
