"""The serving worker (`make run`): gunicorn's gthread worker, except that its event loop
reads each request whole, line, headers and body, before a thread serves it (issue #23).

gthread hands a connection to a thread as soon as its first byte is readable, and the
thread then blocks reading the rest: eight clients sending their headers a byte a second
held all of a worker's threads. Here the event loop buffers without blocking, with a
deadline for the head (HEADER_TIMEOUT_S) and a minimum average rate for the body
(BODY_MIN_RATE_KBPS, after a grace of HEADER_TIMEOUT_S), and answers 408 and closes a
connection that falls behind. A request on a kept-alive connection is read the same way.
TLS and HTTP/2 connections keep gthread's own reading: `make run` serves neither."""

from __future__ import annotations

import selectors
import socket
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import TConn, ThreadWorker

from service.config import load_config
from service.web.replay_socket import ReplaySocket
from service.web.request_framing import CONTINUE, HEAD_END, ChunkedScanner, Framing, frame

KIB = 1024
READ_SIZE = 256 * KIB
SPOOL_IN_MEMORY = 1024 * KIB  # a longer body waits in a temporary file, not in memory


@dataclass
class Arrival:
    """A request still arriving on one connection."""

    started: float
    head: bytearray = field(default_factory=bytearray)
    framing: Framing | None = None  # known once the head is complete
    spool: IO[bytes] | None = None  # the head and the body received so far
    body_started: float = 0.0
    body_received: int = 0
    scanner: ChunkedScanner | None = None
    excess: bytes = b""  # bytes past the request's end: the next, pipelined request
    continue_sent: bool = False
    watched: bool = False  # registered with the poller


