package peer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
)

// membersFile is where the member table is persisted.
func membersFile(dir string) string { return filepath.Join(dir, "members.json") }

// storedMembers is members.json, and the push/pull state exchanged with
// other members.
type storedMembers struct {
	Members  []storedMember     `json:"members"`
	Removals map[uint64]removal `json:"removals,omitempty"`
}

type storedMember struct {
	ID     uint64 `json:"id"`
	Addr   string `json:"addr"`             // peer RPC host:port
	Gossip string `json:"gossip,omitempty"` // gossip host:port
}

// removal is a last-writer-wins record of an operator's Remove (Removed) or
// Allow (!Removed) of one node id. Ver is a wall-clock nanosecond stamp,
// bumped past the record it replaces; on a tie a removal wins.
type removal struct {
	Removed bool   `json:"removed"`
	Ver     uint64 `json:"ver"`
}

func (r removal) newerThan(o removal) bool {
	return r.Ver > o.Ver || (r.Ver == o.Ver && r.Removed && !o.Removed)
}

func nextVersion(prev uint64) uint64 {
	return max(uint64(time.Now().UnixNano()), prev+1)
}

// removalMsg is a gossiped removal record (memberlist user message).
type removalMsg struct {
	ID uint64  `json:"id"`
	R  removal `json:"r"`
}

// removalBroadcast is one removalMsg in memberlist's broadcast queue; a newer
// record of the same id replaces an older one still queued.
type removalBroadcast struct {
	id  uint64
	msg []byte
}

func (b *removalBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*removalBroadcast)
	return ok && o.id == b.id
}
func (b *removalBroadcast) Message() []byte { return b.msg }
func (b *removalBroadcast) Finished()       {}

func (m *Membership) broadcastRemoval(id uint64, r removal) {
	b, _ := json.Marshal(removalMsg{ID: id, R: r})
	m.bcast.QueueBroadcast(&removalBroadcast{id: id, msg: b})
}

// snapshot is the table as stored and pushed.
func (m *Membership) snapshot() storedMembers {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := storedMembers{Removals: make(map[uint64]removal, len(m.removals))}
	for _, r := range m.members {
		st.Members = append(st.Members, storedMember{ID: r.id, Addr: r.addr, Gossip: r.gossip})
	}
	slices.SortFunc(st.Members, func(a, b storedMember) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	for id, r := range m.removals {
		st.Removals[id] = r
	}
	return st
}

// load reads members.json, if there is one: the members start dead until
// gossip sees them.
func (m *Membership) load() error {
	if err := os.MkdirAll(m.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	b, err := os.ReadFile(m.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	var st storedMembers
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("membership: %s is damaged (%v); it lists the cluster's members, which quorum is counted over: repair it, or delete it and let this node learn them from its seeds", m.file, err)
	}
	for _, s := range st.Members {
		if s.ID == 0 || st.Removals[s.ID].Removed {
			continue
		}
		m.members[s.ID] = &memberRec{id: s.ID, addr: s.Addr, gossip: s.Gossip, state: MemberDead}
	}
	for id, r := range st.Removals {
		m.removals[id] = r
	}
	return nil
}

// save writes the table to members.json (atomically: temp file, fsync,
// rename, fsync of the directory). Writes are serialized and each writes the
// latest table, so an older table never overwrites a newer one.
func (m *Membership) save() error {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	b, err := json.MarshalIndent(m.snapshot(), "", "  ")
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	if err := writeFileSync(m.file, append(b, '\n')); err != nil {
		return fmt.Errorf("membership: save member table: %w", err)
	}
	return nil
}

// saveLater saves from the dispatcher goroutine (callers may be inside
// memberlist's locks); queued saves coalesce.
func (m *Membership) saveLater() {
	if !m.saving.CompareAndSwap(false, true) {
		return
	}
	m.events.push(func() {
		m.saving.Store(false)
		if err := m.save(); err != nil {
			m.logger.Error("membership", "err", err)
		}
	})
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// mergeRemovals applies removal records learned from the cluster (gossip
// when rebroadcast, else push/pull). Removed members leave the table; if
// this node itself was removed it stops gossiping.
func (m *Membership) mergeRemovals(remote map[uint64]removal, rebroadcast bool) {
	type change struct {
		id uint64
		r  removal
	}
	var changed []change
	selfRemoved := false
	m.mu.Lock()
	for id, r := range remote {
		if id == 0 {
			continue
		}
		if cur, ok := m.removals[id]; ok && !r.newerThan(cur) {
			continue
		}
		m.removals[id] = r
		changed = append(changed, change{id, r})
		if r.Removed {
			if id == m.id {
				selfRemoved = true
				m.fatal, m.joined = true, false
			} else {
				delete(m.members, id)
			}
		} else {
			m.readmitLocked(id)
		}
	}
	m.mu.Unlock()
	if len(changed) == 0 {
		return
	}
	for _, c := range changed {
		if c.r.Removed {
			m.logger.Warn("member removed (learned from the cluster)", "member", c.id)
		} else {
			m.logger.Info("removed node allowed to rejoin (learned from the cluster)", "member", c.id)
		}
		if rebroadcast {
			m.broadcastRemoval(c.id, c.r)
		}
	}
	m.saveLater()
	if selfRemoved {
		m.refuse(fmt.Errorf("this node (id %d, %s) was removed from the cluster by an operator; it has left the gossip. Allow it on a member, then restart it", m.id, m.addr), true)
		go m.stopGossip(true) // not on memberlist's goroutine: leaving waits for it
	}
}

// mergeMembers adds members another node knows and this one does not (as
// dead until gossip sees them), so every node counts the same members.
func (m *Membership) mergeMembers(remote []storedMember) {
	added := 0
	m.mu.Lock()
	for _, s := range remote {
		if s.ID == 0 || s.ID == m.id || m.removals[s.ID].Removed || m.members[s.ID] != nil {
			continue
		}
		added++
		if m.readmitLocked(s.ID) {
			continue // memberlist holds it live: alive, at the address gossip gave
		}
		m.members[s.ID] = &memberRec{id: s.ID, addr: s.Addr, gossip: s.Gossip, state: MemberDead}
		m.logger.Info("learned of member", "member", s.ID, "addr", s.Addr)
	}
	m.mu.Unlock()
	if added > 0 {
		m.saveLater()
	}
}
