"""The journal's memory follows the text it keeps, not what a body decodes to.

Before: a parsed JSON body was kept as Python objects, about 23 times its text for
``[{},{},...]``: 1000 refused requests of 24 KB each (8,150 empty objects) raised the mock's
resident memory from 62 to 630 MB and kept it there, and reading the journal decoded the
bodies kept as text into objects and stored those back. Now each body is kept as its
redacted text (at most 32 KB) and decoded on every read.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mock_api.testing import AUTH, Server, spawn_mock

IO_S = 30
REQUESTS = 300
# 24 KB of JSON text, 8,150 objects: the shape that costs the most memory per byte decoded.
TINY_OBJECTS = ("[" + ",".join(["{}"] * 8150) + "]").encode()
# What the journal may grow by per byte of body it keeps: its redacted text (json.dumps adds
# a space after each comma, 4/3 of this body) and the allocator's slack. Decoded, it was 23.
MAX_GROWTH_PER_BODY_BYTE = 6


@pytest.fixture(scope="module")
def mock() -> Iterator[Server]:
    with spawn_mock() as server:
        yield server


def rss_bytes(pid: int) -> int:
    """The process's resident memory, from the kernel's own account of it."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/<pid>/status")


def send_tiny_objects(client: httpx.Client, url: str, count: int) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    for _ in range(count):
        # Refused (no task in it is valid), and journaled like any other request.
        assert client.post(url + "/v1", content=TINY_OBJECTS, headers=headers).status_code == 400


def test_a_journal_of_tiny_objects_holds_their_text(mock: Server) -> None:
    with httpx.Client(timeout=IO_S, trust_env=False) as client:
        send_tiny_objects(client, mock.url, 20)  # the parse's own memory, before the baseline
        client.delete(mock.url + "/__admin/requests").raise_for_status()
        before = rss_bytes(mock.proc.pid)
        send_tiny_objects(client, mock.url, REQUESTS)
        grown = rss_bytes(mock.proc.pid) - before
        kept = REQUESTS * len(TINY_OBJECTS)
        assert grown < MAX_GROWTH_PER_BODY_BYTE * kept, (
            f"{grown / 2**20:.0f} MB for {kept / 2**20:.1f} MB of bodies"
        )

        # The journal still shows each body as its JSON value.
        client.delete(mock.url + "/__admin/requests").raise_for_status()
        send_tiny_objects(client, mock.url, 1)
        (entry,) = client.get(mock.url + "/__admin/requests").json()["requests"]
        assert (
            entry["body"] == [{}] * 8150 and entry["bodyIsJson"] is True and entry["bodyTruncated"] is False
        )
