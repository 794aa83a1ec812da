"""echo_asyncio.py - the asyncio peer of bench/echo.c: an echo server.

Written with asyncio's protocols (transport + Protocol.data_received), not
streams: a protocol's data_received writes straight back through the
transport, with no StreamReader buffer, no coroutine resumed and no drain()
per message.  That is asyncio's fastest pure-Python way to echo, so the
comparison is with asyncio at its best.

Listens on 127.0.0.1, a port the kernel picks, and prints that port on one
line once it accepts.  Runs until killed.
"""
import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport  # asyncio sets TCP_NODELAY itself

    def data_received(self, data):
        self.transport.write(data)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
