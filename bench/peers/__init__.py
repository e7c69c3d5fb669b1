"""Peers Starling's GraphQL reads are measured against (``bench.compare``)."""
