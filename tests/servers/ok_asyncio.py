"""Correct server: asyncio streams, one task per connection (read, write, await drain).

Usage: ok_asyncio.py PORT [HOST]
"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()  # backpressure: stop reading while the client is not reading
    except OSError:
        pass
    finally:
        writer.close()  # closes only once the transport's buffer is flushed
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def main(port, host):
    server = await asyncio.start_server(handle, host, port, backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"))
