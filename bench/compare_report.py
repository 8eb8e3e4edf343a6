"""bench/compare's tables and plots: medians, ratios to the peers, targets met or not, and the
SVG figures. Imported by bench/compare; pure functions of the samples."""

import math
import statistics
import time

from compare_rows import CONFIGS, ENGINES, LIMIT_TARGET, PEERS, THREADS, report_rows

COLORS = {"groupkv": "#d62728", "rocksdb": "#1f77b4", "leveldb": "#2ca02c",
          "serial": "#7f7f7f", "concurrent": "#d62728", "pipelined": "#1f77b4",
          "pipelined_concurrent": "#9467bd"}
NAMES = {"groupkv": "groupkv", "rocksdb": "RocksDB", "leveldb": "LevelDB"}
PROBES = ("append", "allocated")


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def nan(x):
    return x != x


def probe_latency(fsync):
    """The disk's fdatasync latency: the faster of the probes' medians. Older raw files hold
    one list of append samples."""
    if isinstance(fsync, list):
        fsync = {"append": fsync}
    meds = [median(v) for v in fsync.values() if v]
    return min(meds) if meds else float("nan")


def probe_text(fsync):
    if isinstance(fsync, list):
        fsync = {"append": fsync}
    parts = []
    for k, what in (("append", "after a 128-byte append"),
                    ("allocated", "after a 128-byte write into allocated space")):
        v = sorted(fsync.get(k, []))
        if v:
            parts.append(f"{what}: median {median(v):.0f} µs, p90 {v[int(len(v) * 0.9)]:.0f} µs "
                         f"over {len(v)} calls")
    return "; ".join(parts)


def fmt_ops(x):
    if nan(x):
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} K"
    return f"{x:.0f}"


def fmt_value(x, unit):
    if nan(x):
        return "—"
    if unit == "ms":
        return f"{x * 1e3:.0f}" if x >= 0.1 else f"{x * 1e3:.1f}"
    if unit == "KiB":
        return f"{x / 1024:.0f}"
    if unit == "us":
        return f"{x:.1f}"
    if unit == "x":
        return f"{x:.2f}"
    if unit == "MB/s":
        return f"{x:.1f}"
    return fmt_ops(x)


def medians(samples, row, engine, metric):
    vals = [s[metric] for s in samples.get((row, engine), []) if metric in s]
    return median(vals)


def evaluate(r, samples, lat):
    """One table row: {engine: median}, the ratio groupkv ÷ reference (for `lower` rows the
    reference ÷ groupkv, so above 1 always means groupkv is better), the target text and the
    verdict (None without a target or a groupkv value)."""
    med = {e: medians(samples, r.source, e, r.metric) for e in ENGINES}
    if r.ref == "best":
        peers = [med[e] for e in PEERS if not nan(med[e])]
        ref = (max(peers) if r.better == "higher" else min(peers)) if peers else float("nan")
    else:
        ref = med[r.ref]
    g = med["groupkv"]
    if nan(g) or nan(ref) or ref == 0 or g == 0:
        score = float("nan")
    else:
        score = g / ref if r.better == "higher" else ref / g
    refname = "best peer" if r.ref == "best" else NAMES[r.ref]
    target, ok = "", None
    kind, _, t = r.id.split("/", 1)[1].rpartition("_")
    if r.target is not None:
        want = r.target if r.better == "higher" else 1 / r.target
        target = (f"≥ {r.target} × {refname}" if r.better == "higher"
                  else f"≤ {r.target} × {refname}")
        ok = None if nan(score) else score >= want
        if kind == "sync" and t not in ("1", "") and not nan(lat):
            frac = g / (int(t) * 1e6 / lat)
            target += f"; ≥ 60 % of limit (is {frac * 100:.0f} %)" if not nan(g) else \
                "; ≥ 60 % of limit"
            ok = None if ok is None else ok and frac >= LIMIT_TARGET
    elif kind == "sync" and not nan(lat) and not nan(g):
        target = f"({g / (int(t) * 1e6 / lat) * 100:.0f} % of limit)"
    return med, score, target, ok


