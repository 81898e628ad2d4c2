#!/usr/bin/env bash
# Installs what building and testing PacketStack needs, only when it is missing:
#   apt: libnghttp2-dev libsqlite3-dev pkg-config curl tshark, clang llvm libbpf-dev (XDP programs the
#        tests compile with -target bpf), and nghttp2-client wrk for bench/
#   pip: h2 openapi-spec-validator schemathesis pyyaml (HTTP/2, OpenAPI and API fuzz tests)
# The Swift 6 toolchain itself is expected on PATH or at /opt/swift (swift.org's Debian 12 build).
set -euo pipefail
want_bench=${1:-}

need_apt=()
for pkg in libnghttp2-dev libsqlite3-dev pkg-config curl tshark clang llvm libbpf-dev python3 python3-pip; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "$want_bench" = "--bench" ]; then
  for pkg in nghttp2-client wrk; do dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg"); done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  # python3 and pip may come from elsewhere (pyenv); only install what has no command.
  filtered=()
  for pkg in "${need_apt[@]}"; do
    case "$pkg" in
      python3) command -v python3 >/dev/null || filtered+=("$pkg") ;;
      python3-pip) python3 -m pip --version >/dev/null 2>&1 || filtered+=("$pkg") ;;
      *) filtered+=("$pkg") ;;
    esac
  done
  if [ ${#filtered[@]} -gt 0 ]; then
    echo "setup: installing ${filtered[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${filtered[@]}" >/dev/null
  fi
fi

py_missing=()
python3 -c 'import h2' 2>/dev/null || py_missing+=(h2)
python3 -c 'import openapi_spec_validator' 2>/dev/null || py_missing+=(openapi-spec-validator)
python3 -c 'import schemathesis' 2>/dev/null || py_missing+=(schemathesis)
python3 -c 'import yaml' 2>/dev/null || py_missing+=(pyyaml)
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "setup: pip installing ${py_missing[*]}"
  python3 -m pip install --quiet "${py_missing[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "${py_missing[@]}" \
    || echo "setup: pip install failed; the HTTP/2, OpenAPI-validator and schemathesis tests will skip"
fi

if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "setup: swift is not on PATH; use /opt/swift/usr/bin (the scripts do this themselves)"
  else
    echo "setup: no Swift toolchain found: install Swift 6 for Debian 12 from swift.org into /opt/swift" >&2
    exit 1
  fi
fi
