// Linux persistence and credential strings.

rule ld_preload_rootkit
{
    meta:
        description = "Writes or names /etc/ld.so.preload (library preloading into every program)"
        severity = "high"
        techniques = "T1574.006"
    strings:
        $a = "/etc/ld.so.preload" ascii
    condition:
        $a
}

rule ssh_key_implant
{
    meta:
        description = "Adds an SSH key to authorized_keys"
        severity = "medium"
        techniques = "T1098.004"
    strings:
        $ak = "authorized_keys" ascii
        $key = /ssh-(rsa|ed25519|dss) AAAA[0-9A-Za-z+\/]{20}/
        $echo = /echo [^\n]{0,16}ssh-(rsa|ed25519)/
    condition:
        $ak and ($key or $echo)
}
