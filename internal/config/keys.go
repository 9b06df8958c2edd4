package config

import (
	"reflect"
	"strings"
)

// leaf is one settable key: its dotted TOML path and its environment variable. Keys
// inside arrays of tables have no index in their TOML path (publisher.sinks.name) and a
// "#" where the index goes in their variable (MARMOT_PUBLISHER_SINKS_#_NAME).
type leaf struct {
	key string
	env string
}

// leaves lists every key of Config by walking its tags, so the unknown-key checks,
// the suggestions and the tests cannot drift from the struct.
func leaves() []leaf {
	var out []leaf
	walk(reflect.TypeOf(Config{}), "", EnvPrefix, &out)
	return out
}

func walk(t reflect.Type, keyPrefix, envPrefix string, out *[]leaf) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch {
		case f.Type.Kind() == reflect.Struct:
			walk(f.Type, keyPrefix+name+".", envPrefix+f.Tag.Get("envPrefix"), out)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			walk(f.Type.Elem(), keyPrefix+name+".", envPrefix+f.Tag.Get("envPrefix")+"#_", out)
		default:
			l := leaf{key: keyPrefix + name}
			if e := f.Tag.Get("env"); e != "" && e != "-" {
				l.env = envPrefix + e
			}
			*out = append(*out, l)
		}
	}
}

// matchEnv reports whether name is the variable pattern with "#" standing for a
// decimal index.
func matchEnv(pattern, name string) bool {
	before, after, indexed := strings.Cut(pattern, "#")
	if !indexed {
		return pattern == name
	}
	rest, ok := strings.CutPrefix(name, before)
	if !ok {
		return false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	return n > 0 && rest[n:] == after
}

// suggest returns the candidate closest to s, or "" if none is close enough to be a
// plausible typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3 // at most two edits
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

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
