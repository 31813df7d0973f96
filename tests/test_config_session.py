"""The test session's own configuration (tests/conftest.py): load-robust thread settings."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings


def test_tests_run_with_one_torch_thread():
    assert torch.get_num_threads() == 1
    assert os.environ.get("OMP_NUM_THREADS")


@pytest.mark.threads(2)
def test_a_test_can_ask_for_more_threads():
    assert torch.get_num_threads() == 2


def test_property_tests_have_no_deadline_and_write_no_database():
    assert settings().deadline is None and settings().database is None
