"""Which lines of a script are under its `if __name__ == "__main__":` guard (durapipe.load.run_guard)."""
from __future__ import annotations

from pathlib import Path

import pytest

from durapipe.load.run_guard import _under_main_guard

GUARD = 'if __name__ == "__main__":\n'


@pytest.mark.parametrize("source, line, guarded", [
    ("import x\nrun()\n", 2, False),
    (GUARD + "    run()\n", 2, True),
    ('if "__main__" == __name__:\n    run()\n', 2, True),
    ('if __name__ == "__main__" and ready:\n    run()\n', 2, True),
    (GUARD + "    pass\nelse:\n    run()\n", 4, False),
    ("try:\n    " + GUARD + "        run()\nexcept Exception:\n    pass\n", 3, True),
    ("try:\n    run()\nexcept Exception:\n    pass\n", 2, False),
    ('with open("f") as f:\n    ' + GUARD + "        run()\n", 3, True),
    ("for i in range(2):\n    run()\n", 2, False),
    ("if ready:\n    run()\n", 2, False),
    ("if ready:\n    " + GUARD + "        run()\n", 3, True),
    ('if __name__ != "__main__":\n    run()\n', 2, False),
], ids=["bare", "guarded", "reversed", "guard-and", "else-branch", "in-try", "bare-in-try", "in-with",
        "loop", "other-if", "nested-guard", "not-main"])
def test_a_call_line_is_guarded_only_inside_a_main_block(tmp_path: Path, source: str, line: int,
                                                         guarded: bool) -> None:
    script = tmp_path / "script.py"
    script.write_text(source)
    assert _under_main_guard(str(script), line) is guarded


def test_an_unreadable_script_is_not_refused(tmp_path: Path) -> None:
    assert _under_main_guard(str(tmp_path / "gone.py"), 1) is True
