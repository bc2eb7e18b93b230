"""Which failures are the request's fault, and how ``mmnet-edge serve`` answers them.

PyTriton turns any exception raised by a bound function into a Triton ``INTERNAL`` error for
*every* request of the batch it ran (HTTP 500, gRPC ``INTERNAL``; a function has no way to
pick a status). So the models catch the request's own faults themselves and answer each
request on its own, in two extra outputs that every reply carries:

* ``status`` INT32: :data:`OK` (200), or :data:`BAD_REQUEST` (400) for a bad input —
  undecodable image, wrong size or pixel type, colour/grey mix, NaN/Inf tensor, a face box
  outside the image (:class:`InputError`), or no face found (:class:`AlignmentError` /
  :class:`NoFaceError`);
* ``error`` BYTES: ``""``, or JSON ``{"status": 400, "type": "NoFaceError", "message": …}``.

Other outputs of a refused request are placeholders (NaN logits, index -1). Whatever else
fails (the backend, a missing detector, a closed runtime) is the server's fault and still
raises: Triton answers it 500/``INTERNAL``. Pure functions (no PyTriton), so the mapping is
tested without a server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mmnet_edge.errors import (
    AlignmentError,
    DetectorUnavailableError,
    InputError,
    MMNetEdgeError,
    NoFaceError,
)

OK = 200
BAD_REQUEST = 400

#: typed errors a client gets back, by the name a reply carries (most general first)
_CLIENT_ERRORS: dict[str, type[MMNetEdgeError]] = {
    "InputError": InputError,
    "AlignmentError": AlignmentError,
    "NoFaceError": NoFaceError,
}


@dataclass(frozen=True)
class ErrorReply:
    """A request refused for its own fault: HTTP-like ``status``, error ``type``, message."""

    status: int
    type: str
    message: str

    def to_bytes(self) -> bytes:
        return json.dumps(
            {"status": self.status, "type": self.type, "message": self.message}
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> ErrorReply:
        text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
        try:
            d = json.loads(text)
            return cls(int(d["status"]), str(d["type"]), str(d["message"]))
        except (ValueError, KeyError, TypeError):
            return cls(BAD_REQUEST, "InputError", text)


def status_of(exc: BaseException) -> int | None:
    """:data:`BAD_REQUEST` when ``exc`` is the request's fault, ``None`` when it is the
    server's (a detector that is not installed, a runtime closed by shutdown, a backend
    failure, any other exception)."""
    from mmnet_edge.runtime.runner import RunnerClosedError

    if isinstance(exc, (DetectorUnavailableError, RunnerClosedError)):
        return None
    if isinstance(exc, (InputError, AlignmentError)):
        return BAD_REQUEST
    return None


def reply_for(exc: BaseException) -> ErrorReply | None:
    """The reply refusing a request for ``exc``, or ``None``: re-raise, the server failed."""
    status = status_of(exc)
    if status is None:
        return None
    # the nearest public type (a runner's own InputError subclass travels as InputError)
    kind = next(n for n, t in reversed(_CLIENT_ERRORS.items()) if isinstance(exc, t))
    return ErrorReply(status, kind, str(exc))


def raise_reply(status: int, error: bytes | str, where: str) -> None:
    """Client side: nothing for :data:`OK`; otherwise the typed error the server refused the
    request with (:class:`NoFaceError`, :class:`AlignmentError` or :class:`InputError`)."""
    if int(status) == OK:
        return
    reply = ErrorReply.from_bytes(error)
    cls = _CLIENT_ERRORS.get(reply.type, InputError)
    raise cls(f"server refused the request to {where} ({reply.status}): {reply.message}")


__all__ = ["BAD_REQUEST", "OK", "ErrorReply", "raise_reply", "reply_for", "status_of"]
