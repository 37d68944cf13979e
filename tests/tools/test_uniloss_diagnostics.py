"""tools/uniloss_diagnostics.py at a small size: one row per score distribution and setting, with
figures in their ranges (the figures themselves are in docs/classification_losses.md)."""


def test_small_ranking(load_tool, capsys):
    tool = load_tool('uniloss_diagnostics')
    rows = tool.main(['--entries', '3000', '--positives', '20', '--calls', '2'])
    assert len(rows) == 3 * len(tool.SETTINGS)
    for row in rows:
        assert row['positives norm'] > 0 and row['negatives norm'] > 0, row
        assert -1 <= row['positives cosine'] <= 1 and -1 <= row['negatives cosine'] <= 1, row
        assert 0 < row['touched'] <= 1, row
    # 256 sampled negatives of about 2980: one call touches under a tenth of them.
    few = [row for row in rows if row['setting'].startswith('64 positives, 256 negatives')]
    assert len(few) == 3 and all(row['touched'] < 0.1 for row in few)
    assert '| start | 64 positives, 256 negatives' in capsys.readouterr().out
