// Packed executables. meta: description, severity (1-5 or info/low/medium/
// high/critical), techniques (ATT&CK ids, comma-separated); see
// docs/signatures.md.

rule upx_packed_elf
{
    meta:
        description = "ELF executable packed with UPX"
        severity = "low"
        techniques = "T1027.002"
    strings:
        $upx1 = "UPX!"
        $info = "$Info: This file is packed with the UPX executable packer"
    condition:
        uint32(0) == 0x464c457f and ($upx1 in (0..1024) or $info)
}

rule upx_packed_pe
{
    meta:
        description = "Windows PE executable packed with UPX (UPX0/UPX1 sections)"
        severity = "low"
        techniques = "T1027.002"
    strings:
        $s0 = "UPX0" ascii
        $s1 = "UPX1" ascii
    condition:
        uint16(0) == 0x5a4d and uint32(uint32(0x3c)) == 0x00004550 and $s0 in (0..1024) and $s1 in (0..1024)
}
