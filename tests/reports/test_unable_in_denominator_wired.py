"""The protocol option ``unable_in_denominator`` (issue 20) reaches every figure: the figures stored at a round's
close, the report's methods, and ``delphi analyse`` of the same ratings, which agree with each other."""
from __future__ import annotations

import csv
import io

from delphi.protocol import load_protocol
from delphi.services.analyse import analyse, read_ratings_text
from delphi.services.reports.document import methods

PROTOCOL = """
title = "Denominator"
min_group_feedback = 1
[scale]
min = 1
max = 9
unable_to_rate = true
[consensus]
include = "pct_agree >= 70"
exclude = "pct_disagree >= 70"
scope = "overall"
{option}
[[groups]]
key = "staff"
name = "Staff"
[[statements]]
code = "S1"
text = "A statement"
"""
# Eight rate S1 in the agreement band, two disagree, four are unable to rate: 80% agree of those who rated
# (consensus in), 8 of 14 = 57.1% when "unable to rate" counts in the denominator (no consensus).
RATINGS = "round,panellist,group,statement,rating\n" + "".join(
    f"1,P{i:02d},staff,S1,{value}\n" for i, value in enumerate(["8"] * 8 + ["2"] * 2 + [""] * 4))


def _overall(option: str) -> dict:
    protocol = load_protocol(PROTOCOL.format(option=option))
    long = read_ratings_text(RATINGS, ["staff"], ["S1"], protocol.scale)
    statistics, consensus = analyse(long, protocol)
    (row,) = [r for r in statistics if r["scope"] == "overall"]
    return {"pct_agree": float(row["pct_agree"]), "n": int(row["n"]), "n_unable": int(row["n_unable"]),
            "classification": consensus[0]["classification"], "methods": dict(methods_of(protocol, long))}


def methods_of(protocol, long):
    from delphi.services.reports.source import source_from_ratings

    return methods(source_from_ratings(long, protocol, RATINGS))


def test_unable_to_rate_leaves_the_denominator_by_default():
    figures = _overall("")
    assert (figures["pct_agree"], figures["n"], figures["n_unable"]) == (80.0, 10, 4)
    assert figures["classification"] == "in"
    assert "count in no statistic" in figures["methods"]["Rating scale"]


def test_unable_to_rate_counts_in_the_denominator_when_the_protocol_says_so():
    figures = _overall("unable_in_denominator = true")
    assert abs(figures["pct_agree"] - 800 / 14) < 1e-9 and (figures["n"], figures["n_unable"]) == (10, 4)
    assert figures["classification"] == "none"
    assert "count in the denominator of the percentages" in figures["methods"]["Rating scale"]


def test_the_close_stores_what_delphi_analyse_computes(app, make_user):
    """The figures stored at the close use the option too (one source of truth with ``delphi analyse``)."""
    import numpy as np
    import sqlalchemy as sa

    from delphi.extensions import db
    from delphi.models import Panellist, Rating
    from delphi.services.panel import add_panellists
    from delphi.services.reports import build_downloads
    from delphi.services.rounds import close_round, open_next_round
    from delphi.services.studies import create_study

    with app.app_context():
        study = create_study(load_protocol(PROTOCOL.format(option="unable_in_denominator = true")))
        added = add_panellists(study, [(study.groups[0], None, None)] * 14)
        round_ = open_next_round(study)
        sid = round_.statements[0].statement_id
        for (panellist, _), value in zip(added, [8] * 8 + [2] * 2 + [None] * 4):
            db.session.add(Rating(panellist_id=panellist.id, round_id=round_.id, statement_id=sid, value=value,
                                  unable_to_rate=value is None))
        db.session.flush()
        close_round(round_)
        db.session.commit()
        rows = list(csv.DictReader(io.StringIO(build_downloads(study)["statistics.csv"].decode())))
        assert db.session.scalar(sa.select(sa.func.count(Panellist.id))) == 14
    (overall,) = [r for r in rows if r["scope"] == "overall"]
    assert np.isclose(float(overall["pct_agree"]), 800 / 14, rtol=0, atol=1e-9)
    assert overall["verdict"] == "none"
