"""Command line of the producer and the Python reference consumer (tests/CONTRACT.md).

    python -m python_producer train NAME [--models DIR] [--epochs N] [--seed S]
    python -m python_producer train --model PATH [--version N] --data PATH --steps N
                                    [--batch-size B] [--learning-rate R]
                                    [--checkpoint-every K] [--checkpoint-dir DIR] [--resume]
                                    [--log-every L]
    python -m python_producer predict --model PATH [--version N] [--signature KEY]
                                      [--format saved_model|frozen]
                                      [--input FILE|-] [--output FILE|-]
    python -m python_producer inspect --model PATH [--version N] [--json]
    python -m python_producer serve-stdio --model PATH [--version N] [--format ...]
    python -m python_producer classify --model PATH [--version N] [--signature KEY]
                                       [--format ...] IMAGE [IMAGE ...]
    python -m python_producer generate --model PATH [--version N] [--signature KEY]
                                       [--format ...] --prefix TEXT [--length N]
    python -m python_producer bench --model PATH [--version N] [--signature KEY] [--format ...]
                                    [--batch-sizes 1,8,64,512,4096] [--seconds S]
                                    [--intra-op-threads N] [--inter-op-threads N]
    python -m python_producer import --name NAME [--models DIR] SOURCE [--requests FILE ...]
    python -m python_producer import --name NAME [--models DIR] --meta-graph FILE
                                     --checkpoint PREFIX
                                     (--inputs-collection C | --input ALIAS=TENSOR ...)
                                     (--outputs-collection C | --output ALIAS=TENSOR ...)
    python -m python_producer version
    python -m python_producer run-cases

Refusals print one line ``python_producer: error: ...`` on stderr and exit with status 2;
TensorFlow failing on a valid request exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from python_producer import __version__, tf_runtime
from python_producer.producer import importer
from python_producer.producer.models import ZOO, export_model
from python_producer.reference import conveniences, run_cases, training
from python_producer.reference.model_dir import resolve_version_dir
from python_producer.reference.predictor import Predictor, inspect
from python_producer.reference.status import EDGES, Code, StatusError, error
from python_producer.reference.tfjson import DEFAULT_MAX_REQUEST_BYTES
from python_producer.reference.verify import verify_version
from python_producer.tools import bench, soak

PROG = "python_producer"


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing a multi-line usage and exiting."""

    def error(self, message):  # noqa: D102 - argparse hook
        raise StatusError(message)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, allow_abbrev=False, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser(
        "train", allow_abbrev=False, help="train a model and export a new version"
    )
    train.add_argument("model_name", nargs="?", choices=sorted(ZOO))
    train.add_argument(
        "--models", default="models", help="base folder of the models (default: models)"
    )
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--seed", type=int, default=None)
    # The training loop on an exported model (tests/CONTRACT.md, "Training").
    train.add_argument("--model", help="a model or version folder with a training section")
    train.add_argument("--version", type=int, default=None)
    train.add_argument("--data", help="a CSV shard or a folder of them")
    train.add_argument("--steps", type=int)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", default=None, metavar="R")
    train.add_argument("--checkpoint-every", type=int, default=None)
    train.add_argument("--checkpoint-dir", default=None)
    train.add_argument("--resume", action="store_true", default=None)
    train.add_argument("--log-every", type=int, default=None)
    train.add_argument("--skip-verification", action="store_true", default=None)
    train.add_argument("--allow-op", action="append", default=None, metavar="NAME")

    def model_args(p, with_format=True):
        p.add_argument("--model", required=True, help="models/<name> or a version folder")
        p.add_argument("--version", type=int, default=None, help="version (default: highest)")
        if with_format:
            p.add_argument("--format", default="saved_model", help="saved_model or frozen")
            p.add_argument(
                "--skip-verification",
                action="store_true",
                help="load without checking the files against manifest.json",
            )
            p.add_argument(
                "--allow-op",
                action="append",
                default=[],
                metavar="NAME",
                help="accept an unsafe op",
            )

    def limit_arg(p):
        p.add_argument(
            "--max-request-bytes",
            type=_positive_int("--max-request-bytes"),
            default=DEFAULT_MAX_REQUEST_BYTES,
            metavar="N",
            help="refuse a request body (serve-stdio: a line) larger than N bytes",
        )

    predict = sub.add_parser("predict", allow_abbrev=False, help="answer one predict request")
    limit_arg(predict)
    model_args(predict)
    predict.add_argument("--signature", default="serving_default")
    predict.add_argument("--input", default="-", help="request file, - for stdin")
    predict.add_argument("--output", default="-", help="response file, - for stdout")

    inspect = sub.add_parser("inspect", allow_abbrev=False, help="describe the signatures")
    model_args(inspect, with_format=False)
    inspect.add_argument("--json", action="store_true")

    serve = sub.add_parser("serve-stdio", allow_abbrev=False, help="one request per line on stdin")
    limit_arg(serve)
    model_args(serve)
    serve.add_argument("--signature", default="serving_default")

    classify = sub.add_parser(
        "classify", allow_abbrev=False, help="classify encoded image files (e.g. PNG)"
    )
    model_args(classify)
    classify.add_argument("--signature", default="serving_default")
    classify.add_argument("images", nargs="+", metavar="IMAGE")

    generate = sub.add_parser("generate", allow_abbrev=False, help="continue a text prefix")
    model_args(generate)
    generate.add_argument("--signature", default="generate")
    generate.add_argument("--prefix", required=True)
    generate.add_argument("--length", type=int, default=100)

    bench = sub.add_parser("bench", allow_abbrev=False, help="time predictions in-process")
    model_args(bench)
    bench.add_argument("--signature", default="serving_default")
    bench.add_argument("--batch-sizes", default="1,8,64,512,4096")
    bench.add_argument("--seconds", type=float, default=2.0)
    bench.add_argument("--intra-op-threads", type=int, default=0)
    bench.add_argument("--inter-op-threads", type=int, default=0)
    soak = sub.add_parser("soak", allow_abbrev=False, help="measure resident memory growth")
    model_args(soak)
    soak.add_argument("--signature", default="serving_default")
    soak.add_argument("--input", default="-", help="request file, - for stdin")
    soak.add_argument("--predictions", type=_positive_int("--predictions"), default=100_000)
    soak.add_argument("--load-cycles", type=_positive_int("--load-cycles"), default=200)
    imp = sub.add_parser(
        "import", allow_abbrev=False, help="import a model made elsewhere as a new version"
    )
    imp.add_argument("source", nargs="?", help="a SavedModel folder, a .keras file or a .pb")
    imp.add_argument("--name", required=True, help="the model's folder name under --models")
    imp.add_argument("--models", default="models", help="base folder (default: models)")
    imp.add_argument(
        "--requests", nargs="+", default=[], metavar="FILE", help="example predict requests"
    )
    imp.add_argument("--meta-graph", help="a TF1 MetaGraph (.meta) written by a Saver")
    imp.add_argument("--checkpoint", help="the Saver's checkpoint prefix for --meta-graph")
    imp.add_argument("--inputs-collection", help="graph collection holding the input tensors")
    imp.add_argument("--outputs-collection", help="graph collection holding the output tensors")
    imp.add_argument("--input", action="append", default=[], metavar="ALIAS=TENSOR")
    imp.add_argument("--output", action="append", default=[], metavar="ALIAS=TENSOR")
    imp.add_argument("--seed", type=int, default=1, help="seed of the generated requests")
    imp.add_argument("--allow-op", action="append", default=[], metavar="NAME")
    sub.add_parser("version", allow_abbrev=False, help="print the consumer and TensorFlow versions")
    sub.add_parser(
        "run-cases", allow_abbrev=False, help="test mode: one JSON case per line (CONTRACT.md)"
    )
    return parser


