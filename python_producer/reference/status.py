"""The Python reference's one error type and the message catalog (tests/CONTRACT.md, "Errors").

Every error the reference raises for something the user gave (flags, requests, model folders,
data) is a :class:`StatusError` with one of TensorFlow's canonical codes
(``tensorflow/core/protobuf/error_codes.proto``). What the edges make of a code (the exit
status of the command line, the HTTP status of a REST answer, the gRPC status) is the table
``codes`` of ``tests/cases/messages.json``, which Go and Java read too; texts that more than
one language writes are its ``messages``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path

#: The error codes and the message catalog every consumer reads.
MESSAGES_FILE = Path(__file__).resolve().parents[2] / "tests" / "cases" / "messages.json"
_CATALOG = json.loads(MESSAGES_FILE.read_text(encoding="utf-8"))

#: The longest quoted value a message holds, in code points (tests/CONTRACT.md, "Errors").
EXCERPT_LIMIT = 200

#: TensorFlow's canonical error codes that the contract uses (``codes`` of messages.json).
Code = enum.Enum("Code", {name: name for name in _CATALOG["codes"]}, type=str)
Code.__doc__ = "A canonical error code of tests/cases/messages.json (``Code.NOT_FOUND``, ...)."


@dataclass(frozen=True)
class Edges:
    """What the edges derive from one code.

    Attributes:
        exit_status: the command line's exit status.
        http_status: the REST API's HTTP status.
        grpc_code: the gRPC status code number (``grpc.StatusCode`` value).
    """

    exit_status: int
    http_status: int
    grpc_code: int


EDGES: dict[Code, Edges] = {Code[name]: Edges(**e) for name, e in _CATALOG["codes"].items()}


class StatusError(Exception):
    """An error with a canonical code and a one-line message.

    Args:
        message: what was wrong and what was expected.
        code: its :data:`Code` (default ``INVALID_ARGUMENT``).
    """

    def __init__(self, message: str, code: Code = Code.INVALID_ARGUMENT):
        super().__init__(message)
        self.code = code

    @property
    def edges(self) -> Edges:
        """The exit, HTTP and gRPC statuses of :attr:`code`."""
        return EDGES[self.code]


def excerpt(value: str) -> str:
    """``value`` cut to its first :data:`EXCERPT_LIMIT` code points plus ``... (N characters)``
    when longer, so that no message grows with its input (tests/CONTRACT.md, "Errors")."""
    if len(value) <= EXCERPT_LIMIT:
        return value
    return f"{value[:EXCERPT_LIMIT]}... ({len(value)} characters)"


def error(message_id: str, **values: object) -> StatusError:
    """The catalog's message ``message_id`` with its ``{name}`` placeholders filled.

    Each value is written with ``str`` and bounded by :func:`excerpt`; the code is the
    message's own.

    Raises:
        KeyError: ``message_id`` is not in tests/cases/messages.json, or a placeholder of its
            template has no value.
    """
    entry = _CATALOG["messages"][message_id]
    text = entry["template"].format_map({k: excerpt(str(v)) for k, v in values.items()})
    return StatusError(text, Code[entry["code"]])
