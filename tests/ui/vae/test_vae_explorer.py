"""The VAE explorer on an opened checkpoint: sliders, encode, traversals, interpolation,
KL bars, latent map, reparameterization, exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QSlider, QWidget

from app.engine.checkpoint import read_checkpoint
from app.engine.data import load_shapes
from app.engine.inference.vae_terms import KL_EXAMPLES
from app.ui.widgets.exports import NothingToExport
from tests.ui.vae.vae_fixtures import decode_with, drag, handle_centre, shown, train_small_checkpoint


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory):
    return train_small_checkpoint(tmp_path_factory.mktemp("vae-ckpt"))


@pytest.fixture
def page(main_window, checkpoint_path, qtbot):
    assert main_window.open_checkpoint(checkpoint_path)
    page = main_window.pages["vae"]
    page.show_view(page.explorer)
    qtbot.waitUntil(lambda: page.explorer.map.mu is not None, timeout=5000)
    return page


def test_dragging_a_slider_changes_the_decoded_image(page, checkpoint_path):
    sliders = page.findChild(QWidget, "vaeLatentSliders")
    assert sliders is page.explorer.sliders
    dim = int(np.argmax(page.kl_values))  # the most used dimension
    slider = sliders.findChild(QSlider, f"vaeLatentSlider{dim}")
    decoded = page.findChild(QWidget, "vaeDecodedImage")
    before = shown(decoded).copy()
    seen = []
    sliders.codeChanged.connect(lambda: seen.append(shown(decoded).copy()))
    start = handle_centre(slider)
    drag(slider, start, start + QPoint(slider.width() // 3, 0))
    assert slider.value() > 50 and sliders.code()[dim] == pytest.approx(slider.value() / 100)
    assert len(seen) >= 3  # the picture followed the drag, not only its end
    after = shown(decoded)
    assert np.abs(after - before).max() > 0.05
    np.testing.assert_allclose(after, decode_with(checkpoint_path, sliders.code()), atol=1e-5)


def test_encode_then_sliders_reproduce_the_reconstruction_of_mu(page, qtbot, checkpoint_path):
    explorer = page.explorer
    explorer.picker.set_index(3)
    qtbot.mouseClick(explorer.encode_button, Qt.MouseButton.LeftButton)
    model = read_checkpoint(checkpoint_path).build_model()
    x = page.current_data().val[3:4]
    with torch.no_grad():
        mu, _ = model.encode(x)
        reconstruction = model.decode(mu)[0].numpy()
    np.testing.assert_allclose(explorer.sliders.code(), mu[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(shown(explorer.decoded), reconstruction, atol=1e-5)
    # the same picture as in the training tab's reconstruction grid (pairs: input, reconstruction)
    np.testing.assert_allclose(page.recon_grid.images[2 * 3 + 1], reconstruction, atol=1e-5)
    qtbot.mouseClick(explorer.reset_button, Qt.MouseButton.LeftButton)
    assert not explorer.sliders.code().any()
    qtbot.mouseClick(explorer.prior_button, Qt.MouseButton.LeftButton)
    state = torch.get_rng_state()
    first = explorer.sliders.code()
    qtbot.mouseClick(explorer.prior_button, Qt.MouseButton.LeftButton)
    assert not np.allclose(first, explorer.sliders.code())
    assert torch.equal(torch.get_rng_state(), state)  # the GUI draws from its own generator


def test_traversal_grid_has_one_row_per_dimension(page, tmp_path):
    page.show_view(page.traversal)
    view = page.findChild(QWidget, "vaeTraversalGrid")
    view.rows_mode.setCurrentIndex(2)
    view.dims_edit.setText("0,2,3")
    view.dims_edit.editingFinished.emit()
    view.columns.setValue(5)
    assert view.dims == [0, 2, 3]
    assert view.images.shape == (3 * 5, 1, 32, 32)
    codes = view.codes.reshape(3, 5, 4)
    np.testing.assert_allclose(codes[1, :, 2], [-3, -1.5, 0, 1.5, 3])
    assert view.column_labels()[0] == "−3.0" and view.row_labels()[1].startswith("z2 · KL ")
    np.testing.assert_allclose(view.grid.images, view.images)
    path = view.export_png(tmp_path / "traversal.png")
    with Image.open(path) as png:
        assert png.width > 5 * 32 * 3 and png.height > 3 * 32 * 3
    # sweeping the range the data's codes span: per-row values, labelled with their range
    view.sweep.setCurrentIndex(1)
    mu, _ = page.inference.encode(page.current_data().val[:KL_EXAMPLES])
    low, high = np.percentile(mu[:, 2], [2, 98])
    np.testing.assert_allclose(view.codes.reshape(3, 5, 4)[1, [0, -1], 2], [low, high], rtol=1e-4, atol=1e-5)
    assert view.column_labels()[0] == "p2" and "…" in view.row_labels()[0]
    view.sweep.setCurrentIndex(0)
    # "in use" rows: every dimension whose KL is at least 0.1 nats
    view.rows_mode.setCurrentIndex(0)
    assert view.dims == [int(i) for i in np.flatnonzero(page.kl_values >= 0.1)] or view.dims == [
        int(np.argmax(page.kl_values))
    ]


def test_interpolation_strip_runs_between_two_encoded_examples(page, tmp_path):
    page.show_view(page.interpolation)
    view = page.findChild(QWidget, "vaeInterpolation")
    view.picker_a.set_index(4)
    view.picker_b.set_index(9)
    view.steps.setValue(6)
    view.method.setCurrentText("linear")
    assert view.images.shape == (6, 1, 32, 32) and view.paths["linear"].shape == (6, 4)
    mu, _ = page.inference.encode(page.current_data().val[[4, 9]])
    np.testing.assert_allclose(view.paths["linear"][[0, -1]], mu, atol=1e-5)
    view.method.setCurrentText("both (compare)")
    assert view.images.shape == (12, 1, 32, 32) and view.rows == ["linear", "spherical"]
    np.testing.assert_allclose(view.paths["spherical"][[0, -1]], mu, atol=1e-5)
    path = view.export_png(tmp_path / "interpolation.png")
    with Image.open(path) as png:
        assert png.width > 6 * 32 * 3


def test_kl_bars_equal_the_models_kl_per_dimension(page, checkpoint_path):
    """Averaged over the first KL_EXAMPLES validation images, as the task's visuals() does."""
    model = read_checkpoint(checkpoint_path).build_model()
    val = page.current_data().val
    with torch.no_grad():
        mu, logvar = model.encode(val[:KL_EXAMPLES])
        expected = model.kl_per_example_and_dim(mu, logvar).mean(dim=0).numpy()
    bars = page.findChild(QWidget, "vaeKlBars")
    np.testing.assert_allclose(bars.values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bars.bars.opts["height"], expected, rtol=1e-5, atol=1e-6)
    labels = page.explorer.sliders.kl_labels
    assert [label.text() for label in labels] == [f"KL {v:.2f}" for v in expected]


