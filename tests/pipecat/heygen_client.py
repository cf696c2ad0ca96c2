"""pipecat's own HeyGen client against Understudy, unmodified except for its base URL.

Joins the session's room with pipecat's HeyGenClient (the `livekit` Python SDK underneath),
receives the avatar's video and audio, makes the avatar say a tone through the realtime
endpoint and hears that tone come back in the room, interrupts a longer one and hears it stop,
waits past the session's idle timeout on pipecat's own keep-alives, and stops.

With `--service liveavatar` the same client speaks LiveAvatar instead (pipecat's
`ServiceType.LIVE_AVATAR`: a LITE session, `ws_url` for the audio, the room joined with
`livekit_agent_token`); LiveAvatar's idle timeout is fixed at 5 minutes, so that run skips the
idle wait (`--idle-timeout 0`).

Usage: python heygen_client.py --base http://127.0.0.1:PORT [--idle-timeout SECONDS]
                               [--service interactive|liveavatar]
Exits non-zero, naming the check, on the first failure.
"""

import argparse
import asyncio
import json
import math
import sys
import time
import urllib.request
from importlib.metadata import version

import aiohttp
from pipecat.clocks.system_clock import SystemClock
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.services.heygen.api_interactive_avatar import HeyGenApi, NewSessionRequest
from pipecat.services.heygen.api_liveavatar import (
    LiveAvatarApi,
    LiveAvatarNewSessionRequest,
    VideoEncoding,
    VideoSettings,
)
from pipecat.services.heygen.client import HeyGenCallbacks, HeyGenClient, ServiceType
from pipecat.transports.base_transport import TransportParams
from pipecat.utils.asyncio.task_manager import TaskManager

RATE = 24_000
LIVEKIT = version("livekit")
# A tone the mock's synthetic voice never makes (its harmonics stop near 1.1 kHz).
TONE_HZ = 1500.0


SERVICE = "interactive"


def check(name, ok, detail=""):
    label = f"livekit {LIVEKIT}" + (", LiveAvatar" if SERVICE == "liveavatar" else "")
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {name}{'' if ok else f': {detail}'}", flush=True)
    if not ok:
        sys.exit(1)


def tone(seconds, amplitude=0.5):
    samples = int(RATE * seconds)
    return b"".join(
        int(math.sin(2 * math.pi * TONE_HZ * i / RATE) * amplitude * 32767).to_bytes(2, "little", signed=True)
        for i in range(samples)
    )


def tone_share(pcm: bytes, rate: int) -> float:
    """How much of the frame's power is at TONE_HZ (Goertzel against the total)."""
    n = len(pcm) // 2
    if n == 0:
        return 0.0
    xs = [int.from_bytes(pcm[2 * i : 2 * i + 2], "little", signed=True) / 32768 for i in range(n)]
    total = sum(x * x for x in xs)
    if total < 1e-3:
        return 0.0
    k = 2 * math.cos(2 * math.pi * TONE_HZ / rate)
    s1 = s2 = 0.0
    for x in xs:
        s1, s2 = x + k * s1 - s2, s1
    power = (s1 * s1 + s2 * s2 - k * s1 * s2) * 2 / n
    return power / total


class Heard:
    """The avatar's media as pipecat hands it over, with when the tone was last heard."""

    def __init__(self):
        self.video = 0
        self.audio = 0
        self.tone_frames = 0
        self.last_tone = 0.0

    async def on_video(self, frame):
        self.video += 1

    async def on_audio(self, frame):
        self.audio += 1
        if tone_share(frame.audio, frame.sample_rate) > 0.5:
            self.tone_frames += 1
            self.last_tone = time.monotonic()


