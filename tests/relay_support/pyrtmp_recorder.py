"""An independent RTMP server for the relay's interop tests: pyrtmp (pure Python, PyPI),
recording each published stream to <dir>/<stream name>.flv (its README's RTMP-to-FLV example).

Usage: python3 pyrtmp_recorder.py PORT DIR   (prints "READY" once listening)
"""
import asyncio
import logging
import os
import sys

from pyrtmp import StreamClosedException  # noqa: F401  (fails early when pyrtmp is missing)
from pyrtmp.flv import FLVFileWriter, FLVMediaType
from pyrtmp.rtmp import RTMPProtocol, SimpleRTMPController


class Recorder(SimpleRTMPController):
    def __init__(self, directory):
        self.directory = directory
        super().__init__()

    async def on_ns_publish(self, session, message):
        name = os.path.basename(str(message.publishing_name)) or "stream"
        session.state = FLVFileWriter(output=os.path.join(self.directory, f"{name}.flv"))
        await super().on_ns_publish(session, message)

    async def on_metadata(self, session, message):
        session.state.write(0, message.to_raw_meta(), FLVMediaType.OBJECT)
        await super().on_metadata(session, message)

    async def on_video_message(self, session, message):
        session.state.write(message.timestamp, message.payload, FLVMediaType.VIDEO)
        await super().on_video_message(session, message)

    async def on_audio_message(self, session, message):
        session.state.write(message.timestamp, message.payload, FLVMediaType.AUDIO)
        await super().on_audio_message(session, message)

    async def cleanup(self, session):
        state = getattr(session, "state", None)
        if state is not None:
            state.close()
        await super().cleanup(session)


async def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RTMPProtocol(controller=Recorder(directory)), "127.0.0.1", port)
    await server.start_serving()
    print("READY", flush=True)
    await server.wait_closed()


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    asyncio.run(main())
