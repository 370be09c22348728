package signatures

import (
	"embed"
	"io/fs"
	"sync"
)

//go:embed rules/*.yaml
var shipped embed.FS

// Rules is the shipped rules directory (rules/*.yaml), embedded.
func Rules() fs.FS {
	sub, err := fs.Sub(shipped, "rules")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

var (
	defOnce sync.Once
	defSet  *Set
	defErr  error
)

// Default returns the shipped rules, loaded once.
func Default() (*Set, error) {
	defOnce.Do(func() { defSet, defErr = Load(Rules()) })
	return defSet, defErr
}
