"""Media tools shared by the features: ffmpeg/ffprobe (``media.av``: probe, access copies,
waveforms, posters) and external tool runs with time limits (``media.tools``, also libvips'
``stop_at``). Ingest's media steps, oral history's redacted copies and the IIIF image service
use them; this package imports no feature package.

Every failure is a :class:`MediaError` whose message says why in plain words (the caller adds
which file and step)."""
from __future__ import annotations

from dataclasses import dataclass


class MediaError(Exception):
    """A media tool could not do it; the message says why in plain words."""


@dataclass(frozen=True)
class MediaLimits:
    """What a recording may be (checked from what ffprobe says, before anything is encoded) and
    how long the tools may run on it."""
    max_video_pixels: int = 4096 * 2160  # pixels of one video frame (DCI 4K)
    max_media_seconds: float = 8 * 3600  # duration of a recording
    tool_timeout: float = 600  # seconds one ffprobe/ffmpeg run may take …
    tool_timeout_ratio: float = 2.0  # … plus this many per second of media for a decode or an encode

    def run_time(self, duration: float | None) -> float:
        """Seconds one decode or encode of a recording of ``duration`` seconds may take."""
        return self.tool_timeout + self.tool_timeout_ratio * min(duration or 0, self.max_media_seconds)
