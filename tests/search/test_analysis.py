"""The shared analysis pipeline: folding, segmentation, user dictionary, pinyin, reign eras."""
from pathlib import Path

import pytest

from search import analysis
from search.analysis import (
    Segmenter, add_words, analyze, era_years, fold, load_dictionary, pinyin, pinyin_tokens, tokens,
)

native = analysis._analysis  # search/_analysis.c

# Local-history prose (written for this test), > 2000 characters, simplified and traditional.
LOCAL_CORPUS = """
无锡古称梁溪，地处太湖之滨，北倚长江，南临太湖，京杭大运河穿城而过。相传商末泰伯奔吴，定居梅里，
筑城立国，是为吴文化之源。汉高祖五年置无锡县，此后县名屡有更易，至清雍正二年析无锡县东部置金匮县，
两县同城而治，直到民国元年方才合并为无锡县。惠山在城西，古称华山、历山，山中有惠山寺、寄畅园、
天下第二泉，唐代茶圣陆羽品评天下名泉，列惠山泉为第二，故有“天下第二泉”之称。民间艺人华彦钧，
人称阿炳，常在泉畔拉琴，所作《二泉映月》流传海内外。惠山泥人以大阿福最为著名，是无锡人家喜闻乐见的吉祥物。
城南的南长街沿古运河而建，河上有清名桥，始建于明万历年间，原名清宁桥，清康熙八年重建，后因避道光皇帝旻宁之讳，
改名清名桥。桥畔窑群林立，砖瓦烧制兴盛一时，沿河两岸民居枕河，船只往来不绝，至今仍是江南水弄堂的典型。
东林书院位于城东，始创于北宋政和元年，为杨时讲学之所。明万历三十二年，顾宪成与弟顾允成、高攀龙等人重修书院，
讲学其中，讽议朝政，裁量人物，“风声雨声读书声，声声入耳；家事国事天下事，事事关心”一联即出于此，
东林党之名由是而起。天启年间魏忠贤专权，书院被毁，崇祯初年得以恢复，清代又屡经修葺。
近代以来，无锡以米市、布码头、丝茧业和民族工商业著称。光绪二十一年，杨宗濂、杨宗瀚兄弟创办业勤纱厂，
是为无锡近代工业之始。光绪二十八年，荣宗敬、荣德生兄弟在无锡西门外太保墩创办保兴面粉厂，后改名茂新面粉厂；
民国四年又在上海创办申新纺织厂，此后陆续扩充，荣氏企业一度拥有面粉厂十二家、纱厂九家，被誉为“面粉大王”和“棉纱大王”。
荣德生晚年热心公益，在荣巷附近修筑梅园，广植梅花，又捐资造桥修路，兴办公益学校、江南大学，乡人至今称道。
民国时期，无锡的实业家还有周舜卿、薛南溟、唐保谦、蔡缄三等人，缫丝、纺织、面粉、碾米诸业竞相发展，
时人称无锡为“小上海”。民国二十五年前后，全县工厂数量、工人人数和产值在全国城市中名列前茅。
地方文献的整理也在这一时期兴盛起来。秦毓钧，字伯虞，晚号梁溪老人，精于乡邦掌故，编纂《锡山秦氏文钞》等书，
又参与续修县志，搜访遗闻，考订碑刻，所著笔记多记城中街巷桥梁、寺观祠堂的沿革。钱穆，字宾四，
生于无锡荡口七房桥，早年在乡间小学任教，后执教于燕京大学、北京大学，所著《国史大纲》影响深远。
其族叔钱基博，字子泉，长期在无锡国学专修学校任教，与唐文治共同培养了一大批国学人才；钱基博之子钱锺书，
字默存，以《围城》《管锥编》名世。宜兴人徐悲鸿早年随父习画，后留学法国，归国后倡导写实主义，
成为中国现代美术教育的奠基人之一。江阴人徐霞客遍游名山大川，所撰游记被誉为“千古奇书”。
鼋头渚位于太湖西北岸，因巨石突入湖中，状如鼋头而得名。民国时期，杨翰西在此筑横云山庄，
后来又有诸家陆续营建园林亭榭，遂成太湖第一名胜。蠡湖之畔的蠡园相传与范蠡、西施泛舟五湖的故事有关，
民国十六年王禹卿在此始建园林，后与渔庄合并。每逢春日，游人如织，画舫往来，湖光山色尽收眼底。
解放以后，无锡县与无锡市几经分合，行政区划屡有调整。二〇一五年，国务院批准撤销崇安区、南长区、北塘区，
设立梁溪区；锡山区、惠山区、滨湖区和新吴区等亦各有沿革。方志工作者整理旧志，编修新志，
出版了《无锡县志》《无锡市志》以及各乡镇志，为研究地方历史提供了丰富的资料。
族谱和家谱是另一类重要的地方文献。无锡的荣氏、钱氏、秦氏、华氏、顾氏等望族多有宗谱传世，
有的始修于明代，历经康熙、乾隆、嘉庆、道光、同治、光绪诸朝续修，至民国仍有重修之举。
谱中记载世系、迁徙、祠堂、祭田、艺文和人物传记，往往可以补正史和方志之不足。
图书馆在征集这些文献时，需要逐页扫描，著录题名、责任者、版本、年代和收藏单位，并将繁体字的题名与简体字的检索词对应起来，
例如《無錫縣誌》與《无锡县志》，《東林書院志》與《东林书院志》，使读者无论输入哪种字形都能检索到同一种文献。
口述历史也是本馆的工作重点。我们访问了南长街的老居民、清名桥边的船工后代、荣巷的老住户以及惠山古镇的泥人艺人，
录下他们关于米市、茧行、庙会和运河生活的回忆。一位九十多岁的老人回忆说，民国二十六年日军轰炸无锡，
城中大火延烧多日，许多工厂和民居毁于一旦；抗战胜利以后，工商业才逐渐恢复。
这些声音与照片、契约、账册、书信一道，构成了无锡地方记忆的重要部分，值得妥善保存并向公众开放。
無錫舊屬常州府，清代分置無錫、金匱兩縣。光緒年間，邑人創辦竢實學堂，開風氣之先；宣統元年，
地方士紳籌設圖書館，徵集鄉邦文獻。民國十一年，無錫縣立圖書館新館落成，藏書漸富，
凡縣誌、府志、族譜、碑拓、輿圖，皆分類庋藏，供邑人閱覽。館中舊藏有秦毓鈞手校本數種，
眉批夾注，考訂精審，為研究錫山掌故者所珍視。又有榮德生、榮宗敬兄弟往來書札，
記述茂新、福新、申新各廠之創辦經過，可與檔案互相印證。錢穆先生早年所撰文稿，
亦有數篇收入館藏。今將此類文獻數字化，並以繁簡兩種字形建立索引，俾讀者檢索無礙。
"""

