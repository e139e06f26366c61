#!/usr/bin/env bash
# Install the Debian packages Fangzhi needs, only those missing (run as root or with sudo).
set -euo pipefail
# gcc and python3-dev: pip builds the C part of the search analysis (search/_analysis.c).
PACKAGES=(ffmpeg libvips42 poppler-data fonts-noto-cjk chromium postgresql redis-server nginx openssl gcc python3-dev)
[ "${1:-}" = "--bench" ] && PACKAGES+=(iipimage-server lighttpd)  # bench/iiif.py's anchor
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(nodejs npm)  # npm ci installs the viewer (Mirador)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
