"""Audio and video steps. Every fixture is generated here with ffmpeg (a few seconds each)."""
import json
import shutil
import struct
import subprocess

import pytest

from ingest.steps import StepError
from ingest.steps.av import audio, video
from media import MediaError, MediaLimits
from media.av import POSTER_MAX_WIDTH, WAVEFORM_RATE, WAVEFORM_SAMPLES_PER_PIXEL, encode, probe, waveform

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
                                reason="ffmpeg/ffprobe not installed")

SECONDS = 2.0

# name → (ffmpeg arguments after the lavfi inputs, expected codec of the original)
AUDIO = {
    "tone.wav": (["-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:a=0.5:r=44100", "-ac", "2", "-c:a", "pcm_s16le"],
                 "pcm_s16le"),
    "tone.flac": (["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}:r=48000", "-c:a", "flac"], "flac"),
    "tone.mp3": (["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-c:a", "libmp3lame", "-b:a", "128k",
                  "-metadata", "title=春节联欢晚会录音", "-metadata", "date=1987-01-28"], "mp3"),
    "tone.ogg": (["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-c:a", "libvorbis"], "vorbis"),
    "tone.opus": (["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-c:a", "libopus", "-f", "ogg"], "opus"),
    "tone.m4a": (["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-c:a", "aac"], "aac"),
}

