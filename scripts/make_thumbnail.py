#!/usr/bin/env python3
"""Draw the cookbook's thumbnail, ``thumbnail.png``, from REAL Landsat pixels.

Walker Lake, Nevada, in 1988 (Landsat 5 TM) and 2017 (Landsat 8 OLI), both on 22 October,
side by side in false colour (SWIR 1.6 um, NIR, green: water black-blue, vegetation green,
bare desert pink-brown), from the real surface reflectance down-sampled to about 3 km in
``tests/data/walker_lake_3km`` (Landsat data courtesy of the U.S. Geological Survey, via the
HoloViz examples project, CC BY 4.0: see ``tests/data/ATTRIBUTION.md``). Each scene is cut to
the same 66 x 78 km window around the lake, the same stretch for both years, so the colours
compare. The lake's water (MNDWI > 0 on these pixels, the patch that holds the lake's middle)
is outlined.

``thumbnail.png`` sits at the repository's root, where Project Pythia's cookbook gallery looks
for it (``thumbnail:`` in ``_config.yml``); README.md shows it. Deterministic: the same
packages draw the same bytes (no time stamp or version in the PNG)::

    .venv/bin/python scripts/make_thumbnail.py              # writes thumbnail.png
    .venv/bin/python scripts/make_thumbnail.py --out x.png  # elsewhere (tests/test_front_page.py)
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from PIL import Image  # noqa: E402
from rasterio.warp import transform  # noqa: E402
from scipy import ndimage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "walker_lake_3km"
OUT = ROOT / "thumbnail.png"
LAKE = (-118.71, 38.70)  # lon, lat: the lake's middle (as tests/test_real_walker.py)
HALF = (11, 13)  # pixels either side of the lake, x and y: 22 x 26 pixels, ~66 x 78 km
# (prefix, band numbers of SWIR 1.6 um, NIR, green): TM and OLI number their bands differently
SCENES = {
    1988: ("LT05_L1TP_042033_19881022_20161001_01_T1", (5, 4, 2)),
    2017: ("LC08_L1TP_042033_20171022_20171107_01_T1", (6, 5, 3)),
}
SIZE = (800, 450)  # pixels
STRETCH = (0.0, 0.35)  # reflectance shown from black to full colour


def window(prefix: str, bands: tuple[int, int, int]) -> np.ndarray:
    """The three bands around the lake, as reflectance (rows, cols, 3), NaN for no data."""
    layers = []
    for number in bands:
        with rasterio.open(DATA / f"{prefix}_sr_band{number}.tif") as src:
            (x,), (y,) = transform("EPSG:4326", src.crs, [LAKE[0]], [LAKE[1]])
            row, col = src.index(x, y)
            dn = src.read(1)[row - HALF[1] : row + HALF[1], col - HALF[0] : col + HALF[0]]
        layers.append(np.where(dn == -9999, np.nan, dn * 1e-4))  # Collection 1 scaling
    return np.dstack(layers)


def draw(out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(SIZE[0] / 100, SIZE[1] / 100), dpi=100)
    fig.patch.set_facecolor("#10222e")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99, wspace=0.02)
    for ax, (year, (prefix, bands)) in zip(axes, SCENES.items(), strict=True):
        image = window(prefix, bands)
        lo, hi = STRETCH
        rgb = np.clip((np.nan_to_num(image) - lo) / (hi - lo), 0, 1) ** 0.8
        swir, green = image[..., 0], image[..., 2]
        patches, _ = ndimage.label((green - swir) / (green + swir) > 0)  # MNDWI
        # the lake, not stray wet pixels, and its few mixed pixels inside it
        water = ndimage.binary_fill_holes(patches == patches[HALF[1], HALF[0]])
        ax.imshow(rgb, interpolation="bicubic")
        ax.contour(water.astype(float), levels=[0.5], colors="#35d0ff", linewidths=1.6)
        ax.text(0.05, 0.95, str(year), transform=ax.transAxes, va="top", ha="left",
                fontsize=22, fontweight="bold", color="white")  # fmt: skip
        ax.set_axis_off()
        ax.set_aspect("auto")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor=fig.get_facecolor(),
                metadata={"Software": None})  # fmt: skip
    plt.close(fig)
    # 256 colours (the picture has few): a small file, and no metadata that changes
    picture = Image.open(buffer).convert("RGB")
    picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (thumbnail.png)")
    draw(parser.parse_args().out)


if __name__ == "__main__":
    main()
