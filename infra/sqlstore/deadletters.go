package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reelay/reelay/ops"
)

// The dead-letter index and replays: DB satisfies ops.Store.

// unresolved is the SQL condition of a dead letter not yet replayed or discarded.
const unresolved = `status IN ('pending', 'replaying')`

const deadLetterColumns = `consumer_group, dlq_partition, dlq_offset, dead_lettered_at, original_topic, original_partition,
	original_offset, original_timestamp, handler, error, error_class, attempts, first_failure, last_failure, event_id,
	event_type, event_source, correlation_id, replay_count, from_replay, truncated, record_key, headers, payload,
	payload_size, status, replay_id, resolved_at, resolved_by, reason`

// listedColumns are deadLetterColumns with only the payload's preview:
// a page of listings never reads whole payloads (up to 1 MiB each).
var listedColumns = strings.Replace(deadLetterColumns, "headers, payload,", "headers, substr(payload, 1, "+strconv.Itoa(ops.PreviewBytes)+"),", 1)

// AddDeadLetters indexes dead letters as pending; one already indexed is
// left as it is, so indexing a record again (redelivery) changes nothing.
func (db *DB) AddDeadLetters(ctx context.Context, ds []ops.DeadLetter) error {
	if len(ds) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, d := range ds {
		headers, err := json.Marshal(d.RawHeaders) // values as base64: exact bytes
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO dead_letters (`+deadLetterColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, NULL, NULL, NULL, NULL)
			ON CONFLICT (consumer_group, dlq_partition, dlq_offset) DO NOTHING`,
			d.Group, d.Partition, d.Offset, millis(d.DeadLetteredAt), d.Original.Topic, d.Original.Partition,
			d.Original.Offset, nullMillis(d.Original.Timestamp), d.Handler, d.Error, d.ErrorClass, d.Attempts,
			nullMillis(d.FirstFailure), nullMillis(d.LastFailure), d.EventID, d.EventType, d.EventSource, d.CorrelationID,
			d.ReplayCount, nullString(d.FromReplay), boolInt(d.Truncated), d.RawKey, headers, nonNil(d.Payload),
			d.PayloadSize, ops.StatusPending)
		if err != nil {
			return classify(operation("INSERT INTO dead_letters", err))
		}
	}
	return tx.Commit()
}

// DeadLetterSummaries counts each group's dead letters; depth, oldest,
// newest and the counts by handler and error class are of the unresolved
// ones (pending or replaying). Every query is answered from one index.
func (db *DB) DeadLetterSummaries(ctx context.Context) ([]ops.GroupSummary, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT consumer_group, status, handler, error_class, COUNT(*),
		MIN(dead_lettered_at), MAX(dead_lettered_at)
		FROM dead_letters GROUP BY consumer_group, status, handler, error_class`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []ops.GroupSummary
	byGroup := map[string]int{}
	for rows.Next() {
		var (
			group, status, handler, class string
			n                             int
			oldest, newest                int64
		)
		if err := rows.Scan(&group, &status, &handler, &class, &n, &oldest, &newest); err != nil {
			return nil, err
		}
		i, ok := byGroup[group]
		if !ok {
			i = len(out)
			byGroup[group] = i
			out = append(out, ops.GroupSummary{Group: group, ByHandler: map[string]int{}, ByErrorClass: map[string]int{}})
		}
		s := &out[i]
		s.Total += n
		switch status {
		case ops.StatusReplayed:
			s.Replayed += n
		case ops.StatusDiscarded:
			s.Discarded += n
		default: // pending, replaying: unresolved
			s.Depth += n
			s.ByHandler[handler] += n
			s.ByErrorClass[class] += n
			if o := fromMillis(oldest); s.Oldest == nil || o.Before(*s.Oldest) {
				s.Oldest = &o
			}
			if nw := fromMillis(newest); s.Newest == nil || nw.After(*s.Newest) {
				s.Newest = &nw
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ops.GroupSummary) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// DeadLetters lists a page of a group's dead letters, newest first.
func (db *DB) DeadLetters(ctx context.Context, group string, q ops.Query) ([]ops.DeadLetter, error) {
	where, args := `consumer_group = $1`, []any{group}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	where += filterSQL(ops.Filter{Handler: q.Handler, Key: q.Key, Error: q.Error}, &args)
	if c := q.After; c != nil {
		args = append(args, millis(c.At), c.Partition, c.Offset)
		n := len(args)
		where += fmt.Sprintf(` AND (dead_lettered_at < $%d OR (dead_lettered_at = $%d AND (dlq_partition > $%d OR (dlq_partition = $%d AND dlq_offset > $%d))))`,
			n-2, n-2, n-1, n-1, n)
	}
	args = append(args, q.Limit)
	return db.queryDeadLetters(ctx, `SELECT `+listedColumns+` FROM dead_letters WHERE `+where+`
		ORDER BY dead_lettered_at DESC, dlq_partition, dlq_offset LIMIT $`+strconv.Itoa(len(args)), args...)
}

// DeadLetter returns one dead letter, or ops.ErrNotFound.
func (db *DB) DeadLetter(ctx context.Context, group string, ref ops.RecordRef) (ops.DeadLetter, error) {
	ds, err := db.queryDeadLetters(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE consumer_group = $1 AND dlq_partition = $2 AND dlq_offset = $3`, group, ref.Partition, ref.Offset)
	if err != nil {
		return ops.DeadLetter{}, err
	}
	if len(ds) == 0 {
		return ops.DeadLetter{}, fmt.Errorf("dead letter %d/%d of %s: %w", ref.Partition, ref.Offset, group, ops.ErrNotFound)
	}
	return ds[0], nil
}

