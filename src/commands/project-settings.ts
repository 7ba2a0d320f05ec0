// The operator's relay.json, seen from a command: flags left out fall back to it.
import { loadProjectFile, saveProjectFile, type ProjectSettings } from '../project-file.js';
import { chooseAppDir } from './flags.js';

/** relay.json in the working directory: flags left out fall back to it. */
export function projectSettings(): Promise<ProjectSettings> {
  return loadProjectFile(process.cwd());
}

export interface ChosenSettings {
  project: ProjectSettings;
  appDir: string;
  domain: string | undefined;
}

/** What a command works on: --app-dir and --domain, each else relay.json's; the app dir else the default. */
export async function chooseSettings(flags: { appDir?: string; domain?: string }): Promise<ChosenSettings> {
  const project = await projectSettings();
  return { project, appDir: chooseAppDir(flags.appDir, project), domain: flags.domain ?? project.domain };
}

/** Remembers non-secret settings after a successful command (host and user: openHost does). */
export async function rememberSettings(settings: ProjectSettings): Promise<void> {
  await saveProjectFile(process.cwd(), settings);
}