async def until(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            check(what, False, f"not within {seconds} s")
        await asyncio.sleep(0.05)


def admin_session(base, session_id):
    with urllib.request.urlopen(f"{base}/__understudy/sessions") as answer:
        sessions = json.load(answer)
    return next((s for s in sessions if s["session_id"] == session_id), None)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--idle-timeout", type=int, default=160)
    parser.add_argument("--service", choices=["interactive", "liveavatar"], default="interactive")
    args = parser.parse_args()
    global SERVICE
    SERVICE = args.service
    liveavatar = args.service == "liveavatar"

    # The one change an app makes to point pipecat at the mock.
    HeyGenApi.BASE_URL = f"{args.base}/v1"
    LiveAvatarApi.BASE_URL = f"{args.base}/v1"
    if liveavatar:
        session_request = LiveAvatarNewSessionRequest(
            avatar_id="dd73ea75-1218-4ef3-92ce-606d5f7fbc0a",
            video_settings=VideoSettings(encoding=VideoEncoding.VP8),
        )
        service_type = ServiceType.LIVE_AVATAR
    else:
        session_request = NewSessionRequest(
            avatar_id="default", version="v2", activity_idle_timeout=args.idle_timeout
        )
        service_type = ServiceType.INTERACTIVE_AVATAR

    connected = asyncio.Event()
    participants = []

    async def on_connected():
        connected.set()

    async def on_participant_connected(identity):
        participants.append(identity)

    async def on_participant_disconnected(identity):
        pass

    heard = Heard()
    async with aiohttp.ClientSession() as http:
        client = HeyGenClient(
            api_key="pipecat-test",
            session=http,
            params=TransportParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
            session_request=session_request,
            service_type=service_type,
            callbacks=HeyGenCallbacks(
                on_connected=on_connected,
                on_participant_connected=on_participant_connected,
                on_participant_disconnected=on_participant_disconnected,
            ),
        )
        setup = FrameProcessorSetup(
            clock=SystemClock(),
            task_manager=TaskManager(loop=asyncio.get_running_loop()),
            pipeline_worker=None,
            audio_in_sample_rate=RATE,
            audio_out_sample_rate=RATE,
        )
        started = time.monotonic()
        await client.setup(setup)
        await until(connected.is_set, 15, "the client connects (realtime endpoint and room)")
        session_id = client._heyGen_session.session_id
        check("the session is created, started and connected", admin_session(args.base, session_id)["state"] == "connected")
        await until(lambda: "heygen" in participants, 10, "the avatar is in the room as 'heygen'")
        check("only the avatar is in the room besides pipecat", participants == ["heygen"], participants)

        await client.capture_participant_video("heygen", heard.on_video)
        await client.capture_participant_audio("heygen", heard.on_audio)
        client.transport_ready()
        await until(lambda: heard.video >= 25 and heard.audio >= 25, 15, "video and audio arrive from the avatar")
        check("no tone before the avatar is asked to say it", heard.tone_frames == 0, heard.tone_frames)

        # A second of tone in pipecat's chunks, then the end of the utterance.
        utterance = tone(1.0)
        chunk = RATE * 2 // 5  # 400 ms
        for at in range(0, len(utterance), chunk):
            await client.agent_speak(utterance[at : at + chunk], "utterance-1")
        await client.agent_speak_end("utterance-1")
        await until(lambda: heard.tone_frames >= 20, 10, "the tone said through the realtime endpoint is heard in the room")
        check("the avatar says it", True)

        # A longer one, cut short.
        long = tone(5.0)
        for at in range(0, len(long), chunk):
            await client.agent_speak(long[at : at + chunk], "utterance-2")
        await client.agent_speak_end("utterance-2")
        before = heard.tone_frames
        await until(lambda: heard.tone_frames >= before + 10, 10, "the second utterance is heard")
        await client.interrupt("utterance-2")
        cut = time.monotonic()
        await asyncio.sleep(1.5)
        check("agent.interrupt stops the tone at once", heard.last_tone - cut < 0.5, f"heard {heard.last_tone - cut:.2f} s after")

        if args.idle_timeout > 0:
            await outlive_idle_timeout(args, session_id)

        await client.stop()
        ended = admin_session(args.base, session_id)
        check("stop ends the session", ended is None or ended["state"] == "closed", ended)
        if liveavatar:
            check("the session is LiveAvatar LITE", ended is None or ended["liveavatar"] == "LITE", ended)
        print(f"pipecat with livekit {LIVEKIT}{' (LiveAvatar)' if liveavatar else ''}: passed in {time.monotonic() - started:.0f} s", flush=True)


async def outlive_idle_timeout(args, session_id):
    """Waits past the session's idle timeout on pipecat's keep-alives (every 150 s) alone."""
    idle_deadline = time.monotonic() + args.idle_timeout
    print(f"waiting {args.idle_timeout + 15} s past the idle timeout on pipecat's keep-alives", flush=True)
    await asyncio.sleep(args.idle_timeout + 15)
    live = admin_session(args.base, session_id)
    check(
        "the session is still connected past its idle timeout",
        live["state"] == "connected" and time.monotonic() > idle_deadline,
        live,
    )
    check("a keep-alive reset its idle timer", live["idle_ms"] < (args.idle_timeout - 100) * 1000, live["idle_ms"])


asyncio.run(main())
