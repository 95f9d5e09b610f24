"""A study made on the web has no names for its scale's ends: the rating page said "1 means , and 9 means ." (found by
the Norwegian whole-study browser test, as "1 betyr , og 9 betyr ."). It now says which end is which in words."""


def test_a_scale_without_names_is_explained_without_blanks(client, make_study, consented, open_round):
    study_id = make_study(scale_labels={})
    open_round(study_id)
    consented(study_id)
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "means  and" not in page and "means ." not in page
    assert "Choose one number for each, from 1 (the least important) to 9 (the most important)." in page


def test_named_ends_are_still_said_by_name(client, make_study, consented, open_round):
    study_id = make_study()
    open_round(study_id)
    consented(study_id)
    page = " ".join(client.get("/panel/rate/1").get_data(as_text=True).split())
    assert "1 means not important and 9 means very important." in page
