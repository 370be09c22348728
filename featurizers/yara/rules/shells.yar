// Reverse shell one-liners and network redirection embedded in a file.

rule reverse_shell_oneliner
{
    meta:
        description = "Contains a reverse shell one-liner (bash /dev/tcp, nc -e, python/perl socket to a shell)"
        severity = "high"
        techniques = "T1059.004,T1095"
    strings:
        $bash = /(ba)?sh -i *[>&]+ *\/dev\/tcp\/[^\/ ]+\/[0-9]+/
        $nc = /\bnc(at)? [^\n]{0,64}-e \/bin\/(ba)?sh/
        $py = /socket\.socket\([^\n]{0,200}(pty\.spawn|subprocess\.call|os\.dup2)/
        $pl = /use Socket;[^\n]{0,200}open\(STDIN/
        $mkfifo = /mkfifo [^\n]{0,64}\| *(\/bin\/)?(ba)?sh -i/
    condition:
        any of them
}

rule dev_tcp_redirection
{
    meta:
        description = "Refers to bash's /dev/tcp or /dev/udp network redirection"
        severity = "medium"
        techniques = "T1059.004"
    strings:
        $tcp = /\/dev\/(tcp|udp)\/[A-Za-z0-9.:\-]+\/[0-9]{1,5}/
    condition:
        $tcp
}

rule download_pipe_to_shell
{
    meta:
        description = "Downloads a script and pipes it into a shell (curl|sh, wget -O- |sh)"
        severity = "medium"
        techniques = "T1105,T1059.004"
    strings:
        $a = /(curl|wget)[^\n|]{0,200}\| *(sudo +)?(\/bin\/)?(ba)?sh\b/
    condition:
        $a
}
