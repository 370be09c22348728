package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// ErrNoImages is returned (wrapped) by [LoadMalimg] when no image could be
// loaded.
var ErrNoImages = errors.New("no images in Malimg layout")

// Record is one image of a Malimg-layout set.
type Record struct {
	Family string          // folder name
	Label  int             // index of Family in Dataset.Classes
	Path   string          // file path (root joined with family and file name)
	Image  *features.Image // 8-bit grayscale, as stored (not resized)
}

// Dataset is a loaded Malimg-layout set.
type Dataset struct {
	Root    string
	Classes []string     // sorted family names with at least one loaded image
	Records []Record     // by family, then file name
	Skipped []*FileError // files that could not be loaded, with the reason
}

// LoadOptions configures [LoadMalimg].
type LoadOptions struct {
	Limits DecodeLimits // per-file bounds; zero fields take DefaultLimits
	// Strict makes the first unreadable, undecodable or oversized file
	// abort the load; otherwise such files are listed in Dataset.Skipped.
	Strict bool
}

// LoadMalimg loads the Malimg layout under root: one subfolder per family,
// each holding PNG files (names ending in ".png", any case). Other files,
// nested folders and names starting with "." are ignored. Each image is
// decoded with [DecodePNG] (bounded, converted to 8-bit gray).
//
// A file that cannot be read or decoded, or exceeds the limits, is listed
// in Skipped as a [*FileError] (unless opts.Strict, when it aborts the load
// with that error). Errors reading root or a family folder abort the load.
// If nothing could be loaded the error wraps [ErrNoImages] (the Dataset,
// with its Skipped list, is still returned).
func LoadMalimg(root string, opts LoadOptions) (*Dataset, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("malimg: %w", err)
	}
	ds := &Dataset{Root: root}
	byFamily := map[string][]Record{}
	for _, e := range entries {
		name := e.Name()
		dir := filepath.Join(root, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() { // follows symlinks
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("malimg: family %q: %w", name, err)
		}
		for _, f := range files {
			fn := f.Name()
			if strings.HasPrefix(fn, ".") || f.IsDir() || !strings.EqualFold(filepath.Ext(fn), ".png") {
				continue
			}
			path := filepath.Join(dir, fn)
			img, err := ReadPNGFile(path, opts.Limits)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					fe = &FileError{Path: path, Err: err}
				}
				if opts.Strict {
					return nil, fmt.Errorf("malimg: %w", fe)
				}
				ds.Skipped = append(ds.Skipped, fe)
				continue
			}
			byFamily[name] = append(byFamily[name], Record{Family: name, Path: path, Image: img})
		}
	}
	for fam := range byFamily {
		ds.Classes = append(ds.Classes, fam)
	}
	sort.Strings(ds.Classes)
	for label, fam := range ds.Classes {
		for _, r := range byFamily[fam] { // os.ReadDir sorts by file name
			r.Label = label
			ds.Records = append(ds.Records, r)
		}
	}
	if len(ds.Records) == 0 {
		return ds, fmt.Errorf("malimg: %s: %w (%d files skipped)", root, ErrNoImages, len(ds.Skipped))
	}
	return ds, nil
}

// CountByFamily returns the number of loaded images per family.
func (d *Dataset) CountByFamily() map[string]int {
	c := make(map[string]int, len(d.Classes))
	for _, r := range d.Records {
		c[r.Family]++
	}
	return c
}
