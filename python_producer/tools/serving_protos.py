"""The protocol of TensorFlow Serving's gRPC API, taken from the installed Python packages.

``python -m python_producer.tools.serving_protos --out DIR --graft-dir GRAFT --go-package PREFIX``
writes, for ``go_consumer``'s build (go_consumer/Makefile, target ``internal/tfspb``):

* ``DIR/serving.protoset``: a ``FileDescriptorSet`` of ``tensorflow_serving/apis/
  prediction_service.proto`` and ``model_service.proto`` with every file they import, and of
  ``tensorflow/python/training/checkpoint_state.proto`` (the ``CheckpointState`` of ``train``'s
  state file), each copied from the ``DESCRIPTOR`` of the generated module that
  ``tensorflow-serving-api`` and ``tensorflow`` install (``FileDescriptor.CopyToProto``),
  dependencies first; no ``.proto`` file is copied from any repository.
* ``DIR/protoc.args``: the arguments of ``python -m grpc_tools.protoc @DIR/protoc.args`` (one per
  line, protoc's response-file format): ``--descriptor_set_in``, the plugins' ``M`` options that
  give every file its Go import path, and the files to generate.
* with ``--plugins TOOLS``, ``DIR/protoc-gen-go`` and ``DIR/protoc-gen-go-grpc``, which run
  ``TOOLS/protoc-gen-go`` and ``TOOLS/protoc-gen-go-grpc`` on protoc's request without its
  ``compiler_version`` (:func:`run_plugin`), named by ``--plugin`` options in ``protoc.args``:
  protoc comes from grpcio-tools, which is not pinned, and its version is the one thing of it
  that the generated code would carry (``// protoc (unknown)`` instead), so the committed code
  is the same on every machine.

Only the ``tensorflow_serving/`` files (under PREFIX/<dir>, e.g. ``PREFIX/apis``) and
:data:`OWN_FILES` (under PREFIX/<its folder>) are generated.  The other TensorFlow core files
(``tensorflow/core/...``, ``xla/tsl/...``) map to the packages that ``github.com/wamuir/graft``
already generated and links into the binary (found by the ``// source:`` line of each of
graft's ``.pb.go`` files): protobuf-go refuses to register one file or message name twice, so
the serving files must reuse graft's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from python_producer.tf_runtime import quiet_native_stderr

#: The modules whose services go_consumer serve implements, and the CheckpointState of train.
SERVICE_MODULES = (
    "tensorflow_serving.apis.prediction_service_pb2",
    "tensorflow_serving.apis.model_service_pb2",
    "tensorflow.python.training.checkpoint_state_pb2",
)

#: TensorFlow files that graft does not generate, generated here: file -> folder under PREFIX.
OWN_FILES = {"tensorflow/python/training/checkpoint_state.proto": "checkpointstate"}

#: Files graft generated under an older path: TensorFlow 2.21 moved tsl's protos under xla/.
GRAFT_ALIASES = {"xla/tsl/protobuf/error_codes.proto": "tsl/protobuf/error_codes.proto"}

_SOURCE_LINE = re.compile(r"^// source: (\S+)$", re.MULTILINE)
_GO_PACKAGE = re.compile(r"^package \w+", re.MULTILINE)


def collect(modules=SERVICE_MODULES):
    """Every FileDescriptorProto the services need, dependencies before dependents."""
    from google.protobuf import descriptor_pb2

    ordered: dict[str, object] = {}

    def walk(fd) -> None:
        if fd.name in ordered:
            return
        for dep in fd.dependencies:
            walk(dep)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        ordered[fd.name] = proto

    for name in modules:
        walk(importlib.import_module(name).DESCRIPTOR)
    files = descriptor_pb2.FileDescriptorSet()
    files.file.extend(ordered.values())
    return files


def graft_packages(graft_dir: Path) -> dict[str, str]:
    """proto file path -> Go import path of graft's generated package for it."""
    found: dict[str, str] = {}
    for pb in sorted(graft_dir.rglob("*.pb.go")):
        if pb.name.endswith("_grpc.pb.go"):
            continue
        head = pb.read_text(encoding="utf-8", errors="replace")[:4000]
        m = _SOURCE_LINE.search(head)
        if m and _GO_PACKAGE.search(head):
            rel = pb.parent.relative_to(graft_dir).as_posix()
            found.setdefault(m.group(1), f"github.com/wamuir/graft/{rel}")
    return found


