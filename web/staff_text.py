"""What the staff pages say about fields, steps and failures, in the interface language.

The services name a problem as (field, English sentence): ``date.edtf: '19x6' is not an EDTF date``.
``problem`` gives it as an archivist reads it — the field by its label (``date.edtf`` → 日期（EDTF）,
``creators[1].name.en`` → 创作者 2 · 姓名（英文）) and the sentence by the patterns below; a
sentence no pattern knows is kept, after a translated lead, so nothing is ever hidden.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import PurePosixPath

from flask_babel import gettext


def N_(message: str) -> str:  # marks a message for extraction
    return message


FIELDS = {
    "id": N_("标识符"), "kind": N_("类型"), "title": N_("题名"), "description": N_("描述"),
    "creators": N_("创作者"), "contributors": N_("贡献者"), "date": N_("日期"), "date.edtf": N_("日期（EDTF）"),
    "date.display": N_("日期（显示）"), "places": N_("地点"), "subjects": N_("主题"), "language": N_("语言"),
    "extent": N_("数量"), "rights": N_("权利声明"), "holding_library": N_("收藏单位"),
    "viewing_direction": N_("翻页方向"), "identifiers": N_("编号"), "collections": N_("所属馆藏"),
    "files": N_("文件"), "visibility": N_("可见性"), "embargo_until": N_("解禁日期"), "about": N_("主题规范"),
    "mentions": N_("提及"), "name": N_("名称"), "role": N_("角色"), "type": N_("类型"), "aliases": N_("别名"),
    "coordinates": N_("坐标"), "label": N_("标签"), "access": N_("访问限制"), "sequence": N_("页序"),
    "parent": N_("上级馆藏"), "position": N_("排序"), "reason": N_("原因"), "mode": N_("入藏方式"),
    "manifest": N_("清单"), "path": N_("路径"), "media_type": N_("媒体类型"), "tech": N_("技术信息"),
}
LANGUAGES = {"zh": N_("中文"), "en": N_("英文")}
STEPS = {
    "plan": N_("规划"), "check": N_("检查"), "identify": N_("格式识别"), "store": N_("存储原件"),
    "ocr": N_("文字识别"), "pyramid": N_("生成图像金字塔"), "thumbnail": N_("生成缩略图"), "text": N_("提取文字"),
    "access": N_("生成访问副本"), "waveform": N_("生成波形"), "poster": N_("生成封面帧"), "transcript": N_("读取转录稿"),
}
KINDS = {
    "transient": N_("存储或系统暂时出错：可以重试"),
    "input": N_("文件或元数据有误：重试无济于事，请更正后重新入藏"),
    "plan": N_("规划时发现问题：请更正清单或文件后重新入藏"),
}
# (pattern over the English sentence, Chinese sentence with the pattern's named groups)
PROBLEMS = [
    (r"is required", N_("必填")),
    (r"is required \(at least one language.*", N_("必填（至少一种语言）")),
    (r"is required when visibility is embargoed", N_("可见性为限期开放时必填")),
    (r"'(?P<value>.*)' is not an EDTF date.*", N_("“%(value)s”不是 EDTF 日期（如 1936、1936-05、193X、1911/1949、1936?）")),
    (r"(?P<value>\S+) is not a real calendar date", N_("%(value)s 不是真实存在的日期")),
    (r"must be one of (?P<choices>.+) \(got '(?P<value>.*)'\)", N_("“%(value)s”不是可选的值（%(choices)s）")),
    (r"'(?P<value>.*)' is not valid", N_("“%(value)s”无效")),
    (r"'(?P<value>.*)' is not a date in the form YYYY-MM-DD", N_("“%(value)s”不是 YYYY-MM-DD 格式的日期")),
    (r"is not a field of an? (item|collection|date).*", N_("不是可填写的字段")),
    (r"('(?P<value>.*)' )?is not a language tag.*", N_("不是语言代码（如 zh、en、wuu、zh-Hant）")),
    (r"must be \[latitude, longitude\] in degrees", N_("应是以度表示的“纬度, 经度”")),
    (r"must be non-empty text", N_("不能为空")),
    (r"must have a name", N_("需要名称")),
    (r"no collection (?P<value>.+)", N_("没有馆藏 %(value)s")),
    (r"(there is )?no authority record (?P<value>\S+)", N_("没有规范记录 %(value)s")),
    (r"no such file (?P<value>.+)", N_("上传的文件中没有 %(value)s")),
    (r"no file is named", N_("没有填写文件")),
    (r"'(?P<value>.*)' is also used in row (?P<row>\d+)", N_("“%(value)s”与第 %(row)s 行重复")),
    (r"(?P<value>.+) is inside (?P<other>.+): that makes a loop", N_("%(value)s 在 %(other)s 之内：这样会形成循环")),
    (r"a collection cannot contain itself", N_("馆藏不能包含自己")),
    (r"collection (?P<value>\S+) is not empty: (?P<items>\d+) items and (?P<subs>\d+) sub-collections; .*",
     N_("馆藏 %(value)s 不是空的：有 %(items)s 件藏品、%(subs)s 个子馆藏；请先移走或删除它们")),
    (r"a collection with id (?P<value>\S+) already exists", N_("已有标识符为 %(value)s 的馆藏")),
    (r"(collection|item) (?P<value>\S+) is at version (?P<head>\d+); your edit was made from version (?P<edited>\d+).*",
     N_("%(value)s 已被他人改到第 %(head)s 版，您编辑的是第 %(edited)s 版：请重新打开后再改")),
    (r"say why .*", N_("请说明原因")),
    (r"upload at least one file", N_("请至少上传一个文件")),
    (r"the manifest is empty", N_("清单是空的")),
    (r"unknown column (?P<value>.+?); the columns are .*", N_("无法识别的列 %(value)s（可用的列见入藏模板）")),
    (r"old \.xls workbooks cannot be read.*", N_("不能读取旧的 .xls 工作簿：请另存为 .xlsx 或 CSV")),
    (r"cannot tell the text encoding.*", N_("无法判断文本编码：请另存为 UTF-8（Excel 中的“CSV UTF-8”）")),
    (r"the file is (?P<size>[\d,]+) bytes, more than the limit of (?P<limit>[\d,]+) bytes for a manifest",
     N_("清单有 %(size)s 字节，超过上限 %(limit)s 字节")),
    (r"the file is empty( \(0 bytes\))?", N_("文件是空的（0 字节）")),
    (r"not a readable (?P<label>.+?)( image| archive| file| workbook)?: .*", N_("无法读取：内容损坏，或不是 %(label)s 格式")),
    (r"decompression bomb.*", N_("解压炸弹：图像大得无法安全打开，已拒绝")),
    (r"zip bomb.*|the .+ archive expands to .*|the .+ archive (holds|lists) .*",
     N_("压缩炸弹：压缩包解开后过大或文件过多，已拒绝")),
    (r"zip slip.*|the archive member .* is a symbolic link", N_("压缩包中的文件会写到包外，已拒绝")),
    (r"SVG and HTML files are not accepted.*", N_("不接受 SVG 和 HTML 文件：它们可能带有脚本")),
    (r"office documents with macros are not accepted.*", N_("不接受带宏的办公文档：请先另存为不带宏的格式（如 .docx、.xlsx、.odt）")),
    (r"the file is too large: .*", N_("文件超过大小上限")),
    (r"the file is larger than (?P<limit>.+)", N_("文件超过上限 %(limit)s")),
    (r"not a relative path of at most (?P<n>\d+) plain names", N_("路径无效：应是不超过 %(n)s 层的相对路径")),
    (r"the file name contains a folder separator.*", N_("文件名含有目录分隔符（/ 或 \\）")),
    (r"the file name contains control characters", N_("文件名含有控制字符")),
    (r"the file has no usable name", N_("文件名无效（空名、“.”或“..”）")),
    (r"the file name is longer than 255 bytes", N_("文件名超过 255 字节")),
    (r"too many files: (?P<n>\d+), at most (?P<limit>\d+)", N_("文件太多：%(n)s 个，最多 %(limit)s 个")),
    (r"(?P<value>.+) is sent twice", N_("%(value)s 重复")),
    (r"not a file type Fangzhi can keep.*|unsupported.*", N_("不支持的文件格式")),
    (r"the same file is already in the archive: item (?P<value>[^,]+), file .*", N_("同一文件已在馆藏中：藏品 %(value)s")),
]
_PROBLEMS = [(re.compile(p + r"\Z", re.S), text) for p, text in PROBLEMS]
_ROW = re.compile(r"row (?P<row>\d+), (?P<column>[^:]+): (?P<problem>.*)\Z", re.S)


def field_label(path: str) -> str:
    """``creators[1].name.en`` → 创作者 2 · 名称（英文）; an unknown part is shown as it is."""
    parts = []
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]+)\[(\d+)\]", part)
        name, index = (m[1], int(m[2]) + 1) if m else (part, None)
        if name in LANGUAGES and parts:
            parts[-1] = gettext("%(field)s（%(language)s）", field=parts[-1], language=gettext(LANGUAGES[name]))
            continue
        label = gettext(FIELDS[name]) if name in FIELDS else name
        parts.append(f"{label} {index}" if index else label)
    if path in FIELDS:
        return gettext(FIELDS[path])
    return " · ".join(parts)


def sentence(text: str) -> str:
    """An English problem sentence of the services in the interface language."""
    text = text.strip()
    for pattern, template in _PROBLEMS:
        m = pattern.match(text)
        if m:
            return gettext(template, **{k: v or "" for k, v in m.groupdict().items()})
    return gettext("取值有误（%(detail)s）", detail=text)


def problem(field: str, text: str) -> str:
    """One (field, problem) pair as "日期（EDTF）：“19x6”不是 EDTF 日期…"."""
    return gettext("%(field)s：%(problem)s", field=field_label(field), problem=sentence(text))


def planned_problem(text: str) -> str:
    """A planning problem ("row 3, 日期: …", "scan.tif: …") in the interface language."""
    m = _ROW.match(text)
    if m:
        inner = m["problem"]
        return gettext("第 %(row)s 行“%(column)s”列：%(problem)s", row=m["row"], column=m["column"],
                       problem=sentence(inner))
    where, sep, rest = text.partition(": ")
    if sep and "/" not in where and len(where) < 200 and not _matches(text):
        return gettext("%(field)s：%(problem)s", field=where, problem=sentence(rest))
    return sentence(text)


def _matches(text: str) -> bool:
    return any(p.match(text) for p, _ in _PROBLEMS)


def failure(reason: str | None) -> list[str]:
    """An entry's failure reason as sentences: a validation error's problems one by one
    ("field: problem; field: problem"), planning problems, else the reason."""
    if not reason:
        return []
    parts = [p for p in reason.split("; ") if p]
    out = []
    for part in parts:
        field, sep, text = part.partition(": ")
        if sep and re.fullmatch(r"[a-z_]+(\[\d+\])?(\.[a-z_A-Z-]+(\[\d+\])?)*", field) and \
                re.split(r"[.\[]", field)[0] in FIELDS:
            out.append(problem(field, text))
        else:
            out.append(planned_problem(part))
    return out


def step_label(step: str | None) -> str:
    return gettext(STEPS[step]) if step in STEPS else (step or "")


def working(entries) -> dict[int, str]:
    """The worker on each pending entry (number → name) whose lease has not run out: with a
    distributed queue, which machine and process is ingesting it now."""
    now = datetime.now(timezone.utc)
    return {e.n: e.worker for e in entries if e.state == "pending" and e.worker and e.lease_until
            and datetime.fromisoformat(e.lease_until) > now}


def kind_label(kind: str) -> str:
    return gettext(KINDS[kind])


def donation_path(path: str | None, root: str | None) -> str:
    """A file's path relative to the donation (never the server's path): relative to the job's
    ``root`` when under it, else from a web upload's numbered folder (``0001/scan.tif`` →
    ``scan.tif``), else the file's name."""
    if not path:
        return ""
    p = PurePosixPath(path)
    if root:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            pass
    parts = p.parts
    for i, part in enumerate(parts):
        if part == "files" and i >= 1 and re.fullmatch(r"[0-9a-f]{32}", parts[i - 1]):
            return "/".join(parts[i + 1:])
        if re.fullmatch(r"\d{4}", part) and i >= 1 and re.fullmatch(r"[0-9a-f]{32}", parts[i - 1]):
            return "/".join(parts[i + 1:])
    return p.name


def donation_name(source: str) -> str:
    """A job's source as staff see it: a web upload, or the donation folder's name (not its server path)."""
    if source.startswith("web upload "):
        return gettext("网页上传")
    return PurePosixPath(source).name or source
