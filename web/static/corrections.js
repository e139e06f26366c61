// The transcript correction page: a cue's time button plays the recording from that cue.
document.addEventListener("DOMContentLoaded", () => {
  const media = document.getElementById("correction-player");
  if (!media) return;
  for (const button of document.querySelectorAll("button.seek")) {
    button.addEventListener("click", () => {
      media.currentTime = Number(button.dataset.start) || 0;
      media.play().catch(() => {});
    });
  }
});
