"""The demo collection: generated photographs, manuscripts (OCR), an interview, a video and an e-book,
ingested through the real pipeline, with Chinese metadata."""
from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from exhibitions.service import ocr_pages
from ingest.pipeline import plan_job
from ingest.sources.common import PlannedItem
from repository.access import SYSTEM
from repository.services import collection_object

FONT_PATHS = [
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]
RIGHTS_PD = "http://rightsstatements.org/vocab/NoC-OKLR/1.0/"
RIGHTS_CNE = "http://rightsstatements.org/vocab/CNE/1.0/"

PHOTOS = [  # … and the demo authority record of the place (DEMO_PLACES)
    ("惠山古镇祠堂群", "Ancestral halls of Huishan old town", "1936", "民国二十五年", "惠山", "Huishan", ["祠堂", "古镇"]),
    ("清名桥与古运河", "Qingming Bridge on the Grand Canal", "1948~", "约民国三十七年", "南长街", "Nanchang Street", ["运河", "桥梁"]),
    ("荣巷老街", "Rongxiang old street", "195X", "二十世纪五十年代", "荣巷", "Rongxiang", ["街巷", "民居"]),
    ("太湖渔船", "Fishing boats on Lake Tai", "1962-08", "1962年8月", "太湖", "Lake Tai", ["渔业", "太湖"]),
]
DEMO_PLACES = {"惠山": "huishan", "南长街": "nanchang", "荣巷": "rongxiang"}
MANUSCRIPT = ("锡山乡土志稿", "Draft gazetteer of Xishan", [
    "锡山在县城西惠山之东麓山虽不高而林木葱郁",
    "泉出石罅甘冽异常世称天下第二泉者是也",
    "运河绕城而过商船往来米市布码头皆在于此",
    "乡人重读书兴学堂民国以来新式学校渐多",
])


