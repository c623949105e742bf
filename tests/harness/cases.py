"""The shared case files of tests/cases/, turned into concrete command lines and bytes here, once.

Every test that uses a case (the refusal tests of each consumer, the server's refusal tests)
takes it from this module; the consumers' own unit tests do not read the case files.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.harness.consumers import MODELS, ROOT

CASES_DIR = ROOT / "tests" / "cases"
#: tests/cases/bad_requests.json's cases (its "description" says what each field means).
BAD_REQUESTS: list[dict] = json.loads((CASES_DIR / "bad_requests.json").read_text())["cases"]
#: tests/cases/bad_imports.json's cases: refusals of ``python -m python_producer import``.
BAD_IMPORTS: list[dict] = json.loads((CASES_DIR / "bad_imports.json").read_text())["cases"]


def bad_request_model(case: dict, tmp_path: Path) -> str:
    """The ``--model`` of a bad-request case: a folder of models/, or ``model_path`` as given
    (``@missing``: a path that does not exist; ``@empty_dir``: a new empty folder)."""
    if "model" in case:
        return str(MODELS / case["model"])
    if case["model_path"] == "@missing":
        return str(tmp_path / "does-not-exist")
    if case["model_path"] == "@empty_dir":
        empty = tmp_path / "empty"
        empty.mkdir()
        return str(empty)
    return case["model_path"]


def bad_request_body(case: dict) -> bytes:
    """The request bytes of a bad-request case (``body_base64``, ``json_depth``, ``body`` or
    ``request``, then ``body_padding`` spaces)."""
    if "body_base64" in case:
        return base64.b64decode(case["body_base64"])
    if "json_depth" in case:
        arrays = case["json_depth"] - 1
        return b'{"instances": ' + b"[" * arrays + b"1.0" + b"]" * arrays + b"}"
    body = (
        _long(case, case["body"]).encode()
        if "body" in case
        else json.dumps(case["request"]).encode()
    )
    return body + b" " * case.get("body_padding", 0)


def _long(case: dict, text: str) -> str:
    """``text`` with every ``@long`` replaced by the case's ``long`` value (if it has one)."""
    if "long" not in case:
        return text
    return text.replace("@long", case["long"]["char"] * case["long"]["length"])


def bad_request_args(case: dict, tmp_path: Path) -> list[str]:
    """The ``predict`` command line of a bad-request case."""
    args = [_long(case, a) for a in case.get("args", [])]
    return ["predict", "--model", bad_request_model(case, tmp_path), *args]
