"""tools/demo.py end to end at a tiny size: every model trains, both metrics, table and pictures."""
import pytest
import torch

pytestmark = pytest.mark.slow  # trains or launches processes

pytest.importorskip('mmdet', reason='the demo needs mmdet')


def test_demo_trains_evaluates_draws_and_reuses_finished_runs(load_tool, tmp_path, capsys, monkeypatch):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    demo = load_tool('demo')
    rows = demo.main(['--data', str(data), '--out', str(out), '--iters', '4'])
    printed = capsys.readouterr().out
    assert [label for label, *_ in rows] == ['AP-Loss', 'focal loss']
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/bbox_mAP_50'] <= 1 and 0 <= voc['pascal_voc/mAP'] <= 1 and seconds > 0
        assert f'| {label} | {coco["coco/bbox_mAP"]:.3f} |' in printed
    for picture in ('curves_aploss.png', 'predictions_aploss.png'):
        assert (out / picture).stat().st_size > 10_000
    assert (out / 'aploss' / 'iter_4.pth').is_file() and (out / 'focal' / 'iter_4.pth').is_file()

    again = demo.main(['--data', str(data), '--out', str(out), '--iters', '4'])
    assert capsys.readouterr().out.count('reusing the finished run') == 2
    assert [seconds for *_, seconds in again] == [seconds for *_, seconds in rows]

    _, slug, path = demo.COMPARISONS['aploss'][1]
    changed = demo.config(path, data, out / slug, 4)
    changed.optim_wrapper.optimizer.lr /= 2
    demo.train(changed, out / slug, 4)
    assert 'the config or mmdet_losses changed since the run' in capsys.readouterr().out

    # The same config with another build of the package (a rebuilt op, an edited head) trains again.
    monkeypatch.setattr(demo, 'package_fingerprint', lambda: 'another build')
    demo.train(changed, out / slug, 4)
    assert 'the config or mmdet_losses changed since the run' in capsys.readouterr().out


def test_harmonic_comparison_shares_the_baseline_run(load_tool, tmp_path, capsys):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    demo = load_tool('demo')
    demo.main(['--data', str(data), '--out', str(out), '--iters', '4'])
    capsys.readouterr()
    rows = demo.main(['--compare', 'harmonic', '--data', str(data), '--out', str(out), '--iters', '4'])
    assert [label for label, *_ in rows] == ['Harmonic loss', 'Harmonic + HIoU', 'focal loss']
    assert capsys.readouterr().out.count('reusing the finished run') == 1
    for picture in ('curves_harmonic.png', 'predictions_harmonic.png'):
        assert (out / picture).stat().st_size > 10_000


def test_rank_sort_comparison(load_tool, tmp_path, capsys):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    rows = load_tool('demo').main(['--compare', 'rank_sort', '--data', str(data), '--out', str(out), '--iters', '4'])
    assert [label for label, *_ in rows] == ['RS-ATSS (Rank & Sort)', 'ATSS (focal loss)']
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/bbox_mAP_50'] <= 1 and 0 <= voc['pascal_voc/mAP'] <= 1 and seconds > 0
    for picture in ('curves_rank_sort.png', 'predictions_rank_sort.png'):
        assert (out / picture).stat().st_size > 10_000


def test_alrp_comparison_shares_the_ap_loss_and_focal_runs(load_tool, tmp_path, capsys):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    demo = load_tool('demo')
    demo.main(['--data', str(data), '--out', str(out), '--iters', '4'])
    capsys.readouterr()
    rows = demo.main(['--compare', 'alrp', '--data', str(data), '--out', str(out), '--iters', '4'])
    assert [label for label, *_ in rows] == ['aLRP Loss', 'AP-Loss', 'focal loss']
    assert capsys.readouterr().out.count('reusing the finished run') == 2
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/bbox_mAP_50'] <= 1 and 0 <= voc['pascal_voc/mAP'] <= 1 and seconds > 0
    # 12 images in batches of 8: the self-balance weight left its start (50) after 2 iterations.
    state = torch.load(out / 'alrp' / 'iter_4.pth', map_location='cpu', weights_only=False)['state_dict']
    assert state['bbox_head.self_balance.weight'].item() != 50
    for picture in ('curves_alrp.png', 'predictions_alrp.png'):
        assert (out / picture).stat().st_size > 10_000


def test_detr_comparison(load_tool, tmp_path):
    data, out = tmp_path / 'data', tmp_path / 'out'
    load_tool('make_demo_data').main(['--out', str(data), '--train', '12', '--val', '4'])
    rows = load_tool('demo').main(['--compare', 'detr', '--data', str(data), '--out', str(out), '--iters', '4'])
    assert [label for label, *_ in rows] == ['RS-DINO (Rank & Sort)', 'DINO (focal loss)']
    for label, coco, voc, seconds in rows:
        assert 0 <= coco['coco/bbox_mAP_50'] <= 1 and 0 <= voc['pascal_voc/mAP'] <= 1 and seconds > 0
    for picture in ('curves_detr.png', 'predictions_detr.png'):
        assert (out / picture).stat().st_size > 10_000
