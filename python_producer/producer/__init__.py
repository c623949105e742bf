"""The producer: the model zoo (``models/``), its export into the TensorFlow Serving layout with
frozen graphs, checkpoints, summaries, a manifest and golden requests (``export``), and the import
of models made elsewhere (``importer``, ``generated_requests``). It builds on the reference
consumer (:mod:`python_producer.reference`), which answers the golden requests and writes the
version folders.
"""
