"""Ratings from elsewhere (cli.md): files in the shapes of REDCap, LimeSurvey and Qualtrics exports, a Norwegian Excel
CSV and a workbook, each read to exactly the figures of the same ratings in a plain long CSV; and every refusal names
the line or cell, the value and what would be accepted."""
import csv
import io

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from delphi.cli import main
from delphi.protocol import load_protocol, parse_protocol, protocol_to_toml
from delphi.services.analyse import RatingsFileError, analyse, analyse_file, outputs_text, read_ratings_csv
from delphi.services.ratings_import import parse_codes, parse_columns, read_ratings_file
from tests.analysis.test_analyse_file import to_text, well_formed

CODES = ("HOPE-01", "HOPE-02", "CHOICE-01", "CHOICE-02")
GROUP_NAMES = {"service_user": "People with lived experience", "family": "Pårørende og omsorgsgivere",
               "staff": "Ansatte", "peer": "Likepersoner"}
WORDS = {1: "Not important", 2: "Hardly important", 3: "Slightly important", 4: "Somewhat unimportant",
         5: "Neither important nor unimportant", 6: "Somewhat important", 7: "Important", 8: "Very important",
         9: "Critically important"}


def protocol_text(columns=None, unable_to_rate=True, all_labels=False):
    labels = WORDS if all_labels else {1: WORDS[1], 5: WORDS[5], 9: WORDS[9]}
    lines = ['title = "Recovery"', "min_group_feedback = 1", "[scale]", "min = 1", "max = 9",
             f"unable_to_rate = {'true' if unable_to_rate else 'false'}",
             "labels = { " + ", ".join(f'"{k}" = "{v}"' for k, v in labels.items()) + " }",
             "[consensus]", 'scope = "each_group"']
    for key, name in GROUP_NAMES.items():
        lines += ["[[groups]]", f'key = "{key}"', f'name = "{name}"']
    for i, code in enumerate(CODES):
        lines += ["[[statements]]", f'code = "{code}"', f'text = "Statement {code}"']
        if columns:
            lines.append(f'column = "{columns[i]}"')
    return "\n".join(lines) + "\n"


def make_protocol(tmp_path, **options):
    path = tmp_path / "protocol.toml"
    path.write_text(protocol_text(**options), encoding="utf-8")
    return load_protocol(path)


def panel_ratings(rounds=(1, 2, 3)):
    """{(round, pseudonym): (group, {code: 1-9 or "unable"})}: 12 panellists, some statements unrated (no cell or a
    missing code), some "unable to rate", P01 in every round and two panellists gone from round 3."""
    rng = np.random.default_rng(2026)
    people = [f"P{i:02d}" for i in range(1, 13)]
    groups = dict(zip(people, list(GROUP_NAMES) * 3))
    answers = {}
    for k in rounds:
        for p in people:
            if k == 3 and p in ("P05", "P09"):
                continue
            marks = {}
            for code in CODES:
                draw = rng.random()
                if draw < 0.1 and p != "P01":
                    continue  # not rated
                marks[code] = "unable" if draw < 0.18 else int(rng.integers(1, 10))
            answers[k, p] = (groups[p], marks)
    return answers


