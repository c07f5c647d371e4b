"""The README's Python session runs as shown: every `>>>` line of its
```python blocks is executed from the repository root and its output
compared with the README's (runs of whitespace count as one, so pandas'
column padding may differ)."""

import doctest
import os
import re

from conftest import ROOT


def readme_session() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "README.md has no ```python block"
    return "\n".join(blocks)


def test_readme_python_session_runs_as_shown():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(readme_session(), {}, "README.md (python)", "README.md", 0)
    assert test.examples, "the README's python block has no >>> lines"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        result = runner.run(test, out=print)
    finally:
        os.chdir(here)
    assert result.failed == 0, f"{result.failed} of {result.attempted} README lines gave other output (above)"
