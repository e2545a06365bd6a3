#!/usr/bin/env python3
"""The chaos and soak scripts' upstream: keep-alive HTTP/1.1 on asyncio.

Every request (GET, POST with a Content-Length or chunked body, ...) is read whole and answered
200 with a 1 KiB body, except:
  /half-length   headers with Content-Length: 1 MiB, then 64 KiB of it, then nothing
  /half-chunked  a chunked answer: four 16 KiB chunks, then nothing (no final chunk)
After sending the partial answer it writes "half-sent" to the file named by --marker and
waits: the chaos script then SIGKILLs this process mid-response.

usage: origin.py PORT [--marker FILE]
"""
import argparse
import asyncio

BODY = b"x" * 1024


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            await reader.readexactly(size + 2)
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    return target


async def half_answer(writer, target, marker):
    if target.startswith("/half-length"):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + b"y" * 65536)
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):
            writer.write(b"4000\r\n" + b"z" * 16384 + b"\r\n")
    await writer.drain()
    with open(marker, "w") as out:
        out.write("half-sent\n")
    await asyncio.Event().wait()  # until SIGKILL


async def serve(reader, writer, marker):
    try:
        while True:
            target = await read_request(reader)
            if target.startswith("/half-"):
                await half_answer(writer, target, marker)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n"
                         + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--marker", default="/tmp/origin-half-sent")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: serve(r, w, args.marker), "127.0.0.1",
                                        args.port, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