// replayable is the SQL condition of a dead letter a replay may send:
// whole, and replayed fewer than the cap ($n) times.
func replayable(capArg int) string {
	return `truncated = 0 AND replay_count < $` + strconv.Itoa(capArg)
}

// MatchDeadLetters lists and counts what a replay of f would send.
func (db *DB) MatchDeadLetters(ctx context.Context, group string, f ops.Filter, maxReplays, limit int) ([]ops.DeadLetter, int, int, error) {
	args := []any{group, maxReplays}
	where := `consumer_group = $1 AND status = 'pending'` + filterSQL(f, &args)
	var matched, skipped sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT SUM(CASE WHEN `+replayable(2)+` THEN 1 ELSE 0 END),
		SUM(CASE WHEN `+replayable(2)+` THEN 0 ELSE 1 END) FROM dead_letters WHERE `+where, args...).Scan(&matched, &skipped); err != nil {
		return nil, 0, 0, err
	}
	args = append(args, limit)
	ds, err := db.queryDeadLetters(ctx, `SELECT `+listedColumns+` FROM dead_letters WHERE `+where+` AND `+replayable(2)+`
		ORDER BY dlq_partition, dlq_offset LIMIT $`+strconv.Itoa(len(args)), args...)
	return ds, int(matched.Int64), int(skipped.Int64), err
}

// CreateReplay records r and selects its dead letters, in one transaction;
// a replay that selects none is done at once.
func (db *DB) CreateReplay(ctx context.Context, r ops.Replay, f ops.Filter, maxReplays int, owner string) (ops.Replay, error) {
	filter, err := json.Marshal(f)
	if err != nil {
		return r, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return r, err
	}
	defer func() { _ = tx.Rollback() }()
	args := []any{r.Group, maxReplays}
	where := `consumer_group = $1 AND status = 'pending'` + filterSQL(f, &args)
	var skipped int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dead_letters WHERE `+where+` AND NOT (`+replayable(2)+`)`,
		args...).Scan(&skipped); err != nil {
		return r, operation("SELECT FROM dead_letters", err)
	}
	args = append(args, r.ID)
	res, err := tx.ExecContext(ctx, `UPDATE dead_letters SET status = 'replaying', replay_id = $`+strconv.Itoa(len(args))+
		` WHERE `+where+` AND `+replayable(2), args...)
	if err != nil {
		return r, operation("UPDATE dead_letters", err)
	}
	total, err := res.RowsAffected()
	if err != nil {
		return r, err
	}
	r.Total, r.Skipped = int(total), skipped
	if r.Total == 0 { // nothing to send: done at once
		r.Status, r.FinishedAt = ops.ReplayDone, &r.CreatedAt
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO replays (id, consumer_group, filter, status, total, skipped, created_at, updated_at, finished_at, lease_owner, lease_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, r.ID, r.Group, string(filter), r.Status, r.Total, r.Skipped,
		millis(r.CreatedAt), millis(r.UpdatedAt), nullMillis(r.FinishedAt), owner, millis(r.LeaseUntil)); err != nil {
		return r, operation("INSERT INTO replays", err)
	}
	return r, tx.Commit()
}

