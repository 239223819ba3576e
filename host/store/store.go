// Package store defines where wasmorch keeps run state: runs, the append-only event log of each
// run, and the index of asset materializations derived from it.
//
// The interfaces here are what the rest of the host programs against. One implementation ships
// now (package badgerstore, embedded); they are shaped so that a PostgreSQL implementation serving
// several hosts can be added without changing callers, and package storetest holds the one suite
// every implementation must pass.
//
// The rule this package exists to keep: every state change is an event appended to a run's event
// log. A run's status and the asset catalog are derived from those events inside the same
// transaction that appends them; nothing writes a status twice by hand.
//
// This package must not import wazero, Arrow or anything that runs guests.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Implementations wrap them with context; callers check with errors.Is.
var (
	// ErrRunNotFound is returned for a run id the store does not know.
	ErrRunNotFound = errors.New("run not found")
	// ErrRunExists is returned by CreateRun for an id already stored.
	ErrRunExists = errors.New("run already exists")
	// ErrRunFinished is returned by AppendEvents when a run-status event would move a run out of
	// a terminal status (SUCCESS, FAILURE, CANCELED): a run finishes exactly once.
	ErrRunFinished = errors.New("run already finished")
	// ErrInvalidTransition is returned by AppendEvents for a run-status event that does not
	// follow from the run's current status (for example RUN_SUCCESS on a run never started).
	ErrInvalidTransition = errors.New("invalid run status transition")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store is closed")
	// ErrLocked is returned by an embedded store whose files another process holds open.
	ErrLocked = errors.New("store is in use by another process")
	// ErrBackfillNotFound is returned for a backfill id the store does not know.
	ErrBackfillNotFound = errors.New("backfill not found")
	// ErrBackfillExists is returned by CreateBackfill for an id already stored.
	ErrBackfillExists = errors.New("backfill already exists")
)

// RunStatus is the derived status of a run.
type RunStatus string

// Run statuses. A run is created NOT_STARTED (or QUEUED by a queue, later), becomes STARTED on
// RUN_START and ends in exactly one of the terminal statuses.
const (
	RunNotStarted RunStatus = "NOT_STARTED"
	RunQueued     RunStatus = "QUEUED"
	RunStarted    RunStatus = "STARTED"
	RunSuccess    RunStatus = "SUCCESS"
	RunFailure    RunStatus = "FAILURE"
	RunCanceled   RunStatus = "CANCELED"
)

// Finished reports whether s is terminal.
func (s RunStatus) Finished() bool {
	return s == RunSuccess || s == RunFailure || s == RunCanceled
}

// Run is a stored run. Status, StartedAt and EndedAt are derived from the run's events by the
// store; the values passed to CreateRun for them are ignored (Status starts NOT_STARTED).
type Run struct {
	ID string `json:"id"`
	// JobName is the job the run executes; ad hoc asset materializations use AssetJobName.
	JobName string `json:"job_name"`
	// Selection is the asset selection the user asked for, as typed.
	Selection string `json:"selection,omitempty"`
	// StepKeys are the planned steps, in plan order.
	StepKeys []string `json:"step_keys,omitempty"`
	// Config is the run config as JSON (secrets already redacted by the caller).
	Config    []byte            `json:"config,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Status    RunStatus         `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	StartedAt time.Time         `json:"started_at,omitzero"`
	EndedAt   time.Time         `json:"ended_at,omitzero"`
	// ParentRunID and RootRunID link a re-execution to the runs it came from.
	ParentRunID string `json:"parent_run_id,omitempty"`
	RootRunID   string `json:"root_run_id,omitempty"`
}

// AssetJobName is the job name recorded for ad hoc asset materializations (Dagster's
// __ASSET_JOB).
const AssetJobName = "__ASSET_JOB"

// EventType names a kind of event.
type EventType string

