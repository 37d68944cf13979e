"""tools/exercise_cuda_kernels.py: its limits follow the kernels' shared-memory layout, and without
a GPU it says what it needs (with one, tools/check_cuda.sh runs it)."""
import pytest
import torch


@pytest.fixture(scope='module')
def exerciser(load_tool):
    return load_tool('exercise_cuda_kernels')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the message given without a GPU')
def test_says_it_needs_a_gpu(exerciser):
    with pytest.raises(SystemExit, match='needs a CUDA device'):
        exerciser.main([])


def test_the_limit_is_the_largest_count_that_fits(exerciser, monkeypatch):
    words = 232448 // 8  # an H100's opt-in shared memory per block
    monkeypatch.setattr(torch.cuda, 'get_device_properties',
                        lambda device: type('Props', (), {'shared_memory_per_block_optin': words * 8}))
    limit = exerciser.shared_limit('cuda')

    def pass_words(m):  # the grid, then 2 (m + 1) words of slots (pass 1) or prefixes (pass 2)
        return (m + 1) + (4 * m + 3) // 2 + 2 * (m + 1)
    assert pass_words(limit) <= words < pass_words(limit + 1)
