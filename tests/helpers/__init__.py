"""Helpers shared by the tests: test oracles written from the equations and formats
(``reference_model``, ``reference_ntu_parser``), small models, stores and data sets, and the
reader fuzz campaign. No test module imports another; they import these."""
