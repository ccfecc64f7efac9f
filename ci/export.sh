#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# For developers: regenerate patches/ and the overlay files from the
# commits base..BRANCH of the source tree (default: branch "mcast"). The
# cover letter's subject (with the new patch count) and text are kept from
# the current patches/0000-cover-letter.patch (between its headers and the
# shortlog).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

branch=${1:-mcast}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

in_root sh -ec "cd $SRC && git format-patch -q --cover-letter --no-signature --subject-prefix='PATCH v2' \
	--base=base -o /tmp/aum-export base..$branch && \
	rm -rf /tmp/aum-export-done && mv /tmp/aum-export /tmp/aum-export-done"
cp "$ROOT"/tmp/aum-export-done/*.patch "$tmp/"
rm -rf "$ROOT/tmp/aum-export-done"

# Keep the cover letter's own text.
if [ -f "$TOP/patches/0000-cover-letter.patch" ]; then
	python3 - "$TOP/patches/0000-cover-letter.patch" "$tmp/0000-cover-letter.patch" <<'PY'
import re, sys
old, new = (open(p).read() for p in sys.argv[1:])
def split(text):
    head, body = text.split("\n\n", 1)
    m = re.search(r"^\S.* \(\d+\):$", body, re.M)
    return head, body[:m.start()], body[m.start():]
oh, ob, _ = split(old)
nh, _, nt = split(new)
subj = re.search(r"^Subject: .*(?:\n .*)*", oh, re.M).group(0)
# The subject's patch count is the new series', not the old one's.
count = re.search(r"\[PATCH v2 00/(\d+)\]", nh).group(1)
subj = re.sub(r"(\[PATCH v2 00/)\d+\]", lambda m: m.group(1) + count + "]", subj)
nh = re.sub(r"^Subject: .*(?:\n .*)*", lambda _: subj, nh, flags=re.M)
open(sys.argv[2], "w").write(nh + "\n\n" + ob + nt)
PY
fi
rm -f "$TOP"/patches/*.patch
mkdir -p "$TOP/patches"
cp "$tmp"/*.patch "$TOP/patches/"
for dir in net/unix/rust tools/testing/selftests/af_unix_mcast; do
	rm -rf "${TOP:?}/$dir"
	mkdir -p "$(dirname "$TOP/$dir")"
	in_root sh -c "cd $SRC && git archive $branch $dir" | tar -x -C "$TOP"
done
log "exported $(ls "$TOP"/patches/*.patch | wc -l) files to patches/"
