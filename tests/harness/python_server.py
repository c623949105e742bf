"""The Python baseline of the load test: TensorFlow Serving's predict API on the Python reference
path (tests/CONTRACT.md, "Load test").

It answers ``POST /v1/models/NAME[/versions/V]:predict`` with the standard library's
``ThreadingHTTPServer`` and ``tensorflow.serving.PredictionService/Predict`` with grpcio's
server (the generated servicer of ``tensorflow-serving-api``), both through
:class:`python_producer.reference.predictor.Predictor` on the SavedModel: JSON goes through
``Predictor.predict`` exactly as the CLI's ``predict`` does; TensorProtos are converted with
``tf.make_ndarray`` / ``tf.make_tensor_proto`` and checked against the signature (dtype, input
aliases, rank and known dimensions) before the run. Only the latest complete version of each
model is served; there is no batching, no hot reloading and no metadata or status endpoint: it
exists to be measured beside ``go_consumer serve``, not deployed.

Run: ``python -m tests.harness.python_server --model-base-path models --model-name linear
--rest-port 0 --grpc-port 0``. Once loaded it prints, to stderr, the same ``serving the REST API
on http://HOST:PORT and the gRPC API on HOST:PORT (...)`` line as ``go_consumer serve``, and it
stops on SIGTERM or SIGINT (in-flight calls finish, then exit status 0).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from python_producer import tf_runtime
from python_producer.reference.model_dir import complete_versions
from python_producer.reference.predictor import Predictor
from python_producer.reference.status import StatusError
from python_producer.reference.tfjson import check_shape

_PREDICT_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:predict\Z")


class Servable:
    """The latest complete version of one model, loaded as a SavedModel.

    Raises:
        StatusError: the model folder has no complete version, or it cannot be loaded.
    """

    def __init__(self, model_dir: Path):
        versions = complete_versions(model_dir)
        if not versions:
            raise StatusError(f"{model_dir} has no complete version")
        self.name = model_dir.name
        self.version = versions[-1]
        self.predictor = Predictor(model_dir / str(self.version))


class Servables:
    """The models being served, by name."""

    def __init__(self, base: Path, names: list[str]):
        if not names:
            names = sorted(p.name for p in base.iterdir() if p.is_dir() and complete_versions(p))
        self.by_name = {name: Servable(base / name) for name in names}

    def find(self, name: str, version: str | int | None) -> Servable | None:
        """The servable of ``name`` if it exists and ``version`` (None or 0: any) is its own."""
        servable = self.by_name.get(name)
        if servable is None or (version and int(version) != servable.version):
            return None
        return servable


def _rest_handler(servables: Servables):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the Go server and its clients use
        # Headers and body are two writes: without TCP_NODELAY every keep-alive answer would
        # wait for the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:  # no access lines
            pass

        def _answer(self, code: int, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = _PREDICT_PATH.match(self.path)
            if not match:
                self._answer(404, '{"error": "unknown path"}')
                return
            servable = servables.find(match.group(1), match.group(2))
            if servable is None:
                self._answer(404, '{"error": "model or version not found"}')
                return
            try:
                self._answer(200, servable.predictor.predict(body))
            except StatusError as exc:
                self._answer(exc.edges.http_status, json.dumps({"error": str(exc)}))

    return Handler


def _grpc_status(exc: StatusError):
    """The gRPC status of an error, from its code (tests/cases/messages.json)."""
    import grpc

    return next(s for s in grpc.StatusCode if s.value[0] == exc.edges.grpc_code)


def _predict_servicer(servables: Servables):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    tf = tf_runtime.tf()
    types = tf_runtime.types_pb2()

    class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 - the service's method name
            spec = request.model_spec
            version = spec.version.value if spec.HasField("version") else None
            servable = servables.find(spec.name, version)
            if servable is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"model {spec.name!r} not found")
            key = spec.signature_name or "serving_default"
            try:
                in_specs, out_specs = servable.predictor.signature(key)
            except StatusError as exc:
                context.abort(_grpc_status(exc), str(exc))
            try:
                if set(request.inputs) != set(in_specs):
                    raise StatusError(
                        f"inputs {sorted(request.inputs)}, expected {sorted(in_specs)}"
                    )
                inputs = {}
                for alias, proto in request.inputs.items():
                    want = in_specs[alias]
                    got = types.DataType.Name(proto.dtype)
                    if got != want.dtype:
                        raise StatusError(f"input {want.describe()}: got dtype {got}")
                    try:
                        value = tf.make_ndarray(proto)
                    except Exception as exc:  # noqa: BLE001 - any unreadable TensorProto
                        raise StatusError(f"input {alias}: {exc}") from None
                    check_shape(value.shape, want)
                    inputs[alias] = value
            except StatusError as exc:
                context.abort(_grpc_status(exc), str(exc))
            outputs = servable.predictor.run(key, inputs)
            wanted = list(request.output_filter) or list(out_specs)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = servable.name
            response.model_spec.version.value = servable.version
            response.model_spec.signature_name = key
            for alias in wanted:
                response.outputs[alias].CopyFrom(tf.make_tensor_proto(outputs[alias]))
            return response

    return PredictionService()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; 0 then, 2 when a model cannot be loaded or a port bound."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.python_server")
    parser.add_argument("--model-base-path", type=Path, required=True)
    parser.add_argument("--model-name", action="append", default=[])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rest-port", type=int, default=8501)
    parser.add_argument("--grpc-port", type=int, default=8500)
    parser.add_argument("--threads", type=int, default=32, help="worker threads of each API")
    args = parser.parse_args(argv)
    tf_runtime.quiet_native_stderr()
    tf_runtime.tf()  # first: the contract's numeric settings must precede any TensorFlow import
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    try:
        servables = Servables(args.model_base_path, args.model_name)
    except (StatusError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.threads),
        options=[("grpc.max_receive_message_length", 64 << 20)],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        _predict_servicer(servables), grpc_server
    )
    grpc_port = grpc_server.add_insecure_port(f"{args.host}:{args.grpc_port}")
    try:
        httpd = ThreadingHTTPServer((args.host, args.rest_port), _rest_handler(servables))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.rest_port}: {exc}", file=sys.stderr)
        return 2
    httpd.daemon_threads = True
    if grpc_port == 0:
        print(f"error: cannot listen on {args.host}:{args.grpc_port}", file=sys.stderr)
        return 2
    grpc_server.start()
    rest = threading.Thread(target=httpd.serve_forever, daemon=True)
    rest.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    loaded = ", ".join(f"{s.name}/{s.version}" for s in servables.by_name.values())
    print(
        f"serving the REST API on http://{args.host}:{httpd.server_address[1]} and the gRPC API "
        f"on {args.host}:{grpc_port} (python baseline, TensorFlow {tf_runtime.tf_version()}, "
        f"{loaded})",
        file=sys.stderr,
        flush=True,
    )
    # Timed waits: the signal may be delivered to one of grpcio's or TensorFlow's threads, and
    # Python runs its handler only when the main thread next executes bytecode.
    while not stop.wait(0.2):
        pass
    httpd.shutdown()
    grpc_server.stop(grace=10).wait()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
