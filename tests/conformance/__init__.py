"""Conformance suite: the MLMD-compatible store API, one spec for every backend.

Run it against our store (every registered backend, see conftest.py)::

    .venv/bin/python -m pytest tests/conformance

and against the reference, ml-metadata 1.17.1, in its own virtual environment::

    LINEAGE_CONFORMANCE_TARGET=mlmd <mlmd-venv>/bin/python -m pytest tests/conformance

``LINEAGE_CONFORMANCE_BACKENDS=memory,...`` limits a run to some backends.
Tests marked ``lineage_only`` pin behaviour where MLMD 1.17.1 has a bug;
``LINEAGE_CONFORMANCE_SHOW_MLMD_BUGS=1`` runs them on MLMD as well.
"""
