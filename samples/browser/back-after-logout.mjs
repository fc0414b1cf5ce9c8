// Checks in a real browser that the Back button shows no private page after logout (issue 23, item 13).
//
// Headless Chromium logs in to the demo as alice, visits the dashboard and the wizard's confirm page, logs out with
// the button in the navigation, then presses Back twice. It fails when a page it lands on shows alice's private text:
// "Welcome, alice" or her wizard name or email. It runs twice: with the back-forward cache on (as in a person's
// Chromium) and off (then Chromium shows history pages from its HTTP cache unless they were sent with
// Cache-Control: no-store).
//
// Usage: node back-after-logout.mjs [base URL]   (default http://127.0.0.1:8080; check.sh starts the demo first)
// Exit status: 0 no private text after logout, 1 private text seen, 2 the check itself could not run.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = (process.argv[2] || process.env.DEMO_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const NAME = 'Alice Liddell';
const EMAIL = 'alice@wonderland.example';
const PRIVATE = ['Welcome, alice', NAME, EMAIL];

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Returns what the page shows a person: its text and the values of its form fields. */
async function visible(page) {
  return page.evaluate(() => ({
    text: document.body ? document.body.innerText : '',
    fields: [...document.querySelectorAll('input')].map((input) => input.value).join(' '),
    restored: window.__restoredFromBackForwardCache === true,
    fromHttpCache: (() => {
      const entry = performance.getEntriesByType('navigation')[0];
      return entry ? entry.transferSize === 0 && entry.decodedBodySize > 0 : false;
    })(),
  }));
}

function path(url) {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

async function run(mode) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'vertx-sessions-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    // Playwright turns the back-forward cache off by default; a person's Chromium has it on.
    ignoreDefaultArgs: mode.backForwardCache ? ['--disable-back-forward-cache'] : [],
  });
  const leaks = [];
  try {
    await context.addInitScript(() => {
      window.addEventListener('pageshow', (event) => {
        window.__restoredFromBackForwardCache = event.persisted;
      });
    });
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(15000);
    // Chromium says why a history navigation did not use the back-forward cache: print it with the result.
    let notRestoredBecause = [];
    const cdp = await context.newCDPSession(page);
    await cdp.send('Page.enable');
    cdp.on('Page.backForwardCacheNotUsed', (event) => {
      notRestoredBecause = event.notRestoredExplanations.map((explanation) => explanation.reason);
    });

    await page.goto(`${BASE}/login`);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'wonderland');
    await Promise.all([page.waitForURL('**/dashboard'), page.click('form[action="/login"] button')]);
    if (!(await visible(page)).text.includes('Welcome, alice')) {
      throw new Error(`the login did not reach the dashboard (at ${path(page.url())})`);
    }

    await page.goto(`${BASE}/wizard/step1`);
    await page.fill('input[name=name]', NAME);
    await page.fill('input[name=email]', EMAIL);
    await Promise.all([page.waitForURL('**/wizard/step2'), page.click('form[action="/wizard/step1"] button')]);
    await page.check('input[value=pro]');
    await Promise.all([page.waitForURL('**/wizard/confirm'), page.click('form[action="/wizard/step2"] button')]);
    if (!(await visible(page)).text.includes(EMAIL)) {
      throw new Error(`the wizard did not reach its confirm page (at ${path(page.url())})`);
    }

    await page.goto(`${BASE}/dashboard`);
    await Promise.all([page.waitForURL('**/login?message=logged_out'), page.click('nav form[action="/logout"] button')]);
    const afterLogout = await visible(page);
    console.log(`  ${mode.name}: logged out, at ${path(page.url())}`);
    if (!afterLogout.text.includes('You have been logged out.')) {
      throw new Error('the logout did not reach the login page');
    }

    for (const press of ['Back', 'Back again']) {
      // A page restored from the back-forward cache fires no load event: wait for the navigation to commit, then
      // for the document to be complete.
      notRestoredBecause = [];
      await page.goBack({ waitUntil: 'commit' });
      await page.waitForFunction(() => document.readyState === 'complete');
      const shown = await visible(page);
      const how =
        (shown.restored
          ? 'restored from the back-forward cache'
          : shown.fromHttpCache
            ? 'from the HTTP cache'
            : 'loaded from the server') +
        (mode.backForwardCache && notRestoredBecause.length
          ? `; not from the back-forward cache: ${notRestoredBecause.join(', ')}`
          : '');
      const seen = PRIVATE.filter((text) => shown.text.includes(text) || shown.fields.includes(text));
      console.log(
        `  ${mode.name}: ${press} -> ${path(page.url())} (${how}): ` +
          (seen.length ? `PRIVATE TEXT VISIBLE: ${seen.map((s) => `"${s}"`).join(', ')}` : 'no private text'),
      );
      for (const text of seen) {
        leaks.push(`${mode.name}, ${press}, ${path(page.url())} (${how}): "${text}"`);
      }
    }
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  return leaks;
}

async function main() {
  console.log(`Back after logout, against ${BASE}`);
  const leaks = [];
  for (const mode of [
    { name: 'back-forward cache on', backForwardCache: true },
    { name: 'back-forward cache off', backForwardCache: false },
  ]) {
    leaks.push(...(await run(mode)));
  }
  if (leaks.length) {
    console.log(`FAIL: ${leaks.length} private text(s) visible after logout:`);
    for (const leak of leaks) {
      console.log(`  ${leak}`);
    }
    process.exit(1);
  }
  console.log('PASS: no private text visible after logout');
}

main().catch((error) => {
  console.error(`ERROR: the check could not run: ${error.message}`);
  process.exit(2);
});
