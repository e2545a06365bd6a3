#!/usr/bin/env python3
"""RSS per idle HTTP/1.1 keep-alive connection.

Starts `portcullis quickstart` (listener 127.0.0.1:8080, built-in upstreams), opens N client
connections that each send one GET and then stay open and silent, and reports the growth of
the gateway's RSS divided by N. The ports 8080, 9901 and 18081-18083 must be free.

usage: bench/idle_connections.py [--binary target/release/portcullis] [--connections 5000]
       bench/idle_connections.py --pid PID --port PORT --path /   (a proxy already running,
       e.g. nginx from ../shared/bench/peers.sh on 8081: one worker, so give the worker's pid)
"""
import argparse
import resource
import socket
import subprocess
import time



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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/portcullis")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--pid", type=int, help="measure this running process instead")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--path", default="/v1/users/42")
    args = parser.parse_args()
    request = f"GET {args.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.connections + 1024), hard))

    gateway = None
    pid = args.pid
    if pid is None:
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
        if gateway is not None:
            gateway.terminate()
            gateway.wait()


if __name__ == "__main__":
    main()
