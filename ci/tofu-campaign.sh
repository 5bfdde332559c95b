#!/usr/bin/env bash
# The steps of a tofu campaign on CI runners, shared by the GitHub reusable workflow
# (.github/workflows/tofu-campaign.yml) and the GitLab template
# (ci/gitlab/tofu-campaign.gitlab-ci.yml); docs/campaigns.md walks through the setup, and
# crates/tofu/tests/it/workflows.rs runs both steps for real.
#
#   tofu-campaign.sh fetch --name NAME --keys DIR --out DIR [--via VIA] [--label TEXT] \
#       -- TOFU-FETCH-ARGS...
#     One runner's run. Its secret key comes from the environment, TOFU_SIGNING_KEY: the
#     minisign secret key file `tofu keygen` wrote, as it is or in base64 (one line, which
#     GitLab can mask). It goes to a 0600 file in a private temporary directory that is removed
#     on exit, and is never printed. Writes DIR/NAME.json and DIR/NAME.json.minisig, then
#     checks that the committed key KEYS/NAME.pub verifies them, so that a secret that holds
#     another key fails here, by name, instead of as an untrusted run in the judgement.
#     Exits with tofu fetch's status (0, 1 when a target failed: the transcript is still
#     written and must still be judged), or 2.
#
#   tofu-campaign.sh judge --keys DIR --runs DIR [--runs DIR...] [--history DIR...] \
#       --report DIR [--since TIME] [--expect "NAME..."] [--require RULES] [--min-runs N] \
#       [--min-gap HOURS] [--exclude RUN=WHY...]
#     The verdict. Trusts the committed public keys KEYS/NAME.pub and nothing else: tofu runs
#     with a fresh, empty HOME (no key of this machine, no trusted-keys store, no config). Every
#     transcript must be RUNS/NAME.json (or HISTORY/NAME.json, a run of an earlier day) for an
#     expected runner NAME and be signed by NAME's own key, one per runner, so that one stolen
#     key can speak for one run only. With --since (the pipeline's start, UTC, as
#     2026-12-01T05:17:00Z), a transcript in a --runs directory that started more than an hour
#     before it is refused: one left behind by an earlier pipeline, or replayed, is not today's. Every expected
#     runner (default: every key in KEYS, the campaign's roster) must have delivered one;
#     --min-runs is their number, or more. Writes REPORT/report.txt (also printed), report.json and report.html, and exits
#     with tofu compare's status: 0 agree, 1 disagree, 3 inconclusive (a missing runner too),
#     2 unusable input (and for a transcript that is not where or whose it should be).
#
# Environment: TOFU, the tofu binary (default: tofu on the PATH).

set -euo pipefail

TOFU=${TOFU:-tofu}

die() {
    echo "tofu-campaign: $*" >&2
    exit 2
}

# Runner names become file names and secret names: lower-case letters, digits, '_'.
valid_name() {
    [[ $1 =~ ^[a-z0-9][a-z0-9_]{0,31}$ ]]
}

# tofu with an empty home of its own: no key of this machine, no trusted-keys store, no
# config; it trusts only the keys given on its command line.
fresh_tofu() {
    local home
    home=$(mktemp -d "$WORK/home.XXXXXX")
    env -u XDG_CONFIG_HOME -u XDG_DATA_HOME HOME="$home" "$TOFU" "$@"
}

# Writes the secret key held in $1 (a minisign secret key file, or its base64) to stdout.
decode_key() {
    local decoded
    if [[ $1 == "untrusted comment:"* ]]; then
        printf '%s\n' "$1"
        return
    fi
    decoded=$(printf '%s' "$1" | tr -d ' \t\r\n' | base64 -d 2>/dev/null) || decoded=""
    [[ $decoded == "untrusted comment:"* ]] ||
        die "TOFU_SIGNING_KEY is neither a minisign secret key file nor one in base64"
    printf '%s\n' "$decoded"
}