# General, non-local text: the user dictionary must not change how it is segmented.
GENERAL_TEXT = """
今天上午，市场监管部门召开新闻发布会，介绍了今年以来食品安全抽检的总体情况。发言人表示，
全年共完成抽检样品十二万批次，总体合格率保持在较高水平，但部分小作坊和网络销售渠道仍存在问题。
下一步将加大对校园周边、农贸市场和外卖平台的检查力度，推动企业落实主体责任，并鼓励消费者积极举报。
与此同时，气象台发布暴雨黄色预警，提醒市民减少不必要的外出，驾车注意路面积水，学校和幼儿园要做好防范工作。
科技公司发布了新一代手机芯片，采用更先进的制造工艺，在性能和功耗方面都有明显提升，预计将于下个季度上市。
专家认为，人工智能在医疗诊断、交通管理和教育领域的应用前景广阔，但也需要关注数据安全和个人隐私保护。
老人在公园里下棋，孩子们在草地上放风筝，年轻人沿着湖边跑步，城市的周末显得格外热闹。
他说自己从小喜欢读书，长大后当了一名中学语文老师，每天批改作业到深夜，却从来不觉得辛苦。
"""


def test_corpus_is_long_enough():
    assert len(LOCAL_CORPUS) >= 2000


# --- folding -------------------------------------------------------------------------------------

def test_fold_full_width_and_case():
    assert fold("ＡＢＣ１２３") == "abc123"
    assert fold("Wuxi　１９３６") == "wuxi 1936"
    assert fold("無錫縣誌") == "无锡县志"


@pytest.mark.parametrize("traditional, simplified", [
    ("無錫縣誌", "无锡县志"), ("惠山寺", "惠山寺"), ("東林書院", "东林书院"), ("錢穆，字賓四", "钱穆，字宾四"),
])
def test_traditional_and_simplified_give_the_same_tokens(traditional, simplified):
    for mode in ("index", "query"):
        assert tokens(traditional, mode=mode) == tokens(simplified, mode=mode)
        assert tokens(simplified, mode=mode)


# --- segmentation ----------------------------------------------------------------------------------