// Event types. Run-status events (RUN_*) change the run's derived status; the store syncs them to
// stable storage before AppendEvents returns.
const (
	EventRunStart   EventType = "RUN_START"
	EventRunSuccess EventType = "RUN_SUCCESS"
	EventRunFailure EventType = "RUN_FAILURE"
	EventRunCancel  EventType = "RUN_CANCELED"

	EventStepStart   EventType = "STEP_START"
	EventStepSuccess EventType = "STEP_SUCCESS"
	EventStepFailure EventType = "STEP_FAILURE"
	EventStepSkipped EventType = "STEP_SKIPPED"
	// EventStepRetry records a failed attempt that will be retried (Dagster's STEP_UP_FOR_RETRY).
	EventStepRetry EventType = "STEP_UP_FOR_RETRY"

	EventLog             EventType = "LOG"
	EventMaterialization EventType = "ASSET_MATERIALIZATION"
	// EventCheckEvaluation records the result of an asset check.
	EventCheckEvaluation EventType = "ASSET_CHECK_EVALUATION"
	// EventMaterializationPlanned records, when a run starts, which partitions of one asset the run
	// will materialize. It carries Planned.
	EventMaterializationPlanned EventType = "ASSET_MATERIALIZATION_PLANNED"
)

// IsRunStatus reports whether events of type t change a run's status.
func (t EventType) IsRunStatus() bool {
	switch t {
	case EventRunStart, EventRunSuccess, EventRunFailure, EventRunCancel:
		return true
	}
	return false
}

// Log levels used in Event.Level.
const (
	LevelDebug = "DEBUG"
	LevelInfo  = "INFO"
	LevelWarn  = "WARNING"
	LevelError = "ERROR"
)

