"""A TCP proxy on 127.0.0.1 that stalls every byte in both directions for STALL seconds every
PERIOD seconds (bench/stall.sh): the target of a known, periodic stall.

    python3 bench/stall_proxy.py LISTEN_PORT UPSTREAM_PORT [PERIOD] [STALL]
"""

import asyncio
import sys
import time

listen, upstream = int(sys.argv[1]), int(sys.argv[2])
period = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
stall = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
epoch = time.monotonic()


async def gate():
    """Waits out the stall the clock is in, if any (the last STALL seconds of every PERIOD)."""
    into = (time.monotonic() - epoch) % period
    if into >= period - stall:
        await asyncio.sleep(period - into)


async def pump(reader, writer):
    try:
        while data := await reader.read(65536):
            await gate()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, up_writer), pump(up_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print(f"stall proxy 127.0.0.1:{listen} -> {upstream}: {stall} s stalled every {period} s", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
