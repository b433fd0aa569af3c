"""A client socket that first gives back a request the worker's event loop has already
read, then reads on from the real socket. gunicorn's parser and response see it as the
socket itself (issue #23)."""

from __future__ import annotations

import socket
from typing import IO, Any

from service.web.request_framing import CONTINUE


class ReplaySocket:
    """The client socket, with the bytes already read from it put back in front."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.spool: IO[bytes] | None = None  # the buffered request, read from the start
        self.excess = b""  # what the client sent after it (a pipelined request)
        self.continue_sent = False

    def replay(self, spool: IO[bytes], excess: bytes, continue_sent: bool) -> None:
        """Serve `spool` and then `excess` before anything more from the socket."""
        spool.seek(0)
        self.spool, self.excess, self.continue_sent = spool, excess, continue_sent

    def take_unread(self) -> bytes:
        """What was put back and not read yet; the socket reads on from there."""
        rest = b""
        if self.spool is not None:
            rest = self.spool.read()
            self.close_spool()
        rest, self.excess = rest + self.excess, b""
        return rest

    def close_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def recv(self, size: int, *flags: int) -> bytes:
        """The replayed bytes first, then the socket's."""
        if self.spool is not None:
            data = self.spool.read(size)
            if data:
                return data
            self.close_spool()
        if self.excess:
            data, self.excess = self.excess[:size], self.excess[size:]
            return data
        return self.sock.recv(size, *flags)

    def send(self, data: bytes, *flags: int) -> int:
        # The event loop has already told the client to go on and received the body, so
        # gunicorn's own 100 Continue would come after it: swallow that one.
        if self.continue_sent and bytes(data) == CONTINUE:
            self.continue_sent = False
            return len(data)
        return self.sock.send(data, *flags)

    def close(self) -> None:
        self.close_spool()
        self.sock.close()

    def __getattr__(self, name: str) -> Any:
        # everything else (sendall, sendfile, fileno, setblocking, ...) is the socket's
        return getattr(self.sock, name)