def _positive_int(flag: str):
    """An argparse ``type`` accepting a positive integer, refusing anything else by name."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive integer, got {text!r}")
        return value

    return parse


def _too_large(limit: int) -> StatusError:
    return error("request_too_large", limit=limit)


def _read_input(name: str, limit: int = DEFAULT_MAX_REQUEST_BYTES) -> bytes:
    """The request body from ``name`` (``-``: stdin), reading at most ``limit`` + 1 bytes.

    Raises:
        StatusError: unreadable, or larger than ``limit`` bytes.
    """
    try:
        if name == "-":
            body = sys.stdin.buffer.read(limit + 1)
        else:
            with open(name, "rb") as stream:
                body = stream.read(limit + 1)
    except OSError as exc:
        code = Code.NOT_FOUND if isinstance(exc, FileNotFoundError) else Code.INVALID_ARGUMENT
        raise StatusError(f"cannot read --input {name}: {exc.strerror}", code) from None
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _lines(stream, limit: int):
    """Yield each line of ``stream`` without its newline, or None for a line over ``limit``
    bytes, whose rest is skipped in bounded pieces (never held whole)."""
    while True:
        line = stream.readline(limit + 2)
        if not line:
            return
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
            yield line if len(line) <= limit else None
            continue
        if len(line) <= limit:  # the last line, without a newline
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(1 << 20)
        yield None


def _write_output(name: str, text: str) -> None:
    if name == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StatusError(f"cannot write --output {name}: {exc.strerror}") from None


def _version_to_run(args) -> str:
    """Resolve ``--model``/``--version`` and verify the folder unless --skip-verification."""
    version_dir = resolve_version_dir(args.model, args.version)
    if not args.skip_verification:
        verify_version(version_dir)
    return version_dir


def _predictor(args, keys: list[str] | None = None):
    """A Predictor for ``--model``; ``keys`` are the signatures it may run (None: all)."""
    return Predictor(_version_to_run(args), args.format, frozenset(args.allow_op), keys)


def _run(args) -> int:
    if args.command == "run-cases":
        return run_cases.serve(run, sys.stdin.buffer)
    if args.command == "version":
        print(f"{PROG} {__version__} TensorFlow {tf_runtime.tf_version()}")
        return 0
    if args.command == "import":
        return _import(args)
    if args.command == "train" and args.model is not None:
        return _train_loop(args)
    if args.command == "train":
        if args.model_name is None:
            raise StatusError("train needs a zoo model NAME, or --model PATH --data PATH --steps N")
        loop_flags = [n for n in ("data", "steps", "version", *_LOOP_OPTIONS) if getattr(args, n)]
        if loop_flags:
            flag = "--" + loop_flags[0].replace("_", "-")
            raise StatusError(f"{flag} applies to train --model PATH, not to a zoo model NAME")
        path = export_model(args.model_name, Path(args.models), run, args.epochs, args.seed)
        print(f"exported {path}")
        return 0
    if args.command == "inspect":
        sys.stdout.write(inspect(resolve_version_dir(args.model, args.version), args.json))
        return 0
    if args.command == "predict":
        if args.format not in ("saved_model", "frozen"):
            raise StatusError(f'unknown --format "{args.format}"; expected saved_model or frozen')
        body = _read_input(args.input, args.max_request_bytes)
        predictor = _predictor(args)
        try:
            response = predictor.predict(body, args.signature)
        finally:
            predictor.close()
        _write_output(args.output, response + "\n")
        return 0
    if args.command == "serve-stdio":
        predictor = _predictor(args)
        try:
            for line in _lines(sys.stdin.buffer, args.max_request_bytes):
                if line is not None and not line.strip():
                    continue
                try:
                    if line is None:
                        raise _too_large(args.max_request_bytes)
                    response = predictor.predict(line, args.signature)
                except StatusError as exc:
                    response = json.dumps({"error": str(exc)})
                except Exception as exc:  # noqa: BLE001 - TF failures become error lines
                    response = json.dumps({"error": _one_line(exc)})
                sys.stdout.write(response + "\n")
                sys.stdout.flush()
        finally:
            predictor.close()
        return 0
    if args.command == "soak":
        body = _read_input(args.input)
        result = soak.soak(
            lambda: _predictor(args, [args.signature]),
            body,
            args.signature,
            args.predictions,
            args.load_cycles,
        )
        head = {
            "runtime": "python",
            "tensorflow_version": tf_runtime.tf_version(),
            "model": str(resolve_version_dir(args.model, args.version)),
            "signature": args.signature,
            "format": args.format,
        }
        print(json.dumps({**head, **result}))
        return 0
    if args.command == "bench":
        result = bench.bench(
            _version_to_run(args),
            args.signature,
            args.format,
            bench.parse_batch_sizes(args.batch_sizes),
            args.seconds,
            args.intra_op_threads,
            args.inter_op_threads,
            frozenset(args.allow_op),
        )
        print(bench.to_json(result))
        return 0
    if args.command in ("classify", "generate"):
        predictor = _predictor(args, [args.signature])
        try:
            if args.command == "classify":
                sys.stdout.write(conveniences.classify(predictor, args.signature, args.images))
            else:
                text = conveniences.generate(predictor, args.signature, args.prefix, args.length)
                sys.stdout.flush()
                sys.stdout.buffer.write(text)
        finally:
            predictor.close()
        return 0
    raise StatusError(f"unknown command {args.command}")


#: ``train --model`` flags that have a default in :class:`training.TrainOptions`.
_LOOP_OPTIONS = (
    "skip_verification",
    "allow_op",
    "batch_size",
    "learning_rate",
    "checkpoint_every",
    "checkpoint_dir",
    "resume",
    "log_every",
)


def _train_loop(args) -> int:
    if args.model_name is not None:
        raise StatusError("give either a zoo model NAME or --model PATH, not both")
    for flag, value in (("--data", args.data), ("--steps", args.steps)):
        if value is None:
            raise StatusError(f"train --model needs {flag}")
    given = {name: getattr(args, name) for name in _LOOP_OPTIONS}
    options = training.TrainOptions(
        steps=args.steps, **{k: v for k, v in given.items() if v is not None}
    )
    training.train(args.model, args.data, options, args.version)
    return 0


_TF_FRAMING = ("Graph execution error:", "Detected at node", "<stack traces unavailable>")


def _import(args) -> int:
    source = importer.resolve_source(
        args.source,
        args.meta_graph,
        args.checkpoint,
        args.input,
        args.output,
        args.inputs_collection,
        args.outputs_collection,
    )
    path, lines = importer.import_model(
        Path(args.models),
        args.name,
        source,
        args.requests,
        args.seed,
        frozenset(args.allow_op),
        run,
    )
    print(f"imported {source.path} -> {path} (TensorFlow {tf_runtime.tf_version()})")
    for line in lines:
        print(line)
    return 0


def _one_line(exc: BaseException) -> str:
    text = [line.strip() for line in str(exc).strip().splitlines()]
    # TensorFlow's OpError text frames the kernel's message with "Graph execution error:",
    # "Detected at node ..." and "[[{{node ...}}]]" lines; keep the message itself.
    core = [t for t in text if t and not t.startswith(_TF_FRAMING) and not t.startswith("[[")]
    text = core or text
    first = text[0] if text else type(exc).__name__
    if isinstance(exc, StatusError):
        return first
    return f"{type(exc).__name__}: {first}"


def run(argv: list[str] | None = None) -> tuple[int, str]:
    """Run the command line; return its exit status and the canonical code of its error.

    The edge of tests/CONTRACT.md, "Errors": a :class:`StatusError` is written as one line and
    its code gives the exit status (tests/cases/messages.json); any other exception (TensorFlow
    failing to run a valid request) is ``INTERNAL``. The code is ``"OK"`` after success.
    """
    tf_runtime.quiet_native_stderr()
    try:
        args = _build_parser().parse_args(argv)
        return _run(args), "OK"
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130, "CANCELLED"
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        code = exc.code if isinstance(exc, StatusError) else Code.INTERNAL
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EDGES[code].exit_status, code.value


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit status (:func:`run`'s)."""
    return run(argv)[0]
