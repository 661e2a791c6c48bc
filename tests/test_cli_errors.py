"""`python -m sts_tools`: a missing file, input that is not JSON, or an impossible
option value ends in one `error:` line and exit status 2, never a traceback
(issue 24). Run in-process through `cli.main`, as `python -m sts_tools` runs it: a
traceback would be an exception escaping here.
"""

from __future__ import annotations

import shlex

import pytest

from sts_tools.commands import cli
from tests.support import CONTRACT_ENV


@pytest.fixture
def clean_env(monkeypatch):
    for name in CONTRACT_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "not-json.json").write_text("httpMethod: POST\n")
    (tmp_path / "latin1.json").write_bytes(b'{"path": "/caf\xe9"')
    (tmp_path / "event.json").write_text('{"httpMethod": "POST", "path": "/sts"}')
    return tmp_path


CASES = [
    ("explain --user alice --body-file {dir}/missing.json", "--body-file", "No such file"),
    ("explain --user alice --body-file {dir}", "--body-file", "Is a directory"),
    ("invoke {dir}/missing.json", "the event file", "No such file"),
    ("invoke {dir}/not-json.json", "the event file", "is not JSON"),
    ("invoke {dir}/latin1.json", "the event file", "is not JSON"),
    ("invoke {dir}/event.json --context {{bad", "--context", "is not JSON"),
    ("invoke {dir}/event.json --context [1]", "--context", "a JSON object"),
    ("check-deployment http://127.0.0.1:9/sts --token t --skip-cos --timeout -1", "--timeout",
     "above 0"),
    ("check-deployment http://127.0.0.1:9/sts --token t --skip-cos --timeout 0", "--timeout",
     "above 0"),
    ("check-deployment http://127.0.0.1:9/sts --token t --skip-cos --timeout nan", "--timeout",
     "above 0"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "names", "says"), CASES, ids=[c[0][:40] for c in CASES])
def test_one_error_line_and_status_2(clean_env, files, capsys, command, names, says):
    status = cli.main(shlex.split(command.format(dir=files)))
    captured = capsys.readouterr()
    assert status == 2
    errors = [line for line in captured.err.splitlines() if not line.startswith("note: ")]
    assert len(errors) == 1, captured.err
    (line,) = errors
    assert line.startswith("error: ")
    assert names in line
    assert says in line
    assert "Traceback" not in captured.err
    assert captured.out == ""
