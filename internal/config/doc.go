// Package config is the single configuration pipeline of marmotd:
//
//	Default() → TOML file → MARMOT_* environment → flags → Validate()
//
// One pipeline, in one package, because a setting that can come from four places is
// only understandable if every place is applied in the same order everywhere, and
// because checking the final result once (rather than each source separately) is
// the only way to catch rules that span keys, such as gc_min_retention_hours
// against delta_sync_threshold_seconds.
//
// Precedence, later winning:
//
//  1. Default: a single node with no file, exactly the values of the product reference.
//  2. The TOML file (Load, LoadWithEnv). Keys that match no field are errors naming
//     the full key, so a typo cannot silently leave a default in force.
//  3. The environment (FromEnv): MARMOT_<SECTION>_<KEY>, e.g. MARMOT_MYSQL_PORT; the
//     cluster secret is MARMOT_CLUSTER_SECRET. Unknown MARMOT_* names are errors too.
//  4. Flags, which cmd/marmotd parses and hands over as Overrides (Config.Apply).
//  5. Validate, which reports every problem at once, each naming the TOML key, the
//     value and the reason.
//
// What it does not do: it parses no flags, opens no files other than the config
// file, and applies nothing; packages receive plain values (or the durations from
// the section methods) from cmd/marmotd.
//
// The annotated reference of every key with its default is config.toml at the root
// of the repository; a test keeps it equal to Default().
package config
