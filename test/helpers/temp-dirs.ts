import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new directory under the system's temp directory, removed when the run ends (root hook). */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `chatlog-${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeTemporaryDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
