#!/usr/bin/env python3
"""Control-plane publication, memory and validation figures (issue 8), measured from outside.

Starts its own `portcullis control-plane` on a free loopback port with a temporary data dir
(SQLite in it unless --database-url names a database; give PostgreSQL a fresh, empty one) and
measures:

1. Propagation: CLIENTS data-plane clients long-poll `GET /v1/dataplane/snapshot` with
   `known` = the ACTIVE checksum; a new (already VALIDATED) version is activated; the time from
   sending the activation to each client holding the new checksum is recorded. Repeated ROUNDS
   times: p50/p99 over every client and round, and over the per-round maximum (the last of the
   CLIENTS). Target: last of 50, p99 <= 1 s.
2. Idle long-polls: IDLE raw connections each send one long-poll and stay silent; once the
   control plane has accepted them all and its RSS is steady, VmRSS is read from /proc. Every
   connection is then checked to have had no answer (held, not refused). Target: <= 64 MiB.
3. Push-to-VALIDATED for a config of ROUTES routes: wall time of the push (201) and of the
   validate call (200), each timed alone, PUSHES times. Target: push + validate <= 2 s.
4. The idle long-polls again with the ROUTES-route config ACTIVE, after one read of it whole
   and one diff against the version before (what a replica serving a large configuration
   holds once operators have looked at it).

usage: bench/control_plane.py [--binary target/release/portcullis] [--database-url URL]
       [--clients 50] [--rounds 20] [--idle 1000] [--routes 10000] [--pushes 3]
Needs only Python 3 and a built binary (`cargo build --release --locked -p portcullis`).
"""
import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ENVIRONMENT = "bench"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def http(port, method, path, token, body=None, timeout=60):
    """One HTTP/1.1 request on a fresh connection: (status, parsed JSON or None)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        payload = b"" if body is None else json.dumps(body).encode()
        content_type = "content-type: application/json\r\n" if body is not None else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {token}\r\n"
            f"{content_type}content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
        ).encode()
        writer.write(head + payload)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    if not raw:
        raise RuntimeError(f"{method} {path}: the connection closed without an answer")
    status = int(raw.split(b" ", 2)[1])
    head, _, content = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        content = dechunk(content)
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, None


def dechunk(data):
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return bytes(out)


def expect(status, body, wanted, what):
    if status != wanted:
        raise RuntimeError(f"{what}: expected {wanted}, got {status}: {body}")


def config_with_routes(count, timeout_ms):
    routes = [
        {
            "name": f"route-{n}",
            "match": {"pathPrefix": f"/svc/{n}"},
            "upstream": {"service": "origin"},
            "policies": {"auth": "none", "timeoutMs": timeout_ms},
        }
        for n in range(count)
    ]
    return {
        "listeners": [{"name": "default", "address": "127.0.0.1:8080"}],
        "services": {"origin": {"visibility": "public", "endpoints": ["127.0.0.1:9001"]}},
        "routes": routes,
    }


async def push(port, token, config, message, timeout=60):
    status, version = await http(port, "POST", f"/v1/environments/{ENVIRONMENT}/versions",
                                 token, {"config": config, "message": message}, timeout)
    expect(status, version, 201, "push")
    return version["configVersion"], version["checksum"]


async def validate(port, token, number, timeout=60):
    status, report = await http(port, "POST", f"/v1/versions/{number}/validate", token,
                                timeout=timeout)
    expect(status, report, 200, f"validate {number}")
    if report["version"]["status"] != "VALIDATED":
        raise RuntimeError(f"validate {number}: status {report['version']['status']}")


async def activate(port, token, number):
    status, body = await http(port, "POST", f"/v1/versions/{number}/activate", token)
    expect(status, body, 200, f"activate {number}")


def snapshot_path(known):
    return f"/v1/dataplane/snapshot?environment={ENVIRONMENT}&pool=default&known={known}"


async def long_poll_until(port, token, known, started):
    """Long-poll until a checksum other than `known` arrives: (seconds since started, checksum)."""
    while True:
        status, snapshot = await http(port, "GET", snapshot_path(known), token, timeout=120)
        if status == 200 and snapshot["checksum"] != known:
            return time.monotonic() - started[0], snapshot["checksum"]
        if status not in (200, 304):
            raise RuntimeError(f"snapshot long-poll: {status}: {snapshot}")


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0])
    return fields


def cpu_seconds(pid):
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_count(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def nearest_rank(values, percent):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))  # ceil
    return ordered[int(rank) - 1]


async def propagation(port, admin, dataplane, clients, rounds):
    number, checksum = await push(port, admin, config_with_routes(10, 1000), "round 0")
    await validate(port, admin, number)
    await activate(port, admin, number)
    every, last_of_each, answered = [], [], []
    for round_number in range(1, rounds + 1):
        new_number, new_checksum = await push(
            port, admin, config_with_routes(10, 1000 + round_number), f"round {round_number}")
        await validate(port, admin, new_number)
        started = [time.monotonic()]
        waiting = [asyncio.create_task(long_poll_until(port, dataplane, checksum, started))
                   for _ in range(clients)]
        # Let the long-polls arrive and wait. One that arrives late still measures correctly:
        # it gets the new checksum at once, timed from the activation.
        await asyncio.sleep(0.5)
        started[0] = time.monotonic()
        await activate(port, admin, new_number)
        answered.append(time.monotonic() - started[0])
        results = await asyncio.gather(*waiting)
        if any(seen != new_checksum for _, seen in results):
            raise RuntimeError("a client received another checksum than the activated one")
        latencies = [elapsed for elapsed, _ in results]
        every.extend(latencies)
        last_of_each.append(max(latencies))
        checksum = new_checksum
    return checksum, every, last_of_each, answered


def steady_status(pid, deadline_seconds=20):
    """/proc status once VmRSS holds still: three readings 0.5 s apart within 64 KiB."""
    deadline = time.monotonic() + deadline_seconds
    readings = [proc_status(pid)["VmRSS"]]
    while len(readings) < 3 or max(readings[-3:]) - min(readings[-3:]) > 64:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
        readings.append(proc_status(pid)["VmRSS"])
    return proc_status(pid)


def hold_idle_polls(port, pid, token, known, count):
    """Opens `count` held long-polls; returns (the sockets, RSS fields while held)."""
    before_sockets = socket_count(pid)
    request = (f"GET {snapshot_path(known)} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
               f"authorization: Bearer {token}\r\n\r\n").encode()
    held = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(request)
        held.append(conn)
    deadline = time.monotonic() + 20
    while socket_count(pid) < before_sockets + count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the control plane accepted {socket_count(pid) - before_sockets} "
                               f"of {count} connections in 20 s")
        time.sleep(0.1)
    during = steady_status(pid)
    answered = 0
    for conn in held:
        conn.setblocking(False)
        try:
            if conn.recv(1, socket.MSG_PEEK):
                answered += 1
        except BlockingIOError:
            pass
    if answered:
        raise RuntimeError(f"{answered} of {count} long-polls were answered instead of held")
    return held, during


def release(held, pid):
    for conn in held:
        conn.close()
    time.sleep(1.0)
    return proc_status(pid)


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def print_idle(label, count, before, during, after):
    per_poll = (during["VmRSS"] - before["VmRSS"]) / count
    print(f"{label}: {count} held; VmRSS {mib(before['VmRSS'])} before, "
          f"{mib(during['VmRSS'])} while held (RssAnon {mib(during['RssAnon'])}, "
          f"RssFile {mib(during['RssFile'])}), {mib(after['VmRSS'])} after; "
          f"{per_poll:.1f} KiB per held poll")


async def measure(args, port, process):
    data_dir = args.data_dir
    deadline = time.monotonic() + 30
    token_path = os.path.join(data_dir, "admin.token")
    while not os.path.exists(token_path) or os.path.getsize(token_path) == 0:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the control plane wrote no admin token; see its log: "
                               + os.path.join(data_dir, "control-plane.log"))
        await asyncio.sleep(0.05)
    with open(token_path) as file:
        admin = file.read().strip()
    while True:
        try:
            status, _ = await http(port, "GET", "/readyz", admin)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the control plane never became ready")
        await asyncio.sleep(0.05)
    status, created = await http(port, "POST", "/v1/tokens", admin,
                                 {"name": "bench-dataplane", "role": "dataplane"})
    expect(status, created, 201, "create the dataplane token")
    dataplane = created["token"]
    pid = process.pid

    # 1. Propagation to CLIENTS long-polling clients.
    checksum, every, last_of_each, answered = await propagation(port, admin, dataplane, args.clients,
                                                      args.rounds)
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    print(f"propagation: {args.clients} clients x {args.rounds} activations")
    print(f"  every client: p50 {ms(nearest_rank(every, 50))}, p99 {ms(nearest_rank(every, 99))}, "
          f"max {ms(max(every))}")
    print(f"  last of {args.clients} per activation: p50 {ms(nearest_rank(last_of_each, 50))}, "
          f"p99 {ms(nearest_rank(last_of_each, 99))}, max {ms(max(last_of_each))}")
    print(f"  the activation call itself (validate again, commit, publish): "
          f"p50 {ms(nearest_rank(answered, 50))}, max {ms(max(answered))}")

    # 2. RSS with IDLE held long-polls (a 10-route config ACTIVE).
    before = steady_status(pid)
    held, during = hold_idle_polls(port, pid, dataplane, checksum, args.idle)
    after = release(held, pid)
    print_idle("idle long-polls", args.idle, before, during, after)

    # 3. Push-to-VALIDATED for a large config.
    size = len(json.dumps({"config": config_with_routes(args.routes, 1500)}))
    totals, pushes, validations, cpu = [], [], [], []
    number = None
    for attempt in range(args.pushes):
        big = config_with_routes(args.routes, 1500 + attempt)
        cpu_before = cpu_seconds(pid)
        started = time.monotonic()
        number, big_checksum = await push(port, admin, big, f"{args.routes} routes", 300)
        pushed = time.monotonic()
        await validate(port, admin, number, 300)
        validated = time.monotonic()
        cpu.append(cpu_seconds(pid) - cpu_before)
        pushes.append(pushed - started)
        validations.append(validated - pushed)
        totals.append(validated - started)
        print(f"push-to-VALIDATED, {args.routes} routes ({size / 1e6:.2f} MB body), "
              f"#{attempt + 1}: push {ms(pushes[-1])}, validate {ms(validations[-1])}, "
              f"total {ms(totals[-1])} (control plane CPU {ms(cpu[-1])}); "
              f"VmRSS after {mib(proc_status(pid)['VmRSS'])}")
    print(f"  median of {args.pushes}: push {ms(statistics.median(pushes))}, validate "
          f"{ms(statistics.median(validations))}, total {ms(statistics.median(totals))} "
          f"(CPU {ms(statistics.median(cpu))})")

    # 4. The idle long-polls with the large config ACTIVE, after an operator read it whole
    #    (`config show`) and diffed it against the one pushed before it (`config diff`).
    await activate(port, admin, number)
    status, shown = await http(port, "GET", f"/v1/versions/{number}", admin, timeout=300)
    expect(status, shown, 200, f"show {number}")
    status, diff = await http(port, "GET", f"/v1/versions/{number - 1}/diff/{number}", admin,
                              timeout=300)
    expect(status, diff, 200, f"diff {number - 1} {number}")
    before = steady_status(pid)
    held, during = hold_idle_polls(port, pid, dataplane, big_checksum, args.idle)
    after = release(held, pid)
    print_idle(f"idle long-polls, {args.routes}-route config ACTIVE", args.idle, before, during,
               after)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/portcullis")
    parser.add_argument("--database-url",
                        help="postgres://… (a fresh, empty database) or sqlite://…; "
                             "default SQLite in the temporary data dir")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--pushes", type=int, default=3)
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary data dir (with the control plane's log)")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        parser.error(f"no binary at {args.binary}: cargo build --release --locked -p portcullis")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.idle + args.clients + 256
    if hard != resource.RLIM_INFINITY and hard < wanted:
        parser.error(f"the open-file limit ({hard}) is below {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the child inherits it

    args.data_dir = tempfile.mkdtemp(prefix="portcullis-cp-bench-")
    port = free_port()
    command = [args.binary, "control-plane", "--listen", f"127.0.0.1:{port}",
               "--data-dir", args.data_dir, "--environment", ENVIRONMENT]
    if args.database_url:
        command += ["--database-url", args.database_url]
    environ = {key: value for key, value in os.environ.items()
               if key != "PORTCULLIS_DATABASE_URL"}
    database = args.database_url.split(":", 1)[0] if args.database_url else "sqlite (embedded)"
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()}, {os.cpu_count()} CPUs, database {database}")
    log = open(os.path.join(args.data_dir, "control-plane.log"), "w")
    process = subprocess.Popen(command, stderr=log, stdout=log, env=environ)
    try:
        asyncio.run(measure(args, port, process))
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        if args.keep:
            print(f"kept {args.data_dir}")
        else:
            shutil.rmtree(args.data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
