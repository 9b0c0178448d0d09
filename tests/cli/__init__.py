"""Tests of the lineage command."""