cmd_fetch() {
    local name="" keys="" out="" via="direct" label=""
    while [ $# -gt 0 ]; do
        case $1 in
        --name | --keys | --out | --via | --label)
            [ $# -ge 2 ] || die "fetch: $1 needs a value"
            case $1 in
            --name) name=$2 ;;
            --keys) keys=$2 ;;
            --out) out=$2 ;;
            --via) via=$2 ;;
            --label) label=$2 ;;
            esac
            shift 2
            ;;
        --) shift && break ;;
        *) die "fetch: unknown option $1 (tofu fetch's own arguments go after --)" ;;
        esac
    done
    valid_name "$name" || die "fetch: --name must be 1-32 of a-z, 0-9, _ (got '$name')"
    [ -n "$out" ] || die "fetch: --out DIR is missing"
    local pub="$keys/$name.pub"
    [ -f "$pub" ] || die "fetch: no committed public key $pub for runner $name"
    [ $# -gt 0 ] || die "fetch: nothing to fetch: give --plan FILE or URLs after --"
    local secret=${TOFU_SIGNING_KEY:-}
    unset TOFU_SIGNING_KEY
    [ -n "$secret" ] || die "fetch: TOFU_SIGNING_KEY is empty: give this job runner $name's secret key"
    (umask 077 && decode_key "$secret" >"$WORK/signing.key")
    secret=""
    mkdir -p "$out"
    local run="$out/$name.json" status=0
    "$TOFU" fetch --key "$WORK/signing.key" --via "$via" --label "${label:-$name via $via}" \
        -o "$run" "$@" || status=$?
    rm -f "$WORK/signing.key"
    if [ -f "$run" ] && ! fresh_tofu verify --trusted-key "$pub" "$run" >/dev/null; then
        die "fetch: $run is not signed by the committed key $pub: this job's secret holds another key"
    fi
    return "$status"
}

