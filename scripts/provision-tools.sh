#!/usr/bin/env bash
# Makes the system tools the robustness tests need available:
#   strace       proof that aioscope only reads (cmd/aioscope/systemtest TestReadOnly*)
#   setpriv      running aioscope as another user, for the permission-denied tests (util-linux)
#   python3.11   an interpreter aioscope refuses by version (Debian 12's own python3; the 3.13-3.15
#                interpreters come from scripts/provision-python.sh)
#   nvim         a second editor's built-in LSP client against `aioscope lsp` (lsp TestNeovim*)
#   emacs        eglot against `aioscope lsp` (lsp TestEmacsEglot; eglot is built in from Emacs 29,
#                Debian 12's Emacs 28 has it as elpa-eglot)
#
# As root on a system with apt-get, what is missing is installed; otherwise what is missing is
# listed, and the tests that need it fail under CI=1 and are skipped without it. AIOSCOPE_PYTHON311
# names a CPython 3.11 to use instead of the system's. Idempotent: with everything present it only
# checks.
set -euo pipefail

log() { echo "provision: $*" >&2; }

python311_ok() {
  local py=${AIOSCOPE_PYTHON311:-}
  for cand in $py /usr/bin/python3.11 python3.11 /usr/bin/python3 python3; do
    command -v "$cand" >/dev/null 2>&1 || continue
    [ "$("$cand" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = 3.11 ] && return 0
  done
  return 1
}

missing=() # apt packages
command -v strace >/dev/null || missing+=(strace)
command -v setpriv >/dev/null || missing+=(util-linux)
python311_ok || missing+=(python3.11-minimal)
command -v nvim >/dev/null || missing+=(neovim)
if ! command -v emacs >/dev/null; then
  missing+=(emacs-nox elpa-eglot)
elif ! emacs --batch --no-init-file --eval "(require 'eglot)" >/dev/null 2>&1; then
  missing+=(elpa-eglot)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  log "missing packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})"
  exit 0
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -q update >/dev/null
for pkg in "${missing[@]}"; do
  # One at a time: python3.11-minimal exists on Debian 12, not on every release.
  if ! apt-get -q install -y --no-install-recommends "$pkg" >/dev/null; then
    log "could not install $pkg"
  fi
done
if [[ " ${missing[*]} " == *" python3.11-minimal "* ]] && ! python311_ok; then
  log "no CPython 3.11: set AIOSCOPE_PYTHON311 to one"
fi
