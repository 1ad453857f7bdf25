package graphapi

import "context"

// stream fetches pages one ahead of consume, so that the caller's work on a
// page (such as writing it to the store) overlaps the fetch of the next.
// fetch gets "" for the first page and then each next link it returned; it
// returns "" as the next link on the last page. At most two pages are held
// at a time. A consume error stops the walk and is returned as is.
func stream[T any](ctx context.Context, fetch func(ctx context.Context, link string) (T, string, error), consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		page T
		err  error
	}
	pages := make(chan result, 1)
	go func() {
		defer close(pages)
		link := ""
		for {
			page, next, err := fetch(ctx, link)
			select {
			case pages <- result{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || next == "" {
				return
			}
			link = next
		}
	}()
	for r := range pages {
		if r.err != nil {
			return r.err
		}
		if err := consume(r.page); err != nil {
			return err
		}
	}
	return nil
}

// streamDecoded is stream with a decoding stage of its own: fetch returns
// a raw page and its next link, and the next page is fetched while decode
// turns the raw page into T and consume works on the page before it.
func streamDecoded[R, T any](ctx context.Context, fetch func(ctx context.Context, link string) (R, string, error), decode func(R) (T, error), consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		page T
		err  error
	}
	pages := make(chan result, 1)
	go func() {
		defer close(pages)
		err := stream(ctx, fetch, func(raw R) error {
			page, err := decode(raw)
			select {
			case pages <- result{page, err}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return err
		})
		if err != nil {
			select {
			case pages <- result{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	for r := range pages {
		if r.err != nil {
			return r.err
		}
		if err := consume(r.page); err != nil {
			return err
		}
	}
	return nil
}
