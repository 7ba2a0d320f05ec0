// The operator's relay.json, seen from a command: flags left out fall back to it.
import { loadProjectFile, saveProjectFile, type ProjectSettings } from '../project-file.js';

/** relay.json in the working directory: flags left out fall back to it. */
export function projectSettings(): Promise<ProjectSettings> {
  return loadProjectFile(process.cwd());
}

/** Remembers non-secret settings after a successful command (host and user: openHost does). */
export async function rememberSettings(settings: ProjectSettings): Promise<void> {
  await saveProjectFile(process.cwd(), settings);
}
