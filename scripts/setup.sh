#!/usr/bin/env bash
# Sets up a kiln checkout: npm dependencies, a working WebGPU adapter (Mesa lavapipe on CPU-only
# Debian bookworm, from bookworm-backports), Chromium for the browser test, and the Fashion-MNIST IDX
# files for the demo.
# Idempotent and quiet when everything is already in place. Run or source it from any directory:
#   bash scripts/setup.sh        # or: npm run setup
#   source scripts/setup.sh      # same, and also exports XDG_RUNTIME_DIR into your shell
# Env: KILN_SETUP_VERBOSE=1 prints every step; KILN_SKIP_DATASET=1 skips Fashion-MNIST.

_kiln_setup_main() {
  set -euo pipefail
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cd "$root"

  log() { if [[ "${KILN_SETUP_VERBOSE:-0}" == 1 ]]; then echo "setup: $*"; fi; }
  say() { echo "setup: $*"; }
  warn() { echo "setup: WARNING: $*" >&2; }
  die() { echo "setup: ERROR: $*" >&2; exit 1; }

  # --- XDG_RUNTIME_DIR: Mesa/the Vulkan loader want one; CI and root shells often lack it ---
  if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
    export XDG_RUNTIME_DIR="/tmp/runtime-$(id -u)"
    log "XDG_RUNTIME_DIR was unset; using $XDG_RUNTIME_DIR"
  fi
  if [[ ! -d "$XDG_RUNTIME_DIR" ]]; then
    mkdir -p "$XDG_RUNTIME_DIR"
    chmod 0700 "$XDG_RUNTIME_DIR"
  fi

  # --- npm dependencies: install when node_modules is missing or older than the manifests ---
  command -v node >/dev/null || die "node is not installed (need Node >= 20.19 and npm)"
  command -v npm >/dev/null || die "npm is not installed"
  local stamp=node_modules/.kiln-setup-stamp want have=""
  # Only what decides node_modules counts: editing "scripts" must not trigger a reinstall.
  want="$( { node -e 'const p=require("./package.json");console.log(JSON.stringify([p.dependencies,p.devDependencies,p.allowScripts]))'; cat package-lock.json 2>/dev/null; } | sha256sum | cut -d' ' -f1)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ ! -d node_modules || "$have" != "$want" ]]; then
    # No stamp but node_modules present (installed by hand): accept it if npm sees it complete.
    if [[ -d node_modules && -z "$have" ]] && npm ls --all >/dev/null 2>&1; then
      log "node_modules already satisfies package.json"
    elif [[ -f package-lock.json ]]; then
      say "installing npm dependencies (npm ci)"
      if ! npm ci --no-audit --no-fund --loglevel=error; then
        [[ "${CI:-}" == true ]] && die "npm ci failed (is package-lock.json in sync with package.json? run 'npm install' and commit the lock)"
        warn "npm ci failed; trying 'npm install' (this may update package-lock.json)"
        npm install --no-audit --no-fund --loglevel=error
      fi
    else
      say "installing npm dependencies (npm install)"
      npm install --no-audit --no-fund --loglevel=error
    fi
    echo "$want" >"$stamp"
  fi

  # --- WebGPU adapter ---
  local check_out
  is_bookworm_root() {
    [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && [[ -r /etc/os-release ]] &&
      (. /etc/os-release && [[ "${ID:-}" == debian && "${VERSION_CODENAME:-}" == bookworm ]])
  }
  local apt_updated=0
  export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
  apt_update_once() {
    if [[ "$apt_updated" == 0 ]]; then
      say "apt-get update"
      apt-get update -qq >/dev/null || apt-get update || return 1
      apt_updated=1
    fi
  }
  active_apt_sources() {
    # Only files apt reads: sources.list, *.list, *.sources (not *.disabled, *.save, ...).
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
      [[ -f "$f" ]] && echo "$f"
    done
    return 0
  }
  add_backports() {
    local f
    while read -r f; do
      # deb822 "Suites: ... bookworm-backports" or one-line "deb URI bookworm-backports main"
      if grep -Eq '^[[:space:]]*(Suites:.*[[:space:]]|deb(-src)?[[:space:]].*[[:space:]])bookworm-backports([[:space:]]|$)' "$f"; then
        log "bookworm-backports already in $f"
        return 0
      fi
    done < <(active_apt_sources)
    local out=/etc/apt/sources.list.d/kiln-bookworm-backports.sources stanza=""
    # Copy the stanza that serves plain "bookworm" (same URI, keyring, snapshot options) and
    # change only its Suites, so a configured mirror or snapshot is followed.
    while read -r f; do
      [[ "$f" == *.sources ]] || continue
      stanza="$(awk -v RS= -v ORS='\n\n' '
        /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && !/(^|\n)Enabled:[ \t]*no/ {
          n = split($0, L, "\n"); s = "";
          for (i = 1; i <= n; i++) {
            if (L[i] ~ /^Suites:/) L[i] = "Suites: bookworm-backports";
            s = s L[i] "\n";
          }
          printf "%s", s; exit
        }' "$f")"
      [[ -n "$stanza" ]] && break
    done < <(active_apt_sources)
    if [[ -z "$stanza" ]]; then
      local line
      line="$(cat $(active_apt_sources) 2>/dev/null | grep -E '^[[:space:]]*deb[[:space:]].*[[:space:]]bookworm[[:space:]]' | head -n1 || true)"
      if [[ -n "$line" ]]; then
        out=/etc/apt/sources.list.d/kiln-bookworm-backports.list
        stanza="$(sed -E 's/([[:space:]])bookworm([[:space:]])/\1bookworm-backports\2/' <<<"$line")"
      else
        stanza="Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
      fi
    fi
    say "adding bookworm-backports to apt ($out)"
    printf '# Added by kiln scripts/setup.sh: Mesa >= 24 (lavapipe) for WebGPU on the CPU\n%s\n' "$stanza" >"$out"
    apt_updated=0
  }

  if check_out="$(node scripts/check-webgpu.mjs --quiet 2>&1)"; then
    log "WebGPU adapter OK"
  else
    if is_bookworm_root; then
      say "no working WebGPU adapter; installing Mesa lavapipe (Vulkan on the CPU) from bookworm-backports"
      add_backports
      apt_update_once || die "apt-get update failed"
      apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null ||
        die "apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 failed"
      if check_out="$(node scripts/check-webgpu.mjs 2>&1)"; then
        say "WebGPU adapter installed and working:"
        echo "$check_out" | sed 's/^/  /'
      else
        echo "$check_out" >&2
        die "installed mesa-vulkan-drivers and libvulkan1 from bookworm-backports, but still no working WebGPU adapter (see above)"
      fi
    else
      echo "$check_out" >&2
      if [[ "$(id -u)" != 0 ]]; then
        die "no working WebGPU adapter, and not root, so nothing was installed. Install the packages above (e.g. 'sudo bash scripts/setup.sh' on Debian bookworm), then run this again"
      fi
      die "no working WebGPU adapter, and this is not Debian bookworm with apt, so nothing was installed automatically. Install the packages listed above, then run this again"
    fi
  fi

  # --- Chromium, for the browser test of kiln/runtime (test/e2e/browser.test.ts): Debian's build runs
  # WebGPU compute headless on the CPU (SwiftShader). KILN_CHROMIUM names another Chromium binary. ---
  local chromium="${KILN_CHROMIUM:-/usr/bin/chromium}"
  if [[ -x "$chromium" ]]; then
    log "chromium present ($chromium)"
  elif [[ -n "${KILN_CHROMIUM:-}" ]]; then
    die "KILN_CHROMIUM=$KILN_CHROMIUM is not an executable file"
  elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && [[ -r /etc/os-release ]] && (. /etc/os-release && [[ "${ID:-}" == debian ]]); then
    say "installing Chromium for the browser test (apt: chromium)"
    apt_update_once || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends chromium >/dev/null || die "apt-get install chromium failed"
    [[ -x "$chromium" ]] || die "installed the chromium package, but $chromium is missing"
  else
    warn "Chromium not found at $chromium, so test/e2e/browser.test.ts will fail. Install it ('apt-get install chromium' on Debian,"
    warn "  'apt-get install chromium-browser' or a Chrome with WebGPU elsewhere) and point KILN_CHROMIUM at the binary if it lives elsewhere"
  fi

  # --- Fashion-MNIST for the demo; a warning, never fatal. Debian's dataset-fashion-mnist installs the
  # gzipped IDX files as /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz ---
  if [[ "${KILN_SKIP_DATASET:-0}" != 1 ]]; then
    local have_idx=0
    if compgen -G "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte*" >/dev/null ||
      dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q 'install ok installed'; then
      have_idx=1
    fi
    if [[ "$have_idx" == 0 ]]; then
      if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        say "installing Fashion-MNIST for the demo (apt: dataset-fashion-mnist)"
        if ! { apt_update_once && apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null; }; then
          warn "could not install dataset-fashion-mnist with apt; the demo will not find Fashion-MNIST (tests are unaffected)"
        fi
      else
        warn "Fashion-MNIST not found and cannot install it here (needs root and apt: 'apt-get install dataset-fashion-mnist'); the demo will not run (tests are unaffected)"
      fi
    fi
  fi
  return 0
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: run in a subshell so set -e / exit / cd don't touch the caller's shell; keep XDG_RUNTIME_DIR.
  ( _kiln_setup_main "$@" )
  _kiln_setup_rc=$?
  if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
    export XDG_RUNTIME_DIR="/tmp/runtime-$(id -u)"
  fi
  unset -f _kiln_setup_main
  return "$_kiln_setup_rc" 2>/dev/null || true
else
  _kiln_setup_main "$@"
fi
