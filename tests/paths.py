"""Where the suite's test data lives: inside the checkout, never beside it.

``TESTDATA`` is the one place a test learns the path (``tests/testdata/SOURCE.md`` says where each
folder was copied from). Tests that need it at collection time import it; others take the
``testdata`` fixture from ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

TESTDATA = Path(__file__).resolve().parent / "testdata"
ATLAS_TESTDATA = TESTDATA / "atlas"
OPERATOR_SAMPLES = TESTDATA / "atlas-operator-samples"
CRDS = TESTDATA / "crds"
