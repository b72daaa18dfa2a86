#!/usr/bin/env python3
"""Draws weft-bench's capacity comparison: throughput and p99 latency against channel capacity.

    python3 plot_capacities.py capacities.json capacities.png

Reads the JSON that `weft-bench capacities` writes and draws two panels sharing a log-scale
capacity axis: median throughput (with the min-max range shaded) and p99 send-to-receive latency
(log scale), one line per producer count, the recommended capacity of each circled.
weft-bench runs this itself; it exits 3 if matplotlib is missing, so weft-bench can say so.
"""
import json
import sys

try:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator
except ImportError:
    print("plot_capacities.py: matplotlib is not installed (Debian: apt-get install python3-matplotlib)",
          file=sys.stderr)
    sys.exit(3)


def main(json_path, png_path):
    with open(json_path) as f:
        data = json.load(f)
    results = data["results"]
    recommended = {r["producers"]: r["capacity"] for r in data["recommendations"]}
    producer_counts = sorted({r["producers"] for r in results})
    capacities = sorted({r["capacity"] for r in results})

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 7.5), constrained_layout=True)
    for i, p in enumerate(producer_counts):
        rows = sorted((r for r in results if r["producers"] == p), key=lambda r: r["capacity"])
        caps = [r["capacity"] for r in rows]
        color = f"C{i}"
        label = f"{p} producer" + ("" if p == 1 else "s")
        top.plot(caps, [r["throughput"]["median"] / 1e6 for r in rows], "o-", color=color, label=label)
        top.fill_between(caps, [r["throughput"]["min"] / 1e6 for r in rows],
                         [r["throughput"]["max"] / 1e6 for r in rows], color=color, alpha=0.15, linewidth=0)
        lat = [(r["capacity"], r["latency_ns"]["p99"]) for r in rows if r["latency_ns"]["p99"] is not None]
        if lat:
            bottom.plot([c for c, _ in lat], [v / 1e3 for _, v in lat], "o-", color=color, label=label)
        chosen = [r for r in rows if r["capacity"] == recommended.get(p)]
        for r in chosen:
            top.plot([r["capacity"]], [r["throughput"]["median"] / 1e6], "o", markersize=14, markerfacecolor="none",
                     markeredgecolor=color, markeredgewidth=2)
            if r["latency_ns"]["p99"] is not None:
                bottom.plot([r["capacity"]], [r["latency_ns"]["p99"] / 1e3], "o", markersize=14,
                            markerfacecolor="none", markeredgecolor=color, markeredgewidth=2)

    top.set_xscale("log", base=2)
    top.xaxis.set_major_locator(FixedLocator(capacities))
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xticklabels([str(c) for c in capacities])
    top.set_ylim(bottom=0)
    top.set_ylabel("throughput (million msg/s, median)")
    top.set_title(f"weft W1 mpsc_throughput by channel capacity (circled: recommended)\n"
                  f"{data['messages']:,} messages per run, {data['workers']} workers, "
                  f"median of {data['reps']} runs, band: min to max")
    top.grid(True, which="both", alpha=0.3)
    top.legend(loc="best")
    bottom.set_yscale("log")
    bottom.set_ylabel("p99 send-to-receive latency (us)")
    bottom.set_xlabel("channel capacity (log scale)")
    bottom.grid(True, which="both", alpha=0.3)
    bottom.legend(loc="best")
    bottom.xaxis.set_major_locator(FixedLocator(capacities))
    bottom.xaxis.set_minor_locator(NullLocator())
    bottom.set_xticklabels([str(c) for c in capacities])
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
