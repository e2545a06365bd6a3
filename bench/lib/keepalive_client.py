#!/usr/bin/env python3
"""Send N sequential GETs over one keep-alive HTTP/1.1 connection; fail on any non-200."""
import http.client
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
connection = http.client.HTTPConnection(host, port, timeout=60)
for _ in range(count):
    connection.request("GET", "/", headers={"Host": "bench.test"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"unexpected status {response.status}")
connection.close()
