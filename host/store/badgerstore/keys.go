package badgerstore

// Key layout
//
// Every key starts with a one-letter namespace and a '/'. Run ids and asset keys are
// variable-length strings; wherever something follows them in a key they are terminated by a NUL
// byte (0x00), which the store refuses in both (see validName), so one prefix can never be the
// prefix of another run's or asset's keys: the events of run "a" live under "e/a\x00" and those
// of run "a/b" under "e/a/b\x00", and no key under one starts with the other. Numbers are
// fixed-width big-endian so that Badger's bytewise key order is numeric order.
//
//	v/format                              -> format version of this layout, decimal ASCII ("2")
//	s/lastid                              -> highest event ID ever assigned, 8-byte big-endian
//	r/<runID>                             -> run record, JSON (store.Run)
//	t/<createdAt: 12 bytes><runID>        -> empty; index of runs by creation time. createdAt is
//	                                         the Unix seconds (8 bytes, sign bit flipped so that
//	                                         times before 1970 sort first) followed by the
//	                                         nanoseconds (4 bytes). Iterated in reverse for
//	                                         "newest first" (CreatedAt desc, then run id desc).
//	g/<tagKey>\x00<tagValue>\x00<createdAt: 12 bytes><runID>
//	                                      -> empty; index of runs by tag, one key per tag of a
//	                                         run, written by CreateRun (tags never change). Under
//	                                         one tag it sorts like t/, so Runs with a tag filter
//	                                         walks it backwards instead of every run.
//	e/<runID>\x00<eventID: 8 bytes>       -> event, JSON (store.Event); one run's log, in ID order
//	m/<assetKey>\x00<eventID: 8 bytes>    -> copy of the ASSET_MATERIALIZATION event, JSON;
//	                                         iterated in reverse for "newest first"
//	k/<assetKey>                          -> empty; the set of materialized asset keys, sorted
//	c/<assetKey>\x00<eventID: 8 bytes>    -> copy of an ASSET_CHECK_EVALUATION event of one of
//	                                         the asset's checks, JSON; newest first like m/
//	p/<assetKey>\x00<partitionKey>        -> partition status (partitions.go): state (1 byte:
//	                                         'M', 'F' or 'I'), event ID (8 bytes), event time
//	                                         (12 bytes, as in t/), run id (the rest). Sorted by
//	                                         partition key, bytewise.
//	n/<assetKey>                          -> the asset's partition counts: materialized, failed,
//	                                         in progress, 8-byte big-endian each
//	q/<runID>\x00<assetKey>\x00<partitionKey>
//	                                      -> empty; the partitions a run planned and that it has
//	                                         not finished yet (deleted when it ends)
//	o/<runID>                             -> what finishing the run's q/ entries will write: the
//	                                         number of entries and their estimated size, 8-byte
//	                                         big-endian each (see planBudget); deleted when it ends
//	d/<name>\x00<seq: 8 bytes>            -> a key of dynamic partitions definition name, in the
//	                                         order added
//	i/<name>\x00<partitionKey>            -> seq of that key under d/; the membership index
//	b/<backfillID>                        -> backfill record, JSON (store.Backfill)
//	a/<createdAt: 12 bytes><backfillID>   -> empty; index of backfills by creation time, like t/
//	x/<namespace>\x00<key>                -> a kv resource's value (kv.go)
//
// Partition keys, tag keys and values, and dynamic partitions names are NUL-free like run ids
// (the store refuses NUL in them), so the same reasoning keeps their prefixes apart. A partition
// key is always the last part of its key and needs no terminator.
//
// The materialization index holds a copy of the event rather than a pointer to e/...: events
// are never rewritten, materialization events are a small share of all events, and a copy lets
// LatestMaterializations answer with one seek per key.
//
// s/lastid is written in the same transaction as the events it numbers, so after a crash the
// counter and the stored events agree; see Store.lastID for why IDs come from a counter and not
// from a Badger Sequence.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// formatVersion is the value of keyFormat this code writes and understands.
	formatVersion = "2"
	// formatVersion1 is the layout before the tag, partition, dynamic partition and backfill
	// namespaces; Open migrates it (migrate.go).
	formatVersion1 = "1"

	nsFormat = "v/"
	nsLastID = "s/"
	nsRun    = "r/"
	nsByTime = "t/"
	nsEvent  = "e/"
	nsMat    = "m/"
	nsCheck  = "c/"
	nsAsset  = "k/"

	nsRunTag      = "g/"
	nsPartition   = "p/"
	nsPartCounts  = "n/"
	nsPlanned     = "q/"
	nsPlanBudget  = "o/"
	nsDynamic     = "d/"
	nsDynamicKey  = "i/"
	nsBackfill    = "b/"
	nsBackfillAge = "a/"

	// sep terminates a run id or asset key inside a key.
	sep = 0x00

	timeLen = 12
	idLen   = 8
)

var (
	keyFormat = []byte(nsFormat + "format")
	keyLastID = []byte(nsLastID + "lastid")
)

