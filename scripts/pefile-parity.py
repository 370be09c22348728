#!/usr/bin/python3
"""Reference ClaMP features computed with pefile, for parity checks.

Run with Debian's /usr/bin/python3 (python3-pefile installs there).

For every PE file (MZ magic) among the given paths (files or directories;
default: every file installed by the wine and mingw-w64 Debian packages,
found with dpkg -L) it writes one JSON object per line:

  {"path": ..., "size": ..., "error": null | "pefile error text",
   "raw": [55 values], "integrated": [69 values]}

Columns are computed exactly as shared/datasets/clamp/FEATURES.md defines
them, in the CSV column order. packer and packer_type are stand-in columns
(ClaMP's PEiD/YARA signatures are not public) and are written as null.

  --bench    time only: parse + extract every file once in this process and
             print one JSON summary line (files, seconds, files_per_sec).
  --list     print the PE file list and exit.
  -j N       worker processes for the JSON-lines mode (default 2).
  --full-load parse every data directory as ClaMP's scripts did (slower;
             the default parses only the resource directory, the only one
             a column depends on).
"""
import argparse, json, math, os, re, subprocess, sys, time
from collections import Counter

import pefile

RAW_DOS = ["e_magic", "e_cblp", "e_cp", "e_crlc", "e_cparhdr", "e_minalloc", "e_maxalloc", "e_ss", "e_sp",
           "e_csum", "e_ip", "e_cs", "e_lfarlc", "e_ovno", "e_res", "e_oemid", "e_oeminfo", "e_res2", "e_lfanew"]
RAW_OPT = ["Magic", "MajorLinkerVersion", "MinorLinkerVersion", "SizeOfCode", "SizeOfInitializedData",
           "SizeOfUninitializedData", "AddressOfEntryPoint", "BaseOfCode", "BaseOfData", "ImageBase",
           "SectionAlignment", "FileAlignment", "MajorOperatingSystemVersion", "MinorOperatingSystemVersion",
           "MajorImageVersion", "MinorImageVersion", "MajorSubsystemVersion", "MinorSubsystemVersion",
           "SizeOfImage", "SizeOfHeaders", "CheckSum", "Subsystem", "DllCharacteristics", "SizeOfStackReserve",
           "SizeOfStackCommit", "SizeOfHeapReserve", "SizeOfHeapCommit", "LoaderFlags", "NumberOfRvaAndSizes"]
FH_FLAGS = [0x0001, 0x0002, 0x0004, 0x0008, 0x0010, 0x0020, 0x0080, 0x0100, 0x0200, 0x0400, 0x0800, 0x1000,
            0x2000, 0x4000, 0x8000]
DLL_FLAGS = [0x0040, 0x0080, 0x0100, 0x0200, 0x0400, 0x0800, 0x2000, 0x8000, 0x0020, 0x1000, 0x4000]
BENIGN = {b".text", b".data", b".rdata", b".idata", b".edata", b".rsrc", b".bss", b".crt", b".tls"}


def creation_year(ts):
    return 1970 + ts // 86400 // 365


def file_entropy(data):
    """Shannon entropy summed over byte values 0..255 in order (ClaMP's E_file)."""
    n = len(data)
    if n == 0:
        return 0.0
    c = Counter(data)
    ent = 0.0
    for b in range(256):
        if c[b]:
            freq = float(c[b]) / n
            ent += -freq * math.log(freq, 2)
    return ent


def opt(pe, name):
    # PE32+ has no BaseOfData: 0 (FEATURES.md).
    return getattr(pe.OPTIONAL_HEADER, name, 0)


def raw_features(pe):
    d, fh = pe.DOS_HEADER, pe.FILE_HEADER
    v = []
    for k in RAW_DOS:
        v.append(0 if k in ("e_res", "e_res2") else getattr(d, k))  # empty in the CSV
    v += [fh.Machine, fh.NumberOfSections, creation_year(fh.TimeDateStamp), fh.PointerToSymbolTable,
          fh.NumberOfSymbols, fh.SizeOfOptionalHeader, fh.Characteristics]
    v += [opt(pe, k) for k in RAW_OPT]
    return v


def fileinfo(pe):
    """1 when the first version resource's first block is a StringFileInfo whose
    first StringTable holds the four keys, and VS_FIXEDFILEINFO was read."""
    try:
        st = pe.FileInfo[0][0].StringTable[0].entries
        pe.VS_FIXEDFILEINFO[0]
        for k in (b"FileVersion", b"ProductVersion", b"ProductName", b"CompanyName"):
            st[k]
    except Exception:
        return 0
    return 1


