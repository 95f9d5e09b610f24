"""A study within the study (issue 23): the experiment locks at round 1 with a seed drawn then, the panel is allocated
to arms when round 2 opens (stratified permuted blocks, reproducible from the exported files), ratings.csv carries the
arm for the answers side, and nothing on the contacts side shows it."""
import re

import pytest
import sqlalchemy as sa

from analysis.experiment import allocate
from delphi.extensions import db
from delphi.models import AuditEvent, DomainError, Panellist, Study, StudyRole
from delphi.protocol import ProtocolError
from delphi.services.analyse import read_ratings_text
from delphi.services.panel import add_panellist, withdraw_panellist
from delphi.services.reports.source import source_from_study
from delphi.services.rounds import close_round, open_next_round
from delphi.services.study_setup import update_settings
from tests.conftest import MINIMAL_PROTOCOL

EXPERIMENT = """
[experiment]
block_size = 4

[[experiment.arms]]
key = "zebra_arm"
name = "Zebra format"

[[experiment.arms]]
key = "okapi_arm"
name = "Okapi format"
feedback = "own_group"
comments = false
"""
PROTOCOL = MINIMAL_PROTOCOL + EXPERIMENT
ALL = {"A-01": 7, "A-02": 5, "B-01": 8}


@pytest.fixture
def study_id(make_study, make_user, auth):
    user_id = make_user("owner@example.org")
    study_id = make_study(PROTOCOL, members={user_id: StudyRole.owner})
    auth.login(email="owner@example.org")
    return study_id


def _panel(app, study_id, sizes: dict[str, int]) -> list[int]:
    with app.app_context():
        study = db.session.get(Study, study_id)
        ids = [add_panellist(study, study.group_by_key(key), email=f"{key}{i}@example.org")[0].id
               for key, n in sizes.items() for i in range(n)]
        db.session.commit()
        return ids


def _round_one_then_two(app, study_id, answer_round, panel, before_two=None):
    with app.app_context():
        open_next_round(db.session.get(Study, study_id))
        db.session.commit()
    answer_round(study_id, {pid: ALL for pid in panel})
    with app.app_context():
        study = db.session.get(Study, study_id)
        close_round(study.current_round)
        for rs in study.current_round.statements:
            rs.carry_forward = True
        if before_two:
            before_two(study)
        open_next_round(study)
        db.session.commit()


def _events(app, action):
    with app.app_context():
        return [(e.target, e.details) for e in db.session.scalars(sa.select(AuditEvent)
                                                                  .where(AuditEvent.action == action))]


def test_the_seed_is_drawn_as_round_one_opens_and_the_experiment_locks(app, study_id):
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.allocation_seed is None
        # Before round 1 the experiment may still change (through the same path as a protocol file).
        update_settings(study, {"experiment": {"arms": [
            {"key": "zebra_arm", "name": "Zebra format"}, {"key": "okapi_arm", "name": "Okapi, renamed"}]}}, None)
        open_next_round(study)
        db.session.commit()
        seed = int(study.allocation_seed)
        assert 0 <= seed < 2 ** 64 and study.allocation_seed_drawn_at is not None
        assert f"seed = {seed}" in study.locked_protocol and 'name = "Okapi, renamed"' in study.locked_protocol
        with pytest.raises(ProtocolError) as refused:
            update_settings(study, {"experiment": {"block_size": 8}}, None)
        assert any(e.startswith("experiment.block_size: round 1 has opened") for e in refused.value.errors)
        with pytest.raises(DomainError):
            study.experiment = None
        with pytest.raises(DomainError):
            study.allocation_seed = "1"
    # The audit log says the seed was drawn, never what it is.
    assert _events(app, "experiment.seed_drawn") == [(f"study {study_id}", {})]


def test_a_study_without_an_experiment_draws_no_seed(app, make_study):
    study_id = make_study()
    with app.app_context():
        study = db.session.get(Study, study_id)
        open_next_round(study)
        db.session.commit()
        assert (study.experiment, study.allocation_seed) == (None, None)
        assert "experiment" not in study.locked_protocol


