"""The validator refuses at cold start the templates and actions the request
guard would refuse on every request."""

from __future__ import annotations

import pytest

from tests.support import (
    shipped_config,
)
from tests.support.refusals import refused_config


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["prefix"].update(template="\uff55/{uid}/"), "prefix.template", "NFKC"),
        (lambda d: d["profiles"]["upload"]["actions"].__setitem__(0, "name/cos:PutObjcet"),
         "profiles.upload.actions[0]", "did you mean name/cos:PutObject?"),
        (lambda d: d["profiles"]["upload"]["actions"].__setitem__(0, "name/cos:putObject"),
         "profiles.upload.actions[0]", "did you mean name/cos:PutObject?"),
    ],
)  # fmt: skip
def test_templates_and_actions_the_runtime_would_refuse_fail_at_cold_start(change, key, words):
    document = shipped_config()
    change(document)
    error = refused_config(document)
    assert error.key == key
    assert words in str(error)
