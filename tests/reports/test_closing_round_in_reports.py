"""A round whose close is under way ("closing") is in no file of the download set, and no stored figure of it is
read, until the worker has finished the close."""
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Round, Study
from delphi.services.reports import each_download
from delphi.services.reports.source import source_from_study
from delphi.services.rounds import open_next_round, run_close, start_close

COMPARED = ("ratings.csv", "statistics.csv", "consensus.csv")


def _files(study: Study) -> dict[str, bytes]:
    files = {}
    for name, content in each_download(source_from_study(study)):
        if name in COMPARED:
            files[name] = content
        if len(files) == len(COMPARED):
            return files
    raise AssertionError("a compared file is missing from the download set")


def test_a_closing_round_is_in_no_file_until_its_close_is_finished(app, three_round_study):
    with app.app_context():
        study = db.session.get(Study, three_round_study)
        # The number of rounds locks when round 1 opens; this test needs a fourth, so it is set underneath the app.
        db.session.execute(sa.update(Study).where(Study.id == study.id).values(max_rounds=4))
        db.session.refresh(study)
        fourth = open_next_round(study)
        panellists = db.session.scalars(sa.select(Panellist).where(Panellist.study_id == study.id,
                                                                   Panellist.withdrawn.is_(False))).all()
        for panellist in panellists:
            for rs in fourth.statements:
                db.session.add(Rating(panellist_id=panellist.id, round_id=fourth.id, statement_id=rs.statement_id,
                                      value=9))
        db.session.commit()
        while_open = _files(study)
        start_close(fourth)
        db.session.commit()
        assert _files(study) == while_open
        assert run_close(fourth.id) is True
        db.session.expire_all()
        study = db.session.get(Study, three_round_study)
        after = _files(study)
        for name in COMPARED:
            assert after[name] != while_open[name]
        assert b"\n4," in after["ratings.csv"] and b"\n4," not in while_open["ratings.csv"]
        assert db.session.get(Round, fourth.id).figures is not None
