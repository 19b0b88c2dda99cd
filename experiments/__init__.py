"""The paper's tables, reproduced on the synthetic phantom: ``python -m experiments.paper_tables`` (Tables 1-3 and
the depth diagnostics) and ``python -m experiments.curve_tables`` (Table 4), run from the repository root.

Each runner parses its command line once into a typed run specification (:mod:`experiments.spec`) and writes its
tables with :mod:`experiments.tables`."""