def go_packages(files, graft_dir: Path, prefix: str) -> tuple[dict[str, str], list[str]]:
    """The Go import path of every file, and the files to generate (the serving ones)."""
    graft = graft_packages(graft_dir)
    mapping: dict[str, str] = {}
    generate: list[str] = []
    for f in files.file:
        if f.name.startswith("tensorflow_serving/"):
            sub = Path(f.name).parent.relative_to("tensorflow_serving").as_posix()
            mapping[f.name] = f"{prefix}/{sub}"
            generate.append(f.name)
        elif f.name in OWN_FILES:
            mapping[f.name] = f"{prefix}/{OWN_FILES[f.name]}"
            generate.append(f.name)
        elif f.name.startswith("google/protobuf/"):
            mapping[f.name] = f.options.go_package.split(";")[0]
        else:
            where = graft.get(f.name) or graft.get(GRAFT_ALIASES.get(f.name, ""))
            if where is None:
                raise SystemExit(
                    f"serving_protos: {f.name} has no generated package in {graft_dir}; "
                    "add it to GRAFT_ALIASES or generate it"
                )
            mapping[f.name] = where
    return mapping, generate


#: The plugins run through :func:`run_plugin` (``--plugins``).
PLUGINS = ("protoc-gen-go", "protoc-gen-go-grpc")

_ROOT = Path(__file__).resolve().parents[2]


def run_plugin(plugin: str) -> int:
    """Run the protoc plugin ``plugin`` on the request on stdin, less its ``compiler_version``.

    The plugins then write ``protoc (unknown)`` in each file's header instead of the version of
    grpcio-tools' protoc; nothing else of what they write depends on protoc's version.
    """
    from google.protobuf.compiler import plugin_pb2

    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    request.ClearField("compiler_version")
    done = subprocess.run([plugin], input=request.SerializeToString(), stdout=subprocess.PIPE)
    sys.stdout.buffer.write(done.stdout)
    return done.returncode


def _plugin_script(plugin: Path) -> str:
    """A shell script that protoc runs as ``plugin``: :func:`run_plugin` in this interpreter."""
    code = "import sys; from python_producer.tools.serving_protos import run_plugin; "
    code += "sys.exit(run_plugin(sys.argv[1]))"
    return (
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(_ROOT))}; export PYTHONPATH\n"
        f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)} {shlex.quote(str(plugin))}\n"
    )


def main(argv=None) -> int:
    """Write serving.protoset, protoc.args and the plugin scripts (see the module's docstring)."""
    ap = argparse.ArgumentParser(
        prog="python -m python_producer.tools.serving_protos", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--out", required=True, type=Path, help="folder of the two outputs")
    ap.add_argument("--graft-dir", required=True, type=Path, help="graft's module folder")
    ap.add_argument("--go-package", required=True, help="Go import path prefix to generate under")
    ap.add_argument("--go-out", required=True, help="protoc's --go_out/--go-grpc_out folder")
    ap.add_argument(
        "--plugins",
        type=Path,
        help="folder of protoc-gen-go and protoc-gen-go-grpc (run without "
        "protoc's version); without it protoc finds them on PATH",
    )
    args = ap.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_native_stderr()  # tensorflow's generated modules import tensorflow, which logs natively
    files = collect()
    mapping, generate = go_packages(files, args.graft_dir, args.go_package)
    args.out.mkdir(parents=True, exist_ok=True)
    protoset = args.out / "serving.protoset"
    protoset.write_bytes(files.SerializeToString(deterministic=True))
    lines = [f"--descriptor_set_in={protoset}"]
    for name in PLUGINS if args.plugins else ():
        script = args.out / name
        script.write_text(_plugin_script((args.plugins / name).resolve()), encoding="utf-8")
        script.chmod(0o755)
        lines.append(f"--plugin={name}={script}")
    for name, pkg in mapping.items():
        lines.append(f"--go_opt=M{name}={pkg}")
        lines.append(f"--go-grpc_opt=M{name}={pkg}")
    module = args.go_package.split("/internal/")[0]
    lines += [
        f"--go_out={args.go_out}",
        f"--go_opt=module={module}",
        f"--go-grpc_out={args.go_out}",
        f"--go-grpc_opt=module={module}",
        *generate,
    ]
    (args.out / "protoc.args").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"serving_protos: {len(files.file)} files in {protoset}, {len(generate)} to generate",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
