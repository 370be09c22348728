// Cryptocurrency miners.

rule crypto_miner_strings
{
    meta:
        description = "Crypto-miner strings: stratum pool URLs, miner options or names"
        severity = "high"
        techniques = "T1496"
    strings:
        $stratum = /stratum\+(tcp|ssl|tls):\/\// nocase
        $donate = "--donate-level" ascii
        $xmrig = "xmrig" nocase ascii wide
        $algo = /"algo" *: *"(rx\/0|cn\/|randomx|cryptonight)/ nocase
        $nicehash = "nicehash" nocase
        $mining = "mining.subscribe" ascii
    condition:
        $stratum or $mining or 2 of them
}
