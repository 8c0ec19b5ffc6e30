"""Printing the demand bench's results: the machine, the table per size, the plans."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path

from bench.demand_data import SEARCH_TERM, WELL_UNDER_MS


def machine() -> str:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{platform.system()} {platform.machine()}, nproc {cpus}"
            f"{', ' + cpu if cpu else ''}; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}")


def well_under(result: dict) -> bool:
    median, p95 = result["request"]
    return median < WELL_UNDER_MS and p95 < 100.0


def report(sizes: list[int], measured: dict[int, dict], loads: dict[int, dict]) -> None:
    for n in sizes:
        load = loads[n]
        check = measured[n]["_check"]
        if load.get("reused"):
            line = "database reused (loaded earlier); ANALYZE had been run after loading"
        else:
            line = (f"loaded in {load['load_s']:.1f} s ({n / load['load_s']:,.0f} rows/s: "
                    f"making rows {load['build_s']:.1f} s, peewee insert_many SQL "
                    f"{load['compile_s']:.1f} s, SQLite INSERT incl. indexes and the FTS "
                    f"trigger {load['insert_s']:.1f} s); ANALYZE run after loading: "
                    f"{load['analyze_s']:.1f} s")
        size = load["path"].stat().st_size / 2**20
        print(f"\n   {n:,} demands — {line}; file {size:,.0f} MiB")
        share = ", ".join(f"{k} {v / check['total']:.1%}" for k, v in
                          sorted(check["status"].items(), key=lambda kv: -kv[1]))
        print(f"     status mix: {share}; open+engineering {check['open_eng']:,}; "
              f"'{SEARCH_TERM}': FTS {check['fts']:,} rows = LIKE {check['like']:,} "
              f"({check['fts'] / check['total']:.2%})"
              + ("" if check["fts"] == check["like"] else "  ** FTS AND LIKE DISAGREE **"))

    names = [k for k in measured[sizes[0]] if not k.startswith("_")]
    print("\n   request = the whole GET through the test client (medians and p95 in ms);"
          " get_list = the view's query\n   and row objects; related = the unit/部门 rows the"
          " grid's cells then load one query each;\n   rest = request − get_list − related"
          " (routing, session, filters, template); stmts = SQL statements per request.")
    head = (f"   {'case':<16}{'demands':>10}{'rows':>5}{'request':>9}{'p95':>7}"
            f"{'get_list':>10}{'p95':>7}{'related':>9}{'rest':>7}{'stmts':>7}")
    print(head + "\n   " + "-" * (len(head) - 3))
    for name in names:
        for n in sizes:
            r = measured[n][name]
            (rm, rp), (sm, sp), (fm, _) = r["request"], r["sql"], r["related"]
            flag = "" if well_under(r) else "  << not well under 100 ms"
            print(f"   {name:<16}{n:>10,}{r['rows']:>5}{rm:>9.1f}{rp:>7.1f}{sm:>10.1f}{sp:>7.1f}"
                  f"{fm:>9.1f}{rm - sm - fm:>7.1f}{r['statements']:>7}"
                  f"{' +COUNT' if r['counts'] else ''}{flag}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\n   ratio {large:,} / {small:,} (medians):")
        for name in names:
            a, b = measured[small][name], measured[large][name]
            print(f"     {name:<17} request ×{b['request'][0] / a['request'][0]:.2f}   "
                  f"get_list ×{b['sql'][0] / a['sql'][0]:.2f}   "
                  f"(rows {a['rows']} → {b['rows']})")
    counted = [f"{n:,} {k}" for n in sizes for k in names if measured[n][k]["counts"]]
    print("\n   COUNT(*) per page view: " + ("none (list_counted = False)" if not counted
                                             else "YES in " + ", ".join(counted)))

    large = sizes[-1]
    print(f"\n   EXPLAIN QUERY PLAN of get_list at {large:,} demands (after ANALYZE):")
    for name in names:
        r = measured[large][name]
        print(f"     [{name}] {r['url']}" + ("" if well_under(r) else "   << SLOW"))
        for line in r["plan"]:
            print("       " + line)
    before = loads[large].get("plans_before") or {}
    changed = [k for k in names if k in before and before[k] != measured[large][k]["plan"]]
    if before and not changed:
        print("   Plans before ANALYZE: the same.")
    elif before:
        print("   Plans before ANALYZE, where they differed:")
        for name in changed:
            print(f"     [{name}]")
            for line in before[name]:
                print("       " + line)

    print(f"\n   Search SQL alone at {large:,} demands by selectivity (median ms, fresh connection;"
          " rows returned):\n     view = the view's query; walk = the same without the rowid"
          " lookup (+id IN …),\n     the plan chosen without ANALYZE; join = demand_fts joined on"
          " rowid, ORDER BY demand_fts.rowid DESC")
    for probe in measured[large]["_probes"]:
        cells = "".join(f"   {name} {probe[name][0]:7.1f} ms ({probe[name][1]})"
                        for name in ("view", "walk", "join") if name in probe)
        print(f"     {probe['term']:<14} {probe['matches']:>8,} matches{cells}")

    slow = [k for k in names if not well_under(measured[large][k])]
    if slow:
        print(f"\n   NOT well under 100 ms at {large:,}: {', '.join(slow)}. Why:")
        for name in slow:
            r = measured[large][name]
            (rm, _), (sm, _), (fm, _) = r["request"], r["sql"], r["related"]
            causes = []
            if sm >= 20 and any("TEMP B-TREE FOR ORDER BY" in line for line in r["plan"]):
                causes.append(f"get_list {sm:.0f} ms: the plan reads and sorts every matching"
                              " row before LIMIT (USE TEMP B-TREE FOR ORDER BY)")
            if fm >= 10:
                causes.append(f"related rows {fm:.0f} ms: the cells load unit/部门 one query per"
                              f" row ({r['statements']} statements per request)")
            if rm - sm - fm >= 30:
                causes.append(f"the rest {rm - sm - fm:.0f} ms: routing, filters and the list"
                              f" template for {r['rows']} rows")
            print(f"     [{name}] " + ("; ".join(causes) or "no single cause stands out"))
    else:
        print(f"\n   Every case is well under 100 ms at {large:,} demands "
              f"(median < {WELL_UNDER_MS:.0f} ms, p95 < 100 ms).")
