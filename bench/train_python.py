#!/usr/bin/python3
"""bench/train_python.py: the shelfops_train pipeline done the usual way, for the
side-by-side benchmark (bench/train_vs_python.sh).

    /usr/bin/python3 bench/train_python.py --dataset rossmann --horizon 42 --nthread 1

Phases, timed like the extension's:
  read      psycopg2: the dataset row, shelfops.stores and
            COPY (SELECT ... FROM shelfops.sales ... ORDER BY store_id, product_id,
            sale_date) TO STDOUT, parsed by pandas.read_csv
  features  pandas: every series laid on the dataset's calendar (missing periods NaN,
            closed periods NaN for history), then the feature list of docs/features.md
            with groupby shift / rolling over calendar periods, covariates, codes fixed
            on the training window and training-window means
  boosting  xgboost.DMatrix + xgboost.train with the extension's default parameters
            (reg:squarederror, depth 8, eta 0.05, 300 rounds, subsample 0.8,
            colsample_bytree 0.8, hist, seed 42, max_bin 256) and --nthread
  scoring   calibration and holdout predictions (clamped at 0, closed days 0),
            90 % split-conformal half-width from the calibration block, holdout WAPE,
            coverage, seasonal-naive WAPE, and the model saved to bytes (UBJSON)

The split is shelfops_train's: holdout = the last `holdout` periods forecast from one
origin, a calibration block of the same length just before it, training targets before
that.  Prints one JSON line.
"""
import argparse
import io
import json
import os
import time

import numpy as np
import pandas as pd
import psycopg2
import xgboost as xgb

COVS = ["promo_count", "is_promotional", "is_holiday", "holiday_type",
        "is_school_holiday", "is_open", "unit_price"]
FLAGS = ["is_promotional", "is_holiday", "is_school_holiday", "is_open"]


def read(dsn, dataset):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    cur.execute("SELECT frequency, coalesce(date_min, (SELECT min(sale_date) FROM shelfops.sales "
                "WHERE dataset_id = %s)), coalesce(date_max, (SELECT max(sale_date) FROM shelfops.sales "
                "WHERE dataset_id = %s)) FROM shelfops.datasets WHERE dataset_id = %s",
                (dataset, dataset, dataset))
    frequency, date_min, date_max = cur.fetchone()
    buf = io.StringIO()
    cur.copy_expert(cur.mogrify(
        "COPY (SELECT store_id, product_id, sale_date, quantity, category, promo_count, "
        "is_promotional::int, is_holiday::int, holiday_type, is_school_holiday::int, is_open::int, "
        "unit_price FROM shelfops.sales WHERE dataset_id = %s "
        "ORDER BY store_id, product_id, sale_date) TO STDOUT WITH (FORMAT csv, HEADER)",
        (dataset,)).decode(), buf)
    buf.seek(0)
    sales = pd.read_csv(buf, dtype={"store_id": str, "product_id": str, "category": str,
                                    "holiday_type": str}, parse_dates=["sale_date"])
    cur.execute("SELECT store_id, store_type, assortment, competition_distance::float8, size::float8, "
                "promo2::int::float8 FROM shelfops.stores WHERE dataset_id = %s", (dataset,))
    stores = pd.DataFrame(cur.fetchall(), columns=["store_id", "store_type", "assortment",
                                                   "competition_distance", "size", "promo2"])
    for c in ["competition_distance", "size", "promo2"]:
        stores[c] = stores[c].astype("float64")
    conn.close()
    return frequency, pd.Timestamp(date_min), pd.Timestamp(date_max), sales, stores


def codes(values, dictionary):
    """Index of each value in the sorted dictionary, -1 when unseen, NaN when missing."""
    out = pd.Categorical(values, categories=dictionary).codes.astype("float32")
    out[pd.isna(values).values] = np.nan
    return out