def test_round_two_allocates_the_panel_in_balanced_reproducible_blocks(app, study_id, answer_round):
    panel = _panel(app, study_id, {"service_user": 13, "staff": 10})
    with app.app_context():
        study = db.session.get(Study, study_id)
        no_group = add_panellist(study, None, email="nogroup@example.org")[0].id
        db.session.commit()

    def withdraw_one(study):
        withdraw_panellist(db.session.get(Panellist, panel[0]), None)

    _round_one_then_two(app, study_id, answer_round, panel, before_two=withdraw_one)
    with app.app_context():
        study = db.session.get(Study, study_id)
        late = add_panellist(study, study.group_by_key("staff"), email="late@example.org")[0].id
        db.session.commit()
        rows = db.session.execute(sa.select(Panellist.id, Panellist.pseudonym, Panellist.arm, Panellist.group_id)
                                  .where(Panellist.study_id == study_id)).all()
        arm = {r.id: r.arm for r in rows}
        # The withdrawn, the panellist without a group and the one who joined later are not allocated.
        assert arm[panel[0]] is None and arm[no_group] is None and arm[late] is None
        allocated = sorted((r for r in rows if r.arm is not None), key=lambda r: r.pseudonym)
        assert len(allocated) == 22
        key_of = {g.id: g.key for g in study.groups}
        # Balanced within each group: with blocks of 4, two arms differ by at most 2 (12 and 10 people: equal).
        for group_id in key_of:
            arms = [r.arm for r in allocated if r.group_id == group_id]
            assert abs(arms.count("zebra_arm") - arms.count("okapi_arm")) <= 2
        # Re-running the documented allocation reproduces every stored arm.
        again = allocate([key_of[r.group_id] for r in allocated], ["zebra_arm", "okapi_arm"],
                         int(study.allocation_seed), 4)
        assert [["zebra_arm", "okapi_arm"][i] for i in again] == [r.arm for r in allocated]
        # Opening round 3 allocates nobody again.
        before = dict(arm)
        close_round(study.current_round)
        for rs in study.current_round.statements:
            rs.carry_forward = True
        open_next_round(study)
        db.session.commit()
        assert dict(db.session.execute(sa.select(Panellist.id, Panellist.arm)
                                       .where(Panellist.study_id == study_id)).all()) == before
    counts = {a: sum(1 for r in allocated if r.arm == a) for a in ("zebra_arm", "okapi_arm")}
    assert _events(app, "experiment.allocated") == [(f"study {study_id}", {"arms": counts})]


def test_ratings_csv_carries_the_arm_and_analyse_reads_it_back(app, study_id, answer_round):
    panel = _panel(app, study_id, {"service_user": 6, "staff": 5})
    _round_one_then_two(app, study_id, answer_round, panel)
    with app.app_context():
        study = db.session.get(Study, study_id)
        source = source_from_study(study)
        header = source.ratings_csv.splitlines()[0].split(",")
        assert header[-1] == "arm" and header[:8] == ["round", "panellist", "group", "statement", "rating",
                                                      "comment", "mode", "declined"]
        stored = dict(db.session.execute(sa.select(Panellist.pseudonym, Panellist.arm)
                                         .where(Panellist.study_id == study_id)).all())
        p = source.protocol
        long = read_ratings_text(source.ratings_csv, [g.key for g in p.groups], [s.code for s in p.statements],
                                 p.scale)
        assert list(long.arms) == [stored[name] for name in long.panellists]
        assert list(source.long.arms) == list(long.arms)  # the report's own reading agrees with the file's
        # The exported files reproduce the allocation: the protocol states seed and block size, ratings.csv the rest.
        keys = [a.key for a in p.experiment.arms]
        again = allocate(long.groups, keys, p.experiment.seed, p.experiment.block_size)
        assert [keys[i] for i in again] == list(long.arms)


