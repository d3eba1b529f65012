"""Local stand-ins for the outside world: an Auth0 tenant emulator and a webhook sink.

Used by ``make demo``, the tests and the benchmarks. Not part of the Airflow image.
"""
