"""The example studies, compiled with their profiles (shared with the generator's tests)."""

from tests.synth.conftest import library, mwa, prd

__all__ = ["library", "mwa", "prd"]