def test_a_file_without_arms_reads_as_none_and_a_panellist_in_two_arms_is_refused(app, make_study):
    from delphi.protocol import protocol_from_text
    from delphi.services.analyse import RatingsFileError

    p = protocol_from_text(PROTOCOL)
    args = ([g.key for g in p.groups], [s.code for s in p.statements], p.scale)
    plain = "round,panellist,group,statement,rating\n1,P1,staff,A-01,7\n"
    assert read_ratings_text(plain, *args).arms is None
    empty = "round,panellist,group,statement,rating,arm\n1,P1,staff,A-01,7,\n"
    assert read_ratings_text(empty, *args).arms is None
    two = "round,panellist,group,statement,rating,arm\n1,P1,staff,A-01,7,zebra_arm\n1,P1,staff,A-02,7,okapi_arm\n"
    with pytest.raises(RatingsFileError) as refused:
        read_ratings_text(two, *args)
    assert "line 3: panellist 'P1' is in arm 'zebra_arm' on an earlier line and 'okapi_arm' here" in str(
        refused.value.errors)


def test_the_contacts_side_never_shows_an_arm(app, client, study_id, answer_round):
    panel = _panel(app, study_id, {"service_user": 6, "staff": 5})
    _round_one_then_two(app, study_id, answer_round, panel)
    with app.app_context():
        contacts = [db.session.get(Panellist, pid).contact.id for pid in panel]
    pages = [f"/studies/{study_id}/panel", f"/studies/{study_id}/panel/non-completers.csv",
             *[f"/studies/{study_id}/panel/contacts/{c}/paper-form" for c in contacts[:3]],
             *[f"/studies/{study_id}/panel/contacts/{c}/entry" for c in contacts[:3]]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for word in ("zebra", "okapi", "Zebra", "Okapi", " arm"):
            assert word not in text, (url, word)


def test_the_settings_page_summarises_the_experiment_with_small_cells_withheld(app, client, make_study, make_user,
                                                                              auth, answer_round):
    user_id = make_user("owner@example.org")
    study_id = make_study(PROTOCOL.replace('name = "Staff"\n', 'name = "Staff"\n\n[[groups]]\nkey = "family"\n'
                                                                 'name = "Family"\n'),
                          members={user_id: StudyRole.owner})
    auth.login(email="owner@example.org")
    page = client.get(f"/studies/{study_id}/protocol").get_data(as_text=True)
    assert "Zebra format" in page and "the whole panel's and the panellist's own group's figures" in page
    assert "The allocation seed is drawn when round 1 opens." in page
    # 12 service users (6 per arm: shown); 3 family members (at most 2 in an arm: withheld in both arms) and 8 staff
    # (4 per arm), withheld beside them, or the arm's total would give the family's cells back.
    panel = _panel(app, study_id, {"service_user": 12, "staff": 8, "family": 3})
    _round_one_then_two(app, study_id, answer_round, panel)
    page = " ".join(client.get(f"/studies/{study_id}/protocol").get_data(as_text=True).split())
    with app.app_context():
        seed = db.session.get(Study, study_id).allocation_seed
    assert f"Allocation seed: {seed}. Block size: 4." in page
    assert re.search(r'<th scope="row">Zebra format</th><td>6</td><td>not shown</td><td>not shown</td><td>\d+</td>',
                     page)
    assert re.search(r'<th scope="row">Okapi format</th><td>6</td><td>not shown</td><td>not shown</td><td>\d+</td>',
                     page)
    assert "0 panellists were not allocated" in page


def test_a_seed_in_the_file_is_not_the_new_studys(app, make_study):
    study_id = make_study(PROTOCOL.replace("block_size = 4", "block_size = 4\nseed = 42"))
    with app.app_context():
        study = db.session.get(Study, study_id)
        assert study.allocation_seed is None and "seed" not in study.experiment
        open_next_round(study)
        db.session.commit()
        assert study.allocation_seed != "42" and f"seed = {study.allocation_seed}" in study.locked_protocol
