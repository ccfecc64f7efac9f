#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the microbenchmark's lines from a kernel log (ci/kbench.sh) and
writes kbench.csv, kbench.txt, kbench.dat and kbench.gp (run gnuplot in
OUTDIR for kbench.png) to OUTDIR.

Per run, mode and size: the least-squares line of the median send time
against the member count N (N <= FIT_MAX) gives the marginal cost per member (slope) and
the fixed cost per send (intercept); across runs, the mean and its 95%
confidence interval (Student's t). Ratios to UDP are taken per run (the
modes of a run are interleaved) and reported as median and range.
  analyse.py KERNEL_LOG OUTDIR
"""
import math
import re
import statistics
import sys

T95 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23,
       2.20, 2.18, 2.16, 2.14, 2.13]
MODES = ["dwf", "block", "udp", "unicast"]
PHASES = ["median_ns", "hold_ns", "clone_ns", "wake_ns"]
# The line is fitted over N up to 200 (the range of the 2003 table and of
# v1's measurement); beyond, the members' sockets no longer fit the caches,
# and the cost per member from 200 to the largest N is reported apart.
FIT_MAX = 200
# What UML distorts: local_irq_save()/restore() block and unblock host
# signals, and UML's per-CPU operations (asm-generic) are made of such a
# pair. Per member: the unicast loop has one (skb_queue_tail() in
# unix_dgram_sendmsg()); the group queues its clones under the state and
# queue locks without one; UDP's queue lock is a plain spin_lock() in the
# softirq, but a datagram larger than a page needs memory scheduled for
# each member's queue once each drain released it (__sk_mem_schedule(),
# whose sk_memory_allocated_add() is a this_cpu_add_return()): one pair
# per member at 40036 bytes, none at 44. 'less irq' subtracts them; it is
# an estimate from that reading of the code, which the boot's
# this_cpu_add_return cost and the difference between UDP's two sizes
# support.
def uml_cost(mode, size, irq, pcpu):
    """The UML-only cost per member of a mode: an interrupt disable and
    enable (irq) for the unicast loop, a per-CPU operation (pcpu) for UDP
    above a page."""
    if mode == "unicast":
        return irq
    return pcpu if mode == "udp" and size > 4096 else 0
LABEL = {"dwf": "kernel multicast, drop-when-full members",
         "block": "kernel multicast, blocking members",
         "udp": "UDP multicast on loopback",
         "unicast": "loop of N unicast AF_UNIX sends"}


def fit(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return b, my - b * mx


def fields(text):
    """The key=value pairs of one of the module's lines; all but mode are
    numbers."""
    d = dict(kv.split("=") for kv in text.split())
    return {k: (v if k == "mode" else int(v)) for k, v in d.items()}


def write_csv(path, keys, rows):
    with open(path, "w") as f:
        f.write(",".join(keys) + "\n")
        for r in rows:
            f.write(",".join(str(r[k]) for k in keys) + "\n")


def ci(v):
    m = statistics.fmean(v)
    if len(v) < 2:
        return m, float("nan")
    t = T95[min(len(v) - 2, len(T95) - 1)]
    return m, t * statistics.stdev(v) / math.sqrt(len(v))


def main():
    log, out = sys.argv[1], sys.argv[2]
    rows, header, errors, prim, irq, conc, clock, pcpu = [], "", [], "", 0, [], 0, 0
    pat = re.compile(r"unix_mcast_kbench: (run=.*)")
    for line in open(log, errors="replace"):
        m = pat.search(line)
        if "unix_mcast_kbench:" in line and "error" in line:
            errors.append(line.strip())
        elif m:
            rows.append(fields(m.group(1)))
        elif "unix_mcast_kbench: primitives:" in line:
            prim = line.split("primitives: ", 1)[1].strip()
            m = re.search(r"spin_lock_irqsave\+restore (\d+) ns", prim)
            clock = int(re.search(r"ktime_get_ns (\d+) ns", prim).group(1))
            pcpu = int(re.search(r"this_cpu_add_return (\d+) ns", prim).group(1))
            irq = int(m.group(1)) - int(re.search(r"spin_lock\+unlock (\d+) ns", prim).group(1))
        elif "unix_mcast_kbench: kernel" in line:
            header = line.split("unix_mcast_kbench: ", 1)[1].strip()
        elif "unix_mcast_kbench: conc run=" in line:
            conc.append(fields(line.split("conc ", 1)[1]))
    if errors or not rows:
        sys.exit("kbench: no results" if not rows else "\n".join(errors))
    runs = sorted({r["run"] for r in rows})
    sizes = sorted({r["size"] for r in rows})
    ns = sorted({r["n"] for r in rows})
    cell = {(r["run"], r["mode"], r["size"], r["n"]): r for r in rows}

    write_csv(f"{out}/kbench.csv",
              ["run", "mode", "size", "n", "reps", "median_ns", "min_ns", "hold_ns",
               "clone_ns", "wake_ns", "holds", "late", "lost"], rows)

    fits = {}
    for run in runs:
        for mode in MODES:
            for size in sizes:
                pts = [cell[(run, mode, size, n)] for n in ns
                       if n <= FIT_MAX and (run, mode, size, n) in cell]
                if len(pts) < 2:
                    continue
                x = [p["n"] for p in pts]
                fits[(run, mode, size)] = tuple(fit(x, [p[k] for p in pts]) for k in
                                                (PHASES))

    w = []
    w.append("AF_UNIX multicast send path, in-kernel microbenchmark (ci/kbench.sh)")
    w.append(header)
    w.append("One send to N members, receivers not sleeping, no system call; "
             "median of each cell's sends.")
    lost = sum(r["lost"] for r in rows)
    late = sum(r["late"] for r in rows)
    w.append(f"Sends with a member not receiving exactly one datagram: {lost}; "
             f"UDP sends not delivered when sendmsg() returned: {late}.")
    w.append(f"Primitives in this boot: {prim}.")
    w.append(f"UML cost of one local_irq_save()+restore(): {irq} ns (hardware: a few ns); "
             "'less irq' subtracts, per member, that pair from the unicast loop and a "
             f"this_cpu_add_return ({pcpu} ns) from UDP above a page (see analyse.py): "
             "an estimate; its 'vs udp' is a ratio of means.")
    for size in sizes:
        w.append("")
        w.append(f"{size} bytes: per member (slope, N = 1 to {FIT_MAX}) and per send "
                 f"(intercept), ns, mean and 95% CI over {len(runs)} runs")
        w.append(f"  {'mode':<10}{'per member':>20}{'per send':>20}"
                 f"{'vs udp (median, range)':>32}{'less irq':>10}{'vs udp':>8}")
        udp = statistics.fmean([fits[(r, "udp", size)][0][0] for r in runs
                                if (r, "udp", size) in fits]) - uml_cost("udp", size, irq, pcpu)
        for mode in MODES:
            s = [fits[(r, mode, size)][0][0] for r in runs if (r, mode, size) in fits]
            i = [fits[(r, mode, size)][0][1] for r in runs if (r, mode, size) in fits]
            rat = [fits[(r, mode, size)][0][0] / fits[(r, "udp", size)][0][0]
                   for r in runs if (r, mode, size) in fits and (r, "udp", size) in fits]
            sm, sc = ci(s)
            im, ic = ci(i)
            rs = (f"{statistics.median(rat):.2f}x ({min(rat):.2f}-{max(rat):.2f})"
                  if rat else "")
            um = sm - uml_cost(mode, size, irq, pcpu)
            w.append(f"  {mode:<10}{sm:>12.1f} +- {sc:<5.1f}{im:>12.0f} +- {ic:<5.0f}"
                     f"{rs:>32}{um:>10.1f}{um / udp:>7.2f}x")
        for mode in ("dwf", "block"):
            got = [r for r in runs if (r, mode, size) in fits]
            ph = [ci([fits[(r, mode, size)][k][0] for r in got]) for k in (1, 2, 3)]
            q = [fits[(r, mode, size)][1][0] / fits[(r, mode, size)][0][0] for r in got]
            w.append(f"  {mode}, per member: ordered section {ph[0][0]:.1f} +- {ph[0][1]:.1f} ns"
                     f" ({statistics.median(q):.2f} of the per-member cost, range "
                     f"{min(q):.2f}-{max(q):.2f}), "
                     f"clones {ph[1][0]:.1f} +- {ph[1][1]:.1f}, wake-ups "
                     f"{ph[2][0]:.1f} +- {ph[2][1]:.1f}")
        w.append(f"  (per send: the group's includes the hold-time patch's six clock reads, "
                 f"{6 * clock} ns here; the unicast loop's is not linear in N; the clock "
                 "steps by 256 ns: read the slopes, not these)")
        big = max(ns)
        if big > FIT_MAX and FIT_MAX in ns:
            inc = []
            for mode in MODES:
                d = [(cell[(r, mode, size, big)]["median_ns"] -
                      cell[(r, mode, size, FIT_MAX)]["median_ns"]) / (big - FIT_MAX)
                     for r in runs if (r, mode, size, big) in cell
                     and (r, mode, size, FIT_MAX) in cell]
                if d:
                    inc.append(f"{mode} {statistics.median(d):.0f}")
            w.append(f"  per member from N={FIT_MAX} to N={big} (median over runs), ns: "
                     + ", ".join(inc))
        w.append("  median send time (ns; median over runs) by N:")
        w.append("  " + f"{'N':<10}" + "".join(f"{n:>10}" for n in ns))
        for mode in MODES:
            med = []
            for n in ns:
                v = [cell[(r, mode, size, n)]["median_ns"] for r in runs
                     if (r, mode, size, n) in cell]
                med.append(f"{statistics.median(v):>10.0f}" if v else f"{'':>10}")
            w.append(f"  {mode:<10}" + "".join(med))
    if conc:
        w.append("")
        n, msgs = conc[0]["n"], conc[0]["msgs"]
        w.append(f"Concurrent senders to one group of {n} members with room: {msgs} "
                 "datagrams in all, each delivered to every member, in one order "
                 "(checked); thousands of datagrams per second, median over runs, "
                 "and the ratio to one sender per run, median (range):")
        ks = sorted({c["senders"] for c in conc})
        csizes = sorted({c["size"] for c in conc})
        w.append(f"  {'mode':<7}{'size':>7}" + "".join(f"{f'{k} sender' + ('s' if k > 1 else ''):>26}"
                                                    for k in ks))
        cc = {(c["run"], c["mode"], c["size"], c["senders"]): c["msgs"] / c["ns"] * 1e6
              for c in conc}
        for mode in ("dwf", "block"):
            for size in csizes:
                line = f"  {mode:<7}{size:>7}"
                for k in ks:
                    v = [cc[(r, mode, size, k)] for r in runs if (r, mode, size, k) in cc]
                    q = [cc[(r, mode, size, k)] / cc[(r, mode, size, ks[0])] for r in runs
                         if (r, mode, size, k) in cc and (r, mode, size, ks[0]) in cc]
                    line += (f"{statistics.median(v):>9.1f} {statistics.median(q):>5.2f}x "
                             f"({min(q):.2f}-{max(q):.2f})" if v and q else f"{'':>26}")
                w.append(line)
        sw = [c["switches"] for c in conc if c["senders"] > 1]
        if sw:
            w.append(f"  with 2 or 4 senders, member 0's sequence passes from one sender's "
                     f"datagram to another's {min(sw)} to {max(sw)} times (of {msgs - 1}): "
                     "the senders did interleave")
        w.append("  per member and send (ns, median over runs): ordered section / clones / "
                 "wake-ups:")
        for mode in ("dwf", "block"):
            for size in csizes:
                line = f"  {mode:<7}{size:>7}"
                for k in ks:
                    v = [c for c in conc if (c["mode"], c["size"], c["senders"]) == (mode, size, k)]
                    if v:
                        ph = [statistics.median(c[f] / c["n"] for c in v)
                              for f in ("hold_ns", "clone_ns", "wake_ns")]
                        line += f"{ph[0]:>11.0f} /{ph[1]:>4.0f} /{ph[2]:>4.0f}  "
                w.append(line)
    w.append("")
    for mode in MODES:
        w.append(f"  {mode}: {LABEL[mode]}")
    text = "\n".join(w) + "\n"
    open(f"{out}/kbench.txt", "w").write(text)
    sys.stdout.write(text)
    write_csv(f"{out}/kbench-conc.csv",
              ["run", "mode", "size", "n", "senders", "msgs", "ns", "hold_ns", "clone_ns",
               "wake_ns", "switches"], conc)
    if any(c["switches"] == 0 for c in conc if c["senders"] > 1):
        sys.exit("kbench: concurrent senders that did not interleave")
    if lost or any(r["holds"] != r["reps"] for r in rows if r["mode"] in ("dwf", "block")):
        sys.exit("kbench: a member did not receive exactly one datagram of a send, "
                 "or a send did not pass its ordered section once")

    # The plot: median send time against N, per mode, one panel per size.
    with open(f"{out}/kbench.dat", "w") as f:
        for size in sizes:
            for mode in MODES:
                f.write(f"# {size} {mode}\n")
                for n in ns:
                    v = [cell[(r, mode, size, n)]["median_ns"] / 1000 for r in runs
                         if (r, mode, size, n) in cell]
                    if v:
                        f.write(f"{n} {statistics.median(v):.3f} {min(v):.3f} {max(v):.3f}\n")
                f.write("\n\n")
        # Then the concurrent senders' rate, per mode and size.
        for mode in ("dwf", "block"):
            for size in sorted({c["size"] for c in conc}):
                f.write(f"# conc {mode} {size}\n")
                for k in sorted({c["senders"] for c in conc}):
                    v = [c["msgs"] / c["ns"] * 1e6 for c in conc
                         if (c["mode"], c["size"], c["senders"]) == (mode, size, k)]
                    if v:
                        f.write(f"{k} {statistics.median(v):.2f} {min(v):.2f} {max(v):.2f}\n")
                f.write("\n\n")
    panels = len(sizes) + (1 if conc else 0)
    gp = [f'set terminal png size {600 * panels},450',
          'set output "kbench.png"',
          f'set multiplot layout 1,{panels} title "{header}"',
          'set xlabel "members N"', 'set ylabel "one send, microseconds"',
          'set key top left', 'set grid', 'set logscale xy']
    for k, size in enumerate(sizes):
        plots = []
        for j, mode in enumerate(MODES):
            idx = k * len(MODES) + j
            plots.append(f'"kbench.dat" index {idx} using 1:2:3:4 '
                         f'with yerrorlines title "{mode}"')
        gp.append(f'set title "{size} bytes"')
        gp.append("plot " + ", ".join(plots))
    if conc:
        base = len(sizes) * len(MODES)
        plots = []
        j = 0
        for mode in ("dwf", "block"):
            for size in sorted({c["size"] for c in conc}):
                plots.append(f'"kbench.dat" index {base + j} using 1:2:3:4 '
                             f'with yerrorlines title "{mode} {size} B"')
                j += 1
        gp += ['unset logscale', 'set logscale x 2', 'set xtics (1, 2, 4)',
               'set xrange [0.8:5]', 'set yrange [0:*]',
               f'set title "concurrent senders, {conc[0]["n"]} members"',
               'set xlabel "senders"', 'set ylabel "thousand datagrams per second"',
               'set key bottom right', "plot " + ", ".join(plots)]
    gp.append("unset multiplot")
    open(f"{out}/kbench.gp", "w").write("\n".join(gp) + "\n")


if __name__ == "__main__":
    main()
