"""A run's results: the summary (medians, min-max and ratios taken repetition by repetition),
the terminal table, and PNG charts drawn by gnuplot (Debian's gnuplot-nox)."""
import statistics
import subprocess
import tempfile
from pathlib import Path

from switches import VARIANTS

MODES = ("closed", "zero_loss", "udp", "rpc", "iperf3")
TITLES = {"closed": "closed loop", "zero_loss": "zero loss",
          "udp": "UDP received per second of sending, size: the UDP payload",
          "rpc": "RPC requests answered per second (M), size: the request and the answer",
          "iperf3": "TCP goodput between VMs (iperf3), size: iperf3's write length"}
INFLIGHT = 512  # cases.INFLIGHT
XLABEL = {"udp": "UDP payload", "rpc": "RPC message", "iperf3": "TCP write"}
# a mode's figure: its key in a sample and its unit (Mpps unless said here)
FIGURE = {"rpc": ("mpps", "M requests/s"), "iperf3": ("gbps", "Gbit/s")}


def figure(mode):
    return FIGURE.get(mode, ("mpps", "Mpps"))


REFERENCES = ("ovs", "ovs-flows", "testpmd", "kernel", "vhostlib", "vring", "vswd-nooff",
              "vswd-novring")


def num(x, places):
    """x with `places` decimals, or as many significant digits where it is smaller than 1 (VMs
    under TCG make figures of a few thousandths)."""
    return f"{x:.{places}f}" if x >= 1 or x == 0 else f"{x:.{places}g}"


def sig(x):
    """x to 4 decimals, or 4 significant digits below 1."""
    return round(x, 4) if x >= 1 else float(f"{x:.4g}")


def ratio_names(switches):
    """The ratios a run with these switches has: vswd/reference, variant/plain."""
    out = [f"vswd/{r}" for r in REFERENCES if r in switches and "vswd" in switches]
    return out + [n for v, (n, base) in VARIANTS.items() if v in switches and base in switches]


def size_key(size):
    return (size == "imix", size if size != "imix" else 0)


# repetitions of one switch this far apart within one placement class: the host, not the
# switches, moved the figures (quiet runs here stay within 1.1-1.46x)
NOISY = 1.5


def spread(rows, mode):
    """The largest max/min of one switch's figures among samples of one placement class;
    None with no class of two non-zero samples."""
    key, worst = figure(mode)[0], None
    for cls in {s["probe"]["label"] for s in rows}:
        xs = [s[mode][key] for s in rows if s["probe"]["label"] == cls and s[mode][key] > 0]
        if len(xs) > 1:
            worst = max(worst or 0, max(xs) / min(xs))
    return round(worst, 2) if worst is not None else None


def rep_ratios(num, den, mode):
    """a/b of the samples of each repetition (taken back to back, so on the same machine
    state), with both placements; None where b measured 0. And their medians, over all and
    over the repetitions whose two samples had the same placement."""
    per, key = [], figure(mode)[0]
    for rep in sorted({s["rep"] for s in num} & {s["rep"] for s in den}):
        a = next(s for s in num if s["rep"] == rep)
        b = next(s for s in den if s["rep"] == rep)
        per.append({"rep": rep,
                    "ratio": round(a[mode][key] / b[mode][key], 3) if b[mode][key] > 0 else None,
                    "placements": [a["probe"]["label"], b["probe"]["label"]]})
    if not per:
        return None
    ok = [p["ratio"] for p in per if p["ratio"] is not None]
    same = [p["ratio"] for p in per if p["ratio"] is not None and len(set(p["placements"])) == 1]
    return {"per_rep": per, "median": round(statistics.median(ok), 3) if ok else None,
            "median_same_placement": round(statistics.median(same), 3) if same else None}


