"""Restructuring must not move a single bit of a trained model.

``tests/data/reference_fits*.npz`` hold ``coef_`` and ``intercept_`` of every case of
``reference_grid.CASES``, recorded by the code of commit 6b21edc, before issue 10's
restructure; the code of today must reproduce them exactly. Exact equality is the right
assertion: same data, same seed, same operations in the same order on one machine give
the same floating-point results, and any reordering of a sum shows up here.

"One machine" is, for these fits, the kernel OpenBLAS picks for the CPU: its SkylakeX
(AVX-512) and Haswell (AVX2) kernels round the same products differently (by up to 5e-7
here), so there is a reference for each, both recorded from 6b21edc (its ``reference_grid``
of commit 7ef97e2, ``PYTHONPATH=src python tests/reference_grid.py OUT.npz`` in a checkout
of it): ``reference_fits.npz`` where OpenBLAS picked SkylakeX (it has passed on AMD EPYC and
Intel Xeon machines with AVX-512), ``reference_fits_haswell.npz`` on an AMD EPYC without
AVX-512 (OpenBLAS 0.3.31, NumPy 2.4.6). A CPU whose kernel has none fails, saying how to
record one.

The reference is the NumPy path's, so the cases run on it (``LINCLF_KERNEL=numpy``); the
compiled kernel sums in another order, and tests/test_compiled.py holds it to the NumPy
path within rounding and to itself bit for bit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from reference_grid import CASES

# OpenBLAS's kernel for this CPU (threadpoolctl's "architecture") -> its reference file.
REFERENCES = {"SkylakeX": "reference_fits.npz", "Haswell": "reference_fits_haswell.npz"}


def _numpy_blas_kernel():
    """The kernel of the OpenBLAS that NumPy's matmul calls (the one in numpy.libs)."""
    for info in threadpool_info():
        if info["user_api"] == "blas" and Path(info["filepath"]).parent.name == "numpy.libs":
            return info.get("architecture")
    return None


def _reference():
    kernel = _numpy_blas_kernel()
    if kernel not in REFERENCES:
        pytest.fail(
            f"no reference fits for NumPy's BLAS kernel {kernel!r} (there are for "
            f"{sorted(REFERENCES)}): record one from commit 6b21edc as this module's "
            "docstring says, and add it to REFERENCES"
        )
    return np.load(Path(__file__).parent / "data" / REFERENCES[kernel])


@pytest.fixture(autouse=True)
def numpy_path(monkeypatch):
    monkeypatch.setenv("LINCLF_KERNEL", "numpy")


@pytest.mark.parametrize("name", sorted(CASES))
def test_coefficients_are_bit_identical_to_the_reference(name, tmp_path):
    reference = _reference()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short runs warn that they did not converge
        est = CASES[name](tmp_path)
    np.testing.assert_array_equal(est.coef_, reference[f"{name}.coef"])
    np.testing.assert_array_equal(est.intercept_, reference[f"{name}.intercept"])
    assert est.coef_.dtype == reference[f"{name}.coef"].dtype


def test_the_references_are_not_trivial_and_differ_only_by_rounding():
    # A reference of zeros (an untrained model) would make the test above vacuous; two
    # kernels' references agree to float32 rounding of 6 epochs (or they are not the fits).
    folder = Path(__file__).parent / "data"
    skylake, haswell = (np.load(folder / REFERENCES[k]) for k in ("SkylakeX", "Haswell"))
    assert (
        sorted(skylake.files)
        == sorted(haswell.files)
        == sorted(f"{name}.{part}" for name in CASES for part in ("coef", "intercept"))
    )
    for name in CASES:
        assert np.abs(skylake[f"{name}.coef"]).max() > 1e-3, name
        for part in ("coef", "intercept"):
            a, b = skylake[f"{name}.{part}"], haswell[f"{name}.{part}"]
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=name)
