// Shared: the relay writes RELAY_DUMP lines into its log; `relay logs --dump` picks them out of it.

export const DUMP_MSG = 'dump';
// Every line starts with the same three fields, so a dump line is known by its start alone.
const DUMP_LINE = /^\{"time":"[^"]*","level":"[a-z]+","msg":"dump"[,}]/;

/** True for a RELAY_DUMP line (`relay logs --dump` shows only these, plain `relay logs` hides them). */
export function isDumpLine(line: string): boolean {
  return DUMP_LINE.test(line);
}
