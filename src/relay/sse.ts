// Server-sent events as the relay reads them: the `data:` lines of a stream that arrives in
// pieces (OpenAI sends one `data:` line per event). The one SSE reader: the usage tap (every piece
// the relay forwards), the dump, and the relay's own upstream calls (the Ollama and Anthropic APIs).

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const DATA = Buffer.from('data:');

export interface SseDataReader {
  push(chunk: Buffer): void;
  /** A last line without its newline. */
  end(): void;
}

/** Calls `onData` with the bytes after `data:` of each complete line; a line longer than `maxLine` is skipped, not held. */
export function sseDataReader(onData: (value: Buffer) => void, maxLine = Number.POSITIVE_INFINITY): SseDataReader {
  let partial: Buffer | undefined;
  let skipping = false;

  const line = (raw: Buffer) => {
    const end = raw[raw.length - 1] === CARRIAGE_RETURN ? raw.length - 1 : raw.length;
    if (end >= DATA.length && raw.compare(DATA, 0, DATA.length, 0, DATA.length) === 0) onData(raw.subarray(DATA.length, end));
  };

  /** The start of a line that continues in a later chunk, copied: the caller may reuse the chunk's memory. */
  const keep = (rest: Buffer) => {
    if (skipping) return;
    if ((partial?.length ?? 0) + rest.length > maxLine) {
      partial = undefined;
      skipping = true;
    } else {
      partial = partial === undefined ? Buffer.from(rest) : Buffer.concat([partial, rest]);
    }
  };

  return {
    push(chunk) {
      let from = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, from)) {
        const piece = chunk.subarray(from, nl);
        if (!skipping) line(partial === undefined ? piece : Buffer.concat([partial, piece]));
        partial = undefined;
        skipping = false;
        from = nl + 1;
      }
      if (from < chunk.length) keep(chunk.subarray(from));
    },
    end() {
      if (partial !== undefined) line(partial);
      partial = undefined;
    },
  };
}

/** An OpenAI event stream as parsed JSON events, up to "[DONE]". */
export async function* sseEvents(body: AsyncIterable<Buffer>): AsyncGenerator<Record<string, unknown>> {
  const values: string[] = [];
  const reader = sseDataReader((value) => values.push(value.toString('utf8').trim()));
  for await (const chunk of body) {
    reader.push(chunk);
    for (const value of values.splice(0)) {
      if (value === '[DONE]') return;
      if (value) yield JSON.parse(value) as Record<string, unknown>;
    }
  }
}