def plain_long(tmp_path, answers):
    """The same ratings in the long format of protocol.md, read by the original reader."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["round", "panellist", "group", "statement", "rating"])
    for (k, p), (group, marks) in answers.items():
        for code, value in marks.items():
            writer.writerow([k, p, group, code, "" if value == "unable" else value])
    path = tmp_path / "long.csv"
    path.write_text(handle.getvalue(), encoding="utf-8")
    return path


def same_figures(imported, reference, protocol):
    assert imported.rounds == reference.rounds and imported.panellists == reference.panellists
    assert imported.groups.tolist() == reference.groups.tolist()
    for k in reference.rounds:
        np.testing.assert_array_equal(imported.ratings[k], reference.ratings[k])
        np.testing.assert_array_equal(imported.unable[k], reference.unable[k])
    assert outputs_text(*analyse(imported, protocol)) == outputs_text(*analyse(reference, protocol))


def reference(tmp_path, protocol, answers):
    return read_ratings_csv(plain_long(tmp_path, answers), list(GROUP_NAMES), CODES, protocol.scale)


def test_redcap_wide_with_events_labels_and_codes(tmp_path):
    protocol = make_protocol(tmp_path, columns=["hope_01", "hope_02", "choice_01", "choice_02"])
    answers = panel_ratings()
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(["record_id", "redcap_event_name", "redcap_repeat_instrument", "role", "hope_01", "hope_02",
                     "choice_01", "choice_02", "delphi_complete"])
    for p in sorted({p for _, p in answers}):  # REDCap sorts by record, then event
        for k in (1, 2, 3):
            if (k, p) not in answers:
                continue
            group, marks = answers[k, p]
            cells = []
            for code in CODES:
                value = marks.get(code, "99, Prefer not to say" if p == "P02" else "")
                cells.append("10, Unable to rate" if value == "unable" else
                             value if isinstance(value, str) else f"{value}, {WORDS[value]}")
            writer.writerow([p, f"round_{k}_arm_1", "", GROUP_NAMES[group].upper(), *cells, "Complete"])
    path = tmp_path / "redcap.csv"
    path.write_text(handle.getvalue(), encoding="utf-8-sig")
    imported = read_ratings_file(path, protocol, parse_columns(["panellist=record_id,group=role,"
                                                                 "round=redcap_event_name"]),
                                 parse_codes("99", "--missing", protocol.scale),
                                 parse_codes("10", "--unable", protocol.scale))
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert "wide: one row per panellist and round" in imported.given
    assert imported.given[-1] == ("rounds named in the file, numbered in order of first appearance: "
                                  "'round_1_arm_1' = round 1, 'round_2_arm_1' = round 2, 'round_3_arm_1' = round 3")


LIMESURVEY_COLUMNS = ["G02Q02[SQ001]", "G02Q02[SQ002]", "G02Q02[SQ003]", "G02Q02[SQ004]"]


def limesurvey_file(tmp_path, answers, cell):
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)  # LimeSurvey quotes every cell
    writer.writerow(["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "G01Q01", *LIMESURVEY_COLUMNS])
    for n, ((k, p), (group, marks)) in enumerate(answers.items(), start=1):
        writer.writerow([n, "2026-11-02 10:00:00", 2, "en", 12345, p, GROUP_NAMES[group],
                         *(cell(marks.get(code)) for code in CODES)])
    path = tmp_path / "limesurvey.csv"
    path.write_text(handle.getvalue(), encoding="utf-8")
    return path


def test_limesurvey_wide_with_label_texts_and_no_answer(tmp_path):
    """LimeSurvey's "full answers" export of one round: the scale's label texts, "N/A" for no answer."""
    protocol = make_protocol(tmp_path, columns=LIMESURVEY_COLUMNS, all_labels=True)
    answers = panel_ratings(rounds=(1,))
    path = limesurvey_file(tmp_path, answers, lambda value: "N/A" if value is None else "Unable to rate"
                           if value == "unable" else WORDS[value].lower())
    imported = read_ratings_file(path, protocol, {"panellist": "token", "group": "G01Q01"}, ("N/A",),
                                 ("Unable to rate",))
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert imported.given == ("a CSV file (UTF-8, comma-separated)", "wide: one row per panellist, all in round 1")


def test_limesurvey_answer_codes_are_refused_with_what_is_accepted(tmp_path):
    """LimeSurvey's "answer codes" export writes A1..A9: no number leads the cell, so each is refused by cell."""
    protocol = make_protocol(tmp_path, columns=LIMESURVEY_COLUMNS)
    answers = panel_ratings(rounds=(1,))
    path = limesurvey_file(tmp_path, answers, lambda value: "" if value in (None, "unable") else f"A{value}")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, protocol, {"panellist": "token", "group": "G01Q01"}, ("N/A",))
    j, value = next((j, v) for j, v in enumerate(answers[1, 'P01'][1].values()) if v != "unable")
    assert caught.value.errors[0] == (
        f"line 2, column '{LIMESURVEY_COLUMNS[j]}': 'A{value}' is not a rating; accepted: a whole number 1-9, a label "
        "starting with one (\"9 - Critically important\"), a scale label ('Not important', 'Neither important nor "
        "unimportant', 'Critically important'), a --missing code (N/A) or a code named with --unable")
    assert caught.value.problems[0].line == 2


