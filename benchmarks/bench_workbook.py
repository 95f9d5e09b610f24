"""results.xlsx at national scale from its CSV texts: 200 statements x (overall + 4 groups + equal groups) x 2 closed
rounds, the statistics sheet at its full width, plus consensus, rounds, statements, reasons and codebook sheets.

    python benchmarks/bench_workbook.py

Prints the best of three builds and the cells written. Issue 20's target: the workbook from stored figures under 1 s.
"""
from __future__ import annotations

import csv
import io
import random
import time

from delphi.services.reports import workbook
from delphi.services.round_figures import BOOTSTRAP_COLUMNS, GROUP_TEST_COLUMNS, SCOPE_COLUMNS, STABILITY_COLUMNS, \
    SUMMARY_COLUMNS

STATEMENTS, SCOPES, ROUNDS = 200, ("overall", "staff", "service_users", "family", "peers", "equal_groups"), 2


def _csv(header, rows) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def national_texts(seed: int = 1) -> dict[str, str]:
    rng = random.Random(seed)
    columns = list(dict.fromkeys(["round", "statement", "scope", "n", "n_unable", *SUMMARY_COLUMNS, "verdict",
                                  *SCOPE_COLUMNS, *BOOTSTRAP_COLUMNS, *STABILITY_COLUMNS, *GROUP_TEST_COLUMNS]))
    stats = []
    for r in range(1, ROUNDS + 1):
        for s in range(STATEMENTS):
            for scope in SCOPES:
                row = []
                for c in columns:
                    if c == "round":
                        row.append(r)
                    elif c == "statement":
                        row.append(f"ST-{s:03d}")
                    elif c == "scope":
                        row.append(scope)
                    elif c == "verdict":
                        row.append(rng.choice(["in", "out", "none"]))
                    elif c in ("disagreement", "stable"):
                        row.append(rng.choice(["true", "false"]))
                    elif c == "appropriateness":
                        row.append(rng.choice(["appropriate", "uncertain", "inappropriate"]))
                    elif c in ("n", "n_unable", "n_pairs"):
                        row.append(rng.randrange(1000))
                    else:
                        row.append(repr(round(rng.random() * 9, 10)))
                stats.append(row)
    consensus = [[r, f"ST-{s:03d}", rng.choice(["in", "out", "none"]), "carried forward"]
                 for r in range(1, ROUNDS + 1) for s in range(STATEMENTS)]
    statements = [[f"ST-{s:03d}", "Domain", f"Staff support the person's own goals, statement number {s}."]
                  for s in range(STATEMENTS)]
    reasons = [[2, f"ST-{rng.randrange(STATEMENTS):03d}", "I thought again after seeing the other groups."]
               for _ in range(3000)]
    codebook = [[f"column_{i}", f"What column {i} means, in a sentence or two."] for i in range(120)]
    return {"statistics.csv": _csv(columns, stats),
            "consensus.csv": _csv(["round", "statement", "verdict", "decision"], consensus),
            "statements.csv": _csv(["code", "domain", "text"], statements),
            "reasons.csv": _csv(["round", "statement", "reason"], reasons),
            "codebook.csv": _csv(["column", "meaning"], codebook)}


def main() -> None:
    texts = national_texts()
    methods = [("Consensus", "At least 70% rated 7-9.")] * 20
    cells = sum(len(t.splitlines()) * (t.splitlines()[0].count(",") + 1) for t in texts.values())
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        data = workbook.results_xlsx(texts, methods)
        best = min(best, time.perf_counter() - start)
    print(f"results.xlsx: {best:.2f} s (best of 3), {cells:,} cells, {len(data) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