// Event is one entry in a run's event log.
type Event struct {
	// ID is assigned by the store on append: unique across the store and increasing in append
	// order (a cursor for sensors and live views). Gaps are allowed.
	ID    int64     `json:"id"`
	RunID string    `json:"run_id"`
	Type  EventType `json:"type"`
	Time  time.Time `json:"time"`
	// StepKey is set on step events and on logs and materializations a step produced.
	StepKey string `json:"step_key,omitempty"`
	// Level is set on LOG events (LevelDebug ... LevelError).
	Level   string `json:"level,omitempty"`
	Message string `json:"message,omitempty"`
	// Error is the failure message on *_FAILURE events.
	Error string `json:"error,omitempty"`
	// Materialization is set on ASSET_MATERIALIZATION events.
	Materialization *Materialization `json:"materialization,omitempty"`
	// CheckEvaluation is set on ASSET_CHECK_EVALUATION events.
	CheckEvaluation *CheckEvaluation `json:"check_evaluation,omitempty"`
	// Planned is set on ASSET_MATERIALIZATION_PLANNED events.
	Planned *PlannedMaterialization `json:"planned,omitempty"`
	// Metadata holds anything else worth keeping with the event (durations, attempt numbers).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Materialization records that a run stored a new value for an asset.
type Materialization struct {
	AssetKey     string `json:"asset_key"`
	PartitionKey string `json:"partition_key,omitempty"`
	// Format is the stored value's format: "arrow", "json" or "bytes".
	Format string `json:"format"`
	// Location is where the IO manager put the value (for the filesystem manager, a path).
	Location string `json:"location"`
	// IOManager is the key of the IO manager that stored it.
	IOManager string `json:"io_manager"`
	// CodeVersion is the sha256 digest of the module that produced the value.
	CodeVersion string `json:"code_version"`
	// Metadata is what the host measured (rows, bytes, schema, duration) plus what the guest
	// attached.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// CheckEvaluation records the result of one asset check.
type CheckEvaluation struct {
	AssetKey  string `json:"asset_key"`
	CheckName string `json:"check_name"`
	Passed    bool   `json:"passed"`
	// Severity is "WARN" or "ERROR".
	Severity string `json:"severity"`
	Blocking bool   `json:"blocking,omitempty"`
	// Metadata is what the check attached, plus "error" when the check itself failed to run.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// PlannedMaterialization is carried by ASSET_MATERIALIZATION_PLANNED events.
type PlannedMaterialization struct {
	AssetKey      string   `json:"asset_key"`
	PartitionKeys []string `json:"partition_keys,omitempty"`
}

// PartitionState is the derived state of one partition of an asset.
type PartitionState string

// Partition states. A partition becomes IN_PROGRESS when a run plans it
// (ASSET_MATERIALIZATION_PLANNED), MATERIALIZED when a materialization of it is appended, and
// FAILED when the run that last planned it ends without materializing it.
const (
	// PartitionMissing is the state of a partition never planned nor materialized. The store
	// never returns it (it does not know the partitions definition); callers fill it in.
	PartitionMissing      PartitionState = "MISSING"
	PartitionMaterialized PartitionState = "MATERIALIZED"
	PartitionFailed       PartitionState = "FAILED"
	PartitionInProgress   PartitionState = "IN_PROGRESS"
)

// PartitionStatus is the indexed state of one partition.
type PartitionStatus struct {
	Key   string         `json:"key"`
	State PartitionState `json:"state"`
	// RunID is the run that last changed the state; EventID the event that did.
	RunID   string    `json:"run_id"`
	EventID int64     `json:"event_id"`
	Time    time.Time `json:"time"`
}

// PartitionCounts counts an asset's indexed partitions by state (MISSING is never counted: the
// store does not know the definition).
type PartitionCounts struct {
	Materialized int `json:"materialized"`
	Failed       int `json:"failed"`
	InProgress   int `json:"in_progress"`
}

// BackfillTag is the run tag that names the backfill a run belongs to; a backfill's runs are
// found with RunFilter{Tags: map[string]string{BackfillTag: id}}.
const BackfillTag = "wasmorch/backfill"

// BackfillStatus is the status of a backfill.
type BackfillStatus string

// Backfill statuses. A backfill is created REQUESTED and ends in one of the others; any of those
// may go back to REQUESTED when the backfill is resumed.
const (
	BackfillRequested BackfillStatus = "REQUESTED" // launched or resumed, not finished
	BackfillCompleted BackfillStatus = "COMPLETED" // every partition materialized
	BackfillFailed    BackfillStatus = "FAILED"    // finished with some partitions failed
	BackfillCanceled  BackfillStatus = "CANCELED"
)

// Valid reports whether s is one of the backfill statuses.
func (s BackfillStatus) Valid() bool {
	switch s {
	case BackfillRequested, BackfillCompleted, BackfillFailed, BackfillCanceled:
		return true
	}
	return false
}

// Backfill is a stored backfill: the request to materialize a selection for a range of
// partitions, and where it stands. Its runs carry the tag BackfillTag with its ID.
type Backfill struct {
	ID        string `json:"id"`
	Selection string `json:"selection"`
	// PartitionKeys are the targeted partitions of the selection's root definition, in order.
	PartitionKeys []string `json:"partition_keys"`
	From          string   `json:"from,omitempty"`
	To            string   `json:"to,omitempty"`
	OneRun        bool     `json:"one_run,omitempty"`
	Concurrency   int      `json:"concurrency,omitempty"`
	// Config is the run config as JSON (secrets already redacted by the caller).
	Config    []byte            `json:"config,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Status    BackfillStatus    `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	EndedAt   time.Time         `json:"ended_at,omitzero"`
	// Error is why a backfill failed or was canceled, if known.
	Error string `json:"error,omitempty"`
}

// NextBackfillStatus checks that a backfill in status cur may move to next: REQUESTED may move
// to any status, the others only back to REQUESTED (a resume), and every status to itself. It
// returns an error wrapping ErrInvalidTransition otherwise. Implementations share it so that
// every store applies the same rules.
func NextBackfillStatus(cur, next BackfillStatus) error {
	if !next.Valid() {
		return fmt.Errorf("%w: unknown backfill status %q (want %s, %s, %s or %s)", ErrInvalidTransition,
			next, BackfillRequested, BackfillCompleted, BackfillFailed, BackfillCanceled)
	}
	if cur == next || cur == BackfillRequested || next == BackfillRequested {
		return nil
	}
	return fmt.Errorf("%w: backfill is %s, cannot become %s (only a resume, to %s, leaves %s)",
		ErrInvalidTransition, cur, next, BackfillRequested, cur)
}

// RunFilter narrows Runs. The zero value lists every run, newest first.
type RunFilter struct {
	Statuses []RunStatus
	JobName  string
	// Tags keeps the runs that have every one of these tags, with these values.
	Tags map[string]string
	// Limit caps the number of runs returned; 0 means no limit.
	Limit int
}

// Store is the run storage of one wasmorch instance. Implementations are safe for concurrent use.
//
// Behaviour every implementation shares (package storetest checks it):
//   - CreateRun is durable before it returns, like run-status events.
//   - Runs orders by CreatedAt, newest first, then by run id descending.
//   - Events of an unknown run is ErrRunNotFound; a negative limit is an error.
//   - Event IDs increase in commit order, so a cursor "ID > N" never skips an event.
//   - AssetKeys sorts bytewise (a SQL store needs COLLATE "C").
//   - A zero CreatedAt or event Time is set to the time of the call.
//   - Metadata round-trips through JSON: numbers come back as float64.
//   - The partition index is derived from events in the transaction that appends them:
//     ASSET_MATERIALIZATION_PLANNED makes each listed partition IN_PROGRESS with the run,
//     ASSET_MATERIALIZATION with a partition key makes it MATERIALIZED, and a run-status event
//     that ends a run makes every partition that run planned and that is still IN_PROGRESS with
//     that run FAILED. A planned event on a finished run is ErrRunFinished: nothing would ever end
//     those partitions.
//   - CreateBackfill, SetBackfillStatus and the dynamic partition methods are durable before they
//     return.
type Store interface {
	// CreateRun stores a new run with status NOT_STARTED. It fails with ErrRunExists if the id is
	// taken.
	CreateRun(ctx context.Context, run Run) error
	// Run returns a stored run or ErrRunNotFound.
	Run(ctx context.Context, id string) (Run, error)
	// Runs lists runs newest first.
	Runs(ctx context.Context, filter RunFilter) ([]Run, error)

	// AppendEvents appends events to the run's log in one transaction, assigning each an ID,
	// and returns them with their IDs set. In the same transaction it applies every run-status
	// event to the run (status, StartedAt, EndedAt) and indexes every materialization under its
	// asset key. If any event is a run-status event the write is synced to stable storage before
	// AppendEvents returns. Nothing is written if any event is rejected (ErrRunNotFound,
	// ErrRunFinished, ErrInvalidTransition) or if an event's RunID is set and differs from runID.
	AppendEvents(ctx context.Context, runID string, events ...Event) ([]Event, error)
	// Events returns up to limit events of a run with ID > afterID, in append order. A limit of 0
	// means no limit.
	Events(ctx context.Context, runID string, afterID int64, limit int) ([]Event, error)

	// AssetKeys lists every asset key with at least one materialization, sorted.
	AssetKeys(ctx context.Context) ([]string, error)
	// Materializations returns up to limit materialization events of an asset, newest first
	// (0 means no limit). An asset never materialized gives an empty slice, not an error.
	Materializations(ctx context.Context, assetKey string, limit int) ([]Event, error)
	// LatestMaterializations returns the newest materialization event of each given key that has
	// one; keys without any are absent from the map.
	LatestMaterializations(ctx context.Context, assetKeys ...string) (map[string]Event, error)
	// CheckEvaluations returns up to limit check evaluation events of an asset's checks, newest
	// first (0 means no limit); AppendEvents indexes them like materializations.
	CheckEvaluations(ctx context.Context, assetKey string, limit int) ([]Event, error)

	// PartitionStatuses returns the indexed status of an asset's partitions with key > afterKey,
	// sorted by key bytewise, at most limit (0: all). Partitions never planned nor materialized
	// are absent. It reads the index, never the event log.
	PartitionStatuses(ctx context.Context, assetKey, afterKey string, limit int) ([]PartitionStatus, error)
	// PartitionStatusesOf returns the status of the given keys of an asset (absent keys are absent from the map).
	PartitionStatusesOf(ctx context.Context, assetKey string, keys ...string) (map[string]PartitionStatus, error)
	// PartitionCounts counts an asset's indexed partitions by state without iterating them.
	PartitionCounts(ctx context.Context, assetKey string) (PartitionCounts, error)

	// AddDynamicPartitions adds keys to the dynamic partitions definition name, durably, and
	// returns those that were new (adding an existing key is not an error).
	AddDynamicPartitions(ctx context.Context, name string, keys ...string) ([]string, error)
	// DeleteDynamicPartitions removes keys; a key that is not there is an error naming it, and nothing is removed then.
	DeleteDynamicPartitions(ctx context.Context, name string, keys ...string) error
	// DynamicPartitions lists the keys of name in the order they were added (empty, not an error, for an unknown name).
	DynamicPartitions(ctx context.Context, name string) ([]string, error)

	// CreateBackfill stores a new backfill with status REQUESTED (the Status, EndedAt and Error
	// passed are ignored), durably. It fails with ErrBackfillExists if the id is taken. A zero
	// CreatedAt is set to the time of the call.
	CreateBackfill(ctx context.Context, b Backfill) error
	// Backfill returns a stored backfill or ErrBackfillNotFound.
	Backfill(ctx context.Context, id string) (Backfill, error)
	// Backfills lists up to limit backfills (0: all), newest first (CreatedAt desc, then id desc).
	Backfills(ctx context.Context, limit int) ([]Backfill, error)
	// SetBackfillStatus moves a backfill to status, durably, setting EndedAt for the terminal
	// statuses and clearing it for REQUESTED (resume). CANCELED, COMPLETED and FAILED may go back
	// to REQUESTED (resume); REQUESTED may go to any; moving to the status it already has is fine; anything else is an
	// error wrapping ErrInvalidTransition. errMsg is stored in Error (cleared on REQUESTED).
	// Moving to the status it already has keeps EndedAt, and keeps Error when errMsg is empty.
	SetBackfillStatus(ctx context.Context, id string, status BackfillStatus, errMsg string) (Backfill, error)

	// Close flushes and releases the store. It is safe to call more than once.
	Close() error
}

// NextStatus returns the status a run in status cur moves to on an event of type t, or an error
// wrapping ErrRunFinished or ErrInvalidTransition. Implementations share it so that every store
// applies the same rules.
func NextStatus(cur RunStatus, t EventType) (RunStatus, error) {
	if cur.Finished() {
		return cur, fmt.Errorf("%w: run is %s, cannot apply %s", ErrRunFinished, cur, t)
	}
	switch t {
	case EventRunStart:
		if cur != RunNotStarted && cur != RunQueued {
			return cur, fmt.Errorf("%w: %s on a run that is %s", ErrInvalidTransition, t, cur)
		}
		return RunStarted, nil
	case EventRunSuccess:
		if cur != RunStarted {
			return cur, fmt.Errorf("%w: %s on a run that is %s", ErrInvalidTransition, t, cur)
		}
		return RunSuccess, nil
	case EventRunFailure:
		// A run may fail before it starts (for example, its plan is invalid).
		return RunFailure, nil
	case EventRunCancel:
		return RunCanceled, nil
	}
	return cur, fmt.Errorf("%w: %s is not a run-status event", ErrInvalidTransition, t)
}

// EventStepOutput records a value an op step stored for one of its outputs. Its metadata holds
// "output" (the name, with the mapping key of a dynamic output: "chunks[eu]"), "mapping_key",
// "location", "io_manager", "format", "bytes" and, for Arrow, "rows".
const EventStepOutput EventType = "STEP_OUTPUT"

// KV is implemented by stores that keep the data of kv resources (ABI.md 4.7): values by key,
// in namespaces that never see each other's keys. The host uses it when the store has it, and
// an in-memory map otherwise.
type KV interface {
	// KVGet returns the value of key and whether it exists.
	KVGet(ctx context.Context, namespace, key string) ([]byte, bool, error)
	// KVPut sets key to value, durably.
	KVPut(ctx context.Context, namespace, key string, value []byte) error
	// KVDelete removes key; deleting a missing key is not an error.
	KVDelete(ctx context.Context, namespace, key string) error
	// KVList returns the keys that start with prefix in byte order, at most limit of them (all
	// when limit <= 0).
	KVList(ctx context.Context, namespace, prefix string, limit int) ([]string, error)
}