# The runners expected: --expect, or one per key in KEYS.
expected_names() {
    local keys=$1 expect=$2 pub
    if [ -n "$expect" ]; then
        # shellcheck disable=SC2086 # a list of names, split on purpose
        printf '%s\n' $expect
        return
    fi
    for pub in "$keys"/*.pub; do
        if [ -f "$pub" ]; then basename "$pub" .pub; fi
    done
}

# Prints RUNS/NAME.json for each transcript in the directories; refuses one that no expected
# runner's name matches, and a runner with two.
collect_runs() {
    local expected=$1 seen=" " dir run name
    shift
    for dir in "$@"; do
        [ -d "$dir" ] || die "judge: --runs $dir is not a directory"
        for run in "$dir"/*.json; do
            [ -e "$run" ] || [ -L "$run" ] || continue
            # What a runner uploaded is data, never a link to something else on this machine.
            if [ ! -f "$run" ] || [ -L "$run" ] || [ -L "$run.minisig" ]; then
                die "judge: $run is not a plain file: refused"
            fi
            name=$(basename "$run" .json)
            [[ " $expected " == *" $name "* ]] ||
                die "judge: $run is not NAME.json for an expected runner ($expected): refused"
            [[ $seen != *" $name "* ]] || die "judge: runner $name has more than one transcript"
            seen="$seen$name "
            printf '%s\n' "$run"
        done
    done
}

cmd_judge() {
    local keys="" report="" expect="" require="" min_runs="" min_gap="" since=""
    local -a dirs=() history=() excludes=()
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || die "judge: $1 needs a value"
        case $1 in
        --keys) keys=$2 ;;
        --runs) dirs+=("$2") ;;
        --history) history+=("$2") ;;
        --since) since=$2 ;;
        --report) report=$2 ;;
        --expect) expect=$2 ;;
        --require) require=$2 ;;
        --min-runs) min_runs=$2 ;;
        --min-gap) min_gap=$2 ;;
        --exclude) excludes+=(--exclude "$2") ;;
        *) die "judge: unknown option $1" ;;
        esac
        shift 2
    done
    [ -d "$keys" ] || die "judge: --keys $keys is not a directory"
    [ -n "$report" ] || die "judge: --report DIR is missing"
    [ ${#dirs[@]} -gt 0 ] || die "judge: --runs DIR is missing"
    local names name
    names=$(expected_names "$keys" "$expect" | tr '\n' ' ')
    [ -n "${names// /}" ] || die "judge: no runner expected: $keys holds no NAME.pub"
    for name in $names; do
        valid_name "$name" || die "judge: '$name' is not a runner name"
        [ -f "$keys/$name.pub" ] || die "judge: no committed key $keys/$name.pub for runner $name"
    done
    local -a runs=()
    # Into a file, not a pipe: a refusal in collect_runs must end the script, not a subshell.
    collect_runs "$names" "${dirs[@]}" ${history[@]+"${history[@]}"} >"$WORK/runs"
    mapfile -t runs <"$WORK/runs"
    [ -z "$since" ] || check_fresh "$keys" "$since" "${dirs[@]}"
    local count
    count=$(wc -w <<<"$names")
    [[ ${min_runs:-$count} =~ ^[0-9]+$ ]] || die "judge: --min-runs must be a number"
    [ "${min_runs:-$count}" -ge "$count" ] ||
        die "judge: --min-runs $min_runs is below the $count runners expected, each of which must deliver"
    judge_runs "$keys" "$report" "$names" ${runs[@]+"${runs[@]}"} -- \
        --min-runs "${min_runs:-$count}" ${require:+--require "$require"} \
        ${min_gap:+--min-gap "$min_gap"} ${excludes[@]+"${excludes[@]}"}
}

# Refuses a transcript in the directories that started more than an hour before SINCE (an
# hour for runners whose clocks run slow). One whose signature does not hold is left to
# judge_runs, which says so.
check_fresh() {
    local keys=$1 since=$2 dir run started limit
    shift 2
    [[ $since =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
        die "judge: --since must be a UTC time such as 2026-12-01T05:17:00Z (got '$since')"
    limit=$(date -u -d "@$(($(date -u -d "$since" +%s) - 3600))" +%Y-%m-%dT%H:%M:%SZ)
    for dir in "$@"; do
        for run in "$dir"/*.json; do
            [ -f "$run" ] || continue
            started=$(fresh_tofu verify --json --trusted-key "$keys/$(basename "$run" .json).pub" \
                "$run" 2>/dev/null | sed -n 's/^ *"started_at": "\(.*\)",*$/\1/p') || continue
            if [ -z "$started" ] || [[ $started < $limit ]]; then
                die "judge: $run started ${started:-at no time it says}, before this pipeline ($since): refused"
            fi
        done
    done
}

# judge_runs KEYS REPORT NAMES RUN... -- COMPARE-OPTIONS...
judge_runs() {
    local keys=$1 report=$2 names=$3 run name missing=""
    shift 3
    local -a runs=()
    while [ "$1" != "--" ]; do runs+=("$1") && shift; done
    shift
    # Each run is checked against its own runner's key alone: no other key may sign it.
    for run in ${runs[@]+"${runs[@]}"}; do
        name=$(basename "$run" .json)
        fresh_tofu verify --trusted-key "$keys/$name.pub" "$run" >/dev/null ||
            die "judge: $run is not signed by runner $name's committed key $keys/$name.pub: refused"
    done
    for name in $names; do
        [[ " ${runs[*]+"${runs[*]}"} " == *"/$name.json "* ]] || missing="$missing $name"
    done
    # The judgement's home trusts each expected runner's committed key, by name; tofu refuses
    # a key trusted twice, so two runners cannot share one.
    local home
    home=$(mktemp -d "$WORK/judge.XXXXXX")
    for name in $names; do
        env -u XDG_CONFIG_HOME -u XDG_DATA_HOME HOME="$home" \
            "$TOFU" trust add "$name" "$keys/$name.pub" >/dev/null ||
            die "judge: cannot trust $keys/$name.pub for runner $name (is it another runner's key too?)"
    done
    mkdir -p "$report"
    if [ ${#runs[@]} -lt 2 ]; then
        echo "tofu-campaign: INCONCLUSIVE: ${#runs[@]} transcript(s); missing:$missing" |
            tee "$report/report.txt"
        return 3
    fi
    local status=0
    env -u XDG_CONFIG_HOME -u XDG_DATA_HOME HOME="$home" "$TOFU" compare "$@" \
        --html "$report/report.html" "${runs[@]}" >"$report/report.txt" || status=$?
    cat "$report/report.txt"
    env -u XDG_CONFIG_HOME -u XDG_DATA_HOME HOME="$home" "$TOFU" compare "$@" \
        --json "${runs[@]}" >"$report/report.json" || true
    if [ -n "$missing" ]; then
        echo "tofu-campaign: no transcript from runner(s):$missing" | tee -a "$report/report.txt"
        [ "$status" -ne 0 ] || status=3
    fi
    verdict "$status"
}

verdict() {
    case $1 in
    0) echo "tofu-campaign: AGREE: every runner saw the same bytes and the rules hold" ;;
    1) echo "tofu-campaign: DISAGREE: a runner saw other bytes, or a signature or checksum contradicts an artifact; the report names the odd run" ;;
    3) echo "tofu-campaign: INCONCLUSIVE: nothing differs, but a run, evidence or a rule is missing; see the report" ;;
    *) echo "tofu-campaign: UNUSABLE INPUT (tofu compare exited $1)" ;;
    esac
    return "$1"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

case ${1:-} in
fetch) shift && cmd_fetch "$@" ;;
judge) shift && cmd_judge "$@" ;;
*) die "usage: tofu-campaign.sh fetch|judge OPTIONS (see the top of this file)" ;;
esac
