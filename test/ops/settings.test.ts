import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SETTINGS, loadConfig } from '../../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const envExample = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

/** The names in the README's configuration table: its first column, from the table after "## Configuration". */
function readmeSettings(): string[] {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  return [...section.matchAll(/^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)? \|/gm)].flatMap((match) =>
    match.slice(1).filter((name): name is string => name !== undefined),
  );
}

describe('settings', () => {
  it('documents every setting in the README table and in .env.example, and nothing else', () => {
    const listed = [...SETTINGS].sort();
    assert.deepEqual([...new Set(readmeSettings())].sort(), listed);
    const inExample = [...envExample.matchAll(/^#? ?([A-Z0-9_]+)=/gm)].map((match) => match[1]!);
    assert.deepEqual([...new Set(inExample)].sort(), listed);
  });

  it('reads every listed setting without complaint at its default', () => {
    assert.ok(loadConfig({}));
  });
});
