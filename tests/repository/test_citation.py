"""Citations in exact formats: GB/T 7714-2015, Chicago, BibTeX and RIS, for a book, a manuscript
whose creator has 字/号, and an oral-history interview."""
from datetime import date

from repository.model import Item

CITED = date(2026, 12, 2)
URL = "https://fz.example/items/"


def book():
    return Item.from_dict({"id": "b1", "kind": "book", "title": {"zh": "南通县图志", "en": "Gazetteer of Nantong"},
                           "creators": [{"name": {"zh": "张謇", "en": "Zhang Jian"}, "role": "author"}],
                           "date": {"edtf": "1922"}, "holding_library": "南通市图书馆", "language": ["zh"],
                           "subjects": ["地方志"]})


def manuscript():
    return Item.from_dict({"id": "m_1", "kind": "manuscript", "title": {"zh": "梁溪诗草"},
                           "creators": [{"name": {"zh": "秦毓鎏"}, "aliases": [{"name": "效鲁", "type": "字"},
                                                                               {"name": "梁溪老人", "type": "号"}]}],
                           "date": {"edtf": "1936~", "display": "民国二十五年"}, "holding_library": "无锡市图书馆"})


def interview():
    return Item.from_dict({"id": "oh1", "kind": "audio", "title": {"zh": "张阿婆谈南长街", "en": "Granny Zhang on Nanchang Street"},
                           "creators": [{"name": {"zh": "张阿婆"}, "role": "interviewee"},
                                        {"name": {"zh": "李馆员"}, "role": "interviewer"}],
                           "date": {"edtf": "1985-06-03"}, "holding_library": "无锡市图书馆", "language": ["wuu"]})


def test_gbt7714():
    from repository.citation import gbt7714
    assert gbt7714(book(), URL + "b1", CITED) == \
        "张謇. 南通县图志[M/OL]. 南通市图书馆, 1922[2026-12-02]. https://fz.example/items/b1."
    # the creator by the name, not the 字/号; an approximate year in brackets; a manuscript is 档案 [A]
    assert gbt7714(manuscript(), URL + "m_1", CITED) == \
        "秦毓鎏. 梁溪诗草[A/OL]. 无锡市图书馆, [1936][2026-12-02]. https://fz.example/items/m_1."
    assert gbt7714(interview(), URL + "oh1", CITED) == \
        "张阿婆. 张阿婆谈南长街[Z/OL]. 无锡市图书馆, 1985[2026-12-02]. https://fz.example/items/oh1."


def test_gbt7714_lists_three_persons_then_deng():
    from repository.citation import gbt7714
    item = book()
    item.creators = [type(item.creators[0])(name={"zh": n}) for n in "甲乙丙丁"]
    item.holding_library = None
    assert gbt7714(item, "u", CITED) == "甲, 乙, 丙, 等. 南通县图志[M/OL]. 1922[2026-12-02]. u."


def test_chicago():
    from repository.citation import chicago
    assert chicago(book(), URL + "b1") == "Zhang Jian. Gazetteer of Nantong. 南通市图书馆, 1922. https://fz.example/items/b1."
    assert chicago(manuscript(), URL + "m_1") == \
        "秦毓鎏. “梁溪诗草.” Manuscript, ca. 1936. 无锡市图书馆. https://fz.example/items/m_1."
    assert chicago(interview(), URL + "oh1") == ("张阿婆. “Granny Zhang on Nanchang Street.” Interview by 李馆员. "
                                                 "Audio recording, 1985. 无锡市图书馆. https://fz.example/items/oh1.")


def test_bibtex():
    from repository.citation import bibtex
    assert bibtex(book(), URL + "b1", CITED) == (
        "@book{b1,\n  author = {{张謇}},\n  title = {南通县图志},\n  year = {1922},\n  publisher = {南通市图书馆},\n"
        "  language = {zh},\n  url = {https://fz.example/items/b1},\n  urldate = {2026-12-02}\n}\n")
    assert bibtex(manuscript(), URL + "m_1", CITED) == (
        "@unpublished{m_1,\n  author = {{秦毓鎏}},\n  title = {梁溪诗草},\n  year = {1936},\n  howpublished = {Manuscript},\n"
        "  url = {https://fz.example/items/m_1},\n  urldate = {2026-12-02}\n}\n")
    assert bibtex(interview(), URL + "oh1", CITED) == (
        "@misc{oh1,\n  author = {{张阿婆}},\n  title = {张阿婆谈南长街},\n  note = {Interview by 李馆员},\n  year = {1985},\n"
        "  howpublished = {Audio},\n  language = {wuu},\n  url = {https://fz.example/items/oh1},\n  urldate = {2026-12-02}\n}\n")


def test_bibtex_escapes_what_tex_reads_as_commands():
    from repository.citation import bibtex
    item = book()
    item.title = {"zh": "50% & {注} #1_a\\b"}
    assert "title = {50\\% \\& \\{注\\} \\#1\\_a\\textbackslash{}b}" in bibtex(item, "u", CITED)


def test_ris():
    from repository.citation import ris
    assert ris(book(), URL + "b1", CITED) == (
        "TY  - BOOK\r\nAU  - 张謇\r\nTI  - 南通县图志\r\nTT  - Gazetteer of Nantong\r\nPY  - 1922\r\nPB  - 南通市图书馆\r\n"
        "KW  - 地方志\r\nLA  - zh\r\nAN  - b1\r\nUR  - https://fz.example/items/b1\r\nY2  - 2026/12/02\r\nER  - \r\n")
    assert ris(manuscript(), URL + "m_1", CITED) == (
        "TY  - MANSCPT\r\nAU  - 秦毓鎏\r\nTI  - 梁溪诗草\r\nPY  - 1936\r\nPB  - 无锡市图书馆\r\nAN  - m_1\r\n"
        "UR  - https://fz.example/items/m_1\r\nY2  - 2026/12/02\r\nER  - \r\n")
    assert ris(interview(), URL + "oh1", CITED) == (
        "TY  - SOUND\r\nAU  - 张阿婆\r\nA2  - 李馆员\r\nTI  - 张阿婆谈南长街\r\nTT  - Granny Zhang on Nanchang Street\r\n"
        "PY  - 1985\r\nPB  - 无锡市图书馆\r\nLA  - wuu\r\nAN  - oh1\r\nUR  - https://fz.example/items/oh1\r\n"
        "Y2  - 2026/12/02\r\nER  - \r\n")