def test_two_character_words_are_tokens():
    assert tokens("无锡县志", mode="index") == ["无锡", "无锡县", "志"]
    assert {"记载", "创办"} <= set(tokens("县志记载荣氏创办工厂", mode="query"))


@pytest.mark.parametrize("word", ["梁溪老人", "南长街", "清名桥", "东林书院", "荣德生", "鼋头渚", "秦毓钧"])
def test_user_dictionary_words_stay_whole(word):
    text = f"据说{word}在此"
    assert word in tokens(text, mode="query")
    assert word in tokens(text, mode="index")


def test_plain_jieba_splits_what_the_dictionary_keeps_whole():
    plain = Segmenter(engine="jieba", dictionary=None)
    assert "梁溪老人" not in plain.cut("秦毓钧晚号梁溪老人", mode="query")


def test_index_mode_adds_sub_words():
    assert tokens("东林书院", mode="query") == ["东林书院"]
    assert set(tokens("东林书院", mode="index")) >= {"东林", "书院", "东林书院"}


def test_whitespace_and_punctuation_dropped_latin_and_numbers_whole():
    assert tokens("民国25年，《Wuxi 1936》！") == ["民国", "25", "年", "wuxi", "1936"]
    assert tokens("Wuxi 1936", mode="query") == ["wuxi", "1936"]
    assert tokens("　，。、") == []


def test_mixed_text():
    got = tokens("荣德生 Rong Desheng（1875—1952）创办茂新面粉厂", mode="query")
    assert got == ["荣德生", "rong", "desheng", "1875", "1952", "创办", "茂新面粉厂"]


def test_analyze_joins_tokens_with_single_spaces():
    assert analyze("無錫 ＷＵＸＩ", mode="query") == "无锡 wuxi"
    assert analyze("东林书院") == " ".join(tokens("东林书院"))


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        tokens("无锡", mode="fuzzy")


def _segment_all(segmenter, text, mode):
    return [t for line in text.split() for t in segmenter.cut(fold(line), mode=mode)]


def test_user_dictionary_does_not_degrade_general_segmentation():
    plain = Segmenter(engine="jieba", dictionary=None)
    local = Segmenter(engine="jieba")
    for mode in ("query", "index"):
        a, b = _segment_all(plain, GENERAL_TEXT, mode), _segment_all(local, GENERAL_TEXT, mode)
        same = sum(x == y for x, y in zip(a, b))
        assert same / max(len(a), len(b)) >= 0.98, (mode, [(x, y) for x, y in zip(a, b) if x != y])


@pytest.mark.parametrize("mode", ["query", "index"])
def test_rjieba_equals_jieba_on_the_local_corpus(mode):
    # The module uses rjieba; this proves it gives Python jieba's tokens for the same dictionary.
    assert analysis.default_segmenter().engine == "rjieba"
    reference, fast = Segmenter(engine="jieba"), Segmenter(engine="rjieba")
    for text in (LOCAL_CORPUS, GENERAL_TEXT):
        assert _segment_all(fast, text, mode) == _segment_all(reference, text, mode)
    extra = ["鸿声里", "锡金乡土历史", "無錫縣立圖書館"]
    for segmenter in (reference, fast):
        for word in extra:
            segmenter.add_word(word)
    assert _segment_all(fast, LOCAL_CORPUS, mode) == _segment_all(reference, LOCAL_CORPUS, mode)


def test_add_words_takes_effect():
    assert "鸿声里" not in tokens("我住在鸿声里", mode="query")
    add_words(["鴻聲里"])  # traditional spelling is folded before it is added
    assert "鸿声里" in tokens("我住在鸿声里", mode="query")
    assert "鸿声里" in tokens("我住在鴻聲里", mode="index")


def test_load_dictionary_from_an_archivists_file(tmp_path):
    path = tmp_path / "dictionary.txt"
    path.write_text("# extra words\n坊前老街 50 ns\n\n黄泥头\n", encoding="utf-8")
    plain = Segmenter(engine="jieba", dictionary=None)
    assert "坊前老街" not in plain.cut("到坊前老街去", mode="query")
    assert "黄泥头" not in plain.cut("到黄泥头去", mode="query")
    assert load_dictionary(path) == 2
    assert "坊前老街" in tokens("到坊前老街去", mode="query")
    assert "黄泥头" in tokens("到黄泥头去", mode="query")


def test_bad_dictionary_line_names_file_and_line(tmp_path):
    path = tmp_path / "dictionary.txt"
    path.write_text("好词 12x n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1"):
        Segmenter(engine="jieba", dictionary=path)


