import { Observable } from 'rxjs';

/**
 * An Observable of a WHATWG ReadableStream's chunks: subscribing starts
 * reading, unsubscribing cancels the stream (so a network source stops), and
 * the stream's end and error become `complete` and `error`. A stream can be
 * read once, so pass a function that makes one to subscribe more than once;
 * otherwise share the Observable (`share()`). Observables cannot push back:
 * chunks are read as fast as the subscriber's `next` returns.
 *
 * ```ts
 * fromReadable(response.body!).subscribe((bytes) => console.log(bytes.byteLength));
 * fromReadable(() => speechStream()).pipe(take(3)).subscribe(play);
 * ```
 */
export function fromReadable<T>(source: ReadableStream<T> | (() => ReadableStream<T>)): Observable<T> {
  return new Observable<T>((subscriber) => {
    let reader: ReadableStreamDefaultReader<T>;
    try {
      reader = (typeof source === 'function' ? source() : source).getReader();
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    let stopped = false;
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (stopped) return;
          if (done) return subscriber.complete();
          subscriber.next(value);
        }
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    })();
    return () => {
      stopped = true;
      void reader.cancel().catch(() => {});
    };
  });
}
