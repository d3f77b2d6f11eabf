"""The yearly lake-area series: selection rule, partly observed years, the ``lakeml timeseries``
command on the offline sample (41 summers), its outputs and its exit codes."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from lakeml import checks
from lakeml import trend as lake_trend
from lakeml.offline import sample
from lakeml.search import WALKER_LAKE_BBOX
from lakeml.workflows import timeseries as ts
from tests.leaks import SIGNED_OR_TOKEN

BBOX = ["--bbox", "-118.89", "38.54", "-118.57", "38.84"]
LAKEML = [sys.executable, "-m", "lakeml.workflows.cli"]
CSV_COLUMNS = [
    "year",
    "item_id",
    "platform",
    "datetime",
    "water_km2",
    "all_water_km2",
    "valid_fraction",
    "water_iou_vs_dswe",
    "water_iou_vs_wofs",
    "water_iou_vs_mndwi",
    "truth_water_km2",
    "partial",
]


def run(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAKEML, *args], capture_output=True, text=True, timeout=timeout)


def truth_doc(item_id: str) -> dict:
    return json.loads((sample.sample_dir() / "truth" / f"{item_id}.json").read_text())


# ---------------------------------------------------------------------------------------------
# Input rules (no data needed)
# ---------------------------------------------------------------------------------------------


def test_years_months_and_season():
    assert checks.parse_years("1984-1986") == [1984, 1985, 1986]
    assert checks.parse_years("2017") == [2017]
    assert checks.parse_years([1990, 1988, 1988]) == [1988, 1990]
    assert checks.parse_months("6-9") == (6, 9) and checks.parse_months("7") == (7, 7)
    assert ts.season(1988) == "1988-06-01/1988-09-30"
    assert ts.season(2000, (2, 2)) == "2000-02-01/2000-02-29"
    assert ts.season(2000, (11, 12)) == "2000-11-01/2000-12-31"


@pytest.mark.parametrize(
    ("years", "needle"),
    [
        ("2024-1984", "reversed"),
        ("84-90", "START-END"),
        ("1970-1980", "1982"),
        ("1984-2999", "must lie in"),
        ("", "START-END"),
    ],
)
def test_bad_years_are_refused(years, needle):
    with pytest.raises(checks.BadInput, match=needle):
        checks.parse_years(years)


@pytest.mark.parametrize(
    ("months", "needle"),
    [("9-6", "reversed"), ("0-5", "1-12"), ("June", "M1-M2"), ("6-13", "1-12")],
)
def test_bad_months_are_refused(months, needle):
    with pytest.raises(checks.BadInput, match=needle):
        checks.parse_months(months)


def _years(values, statuses=None, start=2001):
    n = len(values)
    return pd.DataFrame(
        {
            "year": list(range(start, start + n)),
            "water_km2": values,
            "status": statuses or ["ok"] * n,
        }
    )


def test_trend_by_hand_theil_sen_mann_kendall_and_serial_correlation():
    # 2000 is partly observed and 2008 missing: left out. The 7 fitted years 2001-2007, a lake
    # shrinking 2 km2 a year with a wet spell (2003-2004) that carries over:
    #   area 157 155 158 156 153 151 148
    table = _years(
        [120.0, 157.0, 155.0, 158.0, 156.0, 153.0, 151.0, 148.0, np.nan],
        ["partial", *["ok"] * 7, "missing"],
        start=2000,
    )
    # The 21 pairwise slopes (km2/yr), sorted (rank: slope):
    #   1: -3 (2004-05)  2: -3 (2006-07)  3: -8/3  4-7: -2.5  8: -7/3  9-11: -2  12: -1.5
    #   13: -1.4  14: -1.2  15-16: -1  17: -2/3  18: -1/3  19-20: 0.5  21: 3 (2002-03)
    # Theil-Sen slope: the 11th, -2 km2/yr = -20 km2/decade; intercept
    # median(area) - slope * median(year) = 155 + 2 * 2004 = 4163.
    # Mann-Kendall S: signs of later minus earlier, per first year:
    #   2001: -1 +1 -1 -1 -1 -1 = -4; 2002: +1 +1 -1 -1 -1 = -1; 2003: -4; 2004: -3;
    #   2005: -2; 2006: -1; S = -15, tau = S / 21 = -0.7143.
    # Var(S) = 7 * 6 * 19 / 18 = 44.333 (no ties).
    # Detrended d = area + 2 * (year - 2001) = 157 157 162 162 161 161 160, mean 160:
    #   d - mean = -3 -3 2 2 1 1 0; sum of squares 28; lag-1 products 9 - 6 + 4 + 2 + 1 + 0 = 10
    #   r1 = 10 / 28 = 5/14 = 0.3571.
    # n/n* = 1 + 2 (r^8 - 7 r^2 + 6 r) / (7 (1 - r)^2)
    #      = 1 + 2 (0.000265 - 0.892857 + 2.142857) / (7 * 0.413265) = 1.864381
    #   n* = 7 / 1.864381 = 3.75 years (large-n approximation: 7 * (9/14) / (19/14) = 3.3).
    # Var*(S) = 44.333 * 1.864381 = 82.654, sqrt 9.0914; Z = (S + 1) / 9.0914 = -1.5399,
    #   p = 2 (1 - Phi(1.5399)) = 0.1236 (as independent years: Z = -14 / 6.6583 = -2.1026,
    #   p = 0.0355).
    # CI: C = 1.96 * 9.0914 = 17.819, M1 = (21 - 17.819) / 2 = 1.59 -> rank 2: -3;
    #   M2 = (21 + 17.819) / 2 = 19.41 -> 19, rank M2 + 1 = 20: 0.5 -> (-30, +5) km2/decade.
    #   As independent years: C = 1.96 * 6.6583 = 13.050, M1 = 3.97 -> rank 4: -2.5;
    #   M2 = 17.03 -> 17, rank 18: -1/3 -> (-25, -3.33), scipy's theilslopes interval.
    t = lake_trend.trend(table)
    assert t["years"] == 7
    assert t["km2_per_decade"] == -20.0
    assert t["intercept_km2"] == 4163.0
    assert t["mk_tau"] == pytest.approx(-15 / 21, abs=1e-4)
    assert t["lag1_autocorrelation"] == pytest.approx(5 / 14, abs=1e-4)
    assert t["effective_years"] == pytest.approx(3.75)
    r = 5 / 14  # the closed form is the AR(1) sum 1 + 2 sum_k (1 - k/n) r^k
    assert 7 / (1 + 2 * sum((1 - k / 7) * r**k for k in range(1, 7))) == pytest.approx(3.7546, 1e-4)
    assert t["mk_p"] == pytest.approx(0.1236, abs=1e-4)
    assert (t["ci_low_km2_per_decade"], t["ci_high_km2_per_decade"]) == (-30.0, 5.0)
    fitted = table[table["status"] == "ok"]
    independent = stats.theilslopes(fitted["water_km2"], fitted["year"])
    assert independent.low_slope * 10 == pytest.approx(-25.0)
    assert independent.high_slope * 10 == pytest.approx(-10 / 3)
    tau = stats.kendalltau(fitted["year"], fitted["water_km2"]).statistic
    assert tau == pytest.approx(t["mk_tau"], abs=1e-4)


def test_trend_is_not_corrected_when_years_alternate():
    # a zigzag about the line: r1 < 0, no correction, the interval is scipy's (Sen's with the
    # variance of independent years) and n* = n
    values = [100 - 2 * i + (1.5 if i % 2 else -1.5) for i in range(10)]
    t = lake_trend.trend(_years(values))
    assert t["lag1_autocorrelation"] < 0 and t["effective_years"] == 10
    sen = stats.theilslopes(values, np.arange(2001, 2011))
    assert t["ci_low_km2_per_decade"] == pytest.approx(sen.low_slope * 10, abs=1e-4)
    assert t["ci_high_km2_per_decade"] == pytest.approx(sen.high_slope * 10, abs=1e-4)
    assert t["km2_per_decade"] == pytest.approx(sen.slope * 10, abs=1e-4)
    # the uncorrected Mann-Kendall p: S from Kendall's tau, Var(S) = 10 * 9 * 25 / 18 = 125
    s = t["mk_tau"] * 45
    assert t["mk_p"] == pytest.approx(2 * stats.norm.sf((abs(s) - 1) / np.sqrt(125)), rel=1e-3)


def test_trend_uses_the_fitted_years_in_order():
    values = [157.0, 155.0, 158.0, 156.0, 153.0, 151.0, 148.0, 149.0]
    table = _years(values, ["ok", "ok", "ok", "missing", "ok", "failed", "ok", "ok"])
    shuffled = table.sample(frac=1, random_state=0)
    t = lake_trend.trend(shuffled)
    kept = table[table["status"] == "ok"]
    d = kept["water_km2"] - t["km2_per_decade"] / 10 * kept["year"]
    d = (d - d.mean()).to_numpy()
    assert t["years"] == 6
    assert t["lag1_autocorrelation"] == pytest.approx((d[:-1] * d[1:]).sum() / (d * d).sum(), 1e-3)
    assert t == lake_trend.trend(table)


def test_trend_with_few_years():
    # < 2 years: no line
    one = lake_trend.trend(_years([100.0]))
    assert one["years"] == 1 and all(np.isnan(v) for k, v in one.items() if k != "years")
    # 3 years: a slope and tau, but too few to judge serial correlation or an interval
    three = lake_trend.trend(_years([100.0, 98.0, 97.0]))
    assert three["km2_per_decade"] == -15.0 and three["mk_tau"] == -1.0
    assert np.isnan(three["mk_p"]) and np.isnan(three["ci_low_km2_per_decade"])
    # 4 years on a perfect line (the partial and missing years left out): the slope is exact,
    # r1 undefined (no residual), no correction; the 95 % interval would need rank
    # M1 = (6 - 1.96 sqrt(4 * 3 * 13 / 18)) / 2 = 0.12 < 1/2: beyond the slopes, NaN
    table = _years(
        [100.0, 99.0, 50.0, 97.0, np.nan, 95.0],
        ["ok", "ok", "partial", "ok", "missing", "ok"],
        start=2000,
    )
    t = lake_trend.trend(table)
    assert t["years"] == 4 and t["km2_per_decade"] == -10.0 and t["mk_tau"] == -1.0
    assert np.isnan(t["lag1_autocorrelation"]) and t["effective_years"] == 4
    # S = -6, Var(S) = 8.667, Z = -5 / 2.944 = -1.698
    assert t["mk_p"] == pytest.approx(0.0894, abs=1e-4)
    assert np.isnan(t["ci_low_km2_per_decade"]) and np.isnan(t["ci_high_km2_per_decade"])


def test_day_of_year_of_each_scene():
    days = ts._day_of_year(["1990-07-08T17:54:53Z", "", "2017-09-30T18:20:05.123456Z"])
    assert days[0] == 189 and np.isnan(days[1]) and days[2] == 273


def test_lake_extent_and_observed_fraction():
    nan = np.nan
    stack = xr.DataArray(
        np.array(
            [
                [[1, 1, 0, 0]],  # year 1
                [[1, 1, 1, 0]],  # year 2: a one-off speck at x=2
                [[nan, 1, 0, nan]],  # year 3: the lake's first pixel hidden
            ],
            dtype="float32",
        ),
        dims=("year", "y", "x"),
    )
    extent = lake_trend.lake_extent(stack)
    assert extent.values.tolist() == [[True, True, False, False]]
    assert lake_trend.observed_fraction(stack, extent).values.tolist() == [1.0, 1.0, 0.5]


def test_lake_point_hidden_uses_the_nearest_observed_pixel():
    from odc.geo.geom import point
    from odc.geo.xr import xr_coords

    gbox = sample.load_geobox().zoom_out(10)  # 300 m pixels
    labels = xr.DataArray(
        np.zeros(gbox.shape, "int16"),
        dims=("y", "x"),
        coords=xr_coords(gbox, crs_coord_name="spatial_ref"),
    )
    lake = sample.LAKE_CENTRE
    assert ts._observed_point(labels, lake, 1500) == lake  # observed: the point itself
    x0, y0 = point(*lake, "EPSG:4326").to_crs(gbox.crs).coords[0]
    iy = int(np.abs(labels.y.values - y0).argmin())
    ix = int(np.abs(labels.x.values - x0).argmin())
    labels[iy - 1 : iy + 2, ix - 1 : ix + 2] = -1  # a 900 m cloud over the point
    lon, lat = ts._observed_point(labels, lake, 1500)
    x, y = point(lon, lat, "EPSG:4326").to_crs(gbox.crs).coords[0]
    assert 300 < np.hypot(x - x0, y - y0) < 700
    assert labels.sel(x=x, y=y, method="nearest") == 0
    labels[:] = -1
    assert ts._observed_point(labels, lake, 1500) is None  # nothing seen nearby


def test_a_year_without_candidates_is_missing_not_skipped():
    assert ts.pick_year([], WALKER_LAKE_BBOX) is None
    res = ts._year_task(1992, [], WALKER_LAKE_BBOX, {})
    assert res["status"] == "missing" and res["year"] == 1992 and "cloud" in res["note"]


def test_only_what_the_data_cannot_answer_fails_a_year_a_bug_raises(monkeypatch):
    """A year that its scene cannot measure is 'failed' with the reason; before, any
    ValueError was, a bug in lakeml, xarray or numpy included, and the series went on."""
    import datetime as dt

    import pystac

    item = pystac.Item("LC08_DEMO", None, None, dt.datetime(2017, 7, 18), {"platform": "x"})
    monkeypatch.setattr(ts, "pick_year", lambda items, bbox: items[0])

    def unusable(*args, **kwargs):
        raise checks.UnusableData("every sample is masked (NaN): there is nothing to cluster")

    monkeypatch.setattr(ts, "process_year", unusable)
    res = ts._year_task(2017, [item], WALKER_LAKE_BBOX, {})
    assert (res["status"], res["item_id"]) == ("failed", "LC08_DEMO")
    assert res["note"] == "every sample is masked (NaN): there is nothing to cluster"

    def bug(*args, **kwargs):
        raise ValueError("operands could not be broadcast together with shapes (3,) (4,)")

    monkeypatch.setattr(ts, "process_year", bug)
    with pytest.raises(ValueError, match="could not be broadcast"):
        ts._year_task(2017, [item], WALKER_LAKE_BBOX, {})


# ---------------------------------------------------------------------------------------------
# Selection on the sample's STAC API
# ---------------------------------------------------------------------------------------------


def test_selection_rule_least_masked_over_bbox(stac_url):
    found = ts.search_years(WALKER_LAKE_BBOX, [1988, 1992, 2010, 2012, 2017], max_cloud=20)
    # 1988: two Landsat 5 scenes under 20 % cloud (the 31 % decoy is excluded); the clearest
    # over the bbox is the one the original notebook picked by hand
    assert [it.id for it in found[1988]] == [
        "LT05_L2SP_042033_19880702_02_T1",
        "LT05_L2SP_042033_19880819_02_T1",
    ]
    assert (
        ts.pick_year(found[1988], WALKER_LAKE_BBOX).id
        == sample.EXPECTED_CLEAREST[("landsat-5", "1988-06-01/1988-09-30")]
    )
    # 2017: a Landsat 7 scene with 0 % cloud cover competes with Landsat 8; its SLC-off gaps
    # (qa_pixel fill) over the bbox make it lose: the rule is "least masked over the bbox",
    # not "lowest eo:cloud_cover"; the 2017-05-31 scene lies outside June-September
    ids_2017 = [it.id for it in found[2017]]
    assert "LE07_L2SP_042033_20170726_02_T1" in ids_2017
    assert "LC08_L2SP_042033_20170531_02_T1" not in ids_2017
    assert ts.pick_year(found[2017], WALKER_LAKE_BBOX).id == "LC08_L2SP_042033_20170718_02_T1"
    # too cloudy: 1992 and 2010 have only a > 50 % cloudy scene -> no candidate -> missing
    assert found[1992] == [] and found[2010] == []
    # the only 2012 scene is Landsat 7 (SLC-off): a candidate, later flagged partial
    assert [it.properties["platform"] for it in found[2012]] == ["landsat-7"]
    # with a looser limit the cloudy 1992 scene becomes a candidate
    assert len(ts.search_years(WALKER_LAKE_BBOX, "1992", max_cloud=70)[1992]) == 1


@pytest.fixture(scope="module")
def few_years(stac_server) -> xr.Dataset:
    """2011-2014 at 120 m on dask's threaded scheduler (2012 SLC-off, 2014 cloud over the lake)."""
    catalog = _catalog(stac_server)
    return ts.timeseries(
        WALKER_LAKE_BBOX, "2010-2014", resolution=120, truth=sample.truth, catalog=catalog
    )


