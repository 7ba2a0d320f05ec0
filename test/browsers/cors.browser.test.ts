// RELAY_CORS_ORIGINS in real browsers: a page on loopback runs the bundled openai SDK, Vercel ai,
// @anthropic-ai/sdk and ollama/browser against `relay serve` (fake upstream), from an allowed origin
// and from another one.
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS } from '../support/fake-openai.js';
import { BROWSERS, isInstalled, launch, type BrowserUnderTest } from '../support/browsers.js';
import { startRelayStack, type RelayStack } from '../support/relay-stack.js';
import { bundleClients, serveTestPage, type TestPage } from '../support/test-page.js';
import type { CheckName, Outcome, Target } from './page/clients.js';

const EXPECTED: Record<CheckName, string> = {
  'openai json': 'Hello from the fake upstream.',
  'openai stream': 'part0 part1 part2 part3 part4 ',
  'ai json': 'Hello from the fake upstream.',
  'ai stream': 'part0 part1 part2 part3 part4 ',
  'anthropic json': 'Hello from the fake upstream.',
  'anthropic stream': 'part0 part1 part2 part3 part4 ',
  'ollama json': 'Hello from the fake upstream.',
  'ollama stream': 'part0 part1 part2 part3 part4 ',
  'realtime websocket': 'realtime session.created',
};
const CHECKS = Object.keys(EXPECTED) as CheckName[];
const OLLAMA_PATH = `/ollama-${randomBytes(16).toString('hex')}`;

let stack: RelayStack;
let allowedPage: TestPage;
let otherPage: TestPage;
let target: Target;

beforeAll(async () => {
  const script = await bundleClients();
  [allowedPage, otherPage] = await Promise.all([serveTestPage(script), serveTestPage(script)]);
  stack = await startRelayStack(
    { RELAY_CORS_ORIGINS: allowedPage.origin, RELAY_OLLAMA_PATH: OLLAMA_PATH, RELAY_ANTHROPIC_MODELS: `haiku=gpt-fake,sonnet=${MODELS.paced}` },
    { models: ['gpt-fake', MODELS.paced] },
  );
  target = {
    relay: stack.relay.url,
    token: stack.token,
    ollamaPath: OLLAMA_PATH,
    model: 'gpt-fake',
    pacedModel: MODELS.paced,
    claudeModel: 'claude-3-5-haiku-latest',
    pacedClaudeModel: 'claude-sonnet-4-5',
  };
});

afterAll(async () => {
  await stack?.stop();
  await allowedPage?.close();
  await otherPage?.close();
});

async function openPage(browser: Browser, origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'relayCheck' in globalThis);
  return page;
}

function runInPage(page: Page, name: CheckName): Promise<Outcome> {
  return page.evaluate(
    (check: CheckName, where: Target) => (globalThis as unknown as { relayCheck: (name: CheckName, target: Target) => Promise<Outcome> }).relayCheck(check, where),
    name,
    target,
  );
}

function describeBrowser(browser: BrowserUnderTest, body: (launched: () => Browser) => void): void {
  if (!isInstalled(browser)) {
    // Locally a missing browser skips its half with one line; CI must have both.
    if (process.env.CI) {
      describe(browser.name, () => it(`is installed (Debian package ${browser.debianPackage})`, () => expect.fail(`${browser.executablePath} is missing: apt-get install ${browser.debianPackage}`)));
    } else {
      console.warn(`browser tests in ${browser.name} skipped: ${browser.executablePath} is missing (apt-get install ${browser.debianPackage})`);
      describe.skip(browser.name, () => it('runs the clients', () => {}));
    }
    return;
  }
  describe(browser.name, () => {
    let instance: Browser;
    beforeAll(async () => {
      instance = await launch(browser);
    });
    afterAll(() => instance?.close());
    body(() => instance);
  });
}

for (const browser of BROWSERS) {
  describeBrowser(browser, (launched) => {
    describe('from an allowed origin, every client works', () => {
      let page: Page;
      beforeAll(async () => {
        page = await openPage(launched(), allowedPage.origin);
      });

      it.each(CHECKS)('%s', async (name) => {
        expect(await runInPage(page, name)).toEqual({ ok: true, text: EXPECTED[name] });
      });
    });

    describe('from another origin, the browser blocks every client', () => {
      let page: Page;
      beforeAll(async () => {
        page = await openPage(launched(), otherPage.origin);
      });

      it.each(CHECKS)('%s', async (name) => {
        const before = { requests: stack.upstream.seen.length, sessions: stack.upstream.realtime.length };
        expect(await runInPage(page, name)).toMatchObject({ ok: false });
        // Refused at the preflight or the handshake: nothing reached the upstream.
        expect({ requests: stack.upstream.seen.length, sessions: stack.upstream.realtime.length }).toEqual(before);
      });
    });
  });
}
