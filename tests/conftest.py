"""Markers (pytest.ini): ``cuda`` tests need a CUDA device and skip without one; ``slow`` tests
train or launch processes (``make test-fast`` leaves them out)."""
import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    no_device = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(no_device)
