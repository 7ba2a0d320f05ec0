import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickEnvValue, readEnvFileValue } from '../src/env-local.js';

describe('reading one key out of .env.local', () => {
  it('takes only the named key, in the usual dotenv spellings', () => {
    const text = '# comment\nOTHER=x\nexport OPENAI_API_KEY = "sk-quoted"\n';
    expect(pickEnvValue(text, 'OPENAI_API_KEY')).toBe('sk-quoted');
    expect(pickEnvValue("OPENAI_API_KEY='sk-single'", 'OPENAI_API_KEY')).toBe('sk-single');
    expect(pickEnvValue('OPENAI_API_KEY=sk-bare # note', 'OPENAI_API_KEY')).toBe('sk-bare');
    expect(pickEnvValue('OPENAI_API_KEY_OLD=sk-wrong\r\nOPENAI_API_KEY=sk-right\r\n', 'OPENAI_API_KEY')).toBe('sk-right');
    expect(pickEnvValue('OPENAI_API_KEY=', 'OPENAI_API_KEY')).toBeUndefined();
    expect(pickEnvValue('NOPE=1', 'OPENAI_API_KEY')).toBeUndefined();
  });

  it('treats a missing file as no value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envlocal-'));
    expect(await readEnvFileValue(join(dir, '.env.local'), 'OPENAI_API_KEY')).toBeUndefined();
    await writeFile(join(dir, '.env.local'), 'OPENAI_API_KEY=sk-file\n');
    expect(await readEnvFileValue(join(dir, '.env.local'), 'OPENAI_API_KEY')).toBe('sk-file');
  });
});
