package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, c := range commands {
			if !strings.Contains(out.String(), "marmotctl "+c.name+" ") {
				t.Fatalf("%v: overview lacks %q:\n%s", args, c.name, out.String())
			}
		}
	}
}

func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{"help"}, {}} {
			var out bytes.Buffer
			argv := append(append([]string{}, args...), strings.Fields(c.name)...)
			if len(args) == 0 {
				argv = append(argv, "-h")
			}
			err := run(context.Background(), argv, &out)
			if err != nil && !errors.Is(err, errHelp) {
				t.Fatalf("%v: %v", argv, err)
			}
			if code := exitCode(err, &bytes.Buffer{}); code != 0 {
				t.Fatalf("%v: exit %d", argv, code)
			}
			if !strings.HasPrefix(out.String(), "Usage: marmotctl "+c.name) || !strings.Contains(out.String(), "\nFlags:\n") {
				t.Fatalf("%v: help is\n%s", argv, out.String())
			}
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"log"}, {"log", "nope"}, {"help", "nope"}} {
		err := run(context.Background(), args, &bytes.Buffer{})
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown command") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

func TestExitCode(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"log", "list", "--limit", "x"}, &bytes.Buffer{})
	if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), "marmotctl help log list") {
		t.Fatalf("bad flag: exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := exitCode(errInUse, &stderr); code != 1 || stderr.String() != "marmotctl: "+errInUse.Error()+"\n" {
		t.Fatalf("runtime error: exit %d, stderr %q", code, stderr.String())
	}
}