def _catalog(stac_server):
    from lakeml.search import open_catalog

    return open_catalog(stac_server.stac_url)


def test_partly_observed_years_are_flagged(few_years):
    table = ts.to_table(few_years).set_index("year")
    assert table.loc[2010, "status"] == "missing" and np.isnan(table.loc[2010, "water_km2"])
    assert table.loc[2012, "platform"] == "landsat-7"
    assert table.loc[[2012, 2014], "status"].tolist() == ["partial", "partial"]
    assert table.loc[[2011, 2013], "status"].tolist() == ["ok", "ok"]
    assert bool(table.loc[2012, "partial"]) and not bool(table.loc[2013, "partial"])
    for year in (2011, 2012, 2013, 2014):
        seen = truth_doc(table.loc[year, "item_id"])["water_observed_fraction"]
        # the observed fraction of the lake's maximum extent follows the truth's own measure
        assert table.loc[year, "valid_fraction"] == pytest.approx(seen, abs=0.08)
    # partial years under-count (observed water only), complete years do not, even at 120 m
    err = table["water_km2"] / table["truth_water_km2"] - 1
    assert (err[[2012, 2014]] < -0.1).all()
    assert (err[[2011, 2013]].abs() < 0.02).all()
    # the trend uses the complete years only: 2 years, a slope but no interval
    assert few_years.attrs["trend_years"] == 2
    assert np.isfinite(few_years.attrs["trend_km2_per_decade"])
    assert np.isnan(few_years.attrs["trend_ci_low_km2_per_decade"])
    assert not any("stderr" in k for k in few_years.attrs)
    # each scene's day of the year, in the June-September season; none for the missing year
    days = table["day_of_year"]
    assert np.isnan(days[2010]) and days.drop(2010).between(152, 273).all()
    assert few_years.attrs["resolution"] == 120.0
    assert few_years.water.sizes["year"] == 5
    assert bool(few_years.water.sel(year=2010).isnull().all())


