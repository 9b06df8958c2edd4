package log

import (
	"errors"
	"fmt"
)

var (
	// ErrConflict: a row the transaction writes has a newer version than the
	// one the transaction read. The caller retries or reports a deadlock.
	ErrConflict = errors.New("log: write conflict")
	// ErrGap: a replicated change set skips a sequence number of its origin.
	ErrGap = errors.New("log: sequence gap")
	// ErrNotFound: no such change set.
	ErrNotFound = errors.New("log: entry not found")
	// ErrCorrupt: stored bytes do not decode; the data dir needs repair from a peer.
	ErrCorrupt = errors.New("log: corrupt entry")
	// ErrClockSkew: a peer's clock is too far ahead of ours.
	ErrClockSkew = errors.New("log: clock skew")
	// ErrFinished: a prepare arrived for a transaction that already ended.
	ErrFinished = errors.New("log: transaction already committed or aborted")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("log: closed")
)

// ConflictError says which row made a Commit fail and which version won it,
// so the caller can wait for that version to be applied before retrying.
type ConflictError struct {
	Table   string
	Key     string
	Version Version
	// Intent: the row is claimed by a prepared transaction that has not
	// committed yet; Version is then zero. Retry after a short pause.
	Intent bool
	// Reason, if set, replaces the row in the message: the conflict is
	// with the transaction's own timing, not with one row.
	Reason string
}

func (e *ConflictError) Error() string {
	if e.Reason != "" {
		return "log: write conflict: " + e.Reason
	}
	if e.Intent {
		return fmt.Sprintf("log: write conflict: %s row %s is being written by another transaction", e.Table, e.Key)
	}
	return fmt.Sprintf("log: write conflict: %s row %s changed by %s", e.Table, e.Key, e.Version.HLC)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
