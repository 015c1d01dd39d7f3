"""Only the optional C extension is declared here; everything else is in pyproject.toml.

``stalstm.readers._fastnumbers`` parses whitespace-separated numbers in one pass (the NTU
reader's fast path). It is optional: where no C compiler is available the install still succeeds
and the readers use their pure Python path, with identical results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "stalstm.readers._fastnumbers",
            sources=["src/stalstm/readers/_fastnumbers.c"],
            optional=True,
        )
    ]
)