def test_same_numbers_on_a_distributed_cluster(few_years, stac_server):
    from distributed import Client

    with Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as client:
        again = ts.timeseries(
            WALKER_LAKE_BBOX,
            "2011-2013",
            resolution=120,
            truth=sample.truth,
            catalog=_catalog(stac_server),
            client=client,
            extent=few_years.lake_extent,
        )
    a = ts.to_table(again).set_index("year")
    b = ts.to_table(few_years).set_index("year").loc[a.index]
    assert a["item_id"].tolist() == b["item_id"].tolist()
    np.testing.assert_allclose(a["water_km2"], b["water_km2"])
    np.testing.assert_allclose(a["valid_fraction"], b["valid_fraction"])  # the same extent
    # the same masks: clustering is seeded, whatever the scheduler
    xr.testing.assert_equal(again.water, few_years.water.sel(year=again.year))


def test_a_year_is_judged_against_the_extent_given_not_the_years_requested(few_years, stac_server):
    """Issue 21: the lake's extent was built from the years requested, so a year's partial flag
    (and the trend) changed with --years. 2014 hides part of the lake under cloud (truth:
    about 0.7 of it observed): alone, it was judged against its own water and called complete.
    """
    alone = ts.to_table(
        ts.timeseries(WALKER_LAKE_BBOX, "2014", resolution=120, catalog=_catalog(stac_server))
    ).set_index("year")
    judged_series = ts.timeseries(
        WALKER_LAKE_BBOX,
        "2014",
        resolution=120,
        catalog=_catalog(stac_server),
        extent=few_years.lake_extent,
    )
    judged = ts.to_table(judged_series).set_index("year")
    longer = ts.to_table(few_years).set_index("year")
    seen = truth_doc(longer.loc[2014, "item_id"])["water_observed_fraction"]
    # without an extent: its own water, observed in full; the series says where it came from
    assert alone.loc[2014, "valid_fraction"] == 1.0 and alone.loc[2014, "status"] == "ok"
    # with the longer series' extent: the same fraction and flag as in that series
    assert judged.loc[2014, "valid_fraction"] == pytest.approx(
        longer.loc[2014, "valid_fraction"], abs=1e-6
    )
    assert judged.loc[2014, "valid_fraction"] == pytest.approx(seen, abs=0.08)
    assert judged.loc[2014, "status"] == "partial" == longer.loc[2014, "status"]
    assert judged_series.attrs["extent_source"] == "given"
    assert "2011-2014" in few_years.attrs["extent_source"]