def qualtrics_file(tmp_path, answers):
    """Qualtrics' CSV: the column names, a row of question texts, a row of ImportIds, then one row per response;
    ratings as choice text ("7 – Important", en dash) or bare numbers."""
    names = ["StartDate", "EndDate", "Status", "Progress", "Finished", "ResponseId", "pid", "round", "Q1",
             "Q2_1", "Q2_2", "Q2_3", "Q2_4"]
    texts = ["Start Date", "End Date", "Response Type", "Progress", "Finished", "Response ID", "pid", "round",
             "Which group are you in? - Selected Choice"] + [f"How important is this? - Statement {c}" for c in CODES]
    ids = ['{"ImportId":"startDate","timeZone":"Europe/Oslo"}', '{"ImportId":"endDate","timeZone":"Europe/Oslo"}',
           '{"ImportId":"status"}', '{"ImportId":"progress"}', '{"ImportId":"finished"}', '{"ImportId":"_recordId"}',
           '{"ImportId":"pid"}', '{"ImportId":"round"}', '{"ImportId":"QID1"}'] + [
        f'{{"ImportId":"QID2_{i}"}}' for i in range(1, 5)]
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerows([names, texts, ids])
    for n, ((k, p), (group, marks)) in enumerate(answers.items()):
        cells = []
        for code in CODES:
            value = marks.get(code)
            cells.append("" if value is None else "X – Don't know" if value == "unable"
                         else str(value) if n % 2 else f"{value} – {WORDS[value]}")
        writer.writerow(["2026-11-02 10:00:00", "2026-11-02 10:05:00", "IP Address", "100", "True", f"R_{n:05d}",
                         p, k, GROUP_NAMES[group], *cells])
    path = tmp_path / "qualtrics.csv"
    path.write_text(handle.getvalue(), encoding="utf-8-sig")
    return path


def test_qualtrics_wide_skips_its_question_text_and_import_id_rows(tmp_path):
    protocol = make_protocol(tmp_path, columns=["Q2_1", "Q2_2", "Q2_3", "Q2_4"])
    answers = panel_ratings()
    path = qualtrics_file(tmp_path, answers)
    imported = read_ratings_file(path, protocol, {"panellist": "pid", "group": "Q1"}, (), ("X",))
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert "the 2 row(s) under the header (Qualtrics' question texts and ImportId row) skipped" in imported.given
    # A problem in a response is named by the file's own line: the header and the two skipped rows count.
    text = path.read_text(encoding="utf-8-sig").splitlines()
    text[5] = text[5].replace(",Ansatte,", ",Nurses,")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, protocol, {"panellist": "pid", "group": "Q1"}, (), ("X",))
    assert caught.value.errors == [
        "line 6, column 'Q1': 'Nurses' is not one of the protocol's groups; accepted (any case): service_user or "
        "'People with lived experience', family or 'Pårørende og omsorgsgivere', staff or 'Ansatte', peer or "
        "'Likepersoner'"]


