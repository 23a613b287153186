#!/usr/bin/env bash
# sqlmap (Debian's package) against Cairn's list and search endpoints (issue 22): starts a Cairn
# server on the embedded database, signs up, makes a contact, a custom object and one of its
# records, then runs sqlmap in batch mode with the session cookie against
#   - the contacts list: `q`, `sort`, `filter` (as whole parameters, and inside the filter's JSON),
#   - the global search: `q`,
#   - a custom object's records list: `q`, `sort`, `filter`.
# Fails when sqlmap reports any injection point (or cannot reach the server). Runs in about two
# minutes: level 2, risk 1, boolean, error, union and stacked techniques (no time-based blind: on
# the embedded database a sleeping statement holds the whole process; see README "Security").
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sqlmap >/dev/null 2>&1; then
  echo "sqlmap is not installed (Debian: apt-get install sqlmap)" >&2
  exit 2
fi
[ -f server/dist/main.js ] || npm run -s -w server build

work="$(mktemp -d)"
port=$((39000 + RANDOM % 1000))
base="http://127.0.0.1:${port}"
DATA_DIR="$work/data" PORT="$port" HOST=127.0.0.1 BASE_URL="$base" LOG_LEVEL=warn \
  SIGN_IN_PER_IP_PER_MINUTE=100000 API_RATE_LIMIT_PER_MINUTE=1000000 ANON_RATE_LIMIT_PER_MINUTE=1000000 \
  node server/dist/main.js start >"$work/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$base/health" >/dev/null || { echo "Cairn did not start:" >&2; cat "$work/server.log" >&2; exit 2; }

jar="$work/jar"
api() { # method path [json body]
  curl -fsS -b "$jar" -c "$jar" -X "$1" -H "origin: $base" -H 'content-type: application/json' \
    ${3:+-d "$3"} "$base$2"
}
api POST /api/v1/signup \
  '{"organization_name":"Sqlmap","name":"Ada Admin","email":"ada@sqlmap.test","password":"Correct-Horse-9"}' >/dev/null
# Sign-up signs no one in (the same answer for a taken address): sign in.
api POST /api/auth/sign-in/email '{"email":"ada@sqlmap.test","password":"Correct-Horse-9"}' >/dev/null
api POST /api/v1/contacts '{"first_name":"Ada","last_name":"Lovelace","emails":[{"value":"ada@example.com"}]}' >/dev/null
api POST /api/v1/objects '{"key":"property","label_singular":"Property","label_plural":"Properties"}' >/dev/null
api POST /api/v1/records/property '{"custom":{"name":"Harbour View"}}' >/dev/null
session="$(awk '$6 ~ /session_token$/ { print $6 "=" $7 }' "$jar")"
[ -n "$session" ] || { echo "no session cookie after sign-in" >&2; exit 2; }

urlencode() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
filter="$(urlencode '{"field":"last_name","op":"eq","value":"Lovelace"}')"
name_filter="$(urlencode '{"field":"name","op":"contains","value":"Harbour"}')"

findings=0
scan() { # label url [extra sqlmap options...]
  local label="$1" url="$2"
  shift 2
  echo "=== sqlmap: $label"
  local out="$work/sqlmap-$label.txt"
  sqlmap -u "$url" --cookie "$session" --batch --level 2 --risk 1 --technique BEUS \
    --disable-coloring --flush-session --output-dir "$work/sqlmap" --threads 4 \
    --skip-waf "$@" >"$out" 2>&1 || true
  tail -n 4 "$out"
  if grep -Eq "identified the following injection point|is vulnerable|appears to be '.*' injectable" "$out"; then
    echo "FINDING in $label:" >&2
    grep -E -A12 "identified the following injection point" "$out" >&2 || true
    findings=$((findings + 1))
  elif ! grep -q "all tested parameters do not appear to be injectable\|do not appear to be injectable" "$out"; then
    echo "sqlmap did not finish $label:" >&2
    tail -n 30 "$out" >&2
    findings=$((findings + 1))
  fi
}

scan contacts "$base/api/v1/contacts?q=ada&sort=last_name&filter=$filter" -p "q,sort,filter"
# Inside the filter's JSON (a whole-parameter payload is refused as invalid JSON first).
scan contacts-filter-json "$base/api/v1/contacts?filter=$(urlencode '{"field":"last_name*","op":"eq","value":"Lovelace*"}')"
scan search "$base/api/v1/search?q=ada" -p q
scan custom-records "$base/api/v1/records/property?q=harbour&sort=name&filter=$name_filter" -p "q,sort,filter"

if [ "$findings" -gt 0 ]; then
  echo "sqlmap: $findings finding(s)" >&2
  exit 1
fi
echo "sqlmap: no injection found in the list and search endpoints"
