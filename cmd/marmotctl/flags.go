package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	txlog "github.com/marmotdb/marmot/log"
)

// errHelp: -h was given and the usage printed; not a failure.
var errHelp = errors.New("help requested")

// usageError is a mistake in the command line; main exits 2 and points at
// the command's help.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(cmd, format string, a ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, a...)}
}

// newFlagSet returns a set that reports errors instead of printing them, so
// runX functions stay quiet in tests and main decides what to show.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args. On -h it prints usage and the flag defaults to
// stdout and returns errHelp. Positional arguments are refused: every input
// is a named flag.
func parseFlags(fs *flag.FlagSet, usage string, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, strings.TrimSpace(usage))
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "Flags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return errHelp
	case err != nil:
		return &usageError{cmd: fs.Name(), err: err}
	case fs.NArg() > 0:
		return usageErrorf(fs.Name(), "unexpected argument %q (all inputs are flags)", fs.Arg(0))
	}
	return nil
}

// synopsis is the first line of a usage text.
func synopsis(usage string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(usage), "\n")
	return strings.TrimPrefix(line, "Usage: ")
}

// hlcFlag is a flag.Value holding an HLC given in any form parseHLC takes.
type hlcFlag struct {
	ts   txlog.Timestamp
	form hlcForm
	set  bool
}

func (f *hlcFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.ts.String()
}

func (f *hlcFlag) Set(s string) error {
	ts, form, err := parseHLC(s)
	if err != nil {
		return err
	}
	f.ts, f.form, f.set = ts, form, true
	return nil
}
