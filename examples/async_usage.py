"""The asyncio API: ``AsyncThalovantClient`` for async services (FastAPI, aiohttp, bots).

Same methods as ``ThalovantClient``, awaited. One client (one connection) serves many
concurrent requests: replies are matched by request id, so ``asyncio.gather`` just works.
Create the client once at start-up, inside the running loop, and close it at shutdown.

    python examples/async_usage.py [path/to/_identity.json]
"""

import asyncio
import os
import sys

from thalovant import EVENT_SPEAK, AsyncThalovantClient


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


async def main() -> None:
    async with AsyncThalovantClient.from_identity_file(identity_path()) as client:
        reply = await client.ask("Tell me a short clean joke.")
        print("joke:", reply.text)

        # Several requests in flight on one connection.
        questions = ["hello", "what time is it", "what can this hub do", "tell me a joke"]
        replies = await asyncio.gather(*(client.ask(q, timeout=10) for q in questions))
        for question, answer in zip(questions, replies, strict=True):
            print(f"{question!r} -> {answer.text}")

        # A conversation, and listening with `async for`.
        async with client.conversation() as chat:
            await chat.ask("my favourite colour is green")
            print("memory:", (await chat.ask("what is my favourite colour")).text)
            listener = chat.listen(EVENT_SPEAK, timeout=10, max_events=1)
            await chat.send_utterance("hello")
            async for event in listener:
                print("speak:", event.text)


if __name__ == "__main__":
    asyncio.run(main())
