"""Only what pyproject.toml cannot say: templates/ and static/ at the repository root ship as package data."""
from setuptools import find_namespace_packages, setup

ASSETS = {"delphi.templates": "templates", "delphi.static": "static"}

packages = find_namespace_packages(include=["delphi", "delphi.*", "analysis", "analysis.*"],
                                   exclude=["*.__pycache__"])
for package, folder in ASSETS.items():
    packages += [package] + [f"{package}.{sub}" for sub in find_namespace_packages(where=folder)]

setup(packages=packages, package_dir=ASSETS)
