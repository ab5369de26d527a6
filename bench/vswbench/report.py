"""A run's results: the summary (medians, min-max and ratios taken repetition by repetition),
the terminal table, and PNG charts drawn by gnuplot (Debian's gnuplot-nox)."""
import statistics
import subprocess
import tempfile
from pathlib import Path

MODES = ("closed", "zero_loss")
REFERENCES = ("ovs", "ovs-flows", "testpmd", "kernel")


def order_sizes(sizes):
    return sorted(sizes, key=lambda s: (s == "imix", s if s != "imix" else 0))


def summarize(samples, switches):
    """Per topology, mode and size: each switch's median, min and max (Mpps), and the ratios
    vswd/reference of each repetition (both taken in the same repetition, so on the same
    machine state), with the placements the two samples had."""
    out = []
    keys = sorted({(s["topology"], m, s["size"]) for s in samples for m in MODES if m in s},
                  key=lambda k: (k[0], k[1], k[2] == "imix", k[2] if k[2] != "imix" else 0))
    for topo, mode, size in keys:
        rows = [s for s in samples if (s["topology"], s["size"]) == (topo, size) and mode in s]
        entry = {"topology": topo, "mode": mode, "size": size, "switches": {}, "ratios": {}}
        for sw in switches:
            xs = [s[mode]["mpps"] for s in rows if s["switch"] == sw]
            if xs:
                entry["switches"][sw] = {"median_mpps": round(statistics.median(xs), 4),
                                         "min_mpps": round(min(xs), 4),
                                         "max_mpps": round(max(xs), 4),
                                         "samples": [round(x, 4) for x in xs]}
        if "vswd" in switches:
            for ref in [r for r in REFERENCES if r in switches]:
                per = []
                for rep in sorted({s["rep"] for s in rows}):
                    a = [s for s in rows if s["rep"] == rep and s["switch"] == "vswd"]
                    b = [s for s in rows if s["rep"] == rep and s["switch"] == ref]
                    if a and b:  # no ratio to a reference that measured 0
                        ref_mpps = b[0][mode]["mpps"]
                        per.append({"rep": rep,
                                    "ratio": round(a[0][mode]["mpps"] / ref_mpps, 3)
                                    if ref_mpps > 0 else None,
                                    "placements": [a[0]["probe"]["label"],
                                                   b[0]["probe"]["label"]]})
                if per:
                    ok = [p for p in per if p["ratio"] is not None]
                    same = [p["ratio"] for p in ok if len(set(p["placements"])) == 1]
                    entry["ratios"][f"vswd/{ref}"] = {
                        "per_rep": per,
                        "median": round(statistics.median(p["ratio"] for p in ok), 3)
                        if ok else None,
                        "median_same_placement": round(statistics.median(same), 3)
                        if same else None}
        out.append(entry)
    return out


def table(summary, switches):
    """Lines for the terminal: one block per topology and mode."""
    lines = []
    refs = [r for r in REFERENCES if r in switches and "vswd" in switches]
    for topo, mode in sorted({(e["topology"], e["mode"]) for e in summary}):
        lines.append(f"\n{topo}, {'closed loop' if mode == 'closed' else 'zero loss'} "
                     f"(Mpps, median [min-max])")
        head = f"{'size':>5} " + " ".join(f"{s:>22}" for s in switches) + "".join(
            f" {'vswd/' + r:>13}" for r in refs)
        lines.append(head)
        for e in [e for e in summary if (e["topology"], e["mode"]) == (topo, mode)]:
            cells = []
            for s in switches:
                v = e["switches"].get(s)
                cells.append(f"{v['median_mpps']:7.3f} [{v['min_mpps']:.2f}-{v['max_mpps']:.2f}]"
                             if v else "-")
            ratios = [e["ratios"].get(f"vswd/{r}", {}).get("median") for r in refs]
            lines.append(f"{e['size']:>5} " + " ".join(f"{c:>22}" for c in cells) + "".join(
                f" {r:13.2f}" if r is not None else f" {'-':>13}" for r in ratios))
    lines.append("vswd/X: the median of the ratios taken repetition by repetition")
    return lines


def _gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError(f"gnuplot: {r.stderr.strip().splitlines()[-1:]}")


def charts(result, outdir):
    """Throughput against frame size per switch (one chart per topology and mode) and the
    latency CDFs trafgen measured. Returns the files written."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    switches = result["config"]["switch"]
    written = []
    with tempfile.TemporaryDirectory(prefix="vbchart") as tmp:
        for topo, mode in sorted({(e["topology"], e["mode"]) for e in result["summary"]}):
            rows = [e for e in result["summary"] if (e["topology"], e["mode"]) == (topo, mode)]
            sizes = order_sizes([e["size"] for e in rows])
            data = Path(tmp) / f"{topo}-{mode}.dat"
            with open(data, "w") as f:
                for i, size in enumerate(sizes):
                    e = next(e for e in rows if e["size"] == size)
                    f.write(f"{i} {size} " + " ".join(
                        str(e["switches"].get(s, {}).get("median_mpps", "NaN")) for s in switches)
                        + "\n")
            png = outdir / f"{topo}-{mode}.png"
            plots = ", ".join(f"'{data}' using 1:{3 + k}:xtic(2) with linespoints title '{s}'"
                              for k, s in enumerate(switches))
            _gnuplot(f"set terminal pngcairo size 800,500\nset output '{png}'\n"
                     f"set title '{topo}, {mode.replace('_', ' ')}: throughput by frame size'\n"
                     "set xlabel 'frame size (bytes)'\nset ylabel 'Mpps'\nset yrange [0:*]\n"
                     "set grid\nset key outside right\n"
                     f"plot {plots}\n")
            written.append(png)
        cdfs = [(s, m) for s in result["samples"] for m in MODES
                if m in s and s[m].get("cdf") and min(s[m]["cdf"]) >= 0]
        for topo, mode in sorted({(s["topology"], m) for s, m in cdfs}):
            chosen = {}
            for s, m in cdfs:  # the first size measured, the first repetition of each switch
                if (s["topology"], m) == (topo, mode) and s["size"] == cdfs[0][0]["size"]:
                    chosen.setdefault(s["switch"], s[m]["cdf"])
            if not chosen:
                continue
            plots = []
            for sw, cdf in chosen.items():
                data = Path(tmp) / f"cdf-{topo}-{mode}-{sw}.dat"
                data.write_text("".join(f"{us} {q / 100}\n" for q, us in enumerate(cdf, 1)))
                plots.append(f"'{data}' using 1:2 with lines title '{sw}'")
            png = outdir / f"latency-{topo}-{mode}.png"
            _gnuplot(f"set terminal pngcairo size 800,500\nset output '{png}'\n"
                     f"set title '{topo}, {mode.replace('_', ' ')}: one-way latency CDF'\n"
                     "set xlabel 'us'\nset ylabel 'fraction of frames'\nset logscale x\n"
                     "set grid\nset key bottom right\n"
                     f"plot {', '.join(plots)}\n")
            written.append(png)
    return written