def test_latent_map_colours_by_ground_truth_factor(page, qtbot):
    latent_map = page.findChild(QWidget, "vaeLatentMap")
    val_size = len(load_shapes(seed=0, count=600).val)
    assert latent_map.coords.shape == (val_size, 2) and len(latent_map.scatter.data) == val_size
    options = [latent_map.colour_by.itemText(i) for i in range(latent_map.colour_by.count())]
    assert {"shape", "scale", "rotation", "x", "y"} <= set(options)
    latent_map.colour_by.setCurrentText("x")
    x = latent_map.labels["x"]
    palette = latent_map.colours.palette
    brushes = latent_map.scatter.data["brush"]
    assert brushes[int(np.argmax(x))] is palette[-1] and brushes[int(np.argmin(x))] is palette[0]
    assert len({id(b) for b in brushes}) <= len(palette)  # shared brushes, not one per point
    latent_map.colour_by.setCurrentText("shape")
    brushes = latent_map.scatter.data["brush"]
    shapes = latent_map.labels["shape"]
    assert len(latent_map.colours.palette) == 3 and "heart" in latent_map.legend.text()
    assert all(brushes[i] is latent_map.colours.palette[shapes[i]] for i in range(len(shapes)))
    # re-encoded codes (new weights) move the same points and keep their colours
    latent_map.set_codes(latent_map.mu + 0.25, step=7)
    drawn = np.c_[latent_map.scatter.data["x"], latent_map.scatter.data["y"]]
    np.testing.assert_allclose(drawn, latent_map.coords, atol=1e-6)
    assert all(latent_map.scatter.data["brush"][i] is brushes[i] for i in range(len(shapes)))
    # clicking a point loads its code into the sliders
    index = 7
    view = latent_map.plot.getPlotItem().getViewBox()
    scene_pos = view.mapViewToScene(QPointF(*latent_map.coords[index]))
    viewport_pos = latent_map.plot.mapFromScene(scene_pos)
    found = latent_map.nearest_point(*latent_map.coords[index])
    assert found is not None and np.allclose(latent_map.coords[found], latent_map.coords[index])
    qtbot.mouseClick(latent_map.plot.viewport(), Qt.MouseButton.LeftButton, pos=viewport_pos)
    np.testing.assert_allclose(page.explorer.sliders.code(), latent_map.mu[found], atol=1e-6)
    # two dimensions with the manifold behind
    latent_map.axes_mode.setCurrentIndex(1)
    latent_map.manifold.setChecked(True)
    np.testing.assert_allclose(latent_map.coords, latent_map.mu[:, [0, 1]])
    assert latent_map.manifold_item.isVisible() and latent_map.manifold_item.image.shape == (15 * 32, 15 * 32)