_AV = ["-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}", "-shortest"]
# name → (ffmpeg arguments, source size, expected access size)
VIDEO = {
    "small.mp4": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=320x240:r=25", *_AV,
                   "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], (320, 240), (320, 240)),
    "small.mov": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=320x240:r=25", *_AV,
                   "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le"], (320, 240), (320, 240)),
    "small.mkv": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=320x240:r=25", *_AV,
                   "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libvorbis"], (320, 240), (320, 240)),
    "small.avi": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=320x240:r=25", *_AV,
                   "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"], (320, 240), (320, 240)),
    "hd.mp4": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=1920x1080:r=25", *_AV,
                "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], (1920, 1080), (1280, 720)),
    # 4:3 HD, interlaced and without sound: deinterlaced, 960×720, no audio track
    "interlaced.mkv": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=1440x1080:r=25", "-vf", "setfield=tff",
                        "-flags", "+ilme+ildct", "-c:v", "libx264", "-preset", "ultrafast"], (1440, 1080), (960, 720)),
    "silent.webm": (["-f", "lavfi", "-i", f"testsrc2=d={SECONDS}:s=320x180:r=25",
                     "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k"], (320, 180), (320, 180)),
}
HOSTILE = {  # one 8192 × 8192 frame in 200 KB (4 s of them took 11–65 s to ingest); 1000 frames a second
    "huge.mp4": (["-f", "lavfi", "-i", "color=c=black:s=8192x8192:d=1:r=1", "-c:v", "libx264", "-preset",
                  "ultrafast", "-pix_fmt", "yuv420p"],),
    "fast.mp4": (["-f", "lavfi", "-i", "testsrc2=d=0.5:s=64x64:r=1000", "-c:v", "libx264", "-preset", "ultrafast"],),
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Generate the named fixture on first use, then reuse it."""
    folder = tmp_path_factory.mktemp("av-media")
    specs = {name: spec[0] for name, spec in {**AUDIO, **VIDEO, **HOSTILE}.items()}

    def make(name):
        path = folder / name
        if not path.exists():
            subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *specs[name], str(path)], check=True)
        return path
    return make


def by_name(result):
    return {d.name: d for d in result.derivatives}


# -- audio ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", AUDIO)
def test_audio_access_copies_and_tech(media, tmp_path, name):
    result = audio(media(name), "audio/x", tmp_path / "work")
    assert result.tech["codec"] == AUDIO[name][1]
    assert result.tech["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert result.tech["sample_rate"] and result.tech["channels"] and result.tech["bit_rate"]
    assert result.tech["format"]

    outputs = by_name(result)
    assert set(outputs) == {"access.webm", "access.m4a", "waveform.json"}
    for out, media_type, codec in [("access.webm", "audio/webm", "opus"), ("access.m4a", "audio/mp4", "aac")]:
        d = outputs[out]
        assert (d.role, d.media_type, d.path) == ("access", media_type, tmp_path / "work" / out)
        info = probe(d.path, formats=None)
        assert info["audio"]["codec"] == codec and info["video"] is None
        assert info["duration"] == pytest.approx(SECONDS, abs=0.1)
        assert d.tech["codec"] == codec and d.tech["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert probe(outputs["access.m4a"].path, formats=None)["audio"]["profile"] == "LC"
    assert outputs["waveform.json"].role == "waveform"
    assert outputs["waveform.json"].media_type == "application/json"
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["access.m4a", "access.webm", "waveform.json"]


def test_waveform_format(media, tmp_path):
    result = audio(media("tone.flac"), "audio/flac", tmp_path)
    peaks = json.loads(by_name(result)["waveform.json"].path.read_text())
    assert {k: peaks[k] for k in ("version", "channels", "bits", "sample_rate", "samples_per_pixel")} == {
        "version": 2, "channels": 1, "bits": 8, "sample_rate": WAVEFORM_RATE,
        "samples_per_pixel": WAVEFORM_SAMPLES_PER_PIXEL}
    assert peaks["length"] == pytest.approx(SECONDS * WAVEFORM_RATE / WAVEFORM_SAMPLES_PER_PIXEL, abs=1)
    assert len(peaks["data"]) == 2 * peaks["length"]
    mins, maxs = peaks["data"][0::2], peaks["data"][1::2]
    assert all(-128 <= lo <= hi <= 127 for lo, hi in zip(mins, maxs))
    # ffmpeg's sine has amplitude 1/8: peaks near ±16 of 128 throughout
    assert all(12 <= hi <= 17 and -17 <= lo <= -12 for lo, hi in zip(mins[1:-1], maxs[1:-1]))
    assert by_name(result)["waveform.json"].tech["length"] == peaks["length"]


def test_louder_audio_has_taller_peaks(media, tmp_path):
    noise = json.loads(by_name(audio(media("tone.wav"), "audio/wav", tmp_path / "a"))["waveform.json"].path.read_text())
    tone = json.loads(by_name(audio(media("tone.mp3"), "audio/mpeg", tmp_path / "b"))["waveform.json"].path.read_text())
    assert max(noise["data"]) > 2 * max(tone["data"])


def test_metadata_suggestions_from_tags(media, tmp_path):
    assert audio(media("tone.mp3"), "audio/mpeg", tmp_path / "a").metadata == {
        "title": {"zh": "春节联欢晚会录音"}, "date": {"edtf": "1987-01-28"}}
    assert audio(media("tone.flac"), "audio/flac", tmp_path / "b").metadata == {}


def test_audio_is_idempotent(media, tmp_path):
    first = audio(media("tone.m4a"), "audio/mp4", tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    second = audio(media("tone.m4a"), "audio/mp4", tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert second == first


def test_audio_redoes_only_missing_outputs_and_ignores_leftover_parts(media, tmp_path):
    audio(media("tone.ogg"), "audio/ogg", tmp_path)
    (tmp_path / "access.m4a").unlink()
    (tmp_path / "access.m4a.part").write_bytes(b"half-written by a crashed run")
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != "access.m4a.part"}
    result = audio(media("tone.ogg"), "audio/ogg", tmp_path)
    assert probe(by_name(result)["access.m4a"].path, formats=None)["audio"]["codec"] == "aac"
    assert (tmp_path / "access.webm").stat().st_mtime_ns == stamps["access.webm"]
    assert (tmp_path / "waveform.json").stat().st_mtime_ns == stamps["waveform.json"]
    assert not (tmp_path / "access.m4a.part").exists()


# -- video ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", VIDEO)
def test_video_access_copy_and_poster(media, tmp_path, name):
    _, (width, height), (out_w, out_h) = VIDEO[name]
    result = video(media(name), "video/x", tmp_path)
    assert (result.tech["width"], result.tech["height"]) == (width, height)
    assert result.tech["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert result.tech["frame_rate"] == 25
    assert result.tech["codec"] in ("h264", "mpeg4", "vp8")
    has_sound = name not in ("interlaced.mkv", "silent.webm")
    assert (result.tech["audio_codec"] is not None) == has_sound

    outputs = by_name(result)
    assert set(outputs) == {"access.mp4", "poster.jpg"}
    access = outputs["access.mp4"]
    assert (access.role, access.media_type) == ("access", "video/mp4")
    info = probe(access.path, formats=None)
    assert info["format"].startswith("mov,mp4")
    assert info["video"]["codec"] == "h264" and info["video"]["pix_fmt"] == "yuv420p"
    assert (info["video"]["width"], info["video"]["height"]) == (out_w, out_h)
    assert info["video"]["field_order"] in (None, "progressive", "unknown")
    assert info["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert (info["audio"] and info["audio"]["codec"]) == ("aac" if has_sound else None)
    assert access.tech["width"] == out_w and access.tech["height"] == out_h and access.tech["codec"] == "h264"
    data = access.path.read_bytes()  # +faststart: the index (moov) comes before the media data
    assert 0 < data.find(b"moov") < data.find(b"mdat")

    poster = outputs["poster.jpg"]
    assert (poster.role, poster.media_type) == ("poster", "image/jpeg")
    assert poster.path.read_bytes()[:3] == b"\xff\xd8\xff"
    expected = (min(width, POSTER_MAX_WIDTH), round(min(width, POSTER_MAX_WIDTH) * height / width))
    assert (poster.tech["width"], poster.tech["height"]) == expected
    assert poster.tech["time"] == pytest.approx(result.tech["duration"] * 0.1, abs=0.001)


def test_phone_video_is_turned_upright(media, tmp_path):
    """A landscape-encoded 1280×720 file with a 90° display matrix plays as 720×1280 portrait."""
    source = tmp_path / "phone.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=d=1:s=1280x720:r=25",
                    "-c:v", "libx264", "-preset", "ultrafast", str(source)], check=True)
    data = bytearray(source.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 40  # ISO 14496-12 §8.3.2: the matrix follows 40 bytes of fields
    assert struct.unpack(">i", data[matrix:matrix + 4]) == (0x10000,)
    data[matrix:matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    source.write_bytes(data)

    result = video(source, "video/mp4", tmp_path / "work")
    assert result.tech["rotation"] == -90 and (result.tech["width"], result.tech["height"]) == (1280, 720)
    access = probe(by_name(result)["access.mp4"].path, formats=None)["video"]
    assert access["height"] == 720 and access["width"] in (404, 406) and access["rotation"] == 0
    poster = by_name(result)["poster.jpg"].tech
    assert poster["height"] > poster["width"]


def test_video_is_idempotent(media, tmp_path):
    first = video(media("small.mkv"), "video/x-matroska", tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert set(stamps) == {"access.mp4", "poster.jpg"}
    second = video(media("small.mkv"), "video/x-matroska", tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    assert second == first


# -- errors -----------------------------------------------------------------------------------

def broken_files(media, folder):
    """Each → a distinct way for an upload to be unreadable."""
    whole = media("small.mp4").read_bytes()
    files = {
        "truncated.mp4": whole[: len(whole) // 2],  # the index (moov) is at the end: cut off
        "empty.wav": b"",
        "notes.txt": "这不是音频。 This is not audio.\n".encode() * 20,
        "garbage.mp3": bytes(range(256)) * 64,
        # an HLS playlist reading a local file: refused by the demuxer whitelist
        "playlist.mp4": b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


@pytest.mark.parametrize("step", [audio, video])
def test_unreadable_files_raise_step_error(media, tmp_path, step):
    for path in broken_files(media, tmp_path):
        work = tmp_path / f"work-{path.name}"
        with pytest.raises(StepError) as caught:
            step(path, "application/octet-stream", work)
        message = str(caught.value)
        assert message and "Traceback" not in message and str(path) not in message
        assert not any(p.suffix == ".part" for p in work.glob("*")), path.name


def test_error_messages_carry_ffmpegs_reason(media, tmp_path):
    truncated, empty, text, _, playlist = broken_files(media, tmp_path)
    with pytest.raises(StepError, match="moov atom not found"):
        video(truncated, "video/mp4", tmp_path / "w1")
    with pytest.raises(StepError, match="Invalid data found when processing input"):
        audio(empty, "audio/wav", tmp_path / "w2")
    with pytest.raises(StepError, match="Invalid data found when processing input"):
        audio(text, "text/plain", tmp_path / "w3")
    with pytest.raises(StepError, match="container format is not accepted"):
        video(playlist, "video/mp4", tmp_path / "w4")


def test_truncated_audio_keeps_what_can_be_played(media, tmp_path):
    """A cut-off recording still gets access copies; tech says how much could be decoded."""
    whole = media("tone.mp3").read_bytes()  # its Xing header declares the full duration
    (tmp_path / "cut.mp3").write_bytes(whole[: len(whole) // 4])
    result = audio(tmp_path / "cut.mp3", "audio/mpeg", tmp_path / "work")
    assert result.tech["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert result.tech["decoded_duration"] == pytest.approx(SECONDS / 4, abs=0.1)
    assert probe(by_name(result)["access.webm"].path, formats=None)["duration"] == pytest.approx(SECONDS / 4, abs=0.1)
    assert "decoded_duration" not in audio(media("tone.mp3"), "audio/mpeg", tmp_path / "whole").tech


def test_audio_without_samples(media, tmp_path):
    (tmp_path / "header-only.wav").write_bytes(media("tone.wav").read_bytes()[:44])
    with pytest.raises(StepError, match="no 'data' tag found"):
        audio(tmp_path / "header-only.wav", "audio/wav", tmp_path / "work")


def test_wrong_kind_of_stream(media, tmp_path):
    with pytest.raises(StepError, match="no video stream"):
        video(media("tone.m4a"), "audio/mp4", tmp_path / "a")
    with pytest.raises(StepError, match="no audio stream"):
        audio(media("silent.webm"), "video/webm", tmp_path / "b")


def test_probe_summary(media):
    info = probe(media("hd.mp4"))
    assert info["format"].startswith("mov,mp4")
    assert info["duration"] == pytest.approx(SECONDS, abs=0.1)
    assert info["video"]["width"] == 1920 and info["video"]["frame_rate"] == 25
    assert info["audio"]["codec"] == "aac" and info["audio"]["sample_rate"] == 44100
    assert info["size"] == media("hd.mp4").stat().st_size


# -- limits and time limits -------------------------------------------------------------------

def test_recordings_beyond_the_limits_are_refused_before_encoding(media, tmp_path):
    """What ffprobe says is checked first: frame size, duration, frame rate; nothing is encoded."""
    import time

    from ingest.safety import Limits

    huge = media("huge.mp4")
    assert huge.stat().st_size < 300_000
    start = time.monotonic()
    with pytest.raises(StepError, match=r"8192 × 8192 pixels a frame, more than the limit of 8,847,360 pixels"):
        video(huge, "video/mp4", tmp_path / "huge")
    assert time.monotonic() - start < 2 and not list((tmp_path / "huge").iterdir())
    with pytest.raises(StepError, match=r"lasts 00:00:02, longer than the limit of 00:00:01"):
        audio(media("tone.wav"), "audio/wav", tmp_path / "long", limits=Limits(max_media_seconds=1))
    with pytest.raises(StepError, match=r"1000 frames a second, more than 240"):
        video(media("fast.mp4"), "video/mp4", tmp_path / "fast")
    with pytest.raises(StepError, match=r"320 × 240 pixels a frame, more than the limit of 1,000 pixels"):
        video(media("small.mp4"), "video/mp4", tmp_path / "small", limits=Limits(max_video_pixels=1000))


def test_every_tool_run_is_stopped_at_its_time_limit(tmp_path):
    """A file ffmpeg never finishes reading (here a named pipe nobody writes to): ffprobe, an
    encode and the waveform decode are each killed after their time limit, and the error names
    the tool, the output and the file."""
    import os
    import time

    stuck = tmp_path / "录音.wav"
    os.mkfifo(stuck)
    runs = [(lambda: probe(stuck, timeout=0.5), "ffprobe was stopped after 0.5 s reading 录音.wav"),
            (lambda: encode(stuck, 0, tmp_path / "access.webm", "webm", {"c:a": "libopus"}, timeout=0.5),
             "ffmpeg was stopped after 0.5 s making access.webm from 录音.wav"),
            (lambda: waveform(stuck, 0, tmp_path / "waveform.json", timeout=0.5),
             "ffmpeg was stopped after 0.5 s making waveform.json from 录音.wav")]
    for run, words in runs:
        start = time.monotonic()
        with pytest.raises(MediaError, match=words):
            run()
        assert time.monotonic() - start < 3
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "access.webm").exists()
    assert MediaLimits(tool_timeout=60, tool_timeout_ratio=2).run_time(3600) == 60 + 7200
