#!/usr/bin/python3
# Harmless test script (python3): reads the account database and writes a
# summary file, as a reconnaissance script would.
import os
import sys

users = [line.split(":")[0] for line in open("/etc/passwd")]
with open("/tmp/smn-users.txt", "w") as f:
    f.write("\n".join(users) + "\n")
print("script.py: python %d.%d, %d accounts, pid %d" % (sys.version_info[0], sys.version_info[1], len(users), os.getpid()))
