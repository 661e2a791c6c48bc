"""A reset isolates tests: a call stalled across it (its client gave up) is never
recorded, so it cannot show up as an extra STS call in the next test's count."""

from __future__ import annotations

import json
import time

import pytest

from sts_core.sts_client import RetryPolicy, StsClient, StsError
from sts_core.tc3_signing import Credentials
from sts_tools.emulators import sts as emu

PERMANENT = Credentials(emu.DEV_SECRET_ID, emu.DEV_SECRET_KEY)
POLICY = json.dumps({"version": "2.0", "statement": [{
    "effect": "allow", "action": ["name/cos:PutObject"],
    "resource": ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/a/*"],
}]})  # fmt: skip
STALL = 0.3


def federate(client):
    return client.get_federation_token(
        PERMANENT, name="cos-sts-abcdef", policy=POLICY, duration_seconds=1800
    )


@pytest.mark.parametrize("reset", [True, False])
def test_a_call_stalled_across_a_reset_is_not_recorded(reset):
    with emu.StsEmulator() as server:
        server.script(emu.Fault.delay(STALL))
        client = StsClient(server.endpoint, retry=RetryPolicy(max_attempts=1, read_timeout=0.05))
        with pytest.raises(StsError):
            federate(client)  # the client gives up; the emulator is still stalled
        if reset:
            server.reset()
        time.sleep(STALL + 0.5)  # past the stall: the stalled handler has finished
        # Without a reset the stalled call still counts (the check sees it at all).
        assert len(server.calls) == (0 if reset else 1)
        federate(StsClient(server.endpoint))
        assert len(server.calls) == (1 if reset else 2)
