#!/usr/bin/env bash
# Installs what the tests need, then runs every check the project has:
# formatting, clippy with warnings as errors, and all tests (unit, wire
# vectors, end-to-end runs against the reference Edge with tshark, dig and
# openssl, the A/V cases against coturn, the suite against Kamailio through
# a staging configuration, and the HTML report in headless Chromium).
# Every check runs even when an earlier one fails; the exit code is non-zero
# if any failed.
set -u
cd "$(dirname "$0")/.."

need_apt=()
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v dig >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
# Headless browser for the HTML report test (tests/e2e/html_report.rs).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
# A third-party SIP edge with TLS for the staging-configuration tests (tests/e2e/kamailio.rs).
command -v kamailio >/dev/null 2>&1 || need_apt+=(kamailio)
ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 || need_apt+=(kamailio-tls-modules)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null \
    || { echo "cannot install ${need_apt[*]}"; exit 1; }
fi

failed=()
run() {
  echo "== $*"
  "$@" || failed+=("$*")
}
run cargo fmt --all -- --check
run cargo clippy --locked --workspace --all-targets -- -D warnings
run cargo test --locked --workspace --all-targets

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all checks passed"