// ClaimReplay leases the oldest running replay whose lease expired, or one
// already leased to owner, to owner.
func (db *DB) ClaimReplay(ctx context.Context, owner string, now, leaseUntil time.Time) (string, bool, error) {
	var id string
	err := db.write.QueryRowContext(ctx, `UPDATE replays SET lease_owner = $1, lease_until = $2
		WHERE id = (SELECT id FROM replays WHERE status = 'running' AND (lease_until < $3 OR lease_owner = $1) ORDER BY created_at LIMIT 1)
		AND status = 'running' AND (lease_until < $3 OR lease_owner = $1) RETURNING id`,
		owner, millis(leaseUntil), millis(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// ReplayBatch returns up to limit dead letters of replay id still to send.
func (db *DB) ReplayBatch(ctx context.Context, id string, limit int) ([]ops.DeadLetter, error) {
	return db.queryDeadLetters(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE replay_id = $1 AND status = 'replaying' ORDER BY dlq_partition, dlq_offset LIMIT $2`, id, limit)
}

// MarkReplayed marks sent dead letters replayed and renews owner's lease,
// in one transaction; held is false, and nothing is written, when owner no
// longer holds the replay.
func (db *DB) MarkReplayed(ctx context.Context, id, owner string, refs []ops.RecordRef, now, leaseUntil time.Time) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE replays SET updated_at = $2, lease_until = $3 WHERE id = $1 AND lease_owner = $4 AND status = 'running'`,
		id, millis(now), millis(leaseUntil), owner)
	if err != nil {
		return false, operation("UPDATE replays", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	args := []any{id, millis(now)}
	if _, err := tx.ExecContext(ctx, `UPDATE dead_letters SET status = 'replayed', resolved_at = $2
		WHERE replay_id = $1 AND status = 'replaying'`+filterSQL(ops.Filter{Records: refs}, &args), args...); err != nil {
		return false, operation("UPDATE dead_letters", err)
	}
	return true, tx.Commit()
}

// FinishReplay marks replay id done; held is false when owner no longer
// holds it.
func (db *DB) FinishReplay(ctx context.Context, id, owner string, now time.Time) (bool, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE replays SET status = 'done', finished_at = $2, updated_at = $2, lease_until = 0
		WHERE id = $1 AND lease_owner = $3 AND status = 'running'`, id, millis(now), owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseReplay ends owner's lease of replay id.
func (db *DB) ReleaseReplay(ctx context.Context, id, owner string) error {
	_, err := db.write.ExecContext(ctx, `UPDATE replays SET lease_until = 0 WHERE id = $1 AND lease_owner = $2`, id, owner)
	return err
}

// Replay returns replay id with its progress, or ops.ErrNotFound.
func (db *DB) Replay(ctx context.Context, id string) (ops.Replay, error) {
	var (
		r                            ops.Replay
		filter                       string
		created, updated, leaseUntil int64
		finished                     sql.NullInt64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, consumer_group, filter, status, total, skipped, created_at, updated_at,
		finished_at, lease_until,
		(SELECT COUNT(*) FROM dead_letters d WHERE d.replay_id = r.id AND d.status = 'replayed'),
		(SELECT COUNT(*) FROM dead_letters d WHERE d.from_replay = r.id)
		FROM replays r WHERE id = $1`, id).Scan(&r.ID, &r.Group, &filter, &r.Status, &r.Total, &r.Skipped, &created, &updated,
		&finished, &leaseUntil, &r.Published, &r.FailedAgain)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("replay %s: %w", id, ops.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(filter), &r.Filter); err != nil {
		return r, fmt.Errorf("replay %s: filter: %w", id, err)
	}
	r.CreatedAt, r.UpdatedAt, r.LeaseUntil, r.FinishedAt = fromMillis(created), fromMillis(updated), fromMillis(leaseUntil), timeOrNil(finished)
	return r, nil
}

// DiscardDeadLetters marks the pending dead letters f selects discarded.
func (db *DB) DiscardDeadLetters(ctx context.Context, group string, f ops.Filter, d ops.Discard) (int, error) {
	args := []any{group, millis(d.At), d.By, d.Reason}
	res, err := db.write.ExecContext(ctx, `UPDATE dead_letters SET status = 'discarded', resolved_at = $2, resolved_by = $3, reason = $4
		WHERE consumer_group = $1 AND status = 'pending'`+filterSQL(f, &args), args...)
	if err != nil {
		return 0, operation("UPDATE dead_letters", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// filterSQL returns the conditions of f, each starting with " AND ", and
// appends their arguments to args.
func filterSQL(f ops.Filter, args *[]any) string {
	var b strings.Builder
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	if f.Handler != "" {
		b.WriteString(" AND handler = " + arg(f.Handler))
	}
	if f.Key != "" {
		b.WriteString(" AND record_key = " + arg([]byte(f.Key)))
	}
	if f.Error != "" {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(lowerASCII(f.Error))
		b.WriteString(" AND LOWER(error) LIKE " + arg("%"+esc+"%") + ` ESCAPE '\'`)
	}
	if f.Partition != nil {
		b.WriteString(" AND dlq_partition = " + arg(*f.Partition))
	}
	if f.FromOffset != nil {
		b.WriteString(" AND dlq_offset >= " + arg(*f.FromOffset))
	}
	if f.ToOffset != nil {
		b.WriteString(" AND dlq_offset <= " + arg(*f.ToOffset))
	}
	if len(f.Records) > 0 {
		ors := make([]string, len(f.Records))
		for i, r := range f.Records {
			ors[i] = "(dlq_partition = " + arg(r.Partition) + " AND dlq_offset = " + arg(r.Offset) + ")"
		}
		b.WriteString(" AND (" + strings.Join(ors, " OR ") + ")")
	}
	return b.String()
}

// lowerASCII lowers ASCII letters only, as SQLite's LOWER does, so that
// an error filter matches alike on both databases.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (db *DB) queryDeadLetters(ctx context.Context, query string, args ...any) ([]ops.DeadLetter, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := []ops.DeadLetter{}
	for rows.Next() {
		var (
			d                                        ops.DeadLetter
			at                                       int64
			origTS, first, last, resolvedAt          sql.NullInt64
			fromReplay, replayID, resolvedBy, reason sql.NullString
			truncated                                int
			key, headers, payload                    []byte
		)
		if err := rows.Scan(&d.Group, &d.Partition, &d.Offset, &at, &d.Original.Topic, &d.Original.Partition,
			&d.Original.Offset, &origTS, &d.Handler, &d.Error, &d.ErrorClass, &d.Attempts, &first, &last, &d.EventID,
			&d.EventType, &d.EventSource, &d.CorrelationID, &d.ReplayCount, &fromReplay, &truncated, &key, &headers, &payload,
			&d.PayloadSize, &d.Status, &replayID, &resolvedAt, &resolvedBy, &reason); err != nil {
			return nil, err
		}
		var raw map[string][]byte
		if err := json.Unmarshal(headers, &raw); err != nil {
			return nil, fmt.Errorf("dead letter %d/%d headers: %w", d.Partition, d.Offset, err)
		}
		d.DeadLetteredAt, d.Original.Timestamp, d.FirstFailure, d.LastFailure = fromMillis(at), timeOrNil(origTS), timeOrNil(first), timeOrNil(last)
		d.FromReplay, d.ReplayID, d.Truncated = fromReplay.String, replayID.String, truncated != 0
		if d.Status == ops.StatusDiscarded {
			d.Discard = &ops.Discard{By: resolvedBy.String, At: fromMillis(resolvedAt.Int64), Reason: reason.String}
		}
		out = append(out, d.WithRaw(key, raw, payload))
	}
	return out, rows.Err()
}

func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

func timeOrNil(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
