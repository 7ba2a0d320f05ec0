// Debian's own browsers (packages chromium and firefox-esr), driven headless by puppeteer-core:
// CDP for Chromium, WebDriver BiDi for Firefox. Nothing is downloaded.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type LaunchOptions } from 'puppeteer-core';

export interface BrowserUnderTest {
  name: string;
  /** The Debian package that provides it. */
  debianPackage: string;
  executablePath: string;
  options: LaunchOptions;
}

export const BROWSERS: BrowserUnderTest[] = [
  // Tests and CI run as root, where Chromium refuses to start sandboxed.
  { name: 'Chromium', debianPackage: 'chromium', executablePath: '/usr/bin/chromium', options: { browser: 'chrome', args: ['--no-sandbox'] } },
  { name: 'Firefox', debianPackage: 'firefox-esr', executablePath: '/usr/bin/firefox-esr', options: { browser: 'firefox' } },
];

export function isInstalled(browser: BrowserUnderTest): boolean {
  return existsSync(browser.executablePath);
}

export function launch(browser: BrowserUnderTest): Promise<Browser> {
  return puppeteer.launch({ ...browser.options, executablePath: browser.executablePath, headless: true });
}
