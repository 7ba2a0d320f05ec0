// Shared: both halves throw these, and `relay serve` and the image print them the same way.
// The one error hierarchy. Core code throws these; only commands decide how to print them.
// `message` says what went wrong, `fix` says what the operator should do about it.

export class RelayError extends Error {
  readonly fix: string | undefined;

  constructor(message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.fix = options.fix;
  }
}

/** Bad or missing configuration: env, flags, files. */
export class ConfigError extends RelayError {}

/** The server's host key is unknown and not accepted, has changed, or is revoked. */
export class HostKeyError extends RelayError {}

/** Connecting or authenticating over SSH failed. */
export class SshError extends RelayError {}

/** The login user cannot become root without a password. */
export class SudoError extends RelayError {}

/** A provisioning step failed; the message names the step, the command and its last stderr lines. */
export class StepFailedError extends RelayError {
  readonly stepId: string;
  readonly command: string;

  constructor(message: string, options: { stepId: string; command: string; fix?: string; cause?: unknown }) {
    super(message, options);
    this.stepId = options.stepId;
    this.command = options.command;
  }
}
