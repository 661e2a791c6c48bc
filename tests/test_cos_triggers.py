"""serverless.yml's COS triggers against config.yml's declared roots: the deploy
preflight refuses a root without its triggers, a trigger matching no root, and a
quota or webhook with no trigger at all; cam-policy names the deployer's rights."""

from __future__ import annotations

import base64
import os
import shutil

import yaml

from sts_core.config_validation import parse_config
from sts_tools.commands import cam_policy, cos_triggers, deploy
from tests.support import ROOT, shipped_config

ENV = {
    "SCF_REGION": "ap-shanghai", "SCF_ROLE": "cos-sts-scf-role",
    "COS_BUCKET": "photos-1250000000", "COS_REGION": "ap-shanghai",
    "STS_JWT_SECRET": "preflight-secret-0123456789-abcdefghijklmnopqrstuvw",
    "STS_ROLE_ARN": "qcs::cam::uin/100000000001:roleName/cos-sts-vending",
}  # fmt: skip


def project(tmp_path, document=None, events_edit=None):
    shutil.copy(os.path.join(ROOT, "serverless.yml"), tmp_path)
    (tmp_path / "config.yml").write_text(yaml.safe_dump(document or shipped_config()))
    if events_edit is not None:
        path = tmp_path / "serverless.yml"
        data = yaml.safe_load(path.read_text())
        events_edit(data["inputs"]["events"])
        path.write_text(yaml.safe_dump(data))
    return deploy.preflight(ENV, None, str(tmp_path), check_cli=False, dotenv=False)


def problems(result):
    return [p.message for p in result.problems if p.variable == "serverless.yml"]


def test_the_shipped_files_agree(tmp_path):
    assert project(tmp_path).ok


def test_a_missing_trigger_is_refused(tmp_path):
    def drop_removed(events):
        events[:] = [e for e in events if "ObjectRemove" not in str(e)]

    (problem,) = problems(project(tmp_path, events_edit=drop_removed))
    assert "cos:ObjectRemove:*" in problem
    assert "'users/'" in problem


def test_a_new_shared_root_needs_its_triggers(tmp_path):
    document = shipped_config()
    document["shared_roots"] = ["public/"]
    document["profiles"]["download"]["grants"] = [
        {"root": "users/{uid}/", "actions": document["profiles"]["download"].pop("actions")},
        {"root": "public/", "actions": ["name/cos:GetObject"]},
    ]
    (found,) = problems(project(tmp_path, document))  # the first problem is named
    assert "'public/'" in found


def test_a_quota_or_webhook_without_triggers_is_refused():
    secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
    env = {**ENV, "STS_WEBHOOK_URL": "https://app.example/hook", "STS_WEBHOOK_SECRET": secret}
    config = parse_config(shipped_config(), env)
    assert cos_triggers.problems(config, [{"http": {}}])
    assert not cos_triggers.problems(config._replace(webhook=False), [{"http": {}}])


def test_prefixes_cover_every_root_with_the_fewest_filters():
    document = shipped_config()
    document["shared_roots"] = ["protected/"]
    document["prefix"]["template"] = "protected/{uid}/"
    for profile in document["profiles"].values():
        profile.pop("grants", None)
    config = parse_config(document, {**ENV})
    assert cos_triggers.prefixes(config) == ["protected/"]


def test_cam_policy_names_the_bucket_notification_rights():
    config = parse_config(shipped_config(), ENV)
    (statement,) = cam_policy.documents(config, ENV)[
        "deployer policy (the COS triggers in serverless.yml)"
    ]["statement"]
    assert statement["action"] == list(cam_policy.NOTIFICATION_ACTIONS)
    assert statement["resource"] == ["qcs::cos:ap-shanghai:uid/1250000000:photos-1250000000/"]
