#!/usr/bin/env bash
# baseline.sh: the Cortex PR gate a team writes by hand, the reference point
# of bench/run. It follows the pattern of SonarSource's
# sonarqube-quality-gate-action (script/check-quality-gate.sh): curl with
# --silent --fail --show-error, jq, and `sleep 5` between polls. On top of
# that it does what such a script needs to be useful: a timeout, curl's own
# retries (which cover 429 and 5xx), every page of issues and findings, one
# JSON file, and exit 1 when the PR is blocked.
#
# Settings (environment):
#   CORTEX_API_URL, CORTEX_API_KEY_ID, CORTEX_API_KEY   standard key (required)
#   CORTEX_REPOSITORY, CORTEX_PR_ID                       the change (required)
#   CORTEX_JSON_FILE      output, default cortex-result.json
#   CORTEX_TIMEOUT        seconds to wait for the scan, default 1800
#
# Exit: 0 passed, 1 blocked, 2 error or timeout.
set -Eeuo pipefail

: "${CORTEX_API_URL:?set CORTEX_API_URL}" "${CORTEX_API_KEY_ID:?set CORTEX_API_KEY_ID}" "${CORTEX_API_KEY:?set CORTEX_API_KEY}"
: "${CORTEX_REPOSITORY:?set CORTEX_REPOSITORY}" "${CORTEX_PR_ID:?set CORTEX_PR_ID}"
out=${CORTEX_JSON_FILE:-cortex-result.json}
timeout=${CORTEX_TIMEOUT:-1800}
api="${CORTEX_API_URL%/}/public_api/appsec/v1"
page_size=100

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' ERR

api_get() {
  curl --silent --show-error --fail --retry 3 --max-time 60 \
    -H "x-xdr-auth-id: ${CORTEX_API_KEY_ID}" -H "Authorization: ${CORTEX_API_KEY}" \
    -H "Accept: application/json" "$@"
}

# poll prints the newest scan of the PR, or null while Cortex lists none.
poll() {
  api_get -G "$api/scans/pr" --data-urlencode "prId=${CORTEX_PR_ID}" \
    --data-urlencode "repositories=${CORTEX_REPOSITORY}" |
    jq -c --arg pr "$CORTEX_PR_ID" '[.[] | select(.pullRequestId == $pr)] | first'
}

# fetch_all writes every page of a scan's issues or findings to $tmp/$2.jsonl.
fetch_all() {
  local scan_id=$1 what=$2 offset=0 n
  : >"$tmp/$what.jsonl"
  while :; do
    api_get "$api/scans/${scan_id}/${what}?offset=${offset}&limit=${page_size}" >"$tmp/page.json"
    cat "$tmp/page.json" >>"$tmp/$what.jsonl"
    n=$(jq length "$tmp/page.json")
    ((n < page_size)) && break
    offset=$((offset + n))
  done
}

start=$SECONDS
scan=$(poll)
health=$(jq -r '.scanHealth // "NOT_LISTED"' <<<"$scan")
until [[ $health == COMPLETED || $health == PARTIALLY_COMPLETED || $health == ERROR ]]; do
  if ((SECONDS - start >= timeout)); then
    echo "cortex: timed out after ${timeout}s waiting for the scan of PR ${CORTEX_PR_ID} (${health})" >&2
    exit 2
  fi
  echo "cortex: scan of PR ${CORTEX_PR_ID}: ${health}; next check in 5s"
  sleep 5
  scan=$(poll)
  health=$(jq -r '.scanHealth // "NOT_LISTED"' <<<"$scan")
done

scan_id=$(jq -r .scanId <<<"$scan")
fetch_all "$scan_id" issues
fetch_all "$scan_id" findings
jq -n --argjson scan "$scan" --slurpfile ip "$tmp/issues.jsonl" --slurpfile fp "$tmp/findings.jsonl" \
  '{scan: $scan, issues: ($ip | add // []), findings: ($fp | add // [])}' >"$out"

jq -r '"cortex: scan \(.scan.scanId): \(.scan.scanHealth) / \(.scan.pullRequestStatus), \(.issues | length) issues (" +
  ([.issues | group_by(.severity)[] | "\(.[0].severity) \(length)"] | join(", ")) + "), \(.findings | length) findings"' "$out"

status=$(jq -r '.pullRequestStatus // "" | ascii_upcase' <<<"$scan")
policies=$(jq -r '[.blockingPolicyName // empty, (.blockingPoliciesNames // [])[]] | map(select(. != "")) | join(", ")' <<<"$scan")
if [[ $health == ERROR || $status == ERROR ]]; then
  echo "cortex: the scan failed" >&2
  exit 2
fi
if [[ $status == FAILED || $status == BLOCKED || -n $policies ]]; then
  echo "cortex: BLOCKED by ${policies:-a blocking policy}" >&2
  exit 1
fi
echo "cortex: passed"
