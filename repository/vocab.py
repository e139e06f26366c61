"""Controlled vocabularies shown to people: rights statements, kinds and languages, in Chinese and English."""
from __future__ import annotations

RIGHTS = {
    "http://rightsstatements.org/vocab/InC/1.0/": ("受版权保护", "In Copyright"),
    "http://rightsstatements.org/vocab/InC-EDU/1.0/": ("受版权保护 - 允许教育用途", "In Copyright - Educational Use Permitted"),
    "http://rightsstatements.org/vocab/InC-NC/1.0/": ("受版权保护 - 允许非商业用途", "In Copyright - Non-Commercial Use Permitted"),
    "http://rightsstatements.org/vocab/InC-RUU/1.0/": ("受版权保护 - 权利人不明", "In Copyright - Rights-holder(s) Unlocatable or Unidentifiable"),
    "http://rightsstatements.org/vocab/InC-OW-EU/1.0/": ("受版权保护 - 欧盟孤儿作品", "In Copyright - EU Orphan Work"),
    "http://rightsstatements.org/vocab/NoC-CR/1.0/": ("无版权 - 有合同限制", "No Copyright - Contractual Restrictions"),
    "http://rightsstatements.org/vocab/NoC-NC/1.0/": ("无版权 - 仅限非商业用途", "No Copyright - Non-Commercial Use Only"),
    "http://rightsstatements.org/vocab/NoC-OKLR/1.0/": ("无版权 - 其他法律限制", "No Copyright - Other Known Legal Restrictions"),
    "http://rightsstatements.org/vocab/NoC-US/1.0/": ("无版权 - 美国", "No Copyright - United States"),
    "http://rightsstatements.org/vocab/CNE/1.0/": ("版权未评估", "Copyright Not Evaluated"),
    "http://rightsstatements.org/vocab/UND/1.0/": ("版权状况不明", "Copyright Undetermined"),
    "http://rightsstatements.org/vocab/NKC/1.0/": ("无已知版权", "No Known Copyright"),
    "https://creativecommons.org/publicdomain/zero/1.0/": ("CC0 公有领域贡献", "CC0 Public Domain Dedication"),
    "https://creativecommons.org/publicdomain/mark/1.0/": ("公有领域标志", "Public Domain Mark"),
}

KINDS = {
    "photo": ("照片", "Photograph"), "manuscript": ("手稿", "Manuscript"), "book": ("图书", "Book"),
    "audio": ("音频", "Audio"), "video": ("视频", "Video"), "ebook": ("电子书", "E-book"),
    "object": ("实物", "Object"), "document": ("文档", "Document"), "dataset": ("数据", "Dataset"),
}

VISIBILITIES = {
    "public": ("公开", "Public"), "alliance": ("联盟成员", "Alliance members"), "staff": ("仅馆员", "Staff only"),
    "embargoed": ("限期开放", "Embargoed"), "private": ("不公开", "Private"),
}

JOB_STATES = {  # an ingest job entry's state (ingest.jobs)
    "pending": ("待处理", "pending"), "done": ("完成", "done"), "duplicate": ("重复", "duplicate"),
    "failed": ("失败", "failed"),
}

EVENT_TYPES = {  # PREMIS event types (repository.premis.TYPES)
    "ingestion": ("入藏", "Ingestion"), "message digest calculation": ("计算校验值", "Message digest calculation"),
    "format identification": ("格式识别", "Format identification"), "virus check": ("安全检查", "Safety check"),
    "creation": ("生成衍生文件", "Derivative creation"), "fixity check": ("固定性检查", "Fixity check"),
    "migration": ("重新生成衍生文件", "Regeneration"), "deletion": ("彻底删除", "Purge"),
    "modification": ("校对修改", "Correction"),
}
OUTCOMES = {"success": ("成功", "success"), "warning": ("注意", "warning"), "failure": ("失败", "failure")}


LANGUAGES = {
    "zh": ("中文", "Chinese"), "zh-Hans": ("简体中文", "Chinese (Simplified)"), "zh-Hant": ("繁体中文", "Chinese (Traditional)"),
    "wuu": ("吴语（无锡话）", "Wu Chinese (Wuxi)"), "en": ("英文", "English"), "ja": ("日文", "Japanese"),
    "lzh": ("文言", "Literary Chinese"),
}


def language_label(code: str, lang: str = "zh") -> str:
    return LANGUAGES.get(code, (code, code))[0 if lang == "zh" else 1]


def rights_label(uri: str | None, lang: str = "zh") -> str:
    if not uri:
        return ""
    if uri in RIGHTS:
        return RIGHTS[uri][0 if lang == "zh" else 1]
    if "creativecommons.org/licenses/" in uri:  # e.g. .../licenses/by-nc/4.0/
        code, version = uri.rstrip("/").split("/")[-2:]
        return f"CC {code.upper()} {version}"
    return uri


def kind_label(kind: str, lang: str = "zh") -> str:
    return KINDS.get(kind, (kind, kind))[0 if lang == "zh" else 1]


def visibility_label(visibility: str, lang: str = "zh") -> str:
    return VISIBILITIES.get(visibility, (visibility, visibility))[0 if lang == "zh" else 1]


def event_label(kind: str, lang: str = "zh") -> str:
    return EVENT_TYPES.get(kind, (kind, kind))[0 if lang == "zh" else 1]


def outcome_label(outcome: str, lang: str = "zh") -> str:
    return OUTCOMES.get(outcome, (outcome, outcome))[0 if lang == "zh" else 1]


def state_label(state: str, lang: str = "zh") -> str:
    return JOB_STATES.get(state, (state, state))[0 if lang == "zh" else 1]
