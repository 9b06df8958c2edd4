// Package peer is the cluster layer of a node: membership, the Connect RPC
// service nodes call on each other, and the two-phase commit that turns a
// local change set into a cluster write.
//
// Membership: nodes find each other from seed_nodes and gossip who is alive
// (gossip_interval_ms, gossip_fanout), so every node knows the set a quorum
// is counted over; an operator can remove a node from it.
//
// Writes: the node that ran a transaction is its coordinator. At QUORUM and
// ALL it sends prepare (the change set and the row versions it read) to the
// peers; each records intents on the rows and checks that the versions are
// still the latest, so two concurrent transactions writing one row cannot
// both gather a quorum and the loser gets MySQL's deadlock error (1213).
// Commit makes the change set durable through the log (Ingest on peers,
// Commit on the origin); abort or an expired heartbeat drops the intents.
// At ONE the origin commits alone and the change set reaches the others
// afterwards. A node that cannot reach a quorum refuses QUORUM writes with
// a clear error and applies nothing. RPCs share HTTP/2 connections and are
// pipelined; no SQLite lock is held across a round trip.
//
// Wire format: the services and messages in proto/marmot/v1 (generated code
// committed beside them); change sets travel as marmot.v1.ChangeSet.
//
// What it does not do: run SQL or touch SQLite (frontend, materializer),
// store anything outside the log, or repair nodes that missed writes
// (antientropy). Capabilities it needs from other packages are small
// interfaces declared here and passed in by cmd/marmotd.
//
// Files: membership*.go (gossip membership, the Hello bootstrap, the
// persisted member table), service.go (Pull streams: serving and
// following), coordinator.go and participant.go (the two sides of the
// commit), auth.go (HMAC of the cluster secret over node id and time on
// every call), admin.go (/admin/cluster/*), transport.go (h2c).
package peer
