#!/usr/bin/env bash
# Makes real CPython interpreters available to the tests and the demo without touching the system:
# Debian sid's packages are downloaded with a private apt configuration and unpacked into a
# git-ignored cache, and the interpreters are pointed at sid's own loader and libraries.
#
# Usage: scripts/provision-python.sh [VERSION...]   (default: 3.14 3.15)
# Prints one line per version: "VERSION PATH". Idempotent; a second run takes milliseconds.
#
# AIOSCOPE_PYTHON314 / AIOSCOPE_PYTHON315 / AIOSCOPE_PYTHON313 name interpreters the user already
# has; when set, nothing is downloaded for that version.
set -euo pipefail

root_dir=$(cd "$(dirname "$0")/.." && pwd)
cache=${AIOSCOPE_CACHE:-$root_dir/.cache}
sid=$cache/sid
apt_dir=$cache/apt
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.14 3.15)

log() { echo "provision: $*" >&2; }

user_python() { # $1 = 3.14 -> value of AIOSCOPE_PYTHON314
  local var="AIOSCOPE_PYTHON${1/./}"
  echo "${!var:-}"
}

need_download=()
for v in "${versions[@]}"; do
  case "$v" in 3.13|3.14|3.15) ;; *) log "unsupported version $v (3.13, 3.14 or 3.15)"; exit 2 ;; esac
  u=$(user_python "$v")
  if [ -n "$u" ]; then
    [ -x "$u" ] || { log "AIOSCOPE_PYTHON${v/./}=$u is not an executable"; exit 1; }
    continue
  fi
  [ -x "$sid/usr/bin/python$v" ] && [ -f "$sid/.ready-$v" ] && [ -f "$sid/.ready-shared-$v" ] || need_download+=("$v")
done

if [ ${#need_download[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { log "apt-get not found: set AIOSCOPE_PYTHON${need_download[0]/./} to a CPython ${need_download[0]} interpreter"; exit 1; }
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$sid"
  echo "deb http://deb.debian.org/debian sid main" > "$apt_dir/sources.list"
  apt_opts=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o Dir::State::status=/dev/null
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false -o APT::Sandbox::User="$(id -un)"
    -o Debug::NoLocking=1 -q)
  log "downloading Debian sid packages for CPython ${need_download[*]}"
  apt-get "${apt_opts[@]}" update >/dev/null
  pkgs=(libc6 libexpat1 zlib1g libssl3t64 libffi8 libzstd1 liblzma5 libbz2-1.0 libuuid1 libsqlite3-0
    libncursesw6 libtinfo6 libreadline8t64 libmpdec4)
  for v in "${need_download[@]}"; do
    # libpython$v: the shared interpreter library, for tests of programs that embed Python.
    pkgs+=("python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" "libpython$v")
  done
  debs=$cache/debs
  mkdir -p "$debs"
  (cd "$debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >/dev/null)
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sid"; done
  lib=$sid/usr/lib/x86_64-linux-gnu
  loader=$lib/ld-linux-x86-64.so.2
  # The host's patchelf: sid's current one writes overlapping segments into these binaries.
  if ! command -v patchelf >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      log "installing patchelf"
      apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q install -y patchelf >/dev/null
    else
      log "patchelf is needed: install it (apt-get install patchelf) or set AIOSCOPE_PYTHON${need_download[0]/./}"; exit 1
    fi
  fi
  patchelf=(patchelf)
  for v in "${need_download[@]}"; do
    py=$sid/usr/bin/python$v
    # --force-rpath: DT_RPATH wins over the host's library path, so `import ssl` loads sid's libcrypto.
    "${patchelf[@]}" --set-interpreter "$loader" --force-rpath --set-rpath "$lib" "$py"
    "$py" -c 'import asyncio, sys; assert sys.version_info[:2] == tuple(map(int, sys.argv[1].split(".")))' "$v"
    touch "$sid/.ready-$v" "$sid/.ready-shared-$v"
  done
  rm -rf "$debs"
fi

for v in "${versions[@]}"; do
  u=$(user_python "$v")
  echo "$v ${u:-$sid/usr/bin/python$v}"
done
