// Command marmotctl inspects and administers a marmot node.
//
// Offline commands (--data-dir) open the node's data directory directly and
// need marmotd to be stopped: Pebble allows one process per directory.
// Online commands (--addr) talk to a running node's admin API (status,
// verify, cluster members, remove, allow); backup fetches a snapshot from
// one over the peer RPCs, and restore (offline) builds a data dir from it.
// The log commands work both ways: --addr reads the log with Pull.
// bench is a load generator: a MySQL client of running nodes (--hosts).
//
// This file only dispatches; each subcommand lives in its own file as
// runX(ctx, args, stdout).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand. name is the words that select it ("log list").
type command struct {
	name  string
	run   func(ctx context.Context, args []string, stdout io.Writer) error
	usage string
}

var commands = []command{
	{"log list", runLogList, logListUsage},
	{"log tail", runLogTail, logTailUsage},
	{"log show", runLogShow, logShowUsage},
	{"log stats", runLogStats, logStatsUsage},
	{"rebuild", runRebuild, rebuildUsage},
	{"bench", runBench, benchUsage},
	{"cluster members", runClusterMembers, clusterMembersUsage},
	{"cluster remove", runClusterRemove, clusterRemoveUsage},
	{"cluster allow", runClusterAllow, clusterAllowUsage},
	{"status", runStatus, statusUsage},
	{"verify", runVerify, verifyUsage},
	{"backup", runBackup, backupUsage},
	{"restore", runRestore, restoreUsage},
	{"outbox resnapshot", runOutboxResnapshot, outboxResnapshotUsage},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run selects the command named by the leading words of args.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if c, _, ok := lookup(args[1:]); ok {
				return printCommandHelp(stdout, c)
			}
			return &usageError{err: fmt.Errorf("unknown command %q", strings.Join(args[1:], " "))}
		}
		printOverview(stdout)
		return nil
	}
	c, rest, ok := lookup(args)
	if !ok {
		return &usageError{err: fmt.Errorf("unknown command %q", strings.Join(args, " "))}
	}
	return c.run(ctx, rest, stdout)
}

// lookup finds the longest command name that prefixes args.
func lookup(args []string) (command, []string, bool) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		name := strings.Join(args[:n], " ")
		for _, c := range commands {
			if c.name == name {
				return c, args[n:], true
			}
		}
	}
	return command{}, nil, false
}

func printOverview(w io.Writer) {
	fmt.Fprintln(w, "marmotctl inspects and administers a marmot node.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n", synopsis(c.usage))
	}
	fmt.Fprintln(w, "  marmotctl help COMMAND")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Offline commands (--data-dir) need marmotd stopped; online commands (--addr)")
	fmt.Fprintln(w, "call a node's admin API on its cluster port with the cluster secret.")
	fmt.Fprintln(w, "The log commands take either: --addr reads a running node's log over the")
	fmt.Fprintln(w, "peer RPC (log tail --follow then prints every origin's new change sets).")
	fmt.Fprintln(w, "backup copies a running node's data over the same port; restore builds a new")
	fmt.Fprintln(w, "data dir from a backup.")
	fmt.Fprintln(w, "bench is a MySQL client of running nodes (--hosts).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status:")
	fmt.Fprintln(w, "  0  success: status found every member alive, verify found identical data")
	fmt.Fprintln(w, "  1  the check found a problem (verify: differences; status: a member not alive),")
	fmt.Fprintln(w, "     or an offline command failed")
	fmt.Fprintln(w, "  2  usage error, or a node could not be reached or refused the secret")
}

func printCommandHelp(w io.Writer, c command) error {
	// Parsing -h prints the usage and the flag defaults.
	if err := c.run(context.Background(), []string{"-h"}, w); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

// exitCode reports err on stderr: 0 ok or help, 2 usage or no answer
// from a node, 1 anything else (a check that found a problem included).
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var ce *connError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "marmotctl: %v\n", err)
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "marmotctl: %v\n", err)
		if ue.cmd != "" {
			fmt.Fprintf(stderr, "run 'marmotctl help %s' for usage\n", ue.cmd)
		} else {
			fmt.Fprintln(stderr, "run 'marmotctl help' for usage")
		}
		return 2
	default:
		fmt.Fprintf(stderr, "marmotctl: %v\n", err)
		return 1
	}
}
