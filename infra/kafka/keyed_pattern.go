package kafka

import (
	"context"
	"strings"
	"time"

	"github.com/reelay/reelay/events"
)

// scan looks for new topics of a pattern subscription every
// PatternScanInterval until the subscription ends.
func (s *KeyedSubscriber) scan(sub *subscription) {
	defer s.loops.Done()
	t := time.NewTicker(s.cfg.PatternScanInterval)
	defer t.Stop()
	for {
		select {
		case <-sub.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.pollCtx, s.cfg.PatternScanInterval+10*time.Second)
		if err := s.adopt(ctx, sub); err != nil && s.pollCtx.Err() == nil {
			s.logger.Warn("pattern scan failed; retrying at the next interval", "pattern", sub.name, "err", err)
		}
		cancel()
	}
}

// adopt lists the cluster's topics and adds those sub's pattern matches to
// the client's subscription, up to MaxPatternTopics; it reports the ones
// left out for the cap when their number changes.
func (s *KeyedSubscriber) adopt(ctx context.Context, sub *subscription) error {
	topics, err := s.listTopics(ctx)
	if err != nil {
		return err
	}
	var add []string
	s.mu.Lock()
	if sub.ended {
		s.mu.Unlock()
		return nil
	}
	ignored := 0
	for _, t := range topics {
		if !strings.HasPrefix(t, sub.prefix) || events.IsDeadLetterTopic(t) || events.IsReplayTopic(t) || s.owners[t] != nil {
			continue
		}
		if len(sub.adopted) >= s.cfg.MaxPatternTopics {
			ignored++
			continue
		}
		sub.adopted[t] = true
		s.own(t, sub)
		add = append(add, t)
	}
	changed := ignored != sub.ignored
	sub.ignored = ignored
	s.mu.Unlock()
	if len(add) > 0 {
		s.client.ResumeFetchTopics(add...)
		s.client.AddConsumeTopics(add...)
		s.logger.Info("pattern subscription follows new topics", "pattern", sub.name, "topics", add)
	}
	if changed {
		if ignored > 0 {
			s.logger.Warn("pattern subscription is at its cap; matching topics past it are not consumed",
				"pattern", sub.name, "cap", s.cfg.MaxPatternTopics, "ignored", ignored)
		}
		if s.cfg.OnPatternTopicsIgnored != nil {
			s.cfg.OnPatternTopicsIgnored(sub.name, ignored)
		}
	}
	return nil
}
