"""tools/reproduce_classification.py on a tiny subset of scikit-learn's digits: every loss trains,
the table and the plot are written (the full run is `make reproduce`)."""
import pytest

pytest.importorskip('sklearn', reason='the digits data set comes with scikit-learn')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('reproduce_classification')


@pytest.mark.slow
def test_one_epoch_on_a_subset_writes_the_table_and_the_plot(tool, tmp_path, capsys):
    rows = tool.main(['--seeds', '2', '--epochs', '1', '--subset', '300', '--out', str(tmp_path)])
    names = [row[0] for row in rows]
    assert names == list(tool.experiments(None))
    assert any('UniLoss (AP)' in name for name in names) and any("Anchor Loss ('neg')" in name for name in names)
    for name, metric, per_sample, f1 in rows:
        mean, spread = (float(value) for value in metric.split(' +- '))
        assert 0 < mean <= 1 and spread >= 0, (name, metric)
        assert bool(per_sample) == bool(f1) == name.startswith('multi-label'), name
    table = (tmp_path / 'classification_table.md').read_text()
    assert all(f'| {name} |' in table for name in names) and table in capsys.readouterr().out + '\n'
    assert (tmp_path / 'classification_curves.png').stat().st_size > 10_000


def test_the_split_is_fixed_and_the_tiles_are_labelled_by_their_digits(tool):
    import torch
    first, second = tool.load(), tool.load()
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    x, y, test_x, test_y = first
    assert len(y) + len(test_y) == 1797 and set(test_y.tolist()) == set(range(10))
    images, targets = tool.tiled(x, y, 5, torch.Generator().manual_seed(0))
    assert images.shape == (5, 64 * tool.TILES)
    for image, target in zip(images, targets):
        pieces = image.view(8, tool.TILES, 8).permute(1, 0, 2).reshape(tool.TILES, 64)
        digits = {int(y[(x == piece).all(1)][0]) for piece in pieces}
        assert set(target.nonzero().squeeze(1).tolist()) == digits


def test_metrics(tool):
    import torch
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    perfect = tool.multi_label_metrics(targets * 2 - 1, targets)
    assert perfect == (1.0, 1.0, 1.0)
    assert tool.average_precision(torch.tensor([0.9, 0.1, 0.8]), torch.tensor([1, 0, 0])) == 1.0


def test_rejects_bad_arguments(tool):
    for argv in (['--seeds', '0'], ['--epochs', '0'], ['--subset', '10']):
        with pytest.raises(SystemExit):
            tool.main(argv)
