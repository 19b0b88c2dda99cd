"""The paper's tables, reproduced on the synthetic phantom: ``python -m experiments.paper_tables`` (Tables 1-3 and
the depth diagnostics) and ``python -m experiments.curve_tables`` (Table 4), run from the repository root."""