def test_reparameterization_redraws_only_the_noise(page, qtbot):
    page.show_view(page.reparameterization)
    view = page.reparameterization
    view.picker.set_index(2)
    first = view.result
    np.testing.assert_allclose(first.z, first.mu + first.sigma * first.eps, rtol=1e-6)
    qtbot.mouseClick(view.redraw_button, Qt.MouseButton.LeftButton)
    second = view.result
    np.testing.assert_array_equal(first.mu, second.mu)
    np.testing.assert_array_equal(first.sigma, second.sigma)
    np.testing.assert_array_equal(first.kl_per_dim, second.kl_per_dim)
    assert not np.allclose(first.eps, second.eps) and not np.allclose(first.z, second.z)
    assert view.table.rowCount() == 4
    assert view.table.item(0, 2).text() == f"{second.eps[0]:+.3f}".replace("-", "−")
    assert "nats" in view.terms.text()


def test_elbo_readout_and_new_model(page, qtbot):
    readout = page.findChild(QWidget, "vaeElboReadout")
    text = readout.text()
    assert "ELBO" in text and "validation (60 images)" in text
    row = readout.validation
    assert f"{-row.recon - row.kl:,.2f}".replace("-", "−") in text
    qtbot.mouseClick(page.bar.new_button, Qt.MouseButton.LeftButton)
    assert page.explorer.sliders.latent_dim == 0 and page.kl_plot.values is None
    assert page.traversal.images is None and page.explorer.decoded.image is None


def test_sliders_scroll_for_many_dimensions(qtbot):
    from app.ui.vae.latent_sliders import LatentSliders

    sliders = LatentSliders()
    qtbot.addWidget(sliders)
    sliders.resize(320, 300)
    sliders.show()
    sliders.set_latent_dim(24)
    qtbot.waitUntil(lambda: sliders.scroll.verticalScrollBar().maximum() > 0, timeout=2000)
    assert all(sliders.findChild(QSlider, f"vaeLatentSlider{i}") is not None for i in range(24))
    code = np.linspace(-4, 4, 24).astype(np.float32)
    sliders.set_code(code)
    np.testing.assert_array_equal(sliders.code(), code)  # kept exact, beyond the sliders' ±3
    assert sliders.sliders[0].value() == -300 and sliders.sliders[-1].value() == 300


def test_two_dimensional_code_shows_the_whole_manifold_behind_the_map(qtbot, small_shapes):
    from app.engine.events import ModelSnapshot
    from app.engine.inference.vae_snapshot import SnapshotVAE
    from app.ui.vae.context import ViewContext
    from app.ui.vae.latent_map import MANIFOLD_SIDE, LatentMap
    from models.vae import VAE, VAEConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 32, 32), latent_dim=2, hidden_dims=(16,)))
    vae = SnapshotVAE()
    vae.update(ModelSnapshot("vae", model.config, model.state_dict(), 0))
    context = ViewContext(vae, torch.Generator(), lambda: small_shapes, lambda: None, lambda: np.zeros(2))
    latent_map = LatentMap(context)
    qtbot.addWidget(latent_map)
    latent_map.reset_model()
    latent_map.set_data()
    assert latent_map.axes_mode.currentIndex() == 1  # latent_dim 2: the dimensions themselves
    latent_map.manifold.setChecked(True)
    latent_map.refresh(force=True)
    latent_map.finish_now()
    picture = latent_map.manifold_item.image  # as displayed: row 0 at the bottom (y up)
    assert picture.shape == (MANIFOLD_SIDE * 32, MANIFOLD_SIDE * 32)
    with torch.no_grad():
        top_left = model.decode(torch.tensor([[-3.0, 3.0]]))[0, 0].numpy()  # z0 = −3, z1 = +3
        bottom_right = model.decode(torch.tensor([[3.0, -3.0]]))[0, 0].numpy()
    np.testing.assert_allclose(picture[-32:, :32][::-1], top_left, atol=1e-6)
    np.testing.assert_allclose(picture[:32, -32:][::-1], bottom_right, atol=1e-6)
    rect = latent_map.manifold_item.mapRectToParent(latent_map.manifold_item.boundingRect())
    cell = 6 / (MANIFOLD_SIDE - 1)
    assert rect.left() == pytest.approx(-3 - cell / 2) and rect.bottom() == pytest.approx(3 + cell / 2)