def test_an_extent_elsewhere_is_refused_before_any_search(few_years):
    from odc.geo.xr import assign_crs

    lake = few_years.lake_extent.drop_vars("spatial_ref", errors="ignore")
    far = assign_crs(lake, "EPSG:32618")  # the same numbers in UTM zone 18: near 77 W
    with pytest.raises(checks.BadInput, match="does not overlap the bbox"):
        ts.timeseries(WALKER_LAKE_BBOX, "2014", extent=far, catalog="not reached")


# ---------------------------------------------------------------------------------------------
# The command, 41 summers at 30 m
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("timeseries")
    proc = run(
        ["timeseries", *BBOX, "--years", "1984-2024", "--sample", "--quiet", "--out", str(out)]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


@pytest.mark.slow
def test_timeseries_command_on_the_sample(full_run):
    out, proc = full_run
    with (out / "lake_area.csv").open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CSV_COLUMNS
        rows = list(reader)
    assert [int(r["year"]) for r in rows] == list(range(1984, 2025))
    table = pd.read_csv(out / "lake_area.csv")
    reported = table[table["water_km2"].notna()]
    assert len(reported) >= 38
    # missing years are rows with no scene, not silently dropped
    missing = table[table["water_km2"].isna()]
    assert missing["year"].tolist() == [1992, 2010]
    assert missing["item_id"].isna().all()
    # each reported year's scene is the sample's yearly scene (or the clearest of 1988 / 2017)
    for r in reported.itertuples():
        assert str(r.year) in r.item_id[17:21]
    # complete years match the truth within 2 % (at least 95 % of them)
    complete = reported[~reported["partial"].astype(bool)]
    err = (complete["water_km2"] / complete["truth_water_km2"] - 1).abs()
    assert (err <= 0.02).mean() >= 0.95, complete.assign(err=err)
    # every reported year's water agrees with WOfS, the reference lakeml does not build on
    assert (reported["water_iou_vs_wofs"] >= 0.9).all(), reported["water_iou_vs_wofs"]
    # partly observed years are flagged, not wrong: every year whose scene hides part of the
    # real lake (truth: water_observed_fraction < 0.98) is flagged partial, the 2012 Landsat 7
    # SLC-off year among them; and a flagged year really misses some of the lake
    partial = set(reported.loc[reported["partial"].astype(bool), "year"])
    hidden = {
        r.year
        for r in reported.itertuples()
        if truth_doc(r.item_id)["water_observed_fraction"] < 0.98
    }
    assert 2012 in hidden and hidden <= partial
    for r in reported[reported["partial"].astype(bool)].itertuples():
        assert truth_doc(r.item_id)["water_observed_fraction"] < 0.99
        assert r.valid_fraction < 0.98
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary)[:4] == [
        "years_requested",
        "years_reported",
        "trend_km2_per_decade",
        "seconds",
    ]
    assert summary["years_requested"] == 41 and summary["years_reported"] == len(reported)
    assert summary["years_missing"] == [1992, 2010]
    assert sorted(summary["years_partial"]) == sorted(partial)
    # the trend agrees with the truth's trend over the same years
    truth_t = lake_trend.trend(complete.assign(water_km2=complete["truth_water_km2"], status="ok"))
    assert summary["trend_km2_per_decade"] == pytest.approx(truth_t["km2_per_decade"], rel=0.03)
    assert summary["trend_km2_per_decade"] < -15  # the lake shrank
    # its 95 % interval, allowing for the lake's memory, holds the slope and excludes 0
    low, high = summary["trend_ci_low_km2_per_decade"], summary["trend_ci_high_km2_per_decade"]
    assert low < summary["trend_km2_per_decade"] < high < 0
    assert summary["trend_mk_p"] < 0.05 and summary["trend_mk_tau"] < 0
    assert summary["trend_lag1_autocorrelation"] > 0
    assert summary["trend_effective_years"] < summary["years_in_trend"]
    assert "trend_stderr_km2_per_decade" not in summary
    assert "95% CI" in proc.stdout and "Mann-Kendall p" in proc.stdout
    png = (out / "lake_area.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert not list(out.glob(".*")), "no temporary file left behind"
    assert all((out / n).stat().st_mode & 0o044 for n in ("lake_area.csv", "summary.json"))


def test_the_command_judges_other_years_against_a_run_s_extent(full_run, tmp_path):
    """``--extent`` with the 41-year run's ``lake_extent.tif``: 2014 alone gets that run's flag."""
    out, _ = full_run
    whole = pd.read_csv(out / "lake_area.csv").set_index("year")
    bad = run(["timeseries", *BBOX, "--years", "2014", "--sample", "--out", str(tmp_path),
               "--extent", str(tmp_path / "none.tif")], timeout=60)  # fmt: skip
    assert (
        bad.returncode == 2 and "the lake extent" in bad.stderr and "does not exist" in bad.stderr
    )
    assert not list(tmp_path.iterdir()), "refused before any work"
    proc = run(["timeseries", *BBOX, "--years", "2014", "--sample", "--quiet",
                "--out", str(tmp_path), "--extent", str(out / "lake_extent.tif")])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = pd.read_csv(tmp_path / "lake_area.csv").set_index("year")
    assert one.loc[2014, "valid_fraction"] == pytest.approx(
        whole.loc[2014, "valid_fraction"], abs=1e-6
    )
    assert bool(one.loc[2014, "partial"]) and bool(whole.loc[2014, "partial"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["extent_source"] == "given" and summary["years_partial"] == [2014]
    whole_summary = json.loads((out / "summary.json").read_text())
    assert "1984-2024" in whole_summary["extent_source"]


def test_outputs_carry_no_signed_url_or_asset_link(full_run):
    """No SAS signature, token or asset URL in what the command printed or wrote.

    The sample's links are unsigned, so asset URLs are looked for too: an output that held an
    asset link would hold a signed one on Planetary Computer."""
    out, proc = full_run
    # an asset's file name (``..._SR_B4.TIF``), not the command's own lake_extent.tif
    leak = re.compile(rf"{SIGNED_OR_TOKEN.pattern}|/data/cogs/|_(SR|ST|QA)_\w+\.TIF\b", re.I)
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    texts.update({p.name: p.read_text() for p in out.iterdir() if p.suffix in (".csv", ".json")})
    assert set(texts) == {"stdout", "stderr", "lake_area.csv", "summary.json"}
    for name, text in texts.items():
        assert not leak.search(text), (name, leak.search(text))