def norwegian_excel_csv(tmp_path, answers):
    """Norwegian Excel's "CSV (semikolonseparert)": semicolons, Windows-1252, CRLF, group names with æøå."""
    lines = [";".join(["Runde", "Deltaker", "Gruppe", *CODES, "Kommentar"])]
    for (k, p), (group, marks) in answers.items():
        cells = ["Vet ikke" if marks.get(c) == "unable" else str(marks.get(c, "")) for c in CODES]
        lines.append(";".join([str(k), p, GROUP_NAMES[group], *cells, "Bør være tydeligere; og kortere"
                               .replace(";", ",")]))
    path = tmp_path / "vurderinger.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_semicolon_windows_1252_norwegian_excel_csv(tmp_path):
    protocol = make_protocol(tmp_path)
    answers = panel_ratings()
    path = norwegian_excel_csv(tmp_path, answers)
    assert "Pårørende".encode("cp1252") in path.read_bytes()  # not UTF-8: å is one byte
    imported = read_ratings_file(path, protocol, parse_columns(["round=Runde,panellist=Deltaker,group=Gruppe"]),
                                 (), ("Vet ikke",))
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert imported.given[0] == "a CSV file (Windows-1252, semicolon-separated)"


def test_xlsx_long_first_sheet_with_numbers_and_text(tmp_path):
    protocol = make_protocol(tmp_path)
    answers = panel_ratings()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Ratings"
    sheet.append(["round", "panellist", "group", "statement", "rating", "comment"])
    for n, ((k, p), (group, marks)) in enumerate(answers.items()):
        for code, value in marks.items():
            rating = None if value == "unable" else float(value) if n % 3 == 0 else str(value) if n % 3 == 1 \
                else value
            sheet.append([k, p, group, code, rating, "fine"])
    workbook.create_sheet("Notes").append(["not read"])
    path = tmp_path / "ratings.xlsx"
    workbook.save(path)
    imported = read_ratings_file(path, protocol)
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert imported.given == ("an Excel workbook (its first sheet, 'Ratings')", "long: one rating per row")


def test_tsv_long_file(tmp_path):
    protocol = make_protocol(tmp_path)
    answers = panel_ratings()
    path = tmp_path / "ratings.tsv"
    path.write_text(plain_long(tmp_path, answers).read_text().replace(",", "\t"), encoding="utf-8")
    imported = read_ratings_file(path, protocol)
    same_figures(imported.long, reference(tmp_path, protocol, answers), protocol)
    assert imported.given[0] == "a TSV file (UTF-8, tab-separated)"


@pytest.mark.parametrize("seed", range(20))
def test_the_general_reading_equals_the_fast_column_reading(tmp_path, seed):
    """A plain long file goes to the fast column reader; forcing the general reading (a --missing code that never
    occurs) gives the same arrays for the random well-formed files of test_analyse_file."""
    rng = np.random.default_rng(seed)
    columns, rows = well_formed(rng)
    while not rows:
        columns, rows = well_formed(rng)
    path = tmp_path / "ratings.csv"
    path.write_text(to_text(rng, columns, rows, blank_lines=seed % 3 == 0), encoding="utf-8", newline="")
    protocol = parse_protocol({
        "title": "t", "min_group_feedback": 1, "scale": {"min": 1, "max": 9},
        "groups": [{"key": k, "name": k.title()} for k in ("service_user", "family", "staff", "peer")],
        "statements": [{"code": c, "text": c} for c in CODES]})
    fast = read_ratings_file(path, protocol)
    general = read_ratings_file(path, protocol, missing=("NEVER",))
    assert fast.given == ("a long CSV file (UTF-8, comma-separated), one rating per row",)
    assert general.given == ("a CSV file (UTF-8, comma-separated)", "long: one rating per row")
    same_figures(general.long, fast.long, protocol)


HEADER = "round,panellist,group,statement,rating\n"
WIDE = "round,panellist,group,HOPE-01,HOPE-02,CHOICE-01,CHOICE-02\n"
ACCEPTED_RATING = ("accepted: a whole number 1-9, a label starting with one (\"9 - Critically important\"), a scale "
                   "label ('Not important', 'Neither important nor unimportant', 'Critically important'), ")


