// Windows PE programs.

rule pe_remote_thread_injection_imports
{
    meta:
        description = "PE naming OpenProcess, WriteProcessMemory and CreateRemoteThread (code injection into another process)"
        severity = "high"
        techniques = "T1055.001,T1055.002"
    strings:
        $open = "OpenProcess" ascii
        $vae = "VirtualAllocEx" ascii
        $wpm = "WriteProcessMemory" ascii
        $crt = "CreateRemoteThread" ascii
        $nct = "NtCreateThreadEx" ascii
    condition:
        uint16(0) == 0x5a4d and $wpm and ($crt or $nct) and ($open or $vae)
}

rule pe_run_key_persistence
{
    meta:
        description = "PE refers to the Run registry key (starts at every logon)"
        severity = "medium"
        techniques = "T1547.001"
    strings:
        $run = "Software\\Microsoft\\Windows\\CurrentVersion\\Run" ascii wide nocase
    condition:
        uint16(0) == 0x5a4d and $run
}

rule shadow_copy_deletion
{
    meta:
        description = "Commands that delete shadow copies or backups (ransomware)"
        severity = "critical"
        techniques = "T1490"
    strings:
        $a = /vssadmin(\.exe)? +delete +shadows/ nocase ascii wide
        $b = /wmic(\.exe)? +shadowcopy +delete/ nocase ascii wide
        $c = /bcdedit(\.exe)? [^\n]{0,40}recoveryenabled +no/ nocase ascii wide
    condition:
        any of them
}
