// One structured JSON line per event on stdout. Callers pass only what may be logged:
// never the key, a token, or a body.

export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/**
 * Lines written in one turn of the event loop go out in one write: under load that is one
 * syscall per batch instead of one per request. Whatever is pending is flushed before exit.
 */
export function batchedStdout(): (line: string) => void {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending === '') setImmediate(flush);
    pending += line;
    if (pending.length > 65_536) flush();
  };
}

export function jsonLogger(write: (line: string) => void = batchedStdout()): Logger {
  const emit = (level: string, msg: string, fields?: Fields) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}
