#!/usr/bin/env bash
# Runs roster against real third-party Bitrix24 clients (fast_bitrix24, bitrix24-rest,
# and @bitrix24/b24jssdk under node when node is installed).
#
#   bash tests/clients/run.sh [extra pytest args]
#
# Needs python3 (with venv) and cargo; node and npm for the JS SDK tests. Environment:
#   ROSTER_VENV  virtualenv to create/reuse (default: <repo>/target/venv-clients)
#   ROSTER_BIN   roster binary to test; when unset, `cargo build --release -p roster`
#                is run and target/release/roster is used.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${ROSTER_VENV:-$repo/target/venv-clients}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"

want="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$req")"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "clients: creating virtualenv $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    echo "clients: installing $req" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    printf '%s\n' "$want" >"$stamp"
fi

# The JS SDK suite (tests/clients/jssdk): installed with npm when node is available.
jssdk="$here/jssdk"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && [[ -f "$jssdk/package.json" ]]; then
    js_stamp="$jssdk/node_modules/.roster-install.sha256"
    js_want="$(python3 -c 'import hashlib,os,sys; print(hashlib.sha256(b"".join(open(p,"rb").read() for p in sys.argv[1:] if os.path.exists(p))).hexdigest())' "$jssdk/package.json" "$jssdk/package-lock.json")"
    if [[ "$(cat "$js_stamp" 2>/dev/null || true)" != "$js_want" ]]; then
        echo "clients: installing $jssdk" >&2
        if [[ -f "$jssdk/package-lock.json" ]]; then
            (cd "$jssdk" && npm ci --no-audit --no-fund --loglevel=error)
        else
            (cd "$jssdk" && npm install --no-audit --no-fund --loglevel=error)
        fi
        printf '%s\n' "$js_want" >"$js_stamp"
    fi
fi

if [[ -z "${ROSTER_BIN:-}" ]]; then
    (cd "$repo" && cargo build --release -p roster)
    export ROSTER_BIN="$repo/target/release/roster"
fi

cd "$repo"
export PYTHONDONTWRITEBYTECODE=1
set +e
"$venv/bin/python" -m pytest -q tests/clients "$@"
status=$?
set -e
exit "$status"