def test_shipped_dictionary_is_well_formed():
    lines = [l.split() for l in analysis.DICTIONARY_PATH.read_text(encoding="utf-8").splitlines() if l.strip()]
    words = [parts[0] for parts in lines]
    assert len(words) >= 150 and len(set(words)) == len(words)
    assert all(len(parts) == 3 and parts[1].isdigit() for parts in lines)
    assert {"无锡", "梁溪老人", "钱穆", "宾四", "光绪", "东林书院"} <= set(words)


# --- pinyin ------------------------------------------------------------------------------------------

def test_pinyin_full_and_initials():
    assert pinyin("无锡") == ["wuxi", "wx"]
    assert pinyin("無錫") == ["wuxi", "wx"]
    assert pinyin("梁溪") == ["liangxi", "lx"]
    assert pinyin("") == []


def test_pinyin_tokens_for_a_name_and_its_aliases():
    got = pinyin_tokens(["钱穆", "宾四", "钱穆"])
    assert got == ["qianmu", "qm", "binsi", "bs"]
    assert set(pinyin_tokens(["无锡", "梁溪"])) == {"wuxi", "wx", "liangxi", "lx"}


# --- reign eras --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, years", [
    ("民国二十五年", (1936, 1936)),
    ("光绪三年", (1877, 1877)),
    ("民国", (1912, 1949)),
    ("民国25年", (1936, 1936)),
    ("民國２５年刊本", (1936, 1936)),
    ("光绪元年", (1875, 1875)),
    ("宣统三年", (1911, 1911)),
    ("康熙廿一年", (1682, 1682)),
    ("乾隆卅年", (1765, 1765)),
    ("道光十年", (1830, 1830)),
    ("万历三十二年重修", (1604, 1604)),
    ("崇祯十七年", (1644, 1644)),
    ("清光绪", (1875, 1908)),
    ("宣统四年", None),
    ("一九三六年", None),
    ("无锡县志", None),
])
def test_era_years(text, years):
    assert era_years(text) == years


def test_reign_eras_are_ordered_and_complete():
    assert {"民国", "光绪", "宣统", "同治", "咸丰", "道光", "嘉庆", "乾隆", "雍正", "康熙", "顺治",
            "崇祯", "万历"} <= set(analysis.REIGN_ERAS)
    assert all(start <= end for start, end in analysis.REIGN_ERAS.values())