def summarize(samples, switches):
    """Per topology, mode, size and MAC count: each switch's median, min and max (in the mode's
    unit: Mpps, M requests/s, Gbit/s); the
    ratios vswd/reference per repetition; with several MAC counts, each switch's ratio to its
    own figure at the fewest MACs."""
    out = []
    keys = sorted({(s["topology"], m, s["size"], s.get("macs", 1)) for s in samples
                   for m in MODES if m in s},
                  key=lambda k: (k[0], k[1], size_key(k[2]), k[3]))
    fewest = min((s.get("macs", 1) for s in samples), default=1)
    for topo, mode, size, macs in keys:
        def rows(sw, macs=macs):
            return [s for s in samples if (s["topology"], s["size"], s.get("macs", 1),
                                           s["switch"]) == (topo, size, macs, sw) and mode in s]
        key, unit = figure(mode)
        entry = {"topology": topo, "mode": mode, "size": size, "macs": macs, "unit": unit,
                 "switches": {}, "ratios": {}}
        for sw in switches:
            xs = [s[mode][key] for s in rows(sw)]
            if xs:
                entry["switches"][sw] = {"median": sig(statistics.median(xs)),
                                         "min": sig(min(xs)), "max": sig(max(xs)),
                                         "samples": [sig(x) for x in xs],
                                         "spread_in_placement": spread(rows(sw), mode)}
        entry["noisy"] = [sw for sw, v in entry["switches"].items()
                          if (v["spread_in_placement"] or 0) > NOISY]
        if "vswd" in switches:
            for ref in [r for r in REFERENCES if r in switches]:
                r = rep_ratios(rows("vswd"), rows(ref), mode)
                if r:
                    entry["ratios"][f"vswd/{ref}"] = r
        for var, (name, base) in VARIANTS.items():
            if var in switches and base in switches:
                r = rep_ratios(rows(var), rows(base), mode)
                if r:
                    entry["ratios"][name] = r
        if macs != fewest:
            entry["vs_fewest_macs"] = {sw: rep_ratios(rows(sw), rows(sw, fewest), mode)
                                       for sw in switches if rows(sw)}
        out.append(entry)
    return out


def table(summary, switches):
    """Lines for the terminal: one block per topology and mode (and MAC count, if several)."""
    lines = []
    names = ratio_names(switches)
    blocks = sorted({(e["topology"], e["mode"], e["macs"]) for e in summary})
    several = len({b[2] for b in blocks}) > 1
    for topo, mode, macs in blocks:
        lines.append(f"\n{topo}, {TITLES[mode]}"
                     + (f", {macs} MAC{'s' if macs > 1 else ''} per port" if several else "")
                     + f" ({figure(mode)[1]}, median [min-max])")
        rows = [e for e in summary if (e["topology"], e["mode"], e["macs"]) == (topo, mode, macs)]
        extra = [f"{sw}/fewest" for sw in switches] if "vs_fewest_macs" in rows[0] else []
        lines.append(f"{'size':>5} " + " ".join(f"{s:>22}" for s in switches) + "".join(
            f" {h:>13}" for h in names + extra))
        for e in rows:
            cells = []
            for s in switches:
                v = e["switches"].get(s)
                cells.append(f"{num(v['median'], 3)} [{num(v['min'], 2)}-{num(v['max'], 2)}]"
                             if v else "-")
            ratios = [e["ratios"].get(n, {}).get("median") for n in names]
            ratios += [(e["vs_fewest_macs"].get(sw) or {}).get("median") for sw in switches] \
                if extra else []
            lines.append(f"{e['size']:>5} " + " ".join(f"{c:>22}" for c in cells) + "".join(
                f" {r:13.2f}" if r is not None else f" {'-':>13}" for r in ratios))
            same = [e["ratios"].get(n, {}).get("median_same_placement") for n in names]
            if names:
                lines.append(f"{'':>5} {'(same placement class)':>{23 * len(switches) - 1}}"
                             + "".join(f" {r:13.2f}" if r is not None else f" {'-':>13}"
                                       for r in same))
            if e.get("noisy"):
                lines.append(f"{'':>5} noisy: " + ", ".join(
                    f"{sw} {e['switches'][sw]['spread_in_placement']:.1f}x" for sw in e["noisy"])
                    + f" between repetitions in one placement class (over {NOISY}x): the host "
                    "moved these figures; more --reps, or a quieter host, before reading a ratio")
    lines.append("vswd/X, variant/plain (and X/fewest: against the same switch with the fewest "
                 "MACs): the median of the ratios taken repetition by repetition; (same "
                 "placement class): of those whose two samples had the same c2c class")
    return lines


