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


def test_limits_are_the_largest_counts_that_fit(exerciser, monkeypatch):
    words = 232448 // 8  # an H100's opt-in shared memory per block
    monkeypatch.setattr(torch.cuda, 'get_device_properties',
                        lambda device: type('Props', (), {'shared_memory_per_block_optin': words * 8}))
    pass1, pass2 = exerciser.shared_limits('cuda')

    def pass1_words(m):
        return (m + 1) + (4 * m + 3) // 2 + 3 * (m + 1)

    def pass2_words(m):
        return (m + 1) + (4 * m + 3) // 2 + 2 * (m + 1)
    assert pass1_words(pass1) <= words < pass1_words(pass1 + 1)
    assert pass2_words(pass2) <= words < pass2_words(pass2 + 1)