def integrated_features(pe, data):
    d, fh, oh = pe.DOS_HEADER, pe.FILE_HEADER, pe.OPTIONAL_HEADER
    y = creation_year(fh.TimeDateStamp)
    v = [d.e_cblp, d.e_cp, d.e_cparhdr, d.e_maxalloc, d.e_sp, d.e_lfanew, fh.NumberOfSections,
         int(1980 <= y <= 2015)]
    v += [int(fh.Characteristics & f != 0) for f in FH_FLAGS]
    sa, fa = oh.SectionAlignment, oh.FileAlignment
    if sa >= 512:
        fa_ok = int(fa % 2 == 0 and 512 <= fa <= 65536)
    else:
        fa_ok = int(fa == sa)
    ib = oh.ImageBase
    v += [oh.MajorLinkerVersion, oh.MinorLinkerVersion, oh.SizeOfCode, oh.SizeOfInitializedData,
          oh.SizeOfUninitializedData, oh.AddressOfEntryPoint, oh.BaseOfCode, opt(pe, "BaseOfData"),
          int(ib % 65536 == 0 and ib in (0x10000000, 0x10000, 0x400000)),
          int(sa >= fa), fa_ok,
          oh.MajorOperatingSystemVersion, oh.MinorOperatingSystemVersion, oh.MajorImageVersion,
          oh.MinorImageVersion, oh.MajorSubsystemVersion, oh.MinorSubsystemVersion,
          int(sa != 0 and oh.SizeOfImage % sa == 0), int(fa != 0 and oh.SizeOfHeaders % fa == 0),
          oh.CheckSum, oh.Subsystem]
    v += [int(oh.DllCharacteristics & f != 0) for f in DLL_FLAGS]
    v += [oh.SizeOfStackReserve, oh.SizeOfStackCommit, oh.SizeOfHeapReserve, oh.SizeOfHeapCommit,
          int(oh.LoaderFlags == 0)]
    names = [s.Name.split(b"\x00")[0] for s in pe.sections]
    non_sus = len(set(names) & BENIGN)
    v += [len(names) - non_sus, non_sus]
    v += [None, None]  # packer, packer_type: stand-in columns
    e_text = e_data = 0.0
    for s, n in zip(pe.sections, names):
        if n == b".text":
            e_text = s.get_entropy()
        elif n == b".data":
            e_data = s.get_entropy()
    v += [e_text, e_data, len(data), file_entropy(data), fileinfo(pe)]
    return v


FULL_LOAD = False


def extract(path):
    with open(path, "rb") as fh:
        data = fh.read()
    rec = {"path": path, "size": len(data), "error": None}
    try:
        # Only the resource directory feeds a column (fileinfo); parsing the
        # others (imports, relocations, ...) as a full load does changes no
        # column on well-formed files and takes most of pefile's time.
        # --full-load does it anyway, as ClaMP's own scripts did.
        pe = pefile.PE(data=data, fast_load=not FULL_LOAD)
        if not FULL_LOAD:
            pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    except Exception as e:  # pefile.PEFormatError and friends
        rec["error"] = "%s: %s" % (type(e).__name__, e)
        return rec
    rec["raw"] = raw_features(pe)
    rec["integrated"] = integrated_features(pe, data)
    pe.close()
    return rec


def default_paths():
    pkgs = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\n"], capture_output=True, text=True,
                          check=True).stdout.split()
    pkgs = [p for p in pkgs if re.search(r"wine|mingw-w64", p)]
    files = set()
    for p in pkgs:
        out = subprocess.run(["dpkg", "-L", p], capture_output=True, text=True).stdout
        files.update(f for f in out.split("\n") if f and os.path.isfile(f) and not os.path.islink(f))
    return sorted(files)


def pe_files(paths):
    out = []
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for root, _, names in os.walk(p):
                out += [os.path.join(root, n) for n in names]
        else:
            out.append(p)
    res = []
    for p in sorted(set(out)):
        if not p or os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as fh:
            if fh.read(2) == b"MZ":
                res.append(p)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--full-load", action="store_true", help="pefile full load (all data directories)")
    a = ap.parse_args()
    global FULL_LOAD
    FULL_LOAD = a.full_load
    files = pe_files(a.paths or default_paths())
    if a.list:
        print("\n".join(files))
        return
    if a.bench:
        t0 = time.perf_counter()
        nbytes = 0
        for p in files:
            nbytes += extract(p)["size"]
        dt = time.perf_counter() - t0
        print(json.dumps({"tool": "pefile " + pefile.__version__, "files": len(files), "bytes": nbytes,
                          "seconds": dt, "files_per_sec": len(files) / dt}))
        return
    if a.j > 1:
        from multiprocessing import Pool
        with Pool(a.j) as pool:
            for rec in pool.imap(extract, files, chunksize=4):
                print(json.dumps(rec))
    else:
        for p in files:
            print(json.dumps(extract(p)))


if __name__ == "__main__":
    main()