def build(frequency, date_min, date_max, sales, stores, horizon, holdout):
    daily = frequency == "daily"
    step = 1 if daily else 7
    H = horizon
    nper = (date_max - date_min).days // step + 1
    T = nper - 1
    origin = T - holdout
    cal_first = origin - holdout + 1
    train_last = cal_first - 1

    # series in (store_id, product_id) order, as read; each laid on the full calendar
    sales["period"] = (sales["sale_date"] - date_min).dt.days // step
    keys = sales[["store_id", "product_id"]].drop_duplicates().reset_index(drop=True)
    keys["sid"] = np.arange(len(keys))
    sales = sales.merge(keys, on=["store_id", "product_id"], how="left")
    panel = pd.DataFrame({"sid": np.repeat(keys["sid"].values, nper),
                          "period": np.tile(np.arange(nper), len(keys))})
    panel = panel.merge(sales.drop(columns=["store_id", "product_id", "sale_date"]),
                        on=["sid", "period"], how="left")
    panel = panel.merge(keys, on="sid", how="left")
    panel["date"] = date_min + pd.to_timedelta(panel["period"] * step, unit="D")
    closed = panel["is_open"] == 0
    panel["yh"] = panel["quantity"].where(~closed)          # history: closed = missing
    g = panel.groupby("sid", sort=False)["yh"]
    in_train = panel["period"] <= train_last

    X = pd.DataFrame(index=panel.index)
    # calendar of the period's first day d (weekly: d .. d+6)
    d = panel["date"].dt
    last = panel["date"] + pd.Timedelta(days=step - 1)
    if daily:
        X["day_of_week"] = d.dayofweek + 1
    X["day_of_month"] = d.day
    X["day_of_year"] = d.dayofyear
    X["week_of_year"] = d.isocalendar().week.astype("int64").values
    X["month"] = d.month
    rolled = last.dt.month != d.month
    X["is_month_start"] = ((d.day == 1) | rolled).astype(int)
    X["is_month_end"] = (rolled | last.dt.is_month_end).astype(int)
    if daily:
        X["is_weekend"] = (d.dayofweek >= 5).astype(int)
    X["days_to_month_end"] = d.days_in_month - d.day

    # history: y only at periods <= t - H
    for j in range(3):
        X["lag_horizon" if j == 0 else f"lag_horizon_{j}"] = g.shift(H + j)
    if daily:
        k0 = (H + 6) // 7
        sw = [f"lag_same_weekday_{j + 1}" for j in range(4)]
        for j in range(4):
            X[sw[j]] = g.shift(7 * (k0 + j))
        X["same_weekday_mean"] = X[sw].mean(axis=1)
        X["lag_year"] = g.shift(364 * ((H + 363) // 364))
        windows = [7, 28, 91]
    else:
        X["lag_year"] = g.shift(52 * ((H + 51) // 52))
        windows = [4, 13, 52]
    shifted = X["lag_horizon"]
    gs = shifted.groupby(panel["sid"], sort=False)
    for w in windows:
        r = gs.rolling(w, min_periods=1)
        X[f"roll_mean_{w}"] = r.mean().values
        X[f"roll_std_{w}"] = gs.rolling(w, min_periods=2).std().values
        X[f"roll_min_{w}"] = r.min().values
        X[f"roll_max_{w}"] = r.max().values
    X[f"roll_count_{windows[-1]}"] = gs.rolling(windows[-1], min_periods=0).count().values

    # covariates planned for t, those present in the training window
    tr = panel[in_train]
    present = {}
    for c in COVS:
        col = tr[c]
        present[c] = bool((col == 1).any()) if c in ("is_promotional", "is_holiday") else bool(col.notna().any())
    for c in COVS:
        if not present[c]:
            continue
        if c == "holiday_type":
            X[c] = codes(panel[c], sorted(tr[c].dropna().unique()))
        else:
            X[c] = panel[c].astype("float32")
    promo = "promo_count" if present["promo_count"] else "is_promotional" if present["is_promotional"] else None
    gp = panel.groupby("sid", sort=False)
    if promo:
        X["promo_prev"] = gp[promo].shift(1)
        X["promo_next"] = gp[promo].shift(-1)
    if present["is_holiday"]:
        X["holiday_prev"] = gp["is_holiday"].shift(1)
        X["holiday_next"] = gp["is_holiday"].shift(-1)

    # static values fixed on the training window
    cats = sorted(tr["category"].dropna().unique())
    if cats:
        first_cat = panel.groupby("sid", sort=False)["category"].transform("first")
        X["category_code"] = codes(first_cat, cats)
    store_ids = sorted(tr.loc[tr["quantity"].notna(), "store_id"].unique())
    if len(store_ids) > 1:
        X["store_code"] = codes(panel["store_id"], store_ids)
    st = stores[stores["store_id"].isin(store_ids)].set_index("store_id")
    attrs = panel[["store_id"]].join(st, on="store_id")
    for col, name in [("store_type", "store_type_code"), ("assortment", "assortment_code")]:
        dic = sorted(st[col].dropna().unique())
        if dic:
            X[name] = codes(attrs[col], dic)
    for col, name in [("competition_distance", "competition_distance"), ("size", "store_size"),
                      ("promo2", "promo2")]:
        if st[col].notna().any():
            X[name] = attrs[col].astype("float32").values
    obs = tr[tr["yh"].notna()]
    X["series_mean_train"] = panel["sid"].map(obs.groupby("sid")["yh"].mean())
    if daily:
        dow = obs.groupby(["sid", obs["date"].dt.dayofweek])["yh"].mean()
        X["series_dow_mean_train"] = pd.Series(
            dow.reindex(pd.MultiIndex.from_arrays([panel["sid"], panel["date"].dt.dayofweek])).values,
            index=panel.index)
    if keys.groupby("store_id").size().max() > 1:
        X["store_mean_train"] = panel["store_id"].map(obs.groupby("store_id")["yh"].mean())
    if keys.groupby("product_id").size().max() > 1:
        X["product_mean_train"] = panel["product_id"].map(obs.groupby("product_id")["yh"].mean())

    X = X.astype("float32")
    observed = panel["quantity"].notna()
    parts = {
        "train": (observed & ~closed & in_train).values,
        "calibration": (observed & (panel["period"] >= cal_first) & (panel["period"] <= origin)).values,
        "holdout": (observed & (panel["period"] > origin)).values,
    }
    return panel, X, parts, origin, 52 if not daily else 7


def seasonal_naive(panel, rows, origin, season, nper):
    y = panel["quantity"].values.reshape(-1, nper)          # raw y, as the extension's baseline
    sid = panel["sid"].values[rows]
    t = panel["period"].values[rows]
    h = t - origin
    c = origin - season + ((h - 1) % season) + 1
    out = np.full(len(t), np.nan)
    while True:
        todo = np.isnan(out) & (c >= 0)
        if not todo.any():
            break
        out[todo] = y[sid[todo], c[todo]]
        c = np.where(np.isnan(out), c - season, c)
    return np.nan_to_num(out, nan=0.0)


def wape(a, f):
    return float(np.abs(a - f).sum() / np.abs(a).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--holdout", type=int)
    ap.add_argument("--nthread", type=int, default=1)
    ap.add_argument("--params", default="{}", help="jsonb-like overrides, e.g. {\"max_depth\": 6}")
    ap.add_argument("--dsn", default=os.environ.get("SHELFOPS_DSN", ""))
    a = ap.parse_args()
    holdout = a.holdout or a.horizon
    extra = json.loads(a.params)
    rounds = int(extra.pop("n_estimators", 300))

    t0 = time.perf_counter()
    frequency, date_min, date_max, sales, stores = read(a.dsn, a.dataset)
    t_read = time.perf_counter() - t0

    t1 = time.perf_counter()
    panel, X, parts, origin, season = build(frequency, date_min, date_max, sales, stores,
                                            a.horizon, holdout)
    tr, ca, ho = parts["train"], parts["calibration"], parts["holdout"]
    Xtr, ytr = X.values[tr], panel["quantity"].values[tr].astype("float32")
    t_features = time.perf_counter() - t1

    t2 = time.perf_counter()
    params = {"objective": "reg:squarederror", "max_depth": 8, "eta": 0.05, "subsample": 0.8,
              "colsample_bytree": 0.8, "tree_method": "hist", "seed": 42, "max_bin": 256,
              "min_child_weight": 1, "lambda": 1, "alpha": 0, "gamma": 0,
              "nthread": a.nthread, "verbosity": 0, "validate_parameters": 1}
    params.update(extra)
    dtrain = xgb.DMatrix(Xtr, label=ytr, missing=np.nan, feature_names=list(X.columns),
                         nthread=a.nthread)
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    t_boost = time.perf_counter() - t2

    t3 = time.perf_counter()
    closed = (panel["is_open"] == 0).values

    def predict(rows):
        p = booster.inplace_predict(X.values[rows], missing=np.nan).astype("float64")
        p[~(p > 0) | closed[rows]] = 0.0
        return p

    y = panel["quantity"].values
    pc = predict(ca)
    res = np.abs(y[ca] - pc)[~closed[ca]]
    res.sort()
    k = min(max(int(np.ceil((len(res) + 1) * 0.9)), 1), len(res))
    half = res[k - 1]
    ph = predict(ho)
    lo = np.maximum(ph - half, 0)
    hi = np.where((ph == 0) & closed[ho], 0, ph + half)
    ya = y[ho]
    naive = seasonal_naive(panel, ho, origin, season, panel["period"].max() + 1)
    naive[~(naive > 0) | closed[ho]] = 0.0
    model_bytes = booster.save_raw(raw_format="ubj")
    result = {"wape": wape(ya, ph), "naive_wape": wape(ya, naive),
              "coverage": float(((ya >= lo) & (ya <= hi)).mean())}
    t_score = time.perf_counter() - t3

    result.update({
        "dataset": a.dataset, "nthread": a.nthread, "params": a.params,
        "rows": {"train": int(tr.sum()), "calibration": int(ca.sum()), "holdout": int(ho.sum())},
        "features": X.shape[1], "model_bytes": len(model_bytes),
        "seconds": {"read": round(t_read, 3), "features": round(t_features, 3),
                    "boosting": round(t_boost, 3), "scoring": round(t_score, 3),
                    "total": round(time.perf_counter() - t0, 3)}})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
