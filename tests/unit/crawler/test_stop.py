from __future__ import annotations

import pytest

from crawler.stop import StopConfig
from tests.project_settings import project_settings


def test_stop_grace_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="RIVALSCOPE_STOP_GRACE"):
        StopConfig.from_settings(project_settings(RIVALSCOPE_STOP_GRACE=-1))
