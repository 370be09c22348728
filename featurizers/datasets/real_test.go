package datasets

import (
	"path/filepath"
	"slices"
	"testing"
)

// These tests read the shared data sets as published. The expected counts
// are those of the copies in ../shared/datasets (about four fifths of each
// set; the rest is withheld), checked against SOURCE.md where it states them.

func TestLoadADFA(t *testing.T) {
	t.Parallel()
	dir := dataPath(t, ADFADir)
	recs, err := LoadADFA(dir, ADFAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := Counts(recs)
	subsets := map[string]int{}
	runs := map[string]bool{}
	for _, r := range recs {
		subsets[r.Subset]++
		if r.Group != "" {
			runs[r.Group] = true
		}
		if len(r.Calls) == 0 {
			t.Errorf("%s: no calls", r.ID)
		}
	}
	t.Logf("ADFA-LD: %d records %v subsets %v runs %d", len(recs), c, subsets, len(runs))
	// SOURCE.md: all 833 training traces; ~4/5 of 4,372 validation and of 746 attack traces in 60 runs.
	if subsets["training"] != 833 || subsets["validation"] != 3507 || subsets["attack"] != 678 || len(runs) != 55 {
		t.Errorf("counts %v, %d runs; want training 833, validation 3507, attack 678 in 55 runs", subsets, len(runs))
	}
	want := map[string]int{"Adduser": 84, "Hydra_FTP": 162, "Hydra_SSH": 148, "Java_Meterpreter": 112, "Meterpreter": 68, "Web_Shell": 104}
	for k, n := range want {
		if c["attack/"+k] != n {
			t.Errorf("attack/%s = %d, want %d", k, c["attack/"+k], n)
		}
	}
	// Spot check: UTD-0001 starts "6 6 63 6 42 120 6 195 120" (i386 numbers).
	r := recs[0]
	if r.ID != "Training_Data_Master/UTD-0001.txt" || r.Label != LabelNormal {
		t.Fatalf("first record %s %s", r.ID, r.Label)
	}
	head := []string{"close", "close", "dup2", "close", "pipe", "clone", "close", "stat", "clone"}
	if !slices.Equal(r.Calls[:9], head) {
		t.Errorf("UTD-0001 head %v, want %v", r.Calls[:9], head)
	}
	dd, removed := Dedup(recs)
	t.Logf("ADFA-LD: %d distinct (sequence, label), %d duplicates removed, %d conflicting sequences", len(dd), removed, Conflicts(recs))
}

func TestLoadFHIDS(t *testing.T) {
	t.Parallel()
	file := dataPath(t, FHIDSDir, FHIDSArchive)
	recs, err := LoadFHIDS(file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := Counts(recs)
	t.Logf("FHIDS: %d records %v", len(recs), c)
	want := map[string]int{"normal": 10428, "attack": 1077, "attack/Cryptomining": 286, "attack/FTP": 97,
		"attack/Nginx": 175, "attack/Redis": 375, "attack/SSH": 144}
	for k, n := range want {
		if c[k] != n {
			t.Errorf("%s = %d, want %d", k, c[k], n)
		}
	}
	groups := map[string]int{}
	for _, r := range recs {
		if r.Label == LabelNormal {
			groups[r.Group]++
		}
	}
	if len(groups) != 6 || groups["Redis"] != 2468 {
		t.Errorf("normal services %v", groups)
	}
	// Spot check: Cryptomining/11182.txt is 35 bytes.
	i := slices.IndexFunc(recs, func(r SeqRecord) bool { return r.ID == "FHIDS/attack/Cryptomining/11182.txt" })
	if i < 0 || recs[i].Class != "Cryptomining" || len(recs[i].Calls) == 0 {
		t.Fatalf("Cryptomining/11182 missing or empty")
	}
	t.Logf("Cryptomining/11182: %v", recs[i].Calls)
	dd, removed := Dedup(recs)
	t.Logf("FHIDS: %d distinct, %d removed, %d conflicting", len(dd), removed, Conflicts(recs))
}

func TestLoadMalBehavD(t *testing.T) {
	t.Parallel()
	file := dataPath(t, MalBehavDDir, MalBehavDFile)
	recs, err := LoadMalBehavD(file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := Counts(recs)
	t.Logf("MalBehavD-V1: %d records %v", len(recs), c)
	if len(recs) != 2079 || c[LabelMalware] != 1033 || c[LabelBenign] != 1046 {
		t.Errorf("counts %d %v, want 2079: 1033 malware, 1046 benign", len(recs), c)
	}
	r := recs[0]
	if r.ID != "5c18291c481a192ed5003084dab2d8a117fd3736359218fee2aea1a164544c9e" || r.Label != LabelBenign ||
		!slices.Equal(r.Calls[:3], []string{"LdrUnloadDll", "CoUninitialize", "NtQueryKey"}) {
		t.Errorf("first record %s %s %v", r.ID, r.Label, r.Calls[:3])
	}
	dd, removed := Dedup(recs)
	t.Logf("MalBehavD-V1: %d distinct, %d removed, %d conflicting", len(dd), removed, Conflicts(recs))
	if len(dd) != 1281 {
		t.Errorf("distinct (sequence, label) = %d, want 1281", len(dd))
	}
}

func TestLoadMalAPI(t *testing.T) {
	t.Parallel()
	dir := dataPath(t, MalAPIDir)
	recs, err := LoadMalAPI(dir, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := Counts(recs)
	t.Logf("Mal-API-2019: %d records %v", len(recs), c)
	want := map[string]int{"Adware": 77, "Backdoor": 83, "Downloader": 78, "Dropper": 81, "Spyware": 79, "Trojan": 75, "Virus": 81, "Worms": 82}
	if len(recs) != 636 || c[LabelMalware] != 636 {
		t.Errorf("%d records, want 636", len(recs))
	}
	for k, n := range want {
		if c["malware/"+k] != n {
			t.Errorf("%s = %d, want %d", k, c["malware/"+k], n)
		}
	}
	// Spot check: line 1 starts 292,291,292 and is a Trojan.
	names, _ := ReadAPIIndexFile(filepath.Join(dir, MalAPIIndex))
	r := recs[0]
	if r.Class != "Trojan" || !slices.Equal(r.Calls[:3], []string{names[292], names[291], names[292]}) {
		t.Errorf("first record %s %v", r.Class, r.Calls[:3])
	}
	dd, removed := Dedup(recs)
	t.Logf("Mal-API-2019: %d distinct, %d removed; longest %d calls", len(dd), removed, maxLen(recs))
}

func maxLen(recs []SeqRecord) int {
	m := 0
	for _, r := range recs {
		m = max(m, len(r.Calls)+r.Dropped)
	}
	return m
}
