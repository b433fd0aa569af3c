"""The chat slots are shared fairly between clients (issue 23): eight unthrottled chat
threads from one client made 82% of another client's chats answer 503 "busy". A client
alone may use every slot; with others asking, each holds an equal share."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.retrieval.budget import ServerBusy, Slots
from service.web.app import create_app

QUESTION = {"messages": [{"role": "user", "content": "urgent care waiting times"}], "k": 3}
HOG = "127.0.0.1"  # the rate-limit-exempt loopback of the report
OTHER = "10.1.2.3"


@pytest.fixture(scope="module")
def slotted_app(bundled_index: Path, embedder: Any) -> Flask:
    return create_app({"INDEX_DIR": str(bundled_index / "index"),
                       "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                       "CHAT_SLOTS": 2, "RATE_LIMIT_SEARCH": "100000/minute"})


def chat(app: Flask, address: str, headers: dict[str, str] | None = None) -> int:
    response = app.test_client().post("/api/chat", json=QUESTION, headers=headers or {},
                                      environ_base={"REMOTE_ADDR": address})
    return response.status_code


class Hog:
    """Eight threads chatting as fast as they can from the loopback."""

    def __init__(self, app: Flask, headers: dict[str, str] | None = None,
                 threads: int = 8) -> None:
        self.app, self.headers = app, headers
        self.stop = threading.Event()
        self.statuses: list[int] = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        while not self.stop.is_set():
            self.statuses.append(chat(self.app, HOG, self.headers))

    def __enter__(self) -> Hog:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def test_a_busy_client_cannot_starve_another(slotted_app: Flask) -> None:
    assert chat(slotted_app, OTHER) == 200  # warm: the first chat loads what it needs
    with Hog(slotted_app) as hog:
        while len(hog.statuses) < 8:  # the hog has filled both slots by now
            threading.Event().wait(0.05)
        others = [chat(slotted_app, OTHER) for _ in range(12)]
    assert others == [200] * 12
    assert 200 in hog.statuses and 503 in hog.statuses  # it got its share, and no more


def test_an_api_key_is_its_own_client(bundled_index: Path, embedder: Any) -> None:
    app = create_app({"INDEX_DIR": str(bundled_index / "index"),
                      "CORPUS_DIR": str(bundled_index / "corpus"), "EMBEDDER": embedder,
                      "CHAT_SLOTS": 2, "API_KEYS": "k-one,k-two",
                      "RATE_LIMIT_SEARCH": "100000/minute"})
    with Hog(app, {"X-API-Key": "k-one"}) as hog:
        while len(hog.statuses) < 8:
            threading.Event().wait(0.05)
        # the same address, another key: another client, with its own share
        others = [chat(app, HOG, {"X-API-Key": "k-two"}) for _ in range(6)]
    assert others == [200] * 6
    assert 200 in hog.statuses


# --- the slots themselves --------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def held(slots: Slots, *clients: str) -> ExitStack:
    """One slot held for each client named, until the returned stack closes."""
    stack = ExitStack()
    for client in clients:
        stack.enter_context(slots.hold(client))
    return stack


def test_a_client_alone_uses_every_slot() -> None:
    slots = Slots(2, "chats", wait_s=0)
    with held(slots, "a", "a"):
        with pytest.raises(ServerBusy, match=r"as many chats as it takes at once \(2 per"):
            with slots.hold("a"):
                pass


def test_with_two_clients_each_holds_half_and_the_share_comes_back() -> None:
    clock = Clock()
    slots = Slots(4, "chats", wait_s=0, window_s=10, clock=clock)
    with slots.hold("b"):
        with held(slots, "a", "a"):
            with pytest.raises(ServerBusy, match=r"its fair share of the chats the server "
                                                 r"answers at once \(2 of 4 per process\)"):
                with slots.hold("a"):
                    pass
    clock.now += 11  # b has not asked for longer than the window: a is alone again
    with held(slots, "a", "a", "a", "a"):
        pass


def test_a_slot_held_over_a_share_is_waited_for() -> None:
    slots = Slots(2, "chats", wait_s=5)
    release = threading.Event()
    got: list[str] = []

    def hog() -> None:
        with slots.hold("a"):
            release.wait(10)

    hogs = [threading.Thread(target=hog) for _ in range(2)]
    for thread in hogs:
        thread.start()
    while sum(slots._held.values()) < 2:
        threading.Event().wait(0.01)
    def wait_for_a_slot() -> None:
        with slots.hold("b"):
            got.append("b")

    waiter = threading.Thread(target=wait_for_a_slot)
    waiter.start()
    threading.Event().wait(0.1)
    with pytest.raises(ServerBusy, match="fair share"):  # a is over its share of one now
        with slots.hold("a"):
            pass
    release.set()
    waiter.join(10)
    for thread in hogs:
        thread.join(10)
    assert got == ["b"]
