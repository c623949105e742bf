"""The Python reference consumer (tests/CONTRACT.md): reading model folders (``model_dir``) and
writing versions (``version_writer``), the REST JSON codec (``tfjson``), errors and messages
(``status``), verification against the manifest (``verify``), the unsafe-op scan (``ops``), the
predictor (``predictor``), the training loop (``training``), the conveniences and the case
runner. It depends on nothing else of the package; the producer and the tools build on it.
"""
