// A person signing in, played by headless Chromium (Debian's, driven by playwright-core):
//   node sign_in.js URL [--user-code CODE] [--login NAME] [--password PW] [--deny]
// Opens URL, enters the device user code when a code form is shown, logs in on the
// provider's login page, approves (or, with --deny, aborts) the consent or device
// confirmation, and follows redirects (e.g. to the connector's loopback listener).
// Prints one JSON line {"url": final URL, "text": the final page's text}; exit 1 on error.
'use strict';
const { chromium } = require('playwright-core');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
}

async function main() {
  const url = process.argv[2];
  const userCode = option('--user-code', null);
  const login = option('--login', 'alice');
  const password = option('--password', 'alice-password');
  const deny = process.argv.includes('--deny');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(url);
    for (let step = 0; step < 8; step += 1) {
      await page.waitForLoadState('load');
      if (await page.locator('input[name="user_code"]:visible').count()) {
        if (userCode) await page.fill('input[name="user_code"]:visible', userCode);
        await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      } else if (await page.locator('input[name="login"]').count()) {
        await page.fill('input[name="login"]', login);
        await page.fill('input[name="password"]', password);
        await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      } else if (await page.locator('button[name="confirm"], button[autofocus]').count()) {
        const target = deny ? 'button[name="abort"], a[href*="abort"]'
          : 'button[name="confirm"], button[autofocus]';
        await Promise.all([page.waitForNavigation(), page.click(target)]);
      } else {
        break;
      }
    }
    const text = (await page.textContent('body')) || '';
    process.stdout.write(JSON.stringify({ url: page.url(), text: text.trim().slice(0, 2000) }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(String(error && error.stack || error)); process.exit(1); });
