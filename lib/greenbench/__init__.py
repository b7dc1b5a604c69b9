"""greenbench: has a model learned the Green's function, or only its training function space?

A benchmark reproducing arXiv 2506.15199 for ``-k u'' = f`` on (0, 1) with ``u(0) = u(1) = 0``.
The package holds all numerics and all I/O; the Snakemake workflow calls it through thin scripts.
"""

__version__ = "0.1.0"
