"""The speech-recognition hook: a recogniser named by a setting is loaded and drafts a transcript."""
import pytest

from oral_history.asr import RecognizerError, SpeechRecognizer, draft_transcript, load_recognizer
from oral_history.model import Cue, Transcript
from tests.helpers import english
from web.notices import render


class FakeRecognizer:
    """Hears the same two sentences in every recording."""

    def __init__(self):
        self.heard = []

    def transcribe(self, audio_path, *, language):
        self.heard.append((audio_path.name, language))
        return Transcript(language, [Cue(0.0, 2.5, "伲屋里向住勒南长街。"), Cue(2.5, 4.0, "开一爿豆腐店。")])


class OutOfOrder:
    def transcribe(self, audio_path, *, language):
        return Transcript(language, [Cue(2.0, 4.0, "乙"), Cue(0.0, 3.0, "甲")])


class Sloppy:
    def transcribe(self, audio_path, *, language):
        return Transcript(language, [Cue(0.0, 5.0, "甲"), Cue(2.0, 1.0, "乙"), Cue(4.0, 4.5, "丙")])


class Verbose:
    def transcribe(self, audio_path, *, language):
        return Transcript(language, [Cue(0.0, 5.0, "甲" * 100_000)])


class Deaf:
    def transcribe(self, audio_path, *, language):
        return "伲屋里向"


class Broken:
    def __init__(self):
        raise RuntimeError("no model file")


ready = FakeRecognizer()  # an object works as well as a class
not_a_recognizer = object()


def test_loads_the_class_named_by_the_setting_and_drafts_a_transcript(tmp_path):
    recognizer = load_recognizer(f"{__name__}:FakeRecognizer")
    assert isinstance(recognizer, FakeRecognizer) and isinstance(recognizer, SpeechRecognizer)
    draft = draft_transcript(recognizer, tmp_path / "采访_张.wav", language="wuu", duration=60)
    assert recognizer.heard == [("采访_张.wav", "wuu")]
    assert draft.draft is True and draft.language == "wuu" and draft.cues[0].text == "伲屋里向住勒南长街。"


def test_an_object_can_be_named_too():
    assert load_recognizer(f"{__name__}:ready") is ready


def test_no_setting_means_no_recogniser():
    assert load_recognizer("") is None and load_recognizer(None) is None and load_recognizer("  ") is None


@pytest.mark.parametrize("spec, message", [
    ("mypackage.whisper:Recognizer",
     "SPEECH_RECOGNIZER='mypackage.whisper:Recognizer': cannot import mypackage.whisper "
     "(ModuleNotFoundError: No module named 'mypackage')"),
    ("mypackage.whisper", "SPEECH_RECOGNIZER='mypackage.whisper' must name module:attribute, "
                          "e.g. mypackage.whisper:Recognizer"),
    (f"{__name__}:Whisper", f"SPEECH_RECOGNIZER='{__name__}:Whisper': {__name__} has no Whisper"),
    (f"{__name__}:not_a_recognizer", f"SPEECH_RECOGNIZER='{__name__}:not_a_recognizer': not_a_recognizer has no "
                                     "transcribe(audio_path, *, language) method"),
    (f"{__name__}:Broken", f"SPEECH_RECOGNIZER='{__name__}:Broken': Broken() failed (RuntimeError: no model file)"),
])
def test_errors_name_the_setting(spec, message):
    with pytest.raises(RecognizerError) as exc:
        load_recognizer(spec)
    assert str(exc.value) == message


def test_a_module_that_fails_while_importing_is_reported(tmp_path, monkeypatch):
    (tmp_path / "fangzhi_test_whisper.py").write_text("import faster_whisper_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RecognizerError) as exc:
        load_recognizer("fangzhi_test_whisper:Recognizer", setting="FANGZHI_SPEECH_RECOGNIZER")
    assert str(exc.value) == ("FANGZHI_SPEECH_RECOGNIZER='fangzhi_test_whisper:Recognizer': cannot import "
                              "fangzhi_test_whisper (ModuleNotFoundError: No module named 'faster_whisper_not_installed')")


def test_bad_results_are_refused(tmp_path):
    with pytest.raises(RecognizerError, match="returned str, not a Transcript"):
        draft_transcript(Deaf(), tmp_path / "a.wav", language="zh")
    with pytest.raises(RecognizerError, match="none of the speech recognizer's cues is within the recording"):
        draft_transcript(FakeRecognizer(), tmp_path / "a.wav", language="zh", duration=0)
    with pytest.raises(RecognizerError, match=r"unusable: transcript.cues\[0\].text: .*characters"):
        draft_transcript(Verbose(), tmp_path / "a.wav", language="zh")


def test_times_a_recogniser_gets_wrong_are_read_as_a_file_s_with_warnings(tmp_path):
    """One cue past the recording or out of order never refuses the whole draft."""
    found = []
    draft = draft_transcript(OutOfOrder(), tmp_path / "a.wav", language="zh", warnings=found)
    assert [(c.start, c.end, c.text) for c in draft.cues] == [(0.0, 3.0, "甲"), (2.0, 4.0, "乙")]
    assert english(found) == ["draft cue 2 starts at 00:00:00.000, before the previous one (00:00:02.000): "
                              "put in time order"]
    found = []
    draft = draft_transcript(Sloppy(), tmp_path / "a.wav", language="zh", duration=3, warnings=found)
    assert [(c.start, c.end, c.text) for c in draft.cues] == [(0.0, 3.0, "甲")] and draft.draft
    assert english(found) == [
        "draft cue 1 ends at 00:00:05.000, after the end of the recording (00:00:03.000): it ends with the recording",
        "draft cue 2 skipped: it ends at 00:00:01.000, not after it starts (00:00:02.000)",
        "draft cue 3 skipped: it starts at 00:00:04.000, after the end of the recording (00:00:03.000)"]
    assert [render(n, "zh") for n in found][2] == "已跳过草稿第 3 条字幕：它开始于 00:00:04.000，在录音结束（00:00:03.000）之后"