@pytest.mark.parametrize("content, options, message", [
    (WIDE + "1,P1,staff,7,8,9,5\n1,P2,staff,7,A5,9,5\n", {},
     "line 3, column 'HOPE-02': 'A5' is not a rating; " + ACCEPTED_RATING),
    (WIDE + "1,P1,staff,7,8,9,12\n", {"missing": ("99",)},
     "line 2, column 'CHOICE-02': '12' is off the scale 1-9; " + ACCEPTED_RATING + "a --missing code (99) or"),
    (WIDE + "1,P1,staff,7,7.5,9,5\n", {}, "line 2, column 'HOPE-02': '7.5' is not a rating; accepted: a whole"),
    (WIDE + "1,P1,staff,7,\"7,5\",9,5\n", {}, "line 2, column 'HOPE-02': '7,5' is not a rating; accepted: a whole"),
    (WIDE + "1,P1,nurses,7,8,9,5\n", {},
     "line 2, column 'group': 'nurses' is not one of the protocol's groups; accepted (any case): service_user or "
     "'People with lived experience', family or 'Pårørende og omsorgsgivere'"),
    (WIDE + "1,,staff,7,8,9,5\n", {},
     "line 2, column 'panellist': the panellist is empty; accepted: the panellist's pseudonym or record id"),
    (WIDE + "1,P1,staff,7,8,9,5\n2,P1,peer,7,8,9,5\n", {},
     "line 3, column 'group': 'peer': panellist 'P1' is in group 'staff' on line 2; accepted: one group per "
     "panellist"),
    (WIDE + "1,P1,staff,7,8,9,5\n1,P1,staff,7,8,9,6\n", {},
     "line 3: a second row for panellist 'P1' in round 1 (the first is on line 2); accepted: one row per "
     "panellist and round"),
    (WIDE + "1,P1,staff,7,8,9,5\nRound 2,P1,staff,7,8,9,5\n", {},
     "line 3, column 'round': the round 'Round 2' is not a number while other rounds in the column are; accepted: "
     "whole numbers 1, 2, ... throughout the column, or names throughout (numbered in order of first "
     "appearance)"),
    (WIDE + "0,P1,staff,7,8,9,5\n", {}, "line 2, column 'round': the round '0' is not a whole number 1, 2, ...; "),
    (WIDE + "1,P1,staff,7,X,9,5\n", {"unable": ("X",), "unable_to_rate": False},
     "line 2, column 'HOPE-02': 'X' is an --unable code, but this protocol has no \"unable to rate\"; accepted: a "
     "whole number 1-9 or a --missing code"),
    (HEADER + "1,P1,staff,HOPE-01,\n", {"unable_to_rate": False},
     "line 2, column 'rating': the rating is empty, but this protocol has no \"unable to rate\"; accepted: a whole"),
    (HEADER + "1,P1,staff,HOPE-99,7\n", {},
     "line 2, column 'statement': 'HOPE-99' is not a statement of the protocol; accepted: HOPE-01, HOPE-02, "
     "CHOICE-01, CHOICE-02"),
    (HEADER + "1,P1,staff,HOPE-01,7\n1,P1,staff,HOPE-01,8\n", {},
     "line 3: a second rating of 'HOPE-01' for panellist 'P1' in round 1 (the first is on line 2); accepted: one "
     "rating per panellist, statement and round"),
    ("round,panellist,group,HOPE-01,CHOICE-01\n1,P1,staff,7,8\n", {},
     "line 1: no column for statement(s) 'HOPE-02'; 'CHOICE-02'; accepted: a wide file with one column per "
     "protocol statement, named by its code or its `column` key, or a long file with the columns statement and "
     "rating; the file's columns are 'round', 'panellist', 'group', 'HOPE-01', 'CHOICE-01'"),
    ("record_id,group,HOPE-01\n1,staff,7\n", {},
     "line 1: no panellist column; accepted: a column named 'panellist', or name the file's own with --columns "
     "panellist=NAME; the file's columns are 'record_id', 'group', 'HOPE-01'"),
    ("record_id,group,HOPE-01\n1,staff,7\n", {"columns": {"panellist": "Record ID"}},
     "line 1: --columns panellist=Record ID: the file has no column 'Record ID'; its columns are 'record_id', "
     "'group', 'HOPE-01'"),
    ("", {}, "line 1: the file is empty; accepted: a header row naming the columns"),
    (WIDE + "1,P1,staff,NA,NA,,NA\n", {"missing": ("NA",)},
     "the file has a header but no ratings (every rating cell is empty or a --missing code)"),
])
def test_each_refusal_names_the_place_the_value_and_what_is_accepted(tmp_path, content, options, message):
    protocol = make_protocol(tmp_path, unable_to_rate=options.pop("unable_to_rate", True))
    path = tmp_path / "ratings.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, protocol, **options)
    assert any(m.startswith(message) for m in caught.value.errors), caught.value.errors