def table(config, samples, lat, skipped, only=None):
    """The markdown table of one configuration; returns (lines, verdicts, bars)."""
    lines = ["| workload | groupkv | RocksDB | LevelDB | ratio | target | met |",
             "|---|---:|---:|---:|---:|---|:-:|"]
    verdicts, bars = [], []
    for r in report_rows(config):
        if only is not None and r.source not in only:
            continue
        med, score, target, ok = evaluate(r, samples, lat)
        cells = []
        for e in ENGINES:
            if nan(med[e]) and (r.source, e) in skipped:
                cells.append("n/s")
            else:
                cells.append(fmt_value(med[e], r.unit))
        # The table shows groupkv ÷ reference as is; the plot shows the score (above 1 =
        # groupkv ahead, for lower-is-better rows too).
        shown = score if r.better == "higher" or nan(score) else 1 / score
        ratio = "—" if nan(shown) else f"{shown:.2f}"
        if r.ref != "best" and not nan(score):
            ratio += f" vs {NAMES[r.ref]}"
        met = "" if r.target is None else ("n/a" if ok is None else "yes" if ok else "**no**")
        if r.target is not None:
            verdicts.append((r.id, ok))
        label = r.label
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} | {target} | {met} |")
        want = None if r.target is None else (r.target if r.better == "higher" else 1 / r.target)
        bars.append((r.label, score, want, ok))
    return lines, verdicts, bars


def compare_report(samples, fsync, info, a, elapsed, skipped, only=None):
    """The whole generated section: header, one table per configuration, notes."""
    lat = probe_latency(fsync)
    lines = []
    cmd = f"bench/compare --reps={a.reps}" + (f" --scale={a.scale}" if a.scale != 1 else "") \
        + (f" --only={a.only}" if getattr(a, "only", None) else "")
    lines.append(f"Run of `{cmd}` on " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                 + f" ({elapsed / 60:.1f} min). Machine: {info['nproc']} CPUs ({info['cpu']}), "
                 f"{info['memory']}, {info['filesystem']}, Linux {info['kernel']}; RocksDB "
                 f"{info['rocksdb']}, LevelDB {info['leveldb']}. Load average at the end: "
                 + ", ".join(f"{x:.1f}" for x in info["loadavg"])
                 + " (the benchmark alone keeps it near the number of CPUs; more means other"
                 " work shared the machine).")
    lines.append("")
    if not nan(lat):
        lines.append(f"fdatasync {probe_text(fsync)}. The limit for sync writes at T threads is "
                     f"T ÷ the faster median ({lat:.0f} µs): T × {1e6 / lat:.0f} writes/s.")
        lines.append("")
    lines.append(f"Medians of {a.reps} runs, engines in rotated order. Throughput in operations "
                 "(keys) per second unless the row says otherwise; ratio = groupkv ÷ the best "
                 "peer, or ÷ the engine named; where lower is better (latency, reopen time, "
                 "RSS, write amplification) the best peer is the lowest and the target a "
                 "ceiling. n/s = the row was not run for that engine (see the "
                 "notes); — = no value.")
    all_verdicts, all_bars = [], {}
    for config in CONFIGS:
        if only is not None and not any(s.startswith(config + "/") for s in only):
            continue
        lines += ["", f"**{CONFIGS[config]}** (`--config={config}`)", ""]
        tl, verdicts, bars = table(config, samples, lat, skipped, only)
        lines += tl
        all_verdicts += [(config, v) for v in verdicts]
        all_bars[config] = bars
        if config == "default":
            gk = [(rid, median([s.get("group_size", 0) for s in samples.get((rid, "groupkv"), [])]),
                   median([s.get("syncs_per_write", 0)
                           for s in samples.get((rid, "groupkv"), [])]))
                  for rid in (f"default/sync_{t}" for t in THREADS)
                  if (rid, "groupkv") in samples]
            if gk:
                lines += ["", "groupkv group commit with sync=true (medians): " + "; ".join(
                    f"{rid.rsplit('_', 1)[1]} thr: mean group {g:.2f}, {s:.3f} syncs/write"
                    for rid, g, s in gk) + "."]
    notes = sorted(set(skipped.values()))
    if notes:
        lines += ["", "Not run: " + "; ".join(notes) + "."]
    lines.append("")
    for config in CONFIGS:
        vs = [ok for c, (_, ok) in all_verdicts if c == config]
        if vs:
            lines.append(f"Targets met ({config}): {sum(1 for v in vs if v)} of {len(vs)}"
                         + (f" ({sum(1 for v in vs if v is None)} not measured)"
                            if any(v is None for v in vs) else "") + ".")
    return "\n".join(lines) + "\n", all_bars, lat


