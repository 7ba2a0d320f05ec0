// A provisioning step is a value: what it checks, what it changes, which files it writes.
// Built by pure functions of the configuration (install-plan.ts, deploy-plan.ts); run by executor.ts.
import type { FileSpec } from '../host/host.js';

export interface Step {
  /** Stable id, e.g. 'docker.install'. */
  id: string;
  /** What an operator reads in progress output, e.g. 'Install Docker Engine and Compose v2'. */
  title: string;
  /**
   * Shell command run as root; exit 0 means the host is already as this step wants it.
   * Omitted: the step is decided by its files alone (changed iff any file differs).
   */
  check?: string;
  /** Files the step owns; each is written only when its content, mode or owner differ. */
  files?: FileSpec[];
  /** Commands run as root, in order, when the check fails or a file changed. */
  apply: string[];
  /** Fed to the check and to each command on stdin: how a secret reaches a command, never in argv or a file. */
  stdin?: string;
  /** Extra context for a failure: what the operator should do (e.g. "free disk space on /var"). */
  fix?: string;
}

export type StepOutcome = 'unchanged' | 'changed' | 'failed';