def test_a_workbook_refusal_names_the_cell(tmp_path):
    protocol = make_protocol(tmp_path)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["round", "panellist", "group", "HOPE-01", "HOPE-02", "CHOICE-01", "CHOICE-02"])
    sheet.append([1, "P1", "Ansatte", 7, 8, 9, 5])
    sheet.cell(row=4, column=1, value=1)  # row 3 left empty: skipped, and rows keep their numbers
    for column, value in enumerate(["P2", "ANSATTE", 7, 12, 9, "5 - Neither"], start=2):
        sheet.cell(row=4, column=column, value=value)
    path = tmp_path / "ratings.xlsx"
    workbook.save(path)
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, protocol)
    assert caught.value.errors == [f"cell E4 ('HOPE-02'): '12' is off the scale 1-9; {ACCEPTED_RATING}a code named "
                                   "with --missing or a code named with --unable"]
    assert caught.value.problems[0].line == 4


def test_a_file_neither_utf8_nor_windows_1252_names_the_line_and_byte(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_bytes(HEADER.encode() + b"1,P\x81,staff,HOPE-01,7\n")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, make_protocol(tmp_path))
    assert caught.value.errors == ["line 2: byte 43 (0x81) is neither UTF-8 nor Windows-1252 text; accepted: a file "
                                   "saved as UTF-8 (\"CSV UTF-8\" in Excel) or Windows-1252"]


def test_an_old_excel_file_or_a_broken_workbook_is_refused(tmp_path):
    protocol = make_protocol(tmp_path)
    (tmp_path / "ratings.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(RatingsFileError, match=r"ratings.xls: a .xls file cannot be read; accepted: .csv, .tsv or "
                                               r".xlsx"):
        read_ratings_file(tmp_path / "ratings.xls", protocol)
    (tmp_path / "ratings.xlsx").write_text("round,panellist\n")
    with pytest.raises(RatingsFileError, match="ratings.xlsx cannot be read as an Excel workbook"):
        read_ratings_file(tmp_path / "ratings.xlsx", protocol)


@pytest.mark.parametrize("specs, message", [
    (["panelist=record_id"], "--columns 'panelist=record_id': expected ROLE=NAME, ROLE one of round, panellist, "
                             "group, statement, rating"),
    (["group=role", "group=Rolle"], "--columns names the group column twice ('role' and 'Rolle')"),
])
def test_bad_columns_option(specs, message):
    with pytest.raises(RatingsFileError) as caught:
        parse_columns(specs)
    assert caught.value.errors[0].startswith(message)


def test_columns_option_keeps_commas_inside_names_and_codes_off_the_scale(tmp_path):
    assert parse_columns(["panellist=Record ID, as given,group=Role"]) == {"panellist": "Record ID, as given",
                                                                         "group": "Role"}
    scale = make_protocol(tmp_path).scale
    assert parse_codes(" NA, 99 ,X – Don't know", "--missing", scale) == ("NA", "99", "X – Don't know")
    with pytest.raises(RatingsFileError, match="--missing 9: a code cannot be a point on the scale 1-9"):
        parse_codes("NA,9", "--missing", scale)


