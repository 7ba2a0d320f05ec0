// Shared: the JSON `usage --json` prints inside the container and `relay usage` reads over SSH.

export interface UsageRow {
  token: string;
  model: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  /** Successful responses that carried no usage (streams without include_usage): their tokens are not in the sums. */
  notReported: number;
  bytesIn: number;
  bytesOut: number;
}

export interface UsageSummary {
  /** Start of the first hour counted: `since` rounded down to the hour. */
  from: string;
  rows: UsageRow[];
  /** Token name -> ISO time of its last request, over all time. */
  lastUsed: Record<string, string>;
}

export interface UsageReport extends UsageSummary {
  /** What was asked for: now minus --since. */
  since: string;
}
