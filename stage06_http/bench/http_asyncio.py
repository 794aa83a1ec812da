"""http_asyncio.py - the asyncio peer of bench/http.c: a minimal HTTP server.

    python3 http_asyncio.py PORT [HOST]      (HOST defaults to 127.0.0.1)

Parsing is as little as can still be called HTTP: every request head that
ends in a blank line (\\r\\n\\r\\n) gets the same fixed keep-alive response,
whatever its method or path, and request bodies are not supported.  Written
with asyncio's protocols (data_received -> transport.write), not streams, so
no coroutine is resumed per request: asyncio at its fastest in pure Python.
The figure is asyncio's event loop and transports, not an HTTP parser.
Runs until killed.
"""
import asyncio
import sys

BODY = b"hello, world\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n" + BODY
)


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport  # asyncio sets TCP_NODELAY itself
        self.buf = b""

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        n = buf.count(b"\r\n\r\n")  # pipelined heads are answered together
        if n:
            self.transport.write(RESPONSE * n)
            buf = buf[buf.rfind(b"\r\n\r\n") + 4:]
        if len(buf) > 65536:  # no head is that long: not HTTP, drop it
            self.transport.close()
            buf = b""
        self.buf = buf


async def main(port, host):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, host, port, backlog=1024)
    await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit():
        sys.exit("usage: python3 http_asyncio.py PORT [HOST]")
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else "127.0.0.1"))
    except KeyboardInterrupt:
        sys.exit(0)