def test_statement_column_key_round_trips_through_the_protocol(tmp_path):
    protocol = make_protocol(tmp_path, columns=["11.1. Timeline of laboratory experiment", "b", "c", "d"])
    assert protocol.statements[0].column == "11.1. Timeline of laboratory experiment"
    again = tmp_path / "again.toml"
    again.write_text(protocol_to_toml(protocol), encoding="utf-8")
    assert load_protocol(again) == protocol


def test_cli_reads_a_redcap_style_file_and_refuses_a_bad_one_writing_nothing(tmp_path):
    (tmp_path / "protocol.toml").write_text(protocol_text(columns=["hope_01", "hope_02", "choice_01", "choice_02"]),
                                            encoding="utf-8")
    path = tmp_path / "redcap.csv"
    path.write_text("record_id,redcap_event_name,role,hope_01,hope_02,choice_01,choice_02\n"
                    "P1,round_1_arm_1,Ansatte,\"7, Important\",99,X,9\n"
                    "P2,round_1_arm_1,Likepersoner,8,NA,5,9\n"
                    "P1,round_2_arm_1,Ansatte,8,8,9,9\n", encoding="utf-8")
    arguments = ["analyse", str(path), "--protocol", str(tmp_path / "protocol.toml"), "--out", str(tmp_path / "out"),
                 "--columns", "panellist=record_id,group=role", "--columns", "round=redcap_event_name",
                 "--missing", "NA,99", "--unable", "X"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"Read {path}: a CSV file (UTF-8, comma-separated); wide: one row per panellist and round; rounds named in the "
        "file, numbered in order of first appearance: 'round_1_arm_1' = round 1, 'round_2_arm_1' = round 2; "
        "2 panellists, round(s) 1, 2")
    statistics = list(csv.DictReader(io.StringIO((tmp_path / "out" / "statistics.csv").read_text())))
    (row,) = [r for r in statistics if (r["round"], r["statement"], r["scope"]) == ("1", "CHOICE-01", "overall")]
    assert (row["n"], row["n_unable"], row["median"]) == ("1", "1", "5.0")

    path.write_text(path.read_text().replace("8,NA,5,9", "8,NA,five,9"), encoding="utf-8")
    result = CliRunner().invoke(main, arguments[:5] + [str(tmp_path / "out2")] + arguments[6:])
    assert result.exit_code == 1
    assert "has problems; nothing was written:\n  - line 3, column 'choice_01': 'five' is not a rating; accepted: " \
           "a whole number 1-9" in result.output
    assert not (tmp_path / "out2").exists()


def test_the_report_of_ratings_from_elsewhere_says_what_it_cannot_know(tmp_path):
    """Honest methods: for a ratings file, no claim that the definition was locked before round 1 or about what
    panellists saw; the checklist leaves those items to the authors."""
    protocol = make_protocol(tmp_path)
    analyse_file(plain_long(tmp_path, panel_ratings()), protocol, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Defined before round 1 and locked" not in html and "From round 2, each panellist saw" not in html
    assert "12 panellists, rating round(s) 1, 2, 3" in html
    assert "Whether this definition was set before round 1 is not known" in html
    assert "What panellists saw between rounds is not known." in html
    checklist = html[html.index('id="checklist"'):]
    assert checklist.count("For the authors to report: a ratings file cannot show it") == 8
    assert '<a href="#consensus">' in checklist  # what the file does show still points to its section


def test_a_file_the_csv_module_cannot_split_names_the_line(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text(HEADER + "1,P1,staff,HOPE-01,7\n1,P2,staff,HOPE-01,\"" + "x" * 200_000 + "\"\n", encoding="utf-8")
    with pytest.raises(RatingsFileError) as caught:
        read_ratings_file(path, make_protocol(tmp_path), missing=("NA",))
    assert caught.value.errors[0].startswith("line 3: the file cannot be read as CSV (field larger than field limit")
    assert caught.value.errors[0].endswith("accepted: cells separated by commas, semicolons or tabs")
