// The relay server's error classes, in one place (the operator half's are in src/shared/errors.ts).
// Thrown inside the relay and answered as HTTP errors; none of them reaches a terminal.
import type { Outcome } from './exchange.js';

/**
 * A translated request answered with an error, in the client's API's shape: refused by the relay,
 * by the upstream (its status and message), or the upstream failed (`outcome` for the log).
 */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly outcome?: Outcome,
  ) {
    super(message);
  }
}

/** A JSON request body over its limit (json-body.ts): answered 413. */
export class BodyTooLarge extends Error {}

/** The outbound proxy took the connection but did not answer the relay's CONNECT in time. */
export class ProxyTunnelTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the outbound proxy did not answer CONNECT within ${timeoutMs} ms`);
  }
}

/** A call the relay made on its own behalf (upstream-call.ts) failed because of the proxy; `message` names it. */
export class OutboundProxyFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
