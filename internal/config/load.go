package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/caarlos0/env/v11"
)

// EnvPrefix starts every environment variable this package reads.
const EnvPrefix = "MARMOT_"

// reservedEnv are MARMOT_* variables that belong to cmd/marmotd, not to Config, and
// so are neither read nor rejected here.
var reservedEnv = []string{"MARMOT_CONFIG", "MARMOT_TEST_FAULTS"}

// Load returns Default() overlaid by the TOML file at path (none if path is "") and
// then by the process's MARMOT_* environment. It does not validate: flags still come
// after it (Config.Apply), and Validate must see the final result.
func Load(path string) (Config, error) {
	return LoadWithEnv(path, env.ToMap(os.Environ()))
}

// LoadWithEnv is Load with the environment given as a map instead of read from the
// process, so tests need not touch os.Setenv. A nil map is an empty environment.
func LoadWithEnv(path string, environ map[string]string) (Config, error) {
	c := Default()
	if path != "" {
		if err := decodeFile(path, &c); err != nil {
			return Config{}, err
		}
	}
	if err := FromEnv(&c, environ); err != nil {
		return Config{}, err
	}
	c.normalize()
	return c, nil
}

// decodeFile lays the file over c and rejects keys that match no field, since a
// misspelt key would otherwise silently leave its default in force.
func decodeFile(path string, c *Config) error {
	// Arrays of tables replace the default list rather than merging into it by
	// index, and each sink starts from DefaultSink so omitted keys take their
	// defaults. The decoder fills existing elements in place, so pre-size the lists.
	var shape struct {
		MySQL struct {
			Users []struct{} `toml:"users"`
		} `toml:"mysql"`
		Publisher struct {
			Sinks []struct{} `toml:"sinks"`
		} `toml:"publisher"`
	}
	if _, err := toml.DecodeFile(path, &shape); err != nil {
		return fileError(path, err)
	}
	if n := len(shape.MySQL.Users); n > 0 {
		c.MySQL.Users = make([]MySQLUser, n)
	}
	for range shape.Publisher.Sinks {
		c.Publisher.Sinks = append(c.Publisher.Sinks, DefaultSink())
	}

	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return fileError(path, err)
	}
	if len(c.MySQL.Users) == 0 {
		c.MySQL.Users = DefaultUsers()
	}

	undecoded := md.Undecoded()
	reported := map[string]bool{}
	var errs []error
	for _, k := range undecoded {
		// Report a misspelt table once, not once per key inside it.
		if len(k) > 1 && reported[k[:len(k)-1].String()] {
			reported[k.String()] = true
			continue
		}
		reported[k.String()] = true
		msg := fmt.Sprintf("config: unknown key %q in %s", k.String(), path)
		if s := suggest(k.String(), tomlKeys()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// fileError names the file and, for the one key whose spec spelling (0660) is not
// valid TOML, says how to write it.
func fileError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.LastKey == "mysql.unix_socket_perm" {
		return fmt.Errorf("config: %s: %w (write the mode as 0o660 or \"0660\")", path, err)
	}
	return fmt.Errorf("config: %s: %w", path, err)
}

// tomlKeys are every key and table path, the candidates for a suggestion.
func tomlKeys() []string {
	var keys []string
	for _, l := range leaves() {
		parts := strings.Split(l.key, ".")
		for i := range parts {
			if k := strings.Join(parts[:i+1], "."); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// FromEnv overlays the MARMOT_* variables in environ on c. Every scalar key has one:
// MARMOT_ + section + key in upper case (MARMOT_MYSQL_PORT, MARMOT_NODE_ID,
// MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY), except cluster.cluster_secret, which
// is MARMOT_CLUSTER_SECRET. Lists are comma-separated. Entries of [[mysql.users]] and
// [[publisher.sinks]] are MARMOT_MYSQL_USERS_<i>_<KEY> and
// MARMOT_PUBLISHER_SINKS_<i>_<KEY>; an index past the file's list adds an entry
// (a sink starting from DefaultSink). Empty values are ignored. An unknown MARMOT_*
// variable is an error, so a misspelt secret cannot silently leave a node open.
// On error c may be partly updated.
func FromEnv(c *Config, environ map[string]string) error {
	vars := map[string]string{}
	for k, v := range environ {
		if strings.HasPrefix(k, EnvPrefix) && len(k) > len(EnvPrefix) && !slices.Contains(reservedEnv, k) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	if err := checkEnvNames(vars); err != nil {
		return err
	}
	for len(c.Publisher.Sinks) < envListLen(vars, EnvPrefix+"PUBLISHER_SINKS_") {
		c.Publisher.Sinks = append(c.Publisher.Sinks, DefaultSink())
	}
	users := max(len(c.MySQL.Users), envListLen(vars, EnvPrefix+"MYSQL_USERS_"))
	if err := errors.Join(
		checkIndexes(vars, EnvPrefix+"MYSQL_USERS_", users),
		checkIndexes(vars, EnvPrefix+"PUBLISHER_SINKS_", len(c.Publisher.Sinks)),
	); err != nil {
		return err
	}
	opts := env.Options{Environment: vars, Prefix: EnvPrefix}
	if err := env.ParseWithOptions(c, opts); err != nil {
		return envError(vars, err)
	}
	return nil
}

var indexRE = regexp.MustCompile(`_([0-9]+)_`)

func checkEnvNames(vars map[string]string) error {
	var known []string
	for _, l := range leaves() {
		if l.env != "" {
			known = append(known, l.env)
		}
	}
	var errs []error
	for _, name := range sortedKeys(vars) {
		if slices.ContainsFunc(known, func(p string) bool { return matchEnv(p, name) }) {
			continue
		}
		// Suggest list entries with the index the operator wrote.
		index := "0"
		if m := indexRE.FindStringSubmatch(name); m != nil {
			index = m[1]
		}
		candidates := make([]string, len(known))
		for i, k := range known {
			candidates[i] = strings.Replace(k, "#", index, 1)
		}
		msg := "config: unknown environment variable " + name
		if s := suggest(name, candidates); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// checkIndexes rejects list variables the env library would skip: an index past
// both the existing list and a gap-free run of indices from 0.
func checkIndexes(vars map[string]string, prefix string, n int) error {
	var errs []error
	for _, name := range sortedKeys(vars) {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, "_")
		if i, err := strconv.Atoi(digits); err == nil && i >= n {
			errs = append(errs, fmt.Errorf("config: %s: there are %d entries (from the file and index 0 up without gaps); "+
				"number new entries on from %d", name, n, n))
		}
	}
	return errors.Join(errs...)
}

// envListLen is how many list entries the variables under prefix describe, counted
// as the env library does: indices 0, 1, … while some variable uses them.
func envListLen(vars map[string]string, prefix string) int {
	for n := 0; ; n++ {
		p := fmt.Sprintf("%s%d_", prefix, n)
		found := false
		for k := range vars {
			found = found || strings.HasPrefix(k, p)
		}
		if !found {
			return n
		}
	}
}

// envError names the variables whose values did not parse; the library's own error
// names only the Go field.
func envError(vars map[string]string, err error) error {
	var errs []error
	for _, name := range sortedKeys(vars) {
		scratch := Default()
		one := map[string]string{name: vars[name]}
		for len(scratch.Publisher.Sinks) < envListLen(one, EnvPrefix+"PUBLISHER_SINKS_") {
			scratch.Publisher.Sinks = append(scratch.Publisher.Sinks, DefaultSink())
		}
		e := env.ParseWithOptions(&scratch, env.Options{Environment: one, Prefix: EnvPrefix})
		if e == nil {
			continue
		}
		var pe env.ParseError
		if errors.As(e, &pe) {
			e = pe.Err
		}
		errs = append(errs, fmt.Errorf("config: %s=%q: %w", name, vars[name], e))
	}
	if len(errs) == 0 {
		return fmt.Errorf("config: environment: %w", err)
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
