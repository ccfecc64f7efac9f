#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The data-race run: build the KCSAN kernel (KCSAN and KASAN exclude each
# other), boot it, run the stress test and the contract tests on it, and
# list every data race KCSAN reports. A race in the series' code fails the
# run; the list goes to results/kcsan.txt.
#   kcsan.sh [SECONDS]    (how long the stress test runs, default 120)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

secs=${1:-120}
"$TOP/ci/buildroot.sh"
"$TOP/ci/srctree.sh"
"$TOP/ci/apply.sh"
"$TOP/ci/build.sh" kcsan
G=/build/guest/kcsan
in_root sh -ec "
	rm -rf $G && mkdir -p $G
	make -s -C $SRC/tools/testing/selftests/af_unix_mcast \
		KHDR_INCLUDES='-isystem $OUTBASE/kcsan/usr/include' OUTPUT=$G \
		$G/mcast_stress $G/mcast_test
" || die "cannot build the selftests for the KCSAN kernel"
AUM_RESULTS=/build/results-kcsan "$TOP/ci/boot.sh" kcsan 3600 \
	"stress=$G/mcast_stress+-d+$secs" "mcast_test=$G/mcast_test"
R=$ROOT/build/results-kcsan
mkdir -p "$TOP/results"
# One KCSAN report is the text between two lines of '='; it is the
# series' if it names one of the series' functions.
rc=0
python3 - "$R/dmesg.txt" "$TOP/results/kcsan.txt" <<'PY' || rc=$?
import re, sys
log = [re.sub(r"^\[[^]]*\] ", "", l) for l in open(sys.argv[1], errors="replace")]
reports, cur = [], None
for line in log:
    if line.startswith("BUG: KCSAN:"):
        cur = [line]
        reports.append(cur)
    elif cur is not None:
        if line.startswith("====="):
            cur = None
        else:
            cur.append(line)
ours = [r for r in reports if any("unix_mcast" in l for l in r)]
with open(sys.argv[2], "w") as out:
    out.write("KCSAN: %d data-race reports, %d in the series' code\n" % (len(reports), len(ours)))
    for r in reports:
        out.write("\n" + ("[series] " if r in ours else "[elsewhere] ") + "".join(r[:30]))
print("KCSAN: %d data-race reports, %d in the series' code" % (len(reports), len(ours)))
for r in reports:
    print(("  [series] " if r in ours else "  [elsewhere] ") + r[0].strip())
sys.exit(1 if ours else 0)
PY
cat "$R/guest.txt"
echo "tests passed: $(cat "$R/stress.tap" "$R/mcast_test.tap" | grep -c '^ok [0-9]')"
if grep -q '^not ok' "$R/stress.tap" "$R/mcast_test.tap"; then
	grep '^not ok' "$R/stress.tap" "$R/mcast_test.tap"
	die "tests failed on the KCSAN kernel"
fi
cp "$R/stress.tap" "$TOP/results/kcsan-stress.tap"
[ $rc = 0 ] || die "data races in the series' code (results/kcsan.txt)"
log "KCSAN run clean for the series' code; results/kcsan.txt"
