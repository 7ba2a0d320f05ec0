// Watching one file for changes, as the relay does for files it re-reads while running
// (the tokens file).
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` when the file may have changed. Watches the directory, not the file: writers
 * replace the file by rename, which a watch on the old inode would miss.
 */
export function watchFile(path: string, onChange: () => void, settleMs = 50): FSWatcher {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  return watch(dirname(path), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    // Editors and `mv` fire several events for one change; read once they settle.
    timer = setTimeout(onChange, settleMs);
  });
}