def modes_report(samples, fsync, a, info, elapsed, modes):
    lat = probe_latency(fsync)
    lines = [f"Run of `bench/compare --modes --reps={a.reps}"
             + (f" --scale={a.scale}" if a.scale != 1 else "") + "` on "
             + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
             + f" ({elapsed / 60:.1f} min, {info['nproc']} CPUs, shared machine; fdatasync "
             f"median {lat:.0f} µs, the faster probe). fillrandom, 16-byte keys, 100-byte values; "
             f"medians of {a.reps} runs, the modes in rotated order. serial = "
             "allow_concurrent_memtable_write off, enable_pipelined_write off; concurrent = "
             "concurrent memtable inserts; pipelined = pipelined write (serial memtable); "
             "pipelined_concurrent = both. Each cell: writes/s (ratio to serial in the same run).",
             "", "| sync | threads | " + " | ".join(modes) + " |",
             "|---|---:|" + "---:|" * len(modes)]
    for sync in (True, False):
        for t in (1, 4, 16):
            med = {m: median([s["ops"] for s in samples[(sync, t, m)]]) for m in modes}
            base = med["serial"]
            cells = [f"{fmt_ops(med[m])} ({med[m] / base:.2f})" for m in modes]
            lines.append(f"| {'true' if sync else 'false'} | {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def throughput_svg(samples, lat, path, config="default"):
    """Throughput vs threads, sync and not, one line per engine (log-log), as SVG."""
    W, H, PAD_L, PAD_R, PAD_T, PAD_B, GAP = 980, 420, 70, 20, 40, 80, 60
    pw = (W - PAD_L - PAD_R - GAP) // 2
    ph = H - PAD_T - PAD_B
    data = {"sync": {}, "nosync": {}}
    for kind in data:
        for t in THREADS:
            for e in ENGINES:
                v = medians(samples, f"{config}/{kind}_{t}", e, "ops")
                if not nan(v):
                    data[kind].setdefault(e, []).append((t, v))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    legend = {}
    for i, (kind, title) in enumerate((("sync", "sync = true"), ("nosync", "sync = false"))):
        x0 = PAD_L + i * (pw + GAP)
        series = dict(data[kind])
        if kind == "sync" and not nan(lat):
            series["fdatasync limit"] = [(t, t * 1e6 / lat) for t in THREADS]
        vals = [v for pts in series.values() for _, v in pts if v > 0]
        if not vals:
            continue
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi <= lo:
            hi = lo * 10

        def px(t):
            return x0 + pw * math.log2(t) / math.log2(THREADS[-1])

        def py(v):
            return PAD_T + ph * (1 - (math.log10(v) - math.log10(lo))
                                 / (math.log10(hi) - math.log10(lo)))
        out.append(f'<text x="{x0 + pw / 2}" y="{PAD_T - 15}" text-anchor="middle" '
                   f'font-size="14">fillrandom, {title} (--config={config})</text>')
        out.append(f'<rect x="{x0}" y="{PAD_T}" width="{pw}" height="{ph}" fill="none" '
                   f'stroke="#444"/>')
        d = lo
        while d <= hi * 1.0001:
            for m in (1, 2, 5):
                v = d * m
                if lo <= v <= hi:
                    y = py(v)
                    out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" '
                               f'stroke="#ddd"/>')
                    out.append(f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end">'
                               f'{fmt_ops(v)}</text>')
            d *= 10
        for t in THREADS:
            x = px(t)
            out.append(f'<line x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + ph}" '
                       f'stroke="#eee"/>')
            out.append(f'<text x="{x:.1f}" y="{PAD_T + ph + 16}" text-anchor="middle">{t}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{PAD_T + ph + 34}" text-anchor="middle">'
                   f'threads</text>')
        if i == 0:
            out.append(f'<text x="16" y="{PAD_T + ph / 2}" text-anchor="middle" '
                       f'transform="rotate(-90 16 {PAD_T + ph / 2})">writes per second '
                       f'(log scale)</text>')
        for name, pts in series.items():
            color = COLORS.get(name, "#555")
            dash = ' stroke-dasharray="6 4"' if name == "fdatasync limit" else ""
            pts = sorted(pts)
            path_d = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in pts if v > 0)
            out.append(f'<polyline points="{path_d}" fill="none" stroke="{color}" '
                       f'stroke-width="2"{dash}/>')
            for t, v in pts:
                if v > 0:
                    out.append(f'<circle cx="{px(t):.1f}" cy="{py(v):.1f}" r="3" '
                               f'fill="{color}"/>')
            legend.setdefault(name, (color, dash))
    # One legend for both panels, in a row under them, clear of the lines.
    for j, (name, (color, dash)) in enumerate(legend.items()):
        lx, ly = PAD_L + 150 * j, H - 14
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 20}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 25}" y="{ly}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def targets_svg(bars, path):
    """Every row of every table as a bar: groupkv's ratio to its reference (log scale, above 1
    = groupkv ahead), the target as a black tick, green if met, red if not, grey without a
    target; rows groupkv did not run are labelled so."""
    rows = [(config, b) for config, bs in bars.items() for b in bs]
    LABEL_W, PW, ROW_H, TOP = 380, 520, 18, 50
    W = LABEL_W + PW + 90
    H = TOP + ROW_H * (len(rows) + 2 * len(bars)) + 40
    lo, hi = 0.1, 10.0

    def px(v):
        v = min(max(v, lo), hi)
        return LABEL_W + PW * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">groupkv ÷ reference '
           f'(log scale; above 1 = groupkv ahead), target ticked; green met, red not</text>']
    for v in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        x = px(v)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{H - 30}" '
                   f'stroke="{"#888" if v == 1 else "#e4e4e4"}"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP - 12}" text-anchor="middle">{v:g}</text>')
    y = TOP
    for config, bs in bars.items():
        y += ROW_H
        out.append(f'<text x="4" y="{y - 4}" font-weight="bold">--config={config}</text>')
        for label, score, want, ok in bs:
            out.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">'
                       f'{esc(label)}</text>')
            if nan(score):
                out.append(f'<text x="{px(1) + 4:.1f}" y="{y + 12}" fill="#888">not run for '
                           f'groupkv</text>')
            else:
                color = "#999" if want is None else "#2ca02c" if ok else "#d62728"
                x0, x1 = sorted((px(1), px(score)))
                out.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" '
                           f'height="{ROW_H - 6}" fill="{color}"/>')
                out.append(f'<text x="{px(hi) + 4:.1f}" y="{y + 12}">{score:.2f}</text>')
            if want is not None:
                tx = px(want)
                out.append(f'<line x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" y2="{y + ROW_H - 1}" '
                           f'stroke="black" stroke-width="2"/>')
            y += ROW_H
        y += ROW_H
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")