def test_skipping_opencc_for_simplified_text_changes_no_word():
    """fold() skips OpenCC when no character it would change is present: the same result as
    converting, for every word of jieba's dictionary and every text of the relevance corpus."""
    import json
    import unicodedata
    from pathlib import Path

    import jieba
    import opencc

    converter = opencc.OpenCC("t2s")
    words = [line.split()[0] for line in (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8")]
    corpus = Path(__file__).parent / "relevance" / "corpus.jsonl"
    words += [p["text"] for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()
              for p in json.loads(line).get("passages", [])]
    def full(text):
        return converter.convert(unicodedata.normalize("NFKC", text)).translate(analysis.VARIANTS).lower()
    differ = [w for w in words if analysis.fold(w) != full(w)]
    assert differ == []


# --- tokens() is cut(fold(text)) less punctuation, however it is computed ------------------------

_T2S = __import__("opencc").OpenCC("t2s")


def _reference_tokens(text, mode):
    """The definition, written plainly: NFKC, OpenCC t2s of the whole text, variants, lower case,
    jieba, and every token without a letter or digit dropped."""
    import unicodedata

    folded = _T2S.convert(unicodedata.normalize("NFKC", text))
    folded = folded.translate(analysis.VARIANTS).lower()
    return [t for t in analysis.default_segmenter().cut(folded, mode=mode) if any(ch.isalnum() for ch in t)]


def _sample_texts():
    import random

    import jieba
    import opencc
    from pathlib import Path

    traditional = opencc.OpenCC("s2t").convert(LOCAL_CORPUS + GENERAL_TEXT)
    yield LOCAL_CORPUS + GENERAL_TEXT
    yield traditional
    yield traditional.replace("\n", "\r\n")
    rng = random.Random(18)
    words = [line.split()[0] for line in (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8")]
    tricky = ["３．５％", "１７％", "c++", "Ｃ＃", "a-b", "3.5", "--", "..", "_", "ΑΣ：Α", "ΟΔΟΣ", "Σ", "é",
              "e\u0301", "Ａ\u0301", "\u1100\u1161", "가\u11a8", "①", "Ⅱ", "㍻", "ﬁ", "…", "〃", "‧", "·", "：", "．",
              "\u3000", "\u00a0", "\r\n", "\r", "\n", "\t", "瞭解", "反覆", "沈思", "乾隆", "𩀨", "𠀀", "\U0002b73f",
              "\u9fff", "\u4dbf", "豈", "淸名橋", "藉口", "甦醒", "彷徨", "衹有", "俱樂部", "什麼", "ｶﾀｶﾅ", "\u0301"]
    pool = words[::50] + tricky + list("，。、；：！？（）《》“”‘’—…·　")
    for _ in range(600):
        yield "".join(rng.choice(pool) for _ in range(rng.randint(1, 30)))
    yield "".join(rng.choice(pool) for _ in range(20000))


def _relevance_texts():
    """Every string of the relevance corpus's records: titles, descriptions, names, passages."""
    import json

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            for inner in value.values() if isinstance(value, dict) else value:
                yield from strings(inner)

    corpus = Path(__file__).parent / "relevance" / "corpus.jsonl"
    records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [text for record in records for text in strings(record)]


@pytest.mark.parametrize("mode", ["index", "query"])
def test_tokens_equal_the_definition_on_a_large_sample(mode):
    texts = _relevance_texts()
    assert sum(map(len, texts)) > 30_000
    for text in [*_sample_texts(), *texts, "\n".join(texts)]:
        assert tokens(text, mode=mode) == _reference_tokens(text, mode), text[:80]


def test_the_native_flags_beyond_the_bmp_are_cpythons():
    """search/_analysis.c takes letters, digits and lower case beyond the BMP from CPython: the
    same as str.isalnum and str.lower for every character there."""
    fold("预热")  # the tables are set on first use
    chars = [chr(cp) for cp in range(0x10000, 0x110000)]
    assert native.words(list(chars)) == [c for c in chars if c.isalnum()]
    lower = [c for c in chars if native.splice(c, [0, 1], c, False)[1] & native.LOWER]
    assert lower == [c for c in chars if c.lower() != c] and lower


def test_prepare_gives_back_the_text_itself_when_nothing_changes():
    # The segmenter then reuses the text's cached UTF-8 (bench/analysis.py measures it so).
    fold("预热")
    text = "无锡县志记载荣氏创办工厂，民国二十五年。"
    assert native.prepare(text)[0] is text
    assert native.prepare("Wuxi １９３６")[0] == "wuxi 1936"
    # splice writes in the wider kind of its strings, and narrows when no character needs it
    assert native.splice("\U00029028a", [0, 1], "x", True) == ("xa", 0) and native.splice("锺a", [], "", True)[0] == "钟a"


def test_the_native_functions_refuse_what_they_cannot_take():
    fold("预热")
    with pytest.raises(TypeError):
        native.words(("无锡", "，"))
    listed = ["无锡", "，", 3, "县"]
    with pytest.raises(TypeError):
        native.words(listed)
    assert listed == ["无锡", 3, "县"]  # what was looked at is filtered, the rest kept whole
    with pytest.raises(ValueError):
        native.splice("無錫縣", [0, 3], "无锡", True)  # a conversion of another length
    with pytest.raises(ValueError):
        native.splice("無錫", [0, 3], "无锡县", True)  # a span past the end


def test_tokens_equal_the_definition_for_every_character():
    # Each character of the Basic Multilingual Plane (surrogates aside) between letters, digits,
    # punctuation and a combining mark: its normalisation, folding and filtering in context.
    chars = [chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]
    for i in range(0, len(chars), 64):
        texts = [f"ΑΣ{c}Α无锡{c}3.5{c}\u0301，{c}" for c in chars[i:i + 64]]
        assert [tokens(t) for t in texts] == [_reference_tokens(t, "index") for t in texts], chars[i]


def test_fold_converts_phrases_of_otherwise_unchanged_characters():
    # 瞭, 甦 and 彷 are unchanged alone but not in 瞭解, 甦醒, 彷彿; characters beyond the BMP too.
    import opencc

    converter = opencc.OpenCC("t2s")
    for text in ("瞭解土地使用情形", "甦醒", "彷彿", "𩀨", "第一行\n瞭解"):
        assert fold(text) == converter.convert(text)
    assert "了解" in tokens("瞭解土地使用情形", mode="query")


def _opencc_dictionaries(tmp_path):
    """{file name: [(key, value), ...]} of every dictionary OpenCC's t2s configuration uses."""
    import json
    import subprocess
    from pathlib import Path

    import opencc

    clib = Path(opencc.__file__).parent / "clib"
    tool, share = clib / "bin" / "opencc_dict", clib / "share" / "opencc"
    config = json.loads((share / "t2s.json").read_text(encoding="utf-8"))
    names = [step["dict"]["file"] for step in config.get("normalization", [])]
    names += [d["file"] for step in config["conversion_chain"] for d in step["dict"].get("dicts", [step["dict"]])]
    if not tool.exists() or not all((share / name).exists() for name in names):
        pytest.skip(f"the OpenCC wheel has no {tool.name} or dictionaries to read the phrases with")
    found = {}
    for name in names:
        out = tmp_path / f"{name}.txt"
        subprocess.run([str(tool), "-i", str(share / name), "-o", str(out), "-f", "ocd2", "-t", "text"],
                       check=True, env={"LD_LIBRARY_PATH": str(clib / "lib64")}, capture_output=True)
        rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
        found[name] = [(key, value.split(" ")[0]) for key, value in rows]
    assert "TSPhrases.ocd2" in found and all(found.values())
    return found


def test_opencc_keys_never_cross_the_edge_of_a_run_of_letters_and_digits(tmp_path):
    """fold() converts only the runs of letters and digits with a character OpenCC may change,
    all in one call, and lowers A-Z first: right only while every key of its dictionaries is
    letters and digits and none of A-Z or a-z, every one-character key in the Han ranges the
    analysis reads (or beyond the BMP), and every value as long as its key."""
    han = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x10000, 0x10FFFF)]
    for name, rows in _opencc_dictionaries(tmp_path).items():
        for key, value in rows:
            assert key.isalnum() and len(key) == len(value), (name, key, value)
            assert not any("a" <= ch <= "z" for ch in key.lower()), (name, key)
            assert len(key) > 1 or any(a <= ord(key) <= b for a, b in han), (name, key)


def test_phrase_only_holds_every_character_opencc_changes_only_in_a_phrase(tmp_path):
    """PHRASE_ONLY must name every character that the TSPhrases dictionary changes inside a phrase
    while leaving it alone, in a phrase of characters OpenCC leaves alone (else fold() would skip
    text that OpenCC changes); in other phrases a character that changes alone flags the run."""
    import opencc

    converter, changed = opencc.OpenCC("t2s"), set()
    for key, value in _opencc_dictionaries(tmp_path)["TSPhrases.ocd2"]:
        if all(converter.convert(a) == a for a in key):
            changed |= {a for a, b in zip(key, value) if a != b}
    assert changed and changed <= analysis.PHRASE_ONLY


# --- the variant table (search/dictionary/variants.txt, from scripts/variants.py) ---------------

def test_variant_families_fold_to_one_form_at_index_and_query_time():
    for family in ("鍾锺钟", "淸清", "峯峰", "衞衛卫", "敍敘叙", "槪概", "塡填"):
        assert len({fold(ch) for ch in family}) == 1, family
    assert tokens("錢锺書") == tokens("钱钟书") and tokens("敍述") == tokens("叙述")
    # words OpenCC handles as phrases keep their conversion (沈思 → 沉思; 沈 alone is the surname)
    assert fold("沈思") == "沉思" and fold("沈周") == "沈周" and fold("衹") == "只"


def test_the_variant_table_is_what_its_rule_takes_from_opencc():
    import scripts.variants as made

    rows = [line.split("\t") for line in analysis.VARIANTS_PATH.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert {a: (b, source) for a, b, source in rows} == made.variants(analysis.fold_without_table)


def test_the_variant_table_changes_no_character_of_ordinary_text():
    """No folded-away variant is a GB 2312 character (but 锺, by hand), and the whole jieba
    dictionary — ordinary words — folds the same with and without the table."""
    import jieba

    table = {chr(k): chr(v) for k, v in analysis.VARIANTS.items()}
    assert all(not _gb2312(ch) for ch in table if ch not in "锺甯")
    words = (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").split("\n")
    text = "\n".join(w.split(" ")[0] for w in words if w and all(map(_gb2312, w.split(" ")[0])))
    assert len(text) > 500_000
    changed = [w for w, f in zip(text.split("\n"), analysis.fold(text).split("\n"))
               if f != analysis.fold_without_table(w)]
    assert all(set(w) & {"锺"} for w in changed), changed[:20]


def _gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False