def test_a_dataset_that_does_not_fit_the_model_turns_only_the_data_views_off(qtbot, main_window, tmp_path):
    from app.engine.setup import build_configs, create_task
    from app.engine.trainer import Trainer

    data = load_shapes(seed=0, count=600, size=28)  # says "shapes", but 28×28: the page loads 32×32
    config, hparams, train = build_configs("vae", data, {"latent_dim": 3, "hidden_dims": [16], "steps": 5})
    path = tmp_path / "vae28.safetensors"
    Trainer(create_task("vae", data, config, hparams, train), checkpoint_path=path).run()
    assert main_window.open_checkpoint(path)
    page = main_window.pages["vae"]
    qtbot.waitUntil(lambda: "expects images of (1, 28, 28)" in page.bar.status.text(), timeout=2000)
    page.show_view(page.explorer)
    assert page.explorer.map.mu is None and "fit the model" in page.explorer.map.status.text()
    page.explorer.sliders.sliders[1].setValue(150)
    assert shown(page.explorer.decoded).shape == (1, 28, 28)  # sliders work without data
    page.show_view(page.traversal)
    assert page.traversal.images.shape == (3 * 7, 1, 28, 28)


def test_file_export_writes_every_picture(page, tmp_path):
    from PIL import Image

    for index, (label, suffix, export) in enumerate(page.exports()):
        path = tmp_path / f"e{index}.{suffix}"
        export(path)  # the loss curves and the KL over the steps too: the checkpoint kept its history
        if suffix == "png":
            with Image.open(path) as image:
                assert image.width > 50 and image.height > 50, label
    assert len(page.exports()) == 8


def test_after_new_model_no_export_writes_the_old_model_or_a_blank(page, qtbot, tmp_path):
    assert page.recon_grid.images is not None and page.kl_plot.values is not None
    qtbot.mouseClick(page.bar.new_button, Qt.MouseButton.LeftButton)
    assert page.recon_grid.images is None  # cleared with the picture, not only the picture
    for index, (label, suffix, export) in enumerate(page.exports()):
        path = tmp_path / f"e{index}.{suffix}"
        with pytest.raises(NothingToExport) as refused:
            export(path)
        assert not path.exists(), label
        sentence = str(refused.value)
        assert sentence.startswith("There is no ") and sentence.endswith(".") and sentence.count(". ") == 0


def test_the_elbo_readout_coalesces_live_metrics(qtbot):
    from app.ui.vae.elbo_readout import LIVE_RENDER_MS, ElboReadout

    readout = ElboReadout()
    qtbot.addWidget(readout)
    shown: list[str] = []
    readout.render = lambda original=readout.render: (original(), shown.append(readout.text()))
    readout._live.timeout.disconnect()
    readout._live.timeout.connect(readout.render)
    for step in range(1, 11):  # ten batches within a fraction of the render interval
        readout.show_metrics([(step, "train", {"recon": 100.0 - step, "kl": 5.0})])
    assert shown == []  # nothing laid out yet
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=LIVE_RENDER_MS * 4)
    qtbot.wait(LIVE_RENDER_MS + 50)  # checks that nothing more happens: no second render
    assert len(shown) == 1 and "step 10" in shown[0]  # one render, with the newest numbers
    assert "−95.00" in shown[0]  # ELBO = −recon − KL = −(90 + 5)


def test_rebuilt_sliders_leave_no_stray_row_behind(qtbot):
    """A new model's rows replace the old ones at once, even before the event loop deletes them."""
    from app.ui.vae.latent_sliders import LatentSliders

    sliders = LatentSliders()
    qtbot.addWidget(sliders)
    sliders.show()
    sliders.set_latent_dim(11)
    sliders.set_latent_dim(10)
    in_rows = sliders.rows.findChildren(QSlider)
    assert sorted(s.objectName() for s in in_rows) == sorted(f"vaeLatentSlider{i}" for i in range(10))
    assert set(in_rows) == set(sliders.sliders)
    qtbot.waitUntil(lambda: all(s.isVisibleTo(sliders) for s in sliders.sliders), timeout=2000)