def refusal(status: str, message: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    body = (f'{{"error": {{"code": "{status.split(" ", 1)[1].lower().replace(" ", "_")}", '
            f'"message": "{message}"}}}}\n').encode()
    return (f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class WholeRequestWorker(ThreadWorker):
    """gthread, with whole requests read in the event loop before a thread serves them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = load_config()
        self.header_timeout = float(settings["HEADER_TIMEOUT_S"])
        self.body_min_rate = float(settings["BODY_MIN_RATE_KBPS"]) * KIB
        self.upload_mb = int(settings["MAX_UPLOAD_MB"])
        # the app refuses anything longer anyway; this refuses it without reading it
        self.body_limit = max(self.upload_mb * KIB * KIB, int(settings["MAX_BODY_KB"]) * KIB)
        cfg = self.cfg
        # past gunicorn's own limits on the request line and headers (0 means its
        # default), so gunicorn's parser refuses a longer head, with its own message
        self.head_limit = (max(cfg.limit_request_line, 8190) + 4 + max(
            cfg.limit_request_fields, 100) * (max(cfg.limit_request_field_size, 8190) + 2))
        self.arriving: dict[TConn, Arrival] = {}

    def enqueue_req(self, conn: TConn) -> None:
        """Read the connection's next request in the event loop, then hand it to a thread."""
        if (self.cfg.is_ssl or conn.is_http2
                or negotiation.prior_knowledge_allowed(self.cfg, conn.client)):
            super().enqueue_req(conn)
            return
        # what gunicorn read past the last request (a pipelined one) comes first
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        if not isinstance(conn.sock, ReplaySocket):
            conn.sock = ReplaySocket(conn.sock)
        conn.sock.setblocking(False)
        arrival = self.arriving[conn] = Arrival(time.monotonic())
        if leftover and self.take_or_refuse(conn, arrival, leftover):
            return
        self.poller.register(conn.sock.sock, selectors.EVENT_READ,
                             partial(self.on_request_bytes, conn))
        arrival.watched = True

    def on_request_bytes(self, conn: TConn, _sock: socket.socket) -> None:
        """Take what one read gives; the client closing means no request comes."""
        arrival = self.arriving.get(conn)
        if arrival is None:  # handed over or closed earlier in this round of events
            return
        try:
            data = conn.sock.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        self.take_or_refuse(conn, arrival, data)

    def take_or_refuse(self, conn: TConn, arrival: Arrival, data: bytes) -> bool:
        """take(), but a body that cannot be spooled (a full disk) is refused rather than
        raised: an error escaping the event loop would stop the whole worker."""
        try:
            return self.take(conn, arrival, data)
        except OSError as error:
            self.log.warning("could not buffer a request from %s: %s", conn.client, error)
            self.refuse(conn, "507 Insufficient Storage",
                        "no room to buffer the request; try again later")
            return True

    def take(self, conn: TConn, arrival: Arrival, data: bytes) -> bool:
        """Add bytes to the request; True once it has been handed over or refused."""
        if arrival.framing is None:
            searched = max(len(arrival.head) - len(HEAD_END) + 1, 0)
            arrival.head += data
            end = arrival.head.find(HEAD_END, searched)
            if end < 0:
                if len(arrival.head) > self.head_limit:  # gunicorn refuses it, whole
                    self.hand_over(conn, arrival)
                    return True
                return False
            end += len(HEAD_END)
            data = bytes(arrival.head[end:])
            if not self.start_body(conn, arrival, bytes(arrival.head[:end]), data):
                return True
            if not data:
                return False
        return self.take_body(conn, arrival, data)

    def start_body(self, conn: TConn, arrival: Arrival, head: bytes, rest: bytes) -> bool:
        """Note the head's framing; False when the request is already handed over or
        refused: it has no body, or one longer than the limit."""
        arrival.framing = framing = frame(head)
        arrival.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        arrival.spool.write(head)
        arrival.body_started = time.monotonic()
        if framing.kind in {"none", "unframed"}:
            arrival.excess = rest
            self.hand_over(conn, arrival)
            return False
        if framing.length > self.body_limit:
            self.refuse(conn, "413 Payload Too Large", self.too_large())
            return False
        if framing.kind == "chunked":
            arrival.scanner = ChunkedScanner()
        if framing.expects_continue and not rest:
            # the client waits for this before it sends the body
            try:
                arrival.continue_sent = conn.sock.sock.send(CONTINUE) == len(CONTINUE)
            except OSError:
                pass
        return True

    def take_body(self, conn: TConn, arrival: Arrival, data: bytes) -> bool:
        """Add body bytes; hand the request over at its end."""
        assert arrival.framing is not None and arrival.spool is not None
        end: int | None
        if arrival.scanner is None:
            needed = arrival.framing.length - arrival.body_received
            end = needed if needed <= len(data) else None
        else:
            try:
                end = arrival.scanner.feed(data)
            except ValueError:  # a chunk gunicorn will refuse: hand it over as it is
                end = len(data)
        body = data if end is None else data[:end]
        arrival.spool.write(body)
        arrival.body_received += len(body)
        if arrival.body_received > self.body_limit:
            self.refuse(conn, "413 Payload Too Large", self.too_large())
            return True
        if end is None:
            return False
        arrival.excess = data[end:]
        self.hand_over(conn, arrival)
        return True

    def too_large(self) -> str:
        return (f"request larger than {self.upload_mb} MiB (PLANSEARCH_MAX_UPLOAD_MB); "
                "nothing was written")

    def hand_over(self, conn: TConn, arrival: Arrival) -> None:
        """Give the whole request to a thread, which reads it from the buffer."""
        self.forget(conn, arrival)
        spool = arrival.spool
        if spool is None:  # a head past every limit: gunicorn refuses it
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
            spool.write(arrival.head)
        conn.sock.replay(spool, arrival.excess, arrival.continue_sent)
        conn.data_ready = True  # so the thread does not wait for the socket
        super().enqueue_req(conn)

    def handle(self, conn: TConn) -> Any:
        """Serve one request in a thread. Bytes past it go back to gunicorn's parser,
        where the worker looks for a pipelined request before waiting on the socket."""
        result = super().handle(conn)
        if isinstance(conn.sock, ReplaySocket):
            unread = conn.sock.take_unread()
            if unread and result and conn.parser is not None:
                unreader = conn.parser.unreader
                unreader.unread(unreader.take_buffered() + unread)
        return result

    def murder_pending(self) -> None:
        """gthread's idle-connection sweep, then the cut-off of requests arriving too slowly."""
        super().murder_pending()
        now = time.monotonic()
        for conn, arrival in list(self.arriving.items()):
            if not self.alive and not arrival.head:  # a stopping worker waits for no one
                self.drop(conn)
            elif arrival.framing is None and now - arrival.started > self.header_timeout:
                self.refuse(conn, "408 Request Timeout",
                            f"request line and headers not received within "
                            f"{self.header_timeout:g} s")
            elif arrival.framing is not None and self.body_too_slow(arrival, now):
                self.refuse(conn, "408 Request Timeout",
                            f"request body arriving slower than "
                            f"{self.body_min_rate / KIB:g} KiB/s")

    def body_too_slow(self, arrival: Arrival, now: float) -> bool:
        """Whether the body's average rate, after a grace of the header timeout, is
        below the minimum."""
        owed = self.body_min_rate * (now - arrival.body_started - self.header_timeout)
        return arrival.body_received < owed

    def refuse(self, conn: TConn, status: str, message: str) -> None:
        """Answer with `status` if the socket takes it at once, and close."""
        self.log.info("closed a slow or oversized request from %s: %s %s",
                      conn.client, status, message)
        try:
            conn.sock.sock.send(refusal(status, message))
        except OSError:
            pass  # the client is gone or its window is full: closing says enough
        self.drop(conn)

    def drop(self, conn: TConn) -> None:
        """Close a connection whose request never came whole."""
        arrival = self.arriving.get(conn)
        if arrival is not None:
            self.forget(conn, arrival)
            if arrival.spool is not None:
                arrival.spool.close()
        self.nr_conns -= 1
        conn.close()

    def forget(self, conn: TConn, arrival: Arrival) -> None:
        self.arriving.pop(conn, None)
        if arrival.watched:
            arrival.watched = False
            try:
                self.poller.unregister(conn.sock.sock)
            except (KeyError, ValueError, OSError):
                pass  # already closed
