package config

// Decoding the TOML document into File key by key, so that a value of the
// wrong type is one problem among the others (the decoder stops at the
// first), told in plain words, and an unknown key gets a "did you mean".

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// decodeInto sets dst (a pointer to a struct with toml tags) from the
// decoded table m, recording each problem with v.errf.
func (v *validator) decodeInto(prefix string, m map[string]any, dst reflect.Value) {
	st := dst.Type()
	fields := map[string]int{}
	for i := range st.NumField() {
		if tag, _, _ := strings.Cut(st.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		i, ok := fields[k]
		if !ok {
			known := make([]string, 0, len(fields))
			for f := range fields {
				known = append(known, f)
			}
			if s := suggest(k, known); s != "" {
				v.errf(key, "unknown key; did you mean %s?", s)
			} else {
				slices.Sort(known)
				v.errf(key, "unknown key (known here: %s)", strings.Join(known, ", "))
			}
			continue
		}
		v.assign(key, m[k], dst.Field(i))
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// assign sets dst from the TOML value val, or records why it cannot.
func (v *validator) assign(key string, val any, dst reflect.Value) {
	t := dst.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if v.assignValue(key, val, p.Elem()) {
			dst.Set(p)
		}
		return
	}
	v.assignValue(key, val, dst)
}

func (v *validator) assignValue(key string, val any, dst reflect.Value) bool {
	if dst.Addr().Type().Implements(textUnmarshaler) {
		var text string
		switch x := val.(type) {
		case string:
			text = x
		case int64:
			text = fmt.Sprint(x)
		default:
			v.errf(key, "want text in quotes (such as \"30s\" or \"50GiB\"), not %s", describe(val))
			return false
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			v.errf(key, "%s", err)
			return false
		}
		return true
	}
	switch dst.Kind() {
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			v.errf(key, "want true or false (without quotes), not %s", describe(val))
			return false
		}
		dst.SetBool(b)
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			v.errf(key, "want text in quotes, not %s", describe(val))
			return false
		}
		dst.SetString(s)
	case reflect.Int:
		n, ok := val.(int64)
		if !ok {
			v.errf(key, "want a whole number (such as 3, without quotes), not %s", describe(val))
			return false
		}
		dst.SetInt(n)
	case reflect.Float64:
		switch x := val.(type) {
		case float64:
			dst.SetFloat(x)
		case int64:
			dst.SetFloat(float64(x))
		default:
			v.errf(key, "want a number (such as 0.01, without quotes), not %s", describe(val))
			return false
		}
	case reflect.Slice:
		if dst.Type().Elem().Kind() == reflect.Struct { // [[table]] entries
			list, ok := asTables(val)
			if !ok {
				v.errf(key, "want [[%s]] tables, not %s", key, describe(val))
				return false
			}
			out := reflect.MakeSlice(dst.Type(), len(list), len(list))
			for i, m := range list {
				v.decodeInto(fmt.Sprintf("%s[%d]", key, i), m, out.Index(i).Addr().Elem())
			}
			dst.Set(out)
			return true
		}
		list, ok := val.([]any)
		if !ok {
			v.errf(key, "want a list such as [\"a\", \"b\"], not %s", describe(val))
			return false
		}
		out := reflect.MakeSlice(dst.Type(), 0, len(list))
		good := true
		for i, e := range list {
			ev := reflect.New(dst.Type().Elem()).Elem()
			if !v.assignValue(fmt.Sprintf("%s[%d]", key, i), e, ev) {
				good = false
				continue
			}
			out = reflect.Append(out, ev)
		}
		dst.Set(out)
		return good
	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			v.errf(key, "want a table ([%s]), not %s", key, describe(val))
			return false
		}
		v.decodeInto(key, m, dst)
	default:
		v.errf(key, "cannot be set (internal: %s)", dst.Kind())
		return false
	}
	return true
}

func asTables(val any) ([]map[string]any, bool) {
	switch x := val.(type) {
	case []map[string]any:
		return x, true
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	return nil, false
}

// describe names a TOML value's type in plain words.
func describe(val any) string {
	switch x := val.(type) {
	case string:
		return fmt.Sprintf("the text %q", ellipsis(x, 40))
	case int64:
		return fmt.Sprintf("the whole number %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v (true/false)", x)
	case time.Time:
		return "a date/time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "a list of tables"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", val)
}

func ellipsis(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// suggest returns the known key closest to k when it is close enough to
// be a typo (edit distance at most 2, or a third of the key's length).
func suggest(k string, known []string) string {
	best, bestD := "", 1<<30
	for _, c := range known {
		d := editDistance(strings.ToLower(k), c)
		// On a tie, a key of the same length (a swapped or mistyped
		// letter) beats one letter more or less, then the alphabet.
		tie := d == bestD && (len(c) == len(k)) != (len(best) == len(k))
		if d < bestD || tie && len(c) == len(k) || d == bestD && !tie && c < best {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(k)/3) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