// validName checks a run id or asset key before it is used in a key.
func validName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if strings.IndexByte(s, sep) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", what, s)
	}
	// Records are JSON, which would replace invalid UTF-8 and so store a different name.
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

func runKey(runID string) []byte { return []byte(nsRun + runID) }

func encodeTime(t time.Time) []byte {
	b := make([]byte, timeLen)
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return b
}

func byTimeKey(createdAt time.Time, runID string) []byte {
	k := make([]byte, 0, len(nsByTime)+timeLen+len(runID))
	k = append(k, nsByTime...)
	k = append(k, encodeTime(createdAt)...)
	return append(k, runID...)
}

// eventPrefix is the prefix of all event keys of a run.
func eventPrefix(runID string) []byte {
	k := make([]byte, 0, len(nsEvent)+len(runID)+1+idLen)
	k = append(k, nsEvent...)
	k = append(k, runID...)
	return append(k, sep)
}

func eventKey(runID string, id int64) []byte {
	return binary.BigEndian.AppendUint64(eventPrefix(runID), uint64(id))
}

// matPrefix is the prefix of all materialization index keys of an asset.
func matPrefix(assetKey string) []byte {
	k := make([]byte, 0, len(nsMat)+len(assetKey)+1+idLen)
	k = append(k, nsMat...)
	k = append(k, assetKey...)
	return append(k, sep)
}

func matKey(assetKey string, id int64) []byte {
	return binary.BigEndian.AppendUint64(matPrefix(assetKey), uint64(id))
}

func assetKey(key string) []byte { return []byte(nsAsset + key) }

// prefixEnd returns the smallest key greater than every key starting with prefix, for seeking a
// reverse iterator to the last key under prefix. Every prefix used here ends in '/' or NUL, so
// incrementing the last byte never overflows.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	end[len(end)-1]++
	return end
}

func encodeID(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func decodeID(key, v []byte) (int64, error) {
	if len(v) != idLen {
		return 0, fmt.Errorf("decode key %q: want %d bytes, have %d", key, idLen, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func checkPrefix(assetKey string) []byte {
	k := make([]byte, 0, len(nsCheck)+len(assetKey)+1+idLen)
	k = append(k, nsCheck...)
	k = append(k, assetKey...)
	return append(k, sep)
}

func checkKey(assetKey string, id int64) []byte {
	return binary.BigEndian.AppendUint64(checkPrefix(assetKey), uint64(id))
}

// nameKey returns ns + a + NUL: the prefix of every key of a under ns.
func nameKey(ns, a string, extra int) []byte {
	k := make([]byte, 0, len(ns)+len(a)+1+extra)
	k = append(k, ns...)
	k = append(k, a...)
	return append(k, sep)
}

// runTagPrefix is the prefix of the keys of every run with tag key=value.
func runTagPrefix(key, value string) []byte {
	k := nameKey(nsRunTag, key, len(value)+1+timeLen+36)
	k = append(k, value...)
	return append(k, sep)
}

func runTagKey(key, value string, createdAt time.Time, runID string) []byte {
	k := append(runTagPrefix(key, value), encodeTime(createdAt)...)
	return append(k, runID...)
}

func partitionPrefix(assetKey string) []byte { return nameKey(nsPartition, assetKey, 16) }

func partitionKey(assetKey, partition string) []byte {
	return append(partitionPrefix(assetKey), partition...)
}

func partCountsKey(assetKey string) []byte { return []byte(nsPartCounts + assetKey) }

func plannedPrefix(runID string) []byte { return nameKey(nsPlanned, runID, 32) }

func plannedKey(runID, assetKey, partition string) []byte {
	k := append(plannedPrefix(runID), assetKey...)
	k = append(k, sep)
	return append(k, partition...)
}

// splitPlannedKey returns the asset and partition of a q/ key of the run whose prefix is prefix.
func splitPlannedKey(prefix, k []byte) (asset, partition string, err error) {
	rest := k[len(prefix):]
	i := bytes.IndexByte(rest, sep)
	if i <= 0 || i == len(rest)-1 {
		return "", "", fmt.Errorf("malformed planned partition key %q", k)
	}
	return string(rest[:i]), string(rest[i+1:]), nil
}

func planBudgetKey(runID string) []byte { return []byte(nsPlanBudget + runID) }

func dynamicPrefix(name string) []byte { return nameKey(nsDynamic, name, idLen) }

func dynamicKey(name string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(dynamicPrefix(name), seq)
}

func dynamicMemberKey(name, partition string) []byte {
	return append(nameKey(nsDynamicKey, name, len(partition)), partition...)
}

func backfillKey(id string) []byte { return []byte(nsBackfill + id) }

func backfillAgeKey(createdAt time.Time, id string) []byte {
	k := make([]byte, 0, len(nsBackfillAge)+timeLen+len(id))
	k = append(k, nsBackfillAge...)
	k = append(k, encodeTime(createdAt)...)
	return append(k, id...)
}

func decodeTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}
