"""The C part of the search analysis (search/_analysis.c); everything else is in setup.cfg."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("search._analysis", ["search/_analysis.c"], extra_compile_args=["-O3"])])
