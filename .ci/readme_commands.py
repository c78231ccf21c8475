"""Print the ``$ `` command lines of a Markdown file's console blocks, in order, as a shell script."""

import sys
from pathlib import Path

inside = False
for line in Path(sys.argv[1]).read_text().splitlines():
    if line.startswith("```"):
        inside = line.strip() == "```console"
        continue
    if inside and line.startswith("$ "):
        print(line[2:])
