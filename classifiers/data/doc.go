// Package data turns the public datasets in ../shared/datasets into
// ml.Datasets for cross-validation (package eval):
//
//   - ClaMP Raw and Integrated (LoadClaMP): PE header feature vectors, label
//     column "class"; packer_type encoded as its index in
//     header.PackerTypes, as featurizers/header does; optionally constant
//     columns dropped.
//   - The call-sequence sets (LoadTask): MalBehavD-V1 (benign/malware),
//     Mal-API-2019 (8 malware types), FHIDS and ADFA-LD (normal/attack, or
//     normal plus the attack kind). Examples hold token ids into a lossless
//     name index (SeqSet.Names); NGramPrepare and SequencePrepare return
//     eval.Prepare functions that fit the n-gram columns or the vocabulary on
//     a training fold only and transform both folds, so CV does not leak.
//     CachePrepare shares one fold's featurization among models.
//
// Every loader deduplicates before anything is split (eval.Dedup: exact
// repeats removed, inputs seen under two labels removed) and reports the
// counts. Sizes of the copies here after dedup (seed-independent):
//
//	task / dataset         before  after  classes after dedup
//	ClaMP Raw                4235   3683  benign 2007, malware 1676 (552 duplicates)
//	ClaMP Integrated         4156   4154  benign 1980, malware 2174 (2 duplicates)
//	malbehavd (MalBehavD-V1) 2079   1281  benign 904, malware 377
//	malapi (Mal-API-2019)     636    623  Adware 71, Backdoor 82, Downloader 74, Dropper 81,
//	                                      Spyware 79, Trojan 74, Virus 81, Worms 81
//	fhids                   11505   1958  normal 1691, attack 267 (24 sequences under both labels)
//	fhids-kind              11505   1912  normal 1691, Cryptomining 40, FTP 24, Nginx 26,
//	                                      Redis 78, SSH 53 (70 conflicting sequences)
//	adfa (ADFA-LD)           5018   3385  normal 2717, attack 668 (1 conflicting sequence)
//	adfa-kind                5018   3383  normal 2717, Adduser 84, Hydra_FTP 161, Hydra_SSH 145,
//	                                      Java_Meterpreter 109, Meterpreter 65, Web_Shell 102
//
// (Names are lower-cased before dedup, as the featurizers see them; the
// numbers are checked by the dataset-backed tests.)
package data
