"""Benchmarks run by ``python -m benchmarks`` (``make benchmark``): see ``benchmarks/README.md``.

Not part of the installed package: this folder measures ``assistant_pipelines`` from the
outside and changes nothing in it.
"""
