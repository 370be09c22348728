#!/bin/bash
# Harmless test script (bash): what an installer or dropper script does in
# miniature: writes a file under /tmp, makes it executable, runs it, lists.
set -e
d=$(mktemp -d /tmp/smn-script.XXXX)
printf '#!/bin/sh\necho payload ran\n' > "$d/payload"
chmod +x "$d/payload"
"$d/payload"
ls -l "$d" | wc -l
echo "script.sh: bash $BASH_VERSION done"
