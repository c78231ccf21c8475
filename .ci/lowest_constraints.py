"""Print pip constraints that hold every dependency of pyproject.toml at its lower bound (``name==X`` for ``>=X``).

pip has no "lowest" resolution: these constraints make it install the oldest releases the bounds
allow, so that CI proves them (.ci/versions.sh). Requirements without a lower bound are left free.
"""

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

project = tomllib.loads(Path(sys.argv[1]).read_text())["project"]
extras = sys.argv[2].split(",") if len(sys.argv) > 2 else list(project["optional-dependencies"])
requirements = [*project["dependencies"], *(r for e in extras for r in project["optional-dependencies"][e])]
for text in requirements:
    requirement = Requirement(text)
    lower = [s.version for s in requirement.specifier if s.operator == ">="]
    if lower:
        print(f"{requirement.name}=={lower[0]}")
