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
