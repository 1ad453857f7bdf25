package graphapi

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

// A walk whose context is cancelled while the next page is being fetched
// reports the cancellation: nil would say the walk was complete.
func TestStreamReportsCancellation(t *testing.T) {
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		fetch := func(ctx context.Context, link string) (int, string, error) {
			n, _ := strconv.Atoi(link)
			if n == 1 {
				cancel() // the prefetch of page 2 sees the cancellation
				<-ctx.Done()
				return 0, "", ctx.Err()
			}
			return n, strconv.Itoa(n + 1), nil
		}
		consumed := 0
		err := stream(ctx, fetch, func(int) error { consumed++; return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: stream returned %v after %d pages, want the cancellation", i, err, consumed)
		}
		ctx, cancel = context.WithCancel(context.Background())
		err = streamDecoded(ctx, fetch, func(n int) (int, error) { return n, nil }, func(int) error { return nil })
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: streamDecoded returned %v, want the cancellation", i, err)
		}
	}
}

// Pages come in order, every one of them, and a fetch or decode error
// comes after the pages before it.
func TestStreamDeliversEveryPageThenTheError(t *testing.T) {
	boom := errors.New("boom")
	fetch := func(_ context.Context, link string) (int, string, error) {
		n, _ := strconv.Atoi(link)
		if n == 5 {
			return 0, "", boom
		}
		return n, strconv.Itoa(n + 1), nil
	}
	var got []int
	err := streamDecoded(context.Background(), fetch, func(n int) (int, error) { return n * 10, nil }, func(p int) error {
		got = append(got, p)
		return nil
	})
	if !errors.Is(err, boom) || len(got) != 5 || got[4] != 40 {
		t.Fatalf("got %v, %v; want pages 0..40 then boom", got, err)
	}
	got = nil
	err = streamDecoded(context.Background(), fetch, func(n int) (int, error) {
		if n == 2 {
			return 0, boom
		}
		return n, nil
	}, func(p int) error { got = append(got, p); return nil })
	if !errors.Is(err, boom) || len(got) != 2 {
		t.Fatalf("decode error: got %v, %v; want 2 pages then boom", got, err)
	}
}
