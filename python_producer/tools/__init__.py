"""Measuring and build tools over the reference consumer: the in-process benchmark (``bench``),
the memory soak (``soak``) and the FileDescriptorSet builder that the Go build compiles
(``serving_protos``).
"""
