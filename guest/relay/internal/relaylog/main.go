// Command relaylog is a host-side helper for Wine's relay channel.
//
//	relaylog -reg > include.reg     a .reg file that sets HKCU\Software\Wine\Debug\RelayInclude
//	                                to the recorded API set (import: wine64 regedit include.reg)
//	relaylog < wine-stderr.log      parse a relay log: lines, calls, returns, other lines,
//	                                and the calls per Module.Func, most frequent first
//
// It is how the figures of docs/windows.md were measured.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/relay"
)

func main() {
	reg := flag.Bool("reg", false, "print a .reg file setting RelayInclude to the recorded API set")
	top := flag.Int("top", 40, "calls per Module.Func to list")
	grep := flag.String("names", "", "comma-separated function names to count (default: list the most frequent)")
	flag.Parse()
	log.SetFlags(0)
	if *reg {
		fmt.Print("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Wine\\Debug]\r\n")
		fmt.Printf("\"RelayInclude\"=\"%s\"\r\n", relay.Include())
		return
	}
	if err := count(os.Stdin, os.Stdout, *top, *grep); err != nil {
		log.Fatal(err)
	}
}

func count(r io.Reader, w io.Writer, top int, names string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), relay.MaxLine)
	var lines, calls, rets, other, truncated int
	per := map[string]int{}
	pids := map[int]bool{}
	for sc.Scan() {
		lines++
		l, err := relay.Parse(sc.Bytes())
		switch {
		case errors.Is(err, relay.ErrNotRelay):
			other++
			continue
		case err != nil:
			return err
		}
		pids[l.PID] = true
		if l.Kind == relay.Ret {
			rets++
			continue
		}
		calls++
		if l.Truncated {
			truncated++
		}
		per[l.Module+"."+l.Func]++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "lines %d, calls %d, returns %d, other %d, truncated calls %d, processes %d, distinct functions %d\n",
		lines, calls, rets, other, truncated, len(pids), len(per))
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range per {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	if names != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(names, ",") {
			want[n] = true
		}
		for _, e := range all {
			if want[e.k[strings.LastIndexByte(e.k, '.')+1:]] {
				fmt.Fprintf(w, "%7d %s\n", e.v, e.k)
			}
		}
		return nil
	}
	for i, e := range all {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%7d %s\n", e.v, e.k)
	}
	return nil
}
