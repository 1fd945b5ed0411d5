"""The shared reader of customers' text files decides encoding and delimiter the way a user expects."""

from __future__ import annotations

from hubbub import textfiles


def test_utf8_windows_1252_mixed_and_utf16_keep_every_character() -> None:
    assert textfiles.decode("\ufeffcafé".encode()) == ("café", "utf-8")
    assert textfiles.decode("café “quoted”".encode("cp1252")) == ("café “quoted”", "utf-8 + windows-1252")
    mixed = "naïve ".encode() + "café".encode("cp1252")  # two exports appended
    assert textfiles.decode(mixed)[0] == "naïve café"
    assert textfiles.decode("text,id\nü,1\n".encode("utf-16")) == ("text,id\nü,1\n", "utf-16")


def test_delimiter_follows_the_header_not_commas_in_the_text() -> None:
    assert textfiles.sniff_delimiter("id;text;when\n", ["text"]) == ";"
    assert textfiles.sniff_delimiter("id\ttext\n", ["text"]) == "\t"
    assert textfiles.sniff_delimiter('id,"text; with semicolon"\n', ["id"]) == ","
    assert textfiles.sniff_delimiter("a;b\n", ["text"]) == ","  # nothing known: comma, and the caller says so


def test_column_names_match_exactly_first_then_without_case() -> None:
    assert textfiles.find_column(["Text", "text"], "text") == 1
    assert textfiles.find_column(["ID", "Text"], "text") == 1
    assert textfiles.find_column(["TEXT", "Text"], "text") is None  # ambiguous: say so, don't guess
