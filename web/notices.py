"""The messages of notices (``repository.notices.Notice``: what a reader or an ingest step skipped
or changed), in Chinese, the source language; the English is in the interface's catalogue.
``render`` gives a notice in the interface language of the request, or in ``lang``: the job
report, the interview editor and the command line (English) show notices through it."""
from __future__ import annotations

import functools
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask_babel import get_translations

from repository.notices import Notice


def N_(message: str) -> str:  # marks a message for extraction (pybabel's default keywords)
    return message


MESSAGES = {
    # where
    "where.line": N_("%(file)s 第 %(line)s 行：%(message)s"),
    "where.file": N_("%(file)s：%(message)s"),
    "term.start": N_("开始时间"),
    "term.end": N_("结束时间"),
    # WebVTT (W3C WebVTT §6.1, §6.3): what a browser drops is skipped
    "vtt.block_after_cue": N_("第一条字幕之后的 %(block)s 块已忽略（浏览器也忽略它）"),
    "vtt.no_arrow": N_("已跳过字幕：时间行“%(raw)s”有误（没有“-->”）"),
    "vtt.no_arrow_use": N_("已跳过字幕：时间行“%(raw)s”有误（没有“-->”；请用 -->）"),
    "vtt.text_outside": N_("字幕之外的文字已忽略：“%(text)s”（字幕要先有时间行“开始 --> 结束”，或在其标识符之后）"),
    "vtt.bad_timing": N_("已跳过字幕：时间行“%(raw)s”有误（%(detail)s）"),
    "vtt.end_before_start": N_("已跳过字幕：结束于 %(end)s，不晚于开始（%(start)s）"),
    "vtt.out_of_order": N_("字幕开始于 %(start)s，早于上一条（第 %(previous_line)s 行，%(previous)s）：已按时间排序，"
                           "与浏览器一致"),
    "timing.no_arrow": N_("开始时间之后应是“-->”"),
    "timing.no_arrow_use": N_("开始时间之后应是“-->”（请用 -->）"),
    "timing.no_digits": N_("%(which)s有误：开头应是数字，却什么也没有"),
    "timing.digits": N_("%(which)s“%(text)s…”有误：应是 %(size)s 位数字，却是“%(got)s”"),
    "timing.no_more_digits": N_("%(which)s“%(text)s…”有误：应是 %(size)s 位数字，却什么也没有"),
    "timing.separator": N_("%(which)s“%(text)s”有误：应是“%(char)s”"),
    "timing.comma": N_("%(which)s“%(text)s”有误：应是“%(char)s”（WebVTT 在毫秒前用句点）"),
    "timing.hours": N_("%(which)s“%(text)s”有误：应是“%(char)s”（第一个数不是 00 到 59 的两位数时，它是小时："
                       "hh:mm:ss.ttt）"),
    "timing.sixty": N_("%(which)s“%(text)s”有误：分和秒只能是 00 到 59"),
    # SRT, read as players read it
    "srt.text_outside": N_("字幕之外的文字已忽略：“%(text)s”"),
    "srt.bad_timing": N_("已跳过字幕：时间行“%(raw)s”有误（应是“开始 --> 结束”，如 00:00:01,000 --> 00:00:04,000）"),
    "srt.bad_timing_use": N_("已跳过字幕：时间行“%(raw)s”有误（请用 -->）"),
    "srt.bad_time": N_("已跳过字幕：%(which)s“%(time)s”有误（请用 hh:mm:ss,ttt）"),
    "srt.end_before_start": N_("已跳过字幕条：结束于 %(end)s，不晚于开始（%(start)s）"),
    "srt.out_of_order": N_("字幕开始于 %(start)s，早于上一条（第 %(previous_line)s 行，%(previous)s）：已按时间排序"),
    # text with [hh:mm:ss] timecodes
    "text.before_first": N_("第一个 [hh:mm:ss] 时间码之前的文字已忽略：“%(text)s”"),
    "text.bad_timecode": N_("时间码 %(mark)s 有误，已忽略（请用 [hh:mm:ss] 或 [mm:ss]）：其后的文字归入上一段"),
    "text.not_after": N_("时间码 %(mark)s 不晚于上一个（第 %(previous_line)s 行，%(previous)s），已忽略：其后的文字归入上一段"),
    "text.after_end": N_("时间码 %(mark)s 在录音结束（%(end)s）之后，已忽略：其后的文字归入上一段"),
    # OHMS XML, older and newer versions
    "ohms.schema": N_("不符合 OHMS XML 架构（%(problem)s）：能读的部分已读入"),
    "ohms.namespace": N_("根元素的命名空间“%(namespace)s”不是 OHMS 的：按 OHMS 读入"),
    "ohms.more_records": N_("另有 %(count)s 个 <record> 已忽略：一次访谈只读第一个"),
    "ohms.point_time": N_("已跳过索引点：没有有效时间（秒），却是“%(raw)s”"),
    "ohms.point_same": N_("已跳过索引点：它开始于 %(start)s，与第 %(previous_line)s 行的索引点相同"),
    "ohms.point_order": N_("索引点开始于 %(start)s，早于上一个（第 %(previous_line)s 行，%(previous)s）：已按时间排序"),
    "ohms.point_after_end": N_("已跳过索引点：它开始于 %(start)s，在录音结束（%(end)s）之后"),
    "ohms.bad_gps": N_("GPS 点“%(raw)s”已忽略（应是以度表示的“纬度, 经度”）"),
    "ohms.bad_link": N_("链接“%(url)s”已忽略：不是 http(s) 地址"),
    "ohms.bad_sync": N_("同步表“%(sync)s”有误（应以两个标记之间的分钟数开头，如“1:|13(3)|19(14)”）："
                        "转录稿没有时间，未读入（原文件照存）"),
    "ohms.unsynced": N_("<%(tag)s> 没有同步表：转录稿没有时间，未读入（原文件照存）"),
    "ohms.sync_mark": N_("%(at)s 的同步标记“%(mark)s”有误，已忽略（应是“行(词)”，如 13(3)）"),
    "ohms.sync_past_text": N_("%(at)s 的同步标记“%(mark)s”指向第 %(target)s 行，超出转录稿末尾（共 %(lines)s 行），已忽略"),
    "ohms.sync_backwards": N_("%(at)s 的同步标记“%(mark)s”指向第 %(target)s 行，早于上一个标记的第 %(previous)s 行，已忽略"),
    "ohms.sync_past_end": N_("%(at)s 起的同步标记在录音结束（%(end)s）之后，已忽略"),
    "ohms.not_webvtt": N_("<%(tag)s> 中的转录稿不是 WebVTT（第一行应是 WEBVTT），未读入"),
    "ohms.bad_duration": N_("<duration> 为“%(raw)s”，不是时长，已忽略"),
    "vtt.after_end": N_("已跳过字幕：它开始于 %(start)s，在录音结束（%(end)s）之后"),
    "vtt.clipped": N_("字幕结束于 %(end)s，在录音结束（%(duration)s）之后：随录音结束"),
    "srt.after_end": N_("已跳过字幕条：它开始于 %(start)s，在录音结束（%(end)s）之后"),
    "srt.clipped": N_("字幕条结束于 %(end)s，在录音结束（%(duration)s）之后：随录音结束"),
    "asr.end_before_start": N_("已跳过草稿第 %(n)s 条字幕：结束于 %(end)s，不晚于开始（%(start)s）"),
    "asr.after_end": N_("已跳过草稿第 %(n)s 条字幕：它开始于 %(start)s，在录音结束（%(end)s）之后"),
    "asr.clipped": N_("草稿第 %(n)s 条字幕结束于 %(end)s，在录音结束（%(duration)s）之后：随录音结束"),
    "asr.out_of_order": N_("草稿第 %(n)s 条字幕开始于 %(start)s，早于上一条（%(previous)s）：已按时间排序"),
    "text.bad_bytes": N_("有不是 UTF-8 的字节（文件损坏或混用了编码），已替换为“\ufffd”"),
    "text.bad_bytes_more": N_("另有 %(count)s 行有不是 UTF-8 的字节，已替换为“\ufffd”"),
    # ingest
    "ingest.type_differs": N_("文件名表明是 %(named)s，内容却是 %(found)s"),
    "ingest.also_kept": N_("同一文件也在条目 %(item)s 中（文件 %(file)s）"),
}


@functools.lru_cache(maxsize=4)
def catalog(lang: str) -> NullTranslations:
    """The interface's translations into ``lang`` (Chinese, the source language: none)."""
    if lang == "zh":
        return NullTranslations()
    return Translations.load(str(Path(__file__).with_name("translations")), [lang])


def render(notice: Notice | dict, lang: str | None = None) -> str:
    """The notice as a sentence "file line N: message" in ``lang`` (default: the request's
    interface language)."""
    notice = Notice.from_dict(notice) if isinstance(notice, dict) else notice
    translations = catalog(lang) if lang else get_translations()
    message = _message(notice.code, notice.args, translations)
    if notice.file is None:
        return message
    where = "where.line" if notice.line else "where.file"
    return translations.gettext(MESSAGES[where]) % {"file": notice.file, "line": notice.line, "message": message}


def _message(code: str, args: dict, translations) -> str:
    values = {k: _message(v["code"], v.get("args") or {}, translations) if isinstance(v, dict) else v
              for k, v in args.items()}
    template = MESSAGES.get(code)
    if template is None:  # a notice from a newer release: its code and values, never nothing
        return f"{code} {values}"
    return translations.gettext(template) % values
