import re

import pytest
import sqlalchemy as sa

from delphi.extensions import db
from delphi.models import Panellist, Rating, Study, Submission
from delphi.services.rounds import open_next_round


@pytest.fixture
def open_round(app):
    """Open the study's next round; returns its id."""

    def do(study_id: int) -> int:
        with app.app_context():
            round_ = open_next_round(db.session.get(Study, study_id))
            db.session.commit()
            return round_.id

    return do


@pytest.fixture
def consented(client, make_panellist):
    """A panellist who has followed their link and consented, in ``client``; returns (panellist id, token)."""

    def do(study_id: int, group_key: str = "service_user"):
        panellist_id, token = make_panellist(study_id, group_key)
        client.get(f"/p/{token}")
        response = client.post("/panel/consent", data={"statements": ["0", "1", "2"], "agree": "1"})
        assert response.status_code == 303, response.get_data(as_text=True)
        return panellist_id, token

    return do


@pytest.fixture
def ratings_of(app):
    """{statement code: (value, unable, comment)} of a panellist in a round, read from the database."""

    def read(panellist_id: int, round_id: int) -> dict:
        with app.app_context():
            rows = db.session.scalars(sa.select(Rating).where(Rating.panellist_id == panellist_id,
                                                              Rating.round_id == round_id)).all()
            return {r.statement.code: (r.value, r.unable_to_rate, r.comment) for r in rows}

    return read


@pytest.fixture
def submissions(app):
    def count(round_id: int) -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count(Submission.id)).where(Submission.round_id == round_id))

    return count


@pytest.fixture
def statement_ids(app):
    """{code: statement id} for a study."""

    def ids(study_id: int) -> dict:
        with app.app_context():
            return {s.code: s.id for s in db.session.get(Study, study_id).statements}

    return ids


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def keeper_from(html: str) -> str:
    """The rating page's keeper (``delphi.panel.kept``): whose page it is, opaquely."""
    return re.search(r'id="keeper" name="keeper" type="hidden" value="([^"]+)"', html).group(1)


__all__ = ["Panellist", "csrf_from", "keeper_from"]
