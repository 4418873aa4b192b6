"""owp.analysis: figure style, training curves, the fig. 6 grid, objectness maps, notebooks."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from owp.analysis import PALETTE, row_colors, save_figure  # noqa: E402


def test_row_colors_seeds_share_their_rows_colour():
    colors = row_colors(['fcos/seed0', 'fcos/seed1', 'owp-iou/seed0', 'owp-iou'])
    assert colors['fcos/seed0'] == colors['fcos/seed1'] == colors['fcos'] == PALETTE[0]
    assert colors['owp-iou/seed0'] == colors['owp-iou'] == PALETTE[1]
    # the order given decides, so a study's row keeps its colour in every figure
    assert row_colors(['b', 'a'])['b'] == PALETTE[0]
    many = row_colors([f'r{i}' for i in range(len(PALETTE) + 1)])
    assert len(set(many.values())) == len(PALETTE)
    assert many[f'r{len(PALETTE)}'] == PALETTE[0]


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = save_figure(fig, str(tmp_path / 'sub' / 'fig.png'))
    plt.close(fig)
    assert out == [str(tmp_path / 'sub' / 'fig.png'), str(tmp_path / 'sub' / 'fig.pdf')]
    assert open(out[0], 'rb').read(4) == b'\x89PNG'
    assert open(out[1], 'rb').read(4) == b'%PDF'