def font(size: int):
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def photo(caption: str, seed: int, size=(960, 720)) -> bytes:
    """A sepia 'photograph': sky, hills, water and a caption."""
    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=(int(225 - 80 * t), int(205 - 70 * t), int(170 - 60 * t)))
    for layer in range(3):
        base = int(h * (0.45 + 0.08 * layer))
        points = [(0, h)] + [(x, base - rnd.randint(0, 120 - 30 * layer)) for x in range(0, w + 80, 80)] + [(w, h)]
        shade = 120 - 30 * layer
        draw.polygon(points, fill=(shade + 40, shade + 25, shade))
    draw.rectangle([0, int(h * 0.75), w, h], fill=(150, 135, 110))
    draw.arc([w * 0.3, h * 0.6, w * 0.7, h * 0.95], 180, 360, fill=(60, 50, 40), width=12)
    draw.text((24, h - 64), caption, font=font(36), fill=(250, 245, 230))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def manuscript_page(text: str, page: int, size=(800, 1100)) -> bytes:
    """A page of vertical text, read in columns from right to left, on ruled paper."""
    w, h = size
    img = Image.new("RGB", size, (238, 226, 196))
    draw = ImageDraw.Draw(img)
    f = font(44)
    columns = [text[i:i + 17] for i in range(0, len(text), 17)]
    col_w = 80
    draw.rectangle([40, 40, w - 40, h - 40], outline=(150, 40, 30), width=4)
    for c in range(1, (w - 80) // col_w):
        x = w - 40 - c * col_w
        draw.line([(x, 40), (x, h - 40)], fill=(170, 70, 50), width=2)
    for c, column in enumerate(columns):
        x = w - 40 - (c + 1) * col_w + 18
        for r, char in enumerate(column):
            draw.text((x, 70 + r * 56), char, font=f, fill=(30, 25, 20))
    draw.text((60, h - 90), f"{page}", font=font(28), fill=(120, 60, 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def wav(path: Path, seconds: float = 2.0) -> Path:
    """A tone with pauses, standing in for a recorded voice."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=220:beep_factor=3:duration={seconds}", "-ac", "1", "-ar", "22050", str(path)],
                   check=True, timeout=120)  # (generated input: a few seconds)
    return path


def mp4(path: Path, seconds: float = 2.0, size: str = "640x360") -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=120)
    return path


def epub(path: Path, title: str, chapters: list[tuple[str, str]], author: str = "佚名") -> Path:
    from ebooklib import epub as e

    book = e.EpubBook()
    book.set_identifier(f"fangzhi-{path.stem}")
    book.set_title(title)
    book.set_language("zh")
    book.add_author(author)
    items = []
    for n, (heading, text) in enumerate(chapters, 1):
        chapter = e.EpubHtml(title=heading, file_name=f"c{n}.xhtml", lang="zh")
        chapter.content = f"<h1>{heading}</h1><p>{text}</p>"
        book.add_item(chapter)
        items.append(chapter)
    book.toc = items
    book.spine = ["nav", *items]
    book.add_item(e.EpubNcx())
    book.add_item(e.EpubNav())
    e.write_epub(str(path), book)
    return path


# The demo interview: what 张阿婆 says in 无锡话 (verbatim) and in Mandarin, cue by cue; the index
# segments, the third (neighbours' affairs) restricted: silenced in the public copy.
INTERVIEW_CUES = [
    (0.5, 4.5, "张阿婆", "伲小辰光就住勒南长街，屋里向开爿南货店。", "我小时候就住在南长街，家里开了一家南货店。"),
    (5.0, 7.0, "李馆员", "阿婆，侬还记得清名桥伐？", "阿婆，您还记得清名桥吗？"),
    (7.2, 9.8, "张阿婆", "记得个，桥下头船来船往，闹猛得来。", "记得的，桥下面船来船往，热闹得很。"),
    (10.5, 14.5, "张阿婆", "隔壁人家屋里向个事体，勿好讲拨外人听个。", "隔壁人家家里的事情，不好讲给外人听的。"),
    (15.5, 19.5, "张阿婆", "后来伲到学堂里读书，先生交关凶。", "后来我到学堂里读书，先生非常严厉。"),
]
INTERVIEW_SEGMENTS = [
    {"start": 0, "title": "童年与南长街", "synopsis": "张阿婆回忆在南长街度过的童年和家里的南货店。", "keywords": ["南长街", "南货店"]},
    {"start": 5, "title": "清名桥与古运河", "synopsis": "桥下船来船往的热闹景象。", "keywords": ["清名桥", "运河"]},
    {"start": 10, "title": "邻里旧事", "synopsis": "涉及邻居家事，应受访者要求不公开。", "keywords": ["邻里"], "restricted": True},
    {"start": 15, "title": "上学堂", "synopsis": "到学堂读书，先生严厉。", "keywords": ["学堂", "教育"]},
]


def interview_files(folder: Path, stem: str) -> list[Path]:
    """The demo interview's transcripts beside its recording: 无锡话 and Mandarin WebVTT, and an
    OHMS file with the index (segments, one restricted) and the interview's summary."""
    from oral_history.model import Interview
    from oral_history.ohms import write_ohms
    from oral_history.timecodes import clock

    paths = []
    for lang, column in (("wuu", 3), ("zh", 4)):
        cues = [f"{clock(c[0])} --> {clock(c[1])}\n<v {c[2]}>{c[column]}\n" for c in INTERVIEW_CUES]
        paths.append(folder / f"{stem}.{lang}.vtt")
        paths[-1].write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    index = Interview.from_dict({
        "summary": {"zh": "张阿婆用无锡话讲述南长街的童年、清名桥下的运河和上学堂的经历。"},
        "keywords": ["南长街", "清名桥", "无锡话"], "segments": INTERVIEW_SEGMENTS})
    paths.append(folder / f"{stem}.xml")
    paths[-1].write_bytes(write_ohms(index, title="南长街老街的记忆", public=False))
    return paths


# The demo authority file (demo data): places with former names, people with 字/号, a family with
# its 字辈 and a genealogy, a factory with a former name. (key, record); "@key" is another's id.
AUTHORITIES = [
    ("changzhou", {"kind": "place", "name": "常州府", "type": "府", "coordinates": [31.78, 119.95],
                   "names": [{"name": "毗陵", "type": "别名"}]}),
    ("wuxi", {"kind": "place", "name": "无锡市", "type": "市", "coordinates": [31.49, 120.31],
              "names": [{"name": "无锡县", "type": "旧名", "end": "1949"}, {"name": "金匮县", "type": "旧名",
                         "start": "1724", "end": "1912"}, {"name": "梁溪", "type": "别名"},
                        {"name": "锡山", "type": "别名"}, {"name": "Wuxi", "type": "英文名"}],
              "parents": [{"id": "@changzhou", "start": "1368", "end": "1912"}]}),
    ("rongxiang", {"kind": "place", "name": "荣巷", "type": "街巷", "coordinates": [31.55, 120.24],
                   "names": [{"name": "荣巷镇", "type": "旧名", "end": "1950"}], "parents": [{"id": "@wuxi"}]}),
    ("huishan", {"kind": "place", "name": "惠山", "type": "镇", "coordinates": [31.59, 120.26],
                 "names": [{"name": "惠山镇", "type": "旧名", "end": "1983"}, {"name": "九龙山", "type": "别名"}],
                 "parents": [{"id": "@wuxi"}]}),
    ("nanchang", {"kind": "place", "name": "南长街", "type": "街巷", "coordinates": [31.56, 120.30],
                  "names": [{"name": "南门外大街", "type": "旧名", "end": "1950"}], "parents": [{"id": "@wuxi"}]}),
    ("qin", {"kind": "person", "name": "秦毓钧", "gender": "male", "occupations": ["方志学者"],
             "names": [{"name": "伯虞", "type": "字"}, {"name": "梁溪老人", "type": "号"}, {"name": "Qin Yujun",
                                                                                       "type": "英文名"}],
             "birth": {"edtf": "1873", "display": "同治十二年"}, "death": {"edtf": "1937", "display": "民国二十六年"},
             "native_place": "@wuxi", "notes": "示例人物：《锡山乡土志稿》的作者。"}),
    ("xitai", {"kind": "person", "name": "荣熙泰", "gender": "male", "native_place": "@rongxiang",
               "birth": {"edtf": "1849"}, "death": {"edtf": "1896", "display": "光绪二十二年"}}),
    ("zongjing", {"kind": "person", "name": "荣宗敬", "gender": "male", "occupations": ["实业家"],
                  "names": [{"name": "宗锦", "type": "名"}], "native_place": "@rongxiang",
                  "birth": {"edtf": "1873", "display": "同治十二年"}, "death": {"edtf": "1938", "display": "民国二十七年"},
                  "relations": [{"type": "father", "id": "@xitai"}]}),
    ("desheng", {"kind": "person", "name": "荣德生", "gender": "male", "occupations": ["实业家"],
                 "names": [{"name": "宗铨", "type": "名"}, {"name": "乐农", "type": "号"}], "native_place": "@rongxiang",
                 "birth": {"edtf": "1875", "display": "光绪元年"}, "death": {"edtf": "1952"},
                 "relations": [{"type": "father", "id": "@xitai"}, {"type": "brother", "id": "@zongjing"}]}),
    ("yiren", {"kind": "person", "name": "荣毅仁", "gender": "male", "native_place": "@rongxiang",
               "birth": {"edtf": "1916", "display": "民国五年"}, "death": {"edtf": "2005"},
               "relations": [{"type": "father", "id": "@desheng"}]}),
    ("rong", {"kind": "family", "name": "梁溪荣氏", "surname": "荣", "hall": "敦睦堂", "choronym": "上谷",
              "ancestral_place": "@rongxiang", "founder": "@xitai", "generation_names": ["熙", "宗", "毅", "智"],
              "members": ["@xitai", "@zongjing", "@desheng", "@yiren"], "notes": "示例家族（堂号、郡望为示例数据）。"}),
    ("maoxin", {"kind": "organization", "name": "茂新面粉厂", "type": "工厂", "place": "@wuxi",
                "names": [{"name": "保兴面粉厂", "type": "旧名", "start": "1900", "end": "1903"}]}),
]


def demo_authorities(authorities) -> dict[str, str]:
    """The demo authority file (records already there, by name, are reused): key → id."""
    ids: dict[str, str] = {}

    def resolve(value):
        if isinstance(value, str) and value.startswith("@"):
            return ids[value[1:]]
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    for key, data in AUTHORITIES:
        found = authorities.find(data["name"], data["kind"])
        ids[key] = found[0] if found else authorities.create(resolve(data), user=SYSTEM,
                                                              why="示例权威记录 demo authority").value.id
    return ids


def demo_items(folder: Path, library: str, authority_ids: dict[str, str] | None = None) -> list[PlannedItem]:
    """Write the demo donation into ``folder`` and describe its items (linked to the demo
    authority file when ``authority_ids`` are given)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = authority_ids or {}
    link = lambda key: {"id": ids[key]} if key in ids else {}
    common = {"language": ["zh"], "holding_library": library, "visibility": "public"}
    planned = []
    for n, (zh, en, edtf, display, place_zh, place_en, subjects) in enumerate(PHOTOS, 1):
        path = folder / f"photo-{n:03d}.jpg"
        path.write_bytes(photo(f"{zh} {display}", n))
        planned.append(_planned(zh, [path], {
            **common, "kind": "photo", "title": {"zh": zh, "en": en},
            "description": {"zh": f"{place_zh}旧影，{display}摄。", "en": f"{place_en}, photographed {edtf}."},
            "creators": [{"name": {"zh": "佚名"}, "role": "photographer"}], "date": {"edtf": edtf, "display": display},
            "places": [{"name": {"zh": place_zh, "en": place_en}, **link(DEMO_PLACES.get(place_zh))}],
            "subjects": subjects, "extent": "1 幅",
            "rights": RIGHTS_PD, "identifiers": [f"DEMO-P{n:03d}"], "collections": ["demo-photos"]}))
    title_zh, title_en, texts = MANUSCRIPT
    pages = []
    for i, text in enumerate(texts, 1):
        pages.append(folder / f"page-{i:02d}.png")
        pages[-1].write_bytes(manuscript_page(text, i))
    planned.append(_planned(title_zh, pages, {
        **common, "kind": "manuscript", "title": {"zh": title_zh, "en": title_en},
        "description": {"zh": "民国时期乡土志手稿，竖排毛笔抄写，共四页。",
                        "en": "A Republican-era local gazetteer manuscript, four pages of vertical text."},
        "creators": [{"name": {"zh": "秦毓钧", "en": "Qin Yujun"}, "role": "author",
                      "aliases": [{"name": "伯虞", "type": "字"}, {"name": "梁溪老人", "type": "号"}], **link("qin")}],
        "date": {"edtf": "1920/1929", "display": "民国十年代"},
        "places": [{"name": {"zh": "无锡", "en": "Wuxi"}, "aliases": ["锡山", "梁溪"], "coordinates": [31.49, 120.31],
                    **link("wuxi")}],
        "subjects": ["地方志", "乡土志"], "extent": f"{len(texts)} 页", "rights": RIGHTS_CNE,
        "identifiers": ["DEMO-M001"], "collections": ["demo-manuscripts"],
        "viewing_direction": "right-to-left"}))  # bound and read from right to left
    letter = folder / "letter.png"
    letter.write_bytes(manuscript_page("家中诸事安好勿念", 1))
    planned.append(_planned("荣氏家书", [letter], {
        **common, "kind": "manuscript", "title": {"zh": "荣氏家书（馆员可见）", "en": "Rong family letter (staff only)"},
        "creators": [{"name": {"zh": "荣德生", "en": "Rong Desheng"}, "role": "author", **link("desheng")}],
        "date": {"edtf": "1946", "display": "1946年"}, "visibility": "staff", "rights": RIGHTS_CNE,
        "collections": ["demo-manuscripts"]}))
    genealogy = folder / "genealogy.png"
    genealogy.write_bytes(manuscript_page("荣氏世系熙宗毅智", 1))
    planned.append(_planned("梁溪荣氏家谱", [genealogy], {
        **common, "kind": "book", "title": {"zh": "梁溪荣氏家谱（示例）", "en": "Genealogy of the Rong family of Liangxi (demo)"},
        "description": {"zh": "荣氏家族世系，记熙、宗、毅、智四代。", "en": "The Rong lineage over four generations."},
        "date": {"edtf": "1935", "display": "民国二十四年"}, "subjects": ["家谱", "荣氏"], "rights": RIGHTS_CNE,
        "places": [{"name": {"zh": "荣巷"}, **link("rongxiang")}],
        "about": [ids[k] for k in ("rong", "desheng", "zongjing") if k in ids],
        "collections": ["demo-manuscripts"], "viewing_direction": "right-to-left"}))
    planned.append(_planned("老街的记忆", [wav(folder / "interview.wav", 20)], {
        **common, "kind": "audio", "title": {"zh": "口述：南长街老街的记忆（示例）", "en": "Oral history: memories of Nanchang Street (demo)"},
        "creators": [{"name": {"zh": "张阿婆"}, "role": "interviewee"}, {"name": {"zh": "李馆员"}, "role": "interviewer"}],
        "date": {"edtf": "2024-06-12"}, "language": ["wuu", "zh"], "subjects": ["口述史", "街巷"], "rights": RIGHTS_CNE,
        "places": [{"name": {"zh": "南长街", "en": "Nanchang Street"}}],
        "collections": ["demo-oral-history"]}))
    planned[-1].transcripts = interview_files(folder, "interview")  # attached by the ingest "transcript" step
    planned.append(_planned("惠山庙会", [mp4(folder / "temple-fair.mp4", 8)], {
        **common, "kind": "video", "title": {"zh": "惠山庙会（示例录像）", "en": "Huishan temple fair (demo video)"},
        "date": {"edtf": "2023-04"}, "subjects": ["民俗", "庙会"], "rights": RIGHTS_CNE, "collections": ["demo"]}))
    planned.append(_planned("锡山杂记", [epub(folder / "xishan.epub", "锡山杂记", [
        ("第一章 惠山", "惠山在城西，泉出石罅，甘冽异常，世称天下第二泉。"),
        ("第二章 运河", "运河绕城而过，商船往来，米市布码头皆在于此。")], author="秦毓钧")], {
        **common, "kind": "ebook", "title": {"zh": "锡山杂记（电子书）", "en": "Notes on Xishan (e-book)"},
        "creators": [{"name": {"zh": "秦毓钧"}, "role": "author"}], "rights": RIGHTS_CNE, "collections": ["demo"]}))
    return planned


def _planned(label: str, files: list[Path], metadata: dict) -> PlannedItem:
    return PlannedItem(label=label, files=files, metadata=metadata, file_ids=[None] * len(files), problems=[])


def create_demo(ctx, runner, *, library: str = "区图书馆", exhibitions=None, authorities=None) -> int:
    """Create the demo collections (and, given ``authorities``, the demo authority file) and ingest
    the demo donation through the real pipeline (so every item has its derivatives and OCR);
    return how many items were made. Idempotent."""
    archive = ctx.archive
    if archive.objects.exists(collection_object("demo")):
        return 0
    user, why = ctx.user, "示例馆藏 demo collection"
    archive.create_collection({"id": "demo", "title": {"zh": "示例馆藏", "en": "Demo collection"},
                               "description": {"zh": "由 Fangzhi 生成的示例照片、手稿、口述史、录像与电子书。",
                                               "en": "Photographs, manuscripts, an interview, a video and an "
                                                     "e-book generated by Fangzhi."},
                               "holding_library": library}, user=user, why=why)
    for cid, zh, en in (("demo-photos", "老照片", "Old photographs"), ("demo-manuscripts", "手稿", "Manuscripts"),
                        ("demo-oral-history", "口述史", "Oral history")):
        archive.create_collection({"id": cid, "parent": "demo", "title": {"zh": zh, "en": en}}, user=user, why=why)
    ids = demo_authorities(authorities) if authorities is not None else None
    planned = demo_items(ctx.work / "demo-source", library, ids)
    job_id = plan_job(ctx, "demo", planned)
    runner.run([(job_id, n) for n in range(1, len(planned) + 1)])
    shutil.rmtree(ctx.work / "demo-source", ignore_errors=True)
    if exhibitions is not None:
        demo_exhibition(exhibitions, {e.label: e.item_id for e in ctx.jobs.entries(job_id, states=("done",))})
    return ctx.jobs.job(job_id).counts.get("done", 0)


def demo_exhibition(exhibitions, ids: dict[str, str]) -> None:
    """One bilingual exhibition on the demo items: a region of the Qingming Bridge photograph, the
    interview's first minutes, a quotation from the gazetteer's OCR, a timeline and a map; published."""
    photo, bridge, street = (ids.get(PHOTOS[n][0]) for n in range(3))
    manuscript, interview = ids.get(MANUSCRIPT[0]), ids.get("老街的记忆")
    if not (bridge and interview):
        return
    wharf = [{"kind": "region", "item": bridge, "region": [240, 180, 480, 360],
              "caption": {"zh": "桥下的运河与码头", "en": "The canal and the wharf under the bridge"}},
             {"kind": "gallery", "items": [i for i in (photo, bridge, street) if i]}]
    quote = _ocr_words(exhibitions.archive, manuscript, page=3)
    if quote:
        wharf.append({"kind": "quote", "item": manuscript, "page": 3, "text": quote})
    voices = [{"kind": "clip", "item": interview, "start": 0, "end": 9,
               "caption": {"zh": "张阿婆讲小时候的南长街", "en": "Granny Zhang on Nanchang Street in her childhood"}},
              {"kind": "timeline", "caption": {"zh": "展品年代", "en": "The exhibits by date"}}, {"kind": "map"}]
    data = {"id": "canal-lives", "title": {"zh": "运河人家", "en": "Lives by the canal"},
            "subtitle": {"zh": "清名桥一带的旧影与乡音", "en": "Old pictures and voices of Qingming Bridge"},
            "summary": {"zh": "从**老照片**、乡土志和口述史里，看古运河边的街巷与人家。",
                        "en": "Streets and homes by the Grand Canal, in **old photographs**, a gazetteer and oral history."},
            "cover": bridge,
            "sections": [{"heading": {"zh": "码头", "en": "The wharf"},
                          "text": {"zh": "运河绕城而过，米市、布码头都在桥边。放大照片，可以看清桥下的船。",
                                   "en": "The canal runs round the city; the rice and cloth wharves were by the bridge. "
                                         "Zoom into the photograph to see the boats under it."},
                          "blocks": wharf},
                         {"heading": {"zh": "乡音", "en": "Voices"},
                          "text": {"zh": "老街坊用无锡话讲述过去的生活。", "en": "Neighbours tell of the old days in the Wuxi dialect."},
                          "blocks": voices}]}
    saved = exhibitions.save(data, user=SYSTEM, expected_version=0, why="示例展览 demo exhibition")
    exhibitions.publish("canal-lives", user=SYSTEM, expected_version=saved.version, why="示例展览 demo exhibition")


def _ocr_words(archive, item_id: str | None, *, page: int) -> str | None:
    """A few words of the page's OCR text (as recognised: a quotation must match it), or None."""
    if not item_id:
        return None
    pages = ocr_pages(archive.get_item(item_id, user=SYSTEM).value)
    if len(pages) < page:
        return None
    text = json.loads(archive.open_file(item_id, pages[page - 1].id, user=SYSTEM).read()).get("text", "")
    words = "".join(text.split())[:12]
    return words or None
