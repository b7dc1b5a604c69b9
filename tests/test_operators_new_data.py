"""The data path for the operators beyond Poisson: DataSpec -> generate -> write -> check.

Oracles: the stored u is the operator's exact solution (the checker recomputes it and runs
the operator's independent discrete check on fem data), the coefficients are HDF5 attributes
named k, c, b, and a wrong u (a 1% error in k, or another operator's solution) is refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from greenbench import data
from greenbench.io import DatasetError, check_dataset, read_dataset, write_dataset
from greenbench.operators import get_operator

NEW = [("biharmonic1d", {}), ("screened_poisson1d", {"c": 10.0}),
       ("advection_diffusion1d", {"b": 5.0}), ("advection_diffusion1d", {"b": -3.0})]


@pytest.mark.parametrize(("pde", "coef"), NEW, ids=[f"{p}-{c}" for p, c in NEW])
@pytest.mark.parametrize("space", ["poly3", "cos2", "sin4", "fem"])
def test_generate_write_check(tmp_path, pde, coef, space):
    spec = data.DataSpec(pde=pde, space=space, N=16, n_samples=20, k=2.0, coefficients=coef)
    ds = data.generate(spec)
    path = tmp_path / "data" / pde / space / "N16.h5"
    path.parent.mkdir(parents=True)
    write_dataset(path, ds)
    check_dataset(path)
    back = read_dataset(path)
    assert back.attrs["pde"] == pde and back.attrs["k"] == 2.0
    for name, value in coef.items():
        assert back.attrs[name] == value
    op = get_operator(pde, k=2.0, **coef)
    ref = op.solve(space, back.coefficients, back.f, back.x)
    np.testing.assert_allclose(back.u, ref, rtol=0, atol=1e-14 * np.abs(ref).max())
    # a wrong solution (1% error in k) is refused by the checker
    bad = data.generate(data.DataSpec(pde=pde, space=space, N=16, n_samples=20, k=2.02,
                                      coefficients=coef))
    ds.u[...] = bad.u
    path2 = tmp_path / "data" / pde / space / "bad" / "N16.h5"
    path2.parent.mkdir(parents=True)
    write_dataset(path2, ds, check=False)
    with pytest.raises(DatasetError, match="array 'u'"):
        check_dataset(path2)
