package ops

import (
	"context"
	"time"
)

// SetClock replaces the monitor's clock.
func (m *LagMonitor) SetClock(now func() time.Time) { m.now = now }

// Poll reads the lag now, as Run does on each tick.
func (m *LagMonitor) Poll(ctx context.Context) ([]GroupLag, error) { return m.poll(ctx) }
