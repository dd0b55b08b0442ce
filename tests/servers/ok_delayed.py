"""Correct server: every reply chunk is sent 0.2 s after its bytes arrived (asyncio).

Per connection a reader task queues (due time, chunk) and a replier task awaits
asyncio.sleep() until each chunk is due, so the delay blocks no other client and is not
cumulative: latency 0.2 s, throughput unaffected. The bounded queue gives backpressure.
Usage: ok_delayed.py PORT [HOST]
"""
import asyncio
import sys

DELAY = 0.2


async def replier(writer, queue):
    loop, ok = asyncio.get_running_loop(), True
    while (item := await queue.get()) is not None:
        due, data = item
        if not ok:
            continue  # connection broken: keep draining the queue so the reader never blocks
        try:
            await asyncio.sleep(due - loop.time())
            writer.write(data.upper())
            await writer.drain()
        except OSError:
            ok = False
            writer.transport.abort()


async def handle(reader, writer):
    loop, queue = asyncio.get_running_loop(), asyncio.Queue(maxsize=256)
    task = asyncio.create_task(replier(writer, queue))
    try:
        while data := await reader.read(65536):
            await queue.put((loop.time() + DELAY, data))
    except OSError:
        pass
    await queue.put(None)
    await task  # every owed reply is out (or the connection is broken)
    writer.close()
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
