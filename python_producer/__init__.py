"""Python producer and reference consumer of the polyglot TensorFlow model-interchange repo.

``python -m python_producer train linear`` trains and exports a model version;
``python -m python_producer predict|inspect|serve-stdio|version`` is the reference consumer that
the Go and Java consumers must match bit for bit (tests/CONTRACT.md).
"""

__version__ = "0.1.0"
