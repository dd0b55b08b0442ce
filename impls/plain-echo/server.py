"""RFC 862 echo over TCP with asyncio streams: every byte comes back unchanged.

Usage: server.py PORT [HOST]
"""

from __future__ import annotations

import asyncio
import signal
import sys


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()  # backpressure: stop reading while the client does not read
        writer.close()  # EOF from the client: everything written is flushed, then FIN
        await writer.wait_closed()
    except (ConnectionError, OSError):
        writer.transport.abort()


async def main(port: int, host: str) -> None:
    server = await asyncio.start_server(echo, host, port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"))