def _gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError(f"gnuplot: {(r.stderr.strip().splitlines() or ['failed'])[-1]}")


def charts(result, outdir):
    """Throughput against frame size per switch (one chart per topology and mode) and the
    latency CDFs trafgen measured. Returns the files written."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    switches = result["config"]["switch"]
    written = []
    with tempfile.TemporaryDirectory(prefix="vbchart") as tmp:
        for topo, mode, macs in sorted({(e["topology"], e["mode"], e["macs"])
                                        for e in result["summary"]}):
            rows = [e for e in result["summary"]
                    if (e["topology"], e["mode"], e["macs"]) == (topo, mode, macs)]
            sizes = sorted({e["size"] for e in rows}, key=size_key)
            name = f"{topo}-{mode}" + (f"-{macs}macs" if macs > 1 else "")
            data = Path(tmp) / f"{name}.dat"
            with open(data, "w") as f:
                for i, size in enumerate(sizes):
                    e = next(e for e in rows if e["size"] == size)
                    f.write(f"{i} {size} " + " ".join(
                        str(e["switches"].get(s, {}).get("median", "NaN")) for s in switches)
                        + "\n")
            png = outdir / f"{name}.png"
            plots = ", ".join(f"'{data}' using 1:{3 + k}:xtic(2) with linespoints title '{s}'"
                              for k, s in enumerate(switches))
            _gnuplot(f"set terminal pngcairo size 800,500\nset output '{png}'\n"
                     f"set title '{topo}, {mode.replace('_', ' ')}"
                     + (f", {macs} MACs per port" if macs > 1 else "")
                     + f": throughput by {XLABEL.get(mode, 'frame')} size'\n"
                     f"set xlabel '{XLABEL.get(mode, 'frame')} size (bytes)'\n"
                     f"set ylabel '{figure(mode)[1]}'\n"
                     "set yrange [0:*]\n"
                     "set grid\nset key outside right\n"
                     f"plot {plots}\n")
            written.append(png)
        cdfs = [(s, m) for s in result["samples"] for m in MODES
                if m in s and s[m].get("cdf") and None not in s[m]["cdf"]]
        for topo, mode in sorted({(s["topology"], m) for s, m in cdfs}):
            mine = [s for s, m in cdfs if (s["topology"], m) == (topo, mode)]
            chosen = {}  # its first size and MAC count, the first repetition of each switch
            for s in mine:
                if (s["size"], s.get("macs", 1)) == (mine[0]["size"], mine[0].get("macs", 1)):
                    chosen.setdefault(s["switch"], s[mode]["cdf"])
            plots = []
            for sw, cdf in chosen.items():
                data = Path(tmp) / f"cdf-{topo}-{mode}-{sw}.dat"
                data.write_text("".join(f"{us} {q / 100}\n" for q, us in enumerate(cdf, 1)))
                plots.append(f"'{data}' using 1:2 with lines title '{sw}'")
            what = ("one-way latency at the zero-loss rate" if mode == "zero_loss" else
                    f"one-way latency in a closed loop of {INFLIGHT} frames (mostly queueing)")
            png = outdir / f"latency-{topo}-{mode}.png"
            _gnuplot(f"set terminal pngcairo size 800,500\nset output '{png}'\n"
                     f"set title '{topo}, {mine[0]['size']} B: {what}'\n"
                     "set xlabel 'us'\nset ylabel 'fraction of frames'\nset logscale x\n"
                     "set grid\nset key bottom right\n"
                     f"plot {', '.join(plots)}\n")
            written.append(png)
    return written
