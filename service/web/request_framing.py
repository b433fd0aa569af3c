"""Where an HTTP/1.x request ends, told from the bytes received so far. The serving
worker's event loop uses it to read a whole request before a thread serves it (issue
#23). It only frames: gunicorn's parser still validates every byte, so anything this
cannot frame is handed over as it stands, for gunicorn to refuse."""

from __future__ import annotations

from dataclasses import dataclass

HEAD_END = b"\r\n\r\n"
# gunicorn's 100 Continue, byte for byte (gunicorn/http/wsgi.py)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# a chunk-size or trailer line longer than this is no honest chunk
MAX_CHUNK_LINE = 4096


@dataclass(frozen=True)
class Framing:
    """How the body after a request's head is delimited."""

    kind: str  # "none", "length", "chunked", or "unframed": gunicorn will refuse the head
    length: int = 0  # the Content-Length, for "length"
    expects_continue: bool = False


def frame(head: bytes) -> Framing:
    """The framing a complete request head (through its blank line) declares."""
    lines = head.split(b"\r\n")
    http10 = lines[0].endswith(b"HTTP/1.0")
    lengths, codings, expects_continue = [], [], False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings += [c.strip().lower() for c in value.split(b",")]
        elif name == b"expect" and value.lower() == b"100-continue":
            expects_continue = not http10  # RFC 9110: ignored from an HTTP/1.0 client
    if codings:
        # any other coding, or a length as well, is a request gunicorn refuses
        if codings != [b"chunked"] or lengths:
            return Framing("unframed")
        return Framing("chunked", expects_continue=expects_continue)
    if not lengths:
        return Framing("none")
    if len(lengths) > 1 or not lengths[0].isdigit():
        return Framing("unframed")
    length = int(lengths[0])
    return Framing("length" if length else "none", length, expects_continue and length > 0)


class ChunkedScanner:
    """Follows a chunked body as it arrives, to tell where it ends."""

    def __init__(self) -> None:
        self.state = "size"  # "size", "data" or "trailer"
        self.line = bytearray()
        self.remaining = 0  # of the current chunk's data and its CRLF

    def feed(self, data: bytes) -> int | None:
        """The offset in `data` just past the body's end, or None while it goes on.
        Raises ValueError on a size line no chunked body has."""
        at = 0
        while at < len(data):
            if self.state == "data":
                taken = min(self.remaining, len(data) - at)
                at += taken
                self.remaining -= taken
                if not self.remaining:
                    self.state = "size"
                continue
            newline = data.find(b"\n", at)
            if newline < 0:
                self.line += data[at:]
                if len(self.line) > MAX_CHUNK_LINE:
                    raise ValueError("chunk line too long")
                return None
            self.line += data[at:newline + 1]
            at = newline + 1
            line = bytes(self.line).rstrip(b"\r\n")
            self.line.clear()
            if self.state == "trailer":
                if not line:
                    return at
                continue
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size < 0:
                raise ValueError("negative chunk size")
            self.state, self.remaining = ("data", size + 2) if size else ("trailer", 0)
        return None
