#!/usr/bin/env node
// @ts-check
// Runs the extension's integration tests (out/test) inside a real VS Code extension host:
// code-server with this extension in development mode, opened in Debian's chromium through
// playwright-core. The host starts the real `switchboard serve`, configured to talk to a
// loopback OpenAI fake (scripts/fake_provider.py). While the tests run, they ask this script to
// check what the workbench shows (status bar, chat webview, notifications), to click or press
// keys, and to take screenshots (test-artifacts/). scripts/screenshots.js runs it with another
// test entry point (out/test/screenshots) to take the README's screenshots.
//
// usage: node scripts/run-e2e.js      (after `npm run build`)
// env:   CODE_SERVER     code-server executable (default: the cached 4.100.3 install)
//        SWITCHBOARD_PYTHON  Python with switchboard-lsp installed (default: `python` on PATH)
//        CHROMIUM        browser executable (default: /usr/bin/chromium)
//        E2E_TIMEOUT_S   whole-run limit (default 300)    E2E_DEBUG=1  browser console too
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { chromium } = require('playwright-core');

const EXT = path.resolve(__dirname, '..');
const REPO = path.resolve(EXT, '..', '..');
const ARTIFACTS = path.join(EXT, 'test-artifacts');
/** Where checkpoints write their screenshots (main's `artifacts` option). */
let screenshotDir = ARTIFACTS;
const CODE_SERVER_VERSION = '4.100.3';
const CODE_SERVER =
  process.env.CODE_SERVER ||
  path.join(os.homedir(), '.cache', 'switchboard-ci', `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_S || 300) * 1000;
const DEBUG = Boolean(process.env.E2E_DEBUG);
// The host's credentials and settings never reach the test server (as tests/lsp_harness.py).
const PRIVATE_PREFIXES = ['SWITCHBOARD_', 'AWS_', 'GOOGLE_', 'GCLOUD_', 'CLOUDSDK_', 'AZURE_', 'GITHUB_', 'VSCODE_'];

/** @param {string} message */
function fail(message) {
  console.error(`run-e2e: ${message}`);
  process.exit(2);
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {string} url @param {number} ms */
async function waitHttp(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status < 500) {
        return;
      }
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

/** Starts the loopback provider fake; resolves to {url, apiKey, process}. @param {string} python */
function startFake(python) {
  const child = spawn(python, [path.join(EXT, 'scripts', 'fake_provider.py')], {
    cwd: REPO,
    env: { ...process.env, PYTHONPATH: [REPO, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: /** @type {NodeJS.ReadableStream} */ (child.stdout) });
    lines.once('line', (line) => resolve({ ...JSON.parse(line), process: child }));
    child.once('exit', (code) => reject(new Error(`the fake provider exited (${code})`)));
  });
}

/** @param {Record<string, string | undefined>} env */
function privateEnv(env) {
  /** @type {Record<string, string>} */
  const kept = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || key.endsWith('_API_KEY') || key.endsWith('_TOKEN')) {
      continue;
    }
    if (PRIVATE_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      continue;
    }
    kept[key] = value;
  }
  return kept;
}

/**
 * The frame of the chat webview (nested iframes), waiting for it to load.
 * @param {import('playwright-core').Page} page
 */
async function chatFrame(page, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if (await frame.$('#composer')) {
          return frame;
        }
      } catch {
        // a frame that went away
      }
    }
    await sleep(100);
  }
  return undefined;
}

/**
 * Polls `read` until `ok` holds of its result (the webview draws a moment after the host sends).
 * @template T @param {() => Promise<T>} read @param {(value: T) => boolean} ok
 */
async function settle(read, ok, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await sleep(100);
    value = await read();
  }
  return value;
}

/** @param {string} text */
const squash = (text) => text.replace(/\s+/g, ' ').trim();

/**
 * One check the tests asked for: what must be on screen now, what to do, what to keep.
 * @param {import('playwright-core').Page} page @param {string} name @param {any} request
 */
async function runCheck(page, name, request) {
  /** @type {string[]} */
  const problems = [];
  /** @type {Record<string, unknown>} */
  const seen = {};
  if (request.statusBarIncludes) {
    const text = await settle(
      async () => squash(await page.locator('.part.statusbar').innerText().catch(() => '')),
      (value) => value.includes(request.statusBarIncludes),
    );
    seen.statusBar = text;
    if (!text.includes(request.statusBarIncludes)) {
      problems.push(`status bar "${text}" lacks "${request.statusBarIncludes}"`);
    }
  }
  if (request.ghostTextIncludes) {
    // The suggestion drawn in the editor: the inline part, and the lines below for a longer one.
    const ghost = page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text');
    const text = await settle(
      async () => squash((await ghost.allInnerTexts().catch(() => [])).join(' ')),
      (value) => value.includes(request.ghostTextIncludes),
    );
    seen.ghostText = text;
    if (!text.includes(request.ghostTextIncludes)) {
      problems.push(`the editor shows ghost text "${text}", not "${request.ghostTextIncludes}"`);
    }
  }
  if (request.chatSide) {
    // Webviews float over their view's place in the layout: where the chat's frame is says which side bar holds it.
    const side = await settle(
      async () => {
        const frame = await chatFrame(page, 2000);
        const box = frame && (await (await frame.frameElement()).boundingBox());
        const width = page.viewportSize()?.width ?? 0;
        return box && box.width > 0 ? (box.x + box.width / 2 < width / 2 ? 'left' : 'right') : 'hidden';
      },
      (value) => value === request.chatSide,
    );
    seen.chatSide = side;
    if (side !== request.chatSide) {
      problems.push(`the chat view is ${side === 'hidden' ? 'not on screen' : `on the ${side}`}, not on the ${request.chatSide}`);
    }
  }
  if (request.quickInputIncludes) {
    const widget = page.locator('.quick-input-widget');
    const text = await settle(
      async () => ((await widget.isVisible().catch(() => false)) ? squash(await widget.innerText().catch(() => '')) : ''),
      (value) => value.includes(request.quickInputIncludes),
    );
    seen.quickInput = text;
    if (!text.includes(request.quickInputIncludes)) {
      problems.push(`no quick input with "${request.quickInputIncludes}" (saw "${text}")`);
    }
  }
  if (request.noNotificationIncludes) {
    const gone = await settle(
      () => page.locator('.notification-toast', { hasText: request.noNotificationIncludes }).count(),
      (count) => count === 0,
      8000,
    );
    if (gone !== 0) {
      problems.push(`the notification with "${request.noNotificationIncludes}" is still on screen`);
    }
  }
  if (
    request.webviewIncludes ||
    request.webviewHas ||
    request.webviewHasAnywhere ||
    request.webviewFocus ||
    request.webviewType ||
    request.webviewStreamingPrefixOf ||
    request.click
  ) {
    const frame = await chatFrame(page);
    if (!frame) {
      problems.push('no chat webview on screen');
    } else {
      const last = '#messages .message.assistant:last-of-type';
      if (request.webviewIncludes) {
        const includesAll = (/** @type {string} */ text) =>
          request.webviewIncludes.every((/** @type {string} */ expected) => text.includes(squash(expected)));
        const text = await settle(async () => squash(await frame.locator('#messages').innerText()), includesAll);
        seen.webview = text;
        for (const expected of request.webviewIncludes) {
          if (!text.includes(squash(expected))) {
            problems.push(`chat view lacks "${expected}"`);
          }
        }
      }
      for (const selector of request.webviewHasAnywhere || []) {
        const count = await settle(() => frame.locator(selector).count(), (value) => value > 0);
        if (count === 0) {
          problems.push(`chat view has no ${selector}`);
        }
      }
      if (request.webviewFocus) {
        // The browser's focus is in the chat's frame, on that element.
        const focused = await settle(
          () =>
            frame
              .evaluate((selector) => document.hasFocus() && document.activeElement === document.querySelector(selector), request.webviewFocus)
              .catch(() => false),
          (value) => value,
        );
        if (!focused) {
          problems.push(`${request.webviewFocus} in the chat view does not have the focus`);
        }
      }
      if (request.webviewType) {
        await frame.locator(request.webviewType.selector).focus();
        await page.keyboard.type(request.webviewType.text);
      }
      for (const selector of request.webviewHas || []) {
        if ((await frame.locator(`${last} ${selector}`).count()) === 0) {
          problems.push(`chat view has no ${selector} in the answer`);
        }
      }
      if (request.webviewStreamingPrefixOf) {
        const body = squash(await frame.locator(`${last} .body`).innerText());
        const streaming = await frame.locator(`${last}.streaming`).count();
        seen.streamedSoFar = body;
        const full = squash(request.webviewStreamingPrefixOf);
        if (!body || !full.startsWith(body) || body === full) {
          problems.push(`chat view shows "${body}", not a part of the answer`);
        }
        if (!streaming) {
          problems.push('the answer is not marked as streaming');
        }
      }
      if (request.click) {
        await frame.click(request.click, { timeout: 5000 }).catch(async (e) => {
          problems.push(`click ${request.click}: ${String(e).split('\n')[0]}`);
          await page.screenshot({ path: path.join(ARTIFACTS, `${name}-failed.png`) });
        });
      }
    }
  }
  if (request.notificationIncludes) {
    // A toast, or (when VS Code chose not to pop it up) an entry in the notification center.
    const toast = page.locator('.notification-toast', { hasText: request.notificationIncludes }).first();
    let shown = await toast.waitFor({ state: 'visible', timeout: 8000 }).then(() => toast, () => undefined);
    if (!shown) {
      await page.locator('.notifications-center').isVisible().then((open) =>
        open ? undefined : page.locator('.statusbar-item[id$="notifications"] a, .statusbar-item.notifications-center-item').first().click().catch(() => undefined),
      );
      const entry = page.locator('.notifications-center .notification-list-item', { hasText: request.notificationIncludes }).first();
      shown = await entry.waitFor({ state: 'visible', timeout: 3000 }).then(() => entry, () => undefined);
      seen.inCenter = Boolean(shown);
    }
    if (!shown) {
      problems.push(`no notification with "${request.notificationIncludes}"`);
      seen.toasts = squash(await page.locator('.notifications-toasts').innerText().catch(() => ''));
    } else {
      seen.notification = squash(await shown.innerText());
      for (const button of request.buttons || []) {
        if ((await shown.locator('.monaco-button', { hasText: button }).count()) === 0) {
          problems.push(`the notification has no "${button}" button`);
        }
      }
      if (request.screenshot) {
        await sleep(500);
        await page.screenshot({ path: path.join(screenshotDir, request.screenshot) });
        request = { ...request, screenshot: undefined };
      }
      if (request.clickButton) {
        await shown
          .locator('.monaco-button', { hasText: request.clickButton })
          .first()
          .click({ timeout: 5000 })
          .catch((e) => problems.push(`click "${request.clickButton}": ${String(e).split('\n')[0]}`));
      }
    }
  }
  if (request.hover) {
    await page.mouse.move(0, 0);
    await page.locator(request.hover).first().hover({ timeout: 5000 }).catch((e) => problems.push(`hover: ${e}`));
    const hover = await settle(
      async () => squash(await page.locator('.workbench-hover, .monaco-hover').last().innerText().catch(() => '')),
      (text) => (request.hoverIncludes || []).every((/** @type {string} */ part) => text.includes(part)),
    );
    seen.hover = hover;
    for (const part of request.hoverIncludes || []) {
      if (!hover.includes(part)) {
        problems.push(`the hover lacks "${part}"`);
      }
    }
  }
  if (request.focusEditor) {
    // Keys go where the browser's focus is: wait until the text editor has it.
    const focused = await settle(
      () => page.evaluate(() => Boolean(document.activeElement && document.activeElement.closest('.monaco-editor'))),
      (value) => value,
    );
    if (!focused) {
      problems.push('the text editor does not have the focus');
    }
  }
  if (request.typeText) {
    await page.keyboard.type(request.typeText);
  }
  if (request.press) {
    await page.keyboard.press(request.press);
  }
  if (request.screenshot) {
    await sleep(300);
    await page.screenshot({ path: path.join(screenshotDir, request.screenshot) });
  }
  const verdict = problems.length ? `FAILED (${problems.join('; ')})` : 'ok';
  console.log(`[check] ${name}: ${verdict}`);
  if (DEBUG || problems.length) {
    console.log(`[check] ${name} saw ${JSON.stringify(seen)}`);
  }
  return { ok: problems.length === 0, problems, seen };
}

/**
 * Runs one extension-host entry point in code-server and chromium; exits with its verdict.
 * @param {{testsPath?: string, artifacts?: string}} [options] testsPath: relative to the
 *   extension (default out/test/index); artifacts: where screenshots go (default test-artifacts/)
 */
async function main(options = {}) {
  const testsPath = options.testsPath || path.join('out', 'test', 'index');
  screenshotDir = options.artifacts || ARTIFACTS;
  const python = process.env.SWITCHBOARD_PYTHON || onPath('python') || onPath('python3');
  if (!python) {
    fail('no python on the PATH; set SWITCHBOARD_PYTHON');
  }
  const pythonBin = path.dirname(/** @type {string} */ (python));
  if (!fs.existsSync(path.join(pythonBin, 'switchboard'))) {
    fail(`${pythonBin} has no switchboard executable: install the package (pip install -e .) in that environment`);
  }
  if (!fs.existsSync(CODE_SERVER)) {
    fail(`no code-server at ${CODE_SERVER}: run scripts/install-code-server.sh first`);
  }
  if (!fs.existsSync(path.join(EXT, `${testsPath}.js`))) {
    fail(`${testsPath}.js is missing: run \`npm run build\` first`);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.mkdirSync(screenshotDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-'));
  const dirs = Object.fromEntries(
    ['ws', 'data', 'user-data/User', 'extensions', 'sync', 'xdg-config'].map((d) => {
      fs.mkdirSync(path.join(root, d), { recursive: true });
      return [d, path.join(root, d)];
    }),
  );
  fs.writeFileSync(path.join(dirs.ws, 'sample.py'), 'def add(a, b):\n    \n');

  const fake = /** @type {{url: string, apiKey: string, githubUrl: string, copilotUrl: string, process: import('node:child_process').ChildProcess}} */ (
    await startFake(/** @type {string} */ (python))
  );
  const fakeRoot = fake.url.replace(/\/v1$/, '');
  const config = path.join(root, 'config.toml');
  // Every provider the tests touch points at the loopback fake: nothing reaches the internet.
  fs.writeFileSync(
    config,
    `[providers.openai]\nbase_url = "${fake.url}"\n\n[providers.anthropic]\nbase_url = "${fakeRoot}"\n\n` +
      `[providers.copilot]\ngithub_url = "${fake.githubUrl}"\ngithub_api_url = "${fake.copilotUrl}"\n`,
  );
  fs.writeFileSync(
    path.join(dirs['user-data/User'], 'settings.json'),
    JSON.stringify(
      {
        'switchboard.defaultModel': 'openai/gpt-4o',
        // Completions through the chat fallback, on a model no other test uses (their counts stay).
        'switchboard.completion': { model: 'openai/gpt-4.1-mini', debounceMs: 0 },
        'switchboard.trace.server': process.env.E2E_TRACE ? 'verbose' : 'off',
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.commandCenter.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.ignoreRecommendations': true,
        'security.workspace.trust.enabled': false,
        'editor.minimap.enabled': false,
        'git.enabled': false,
        'update.mode': 'none',
        'window.zoomLevel': 0,
      },
      null,
      2,
    ),
  );

  const env = {
    ...privateEnv(process.env),
    PATH: [pythonBin, process.env.PATH].filter(Boolean).join(path.delimiter),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_GCE_CHECK: 'True',
    SWITCHBOARD_CONFIG: config,
    SWITCHBOARD_DATA_DIR: dirs.data,
    PYTHONPATH: REPO,
    PYTHON_KEYRING_BACKEND: 'tests.keyring_backend.FileKeyring',
    SWITCHBOARD_TEST_KEYRING: path.join(root, 'keyring.json'),
    XDG_CONFIG_HOME: dirs['xdg-config'],
    PYTHONUNBUFFERED: '1',
    OPENAI_API_KEY: fake.apiKey,
    SWITCHBOARD_E2E_OPENAI_KEY: fake.apiKey,
    SWITCHBOARD_E2E_SERVER: path.join(pythonBin, 'switchboard'),
    SWITCHBOARD_E2E_SYNC: dirs.sync,
    SWITCHBOARD_E2E_ONLY: process.env.SWITCHBOARD_E2E_ONLY || '',
    // The extension host keeps this environment (no login-shell PATH in its place)...
    VSCODE_CLI: '1',
    // ...and no extension gallery is asked for anything: the tests stay on this machine.
    EXTENSIONS_GALLERY: '{}',
  };
  const port = await freePort();
  const codeServer = spawn(
    CODE_SERVER,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', path.join(root, 'user-data'),
      '--extensions-dir', dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      dirs.ws,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  /** @param {Buffer} data */
  const relay = (data) => {
    if (DEBUG) {
      process.stdout.write(`[code-server] ${data}`);
    }
  };
  codeServer.stdout?.on('data', relay);
  codeServer.stderr?.on('data', relay);

  /** @type {import('playwright-core').Browser | undefined} */
  let browser;
  let exitCode = 1;
  const started = Date.now();
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, 30000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({
      viewport: { width: 1400, height: 860 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    const page = await context.newPage();
    if (DEBUG) {
      page.on('console', (message) => console.log('[page]', message.type(), message.text().slice(0, 400)));
    }
    /** @type {(code: number) => void} */
    let finish = () => undefined;
    const finished = new Promise((resolve) => {
      finish = resolve;
    });
    await page.exposeFunction('codeAutomationLog', (/** @type {string} */ _type, /** @type {unknown[]} */ args) => {
      console.log(...(Array.isArray(args) ? args : [args]));
    });
    await page.exposeFunction('codeAutomationExit', (/** @type {number} */ code) => finish(code));
    const remote = `vscode-remote://127.0.0.1:${port}`;
    const payload = [
      ['extensionDevelopmentPath', remote + EXT],
      ['extensionTestsPath', remote + path.join(EXT, testsPath)],
      ['skipWelcome', 'true'],
    ];
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);

    const handled = new Set();
    let done = false;
    const checks = (async () => {
      while (!done) {
        for (const file of fs.readdirSync(dirs.sync)) {
          const match = /^(.+)\.request\.json$/.exec(file);
          if (!match || handled.has(match[1])) {
            continue;
          }
          let request;
          try {
            request = JSON.parse(fs.readFileSync(path.join(dirs.sync, file), 'utf8'));
          } catch {
            continue; // the test is still writing it: read it again on the next pass
          }
          handled.add(match[1]);
          const reply = await runCheck(page, match[1], request).catch((error) => ({ ok: false, problems: [String(error)] }));
          fs.writeFileSync(path.join(dirs.sync, `${match[1]}.reply.json`), JSON.stringify(reply));
        }
        await sleep(100);
      }
    })();
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), TIMEOUT_MS));
    const outcome = await Promise.race([finished, timeout]);
    done = true;
    await checks;
    if (outcome === 'timeout') {
      console.error(`run-e2e: the tests did not finish within ${TIMEOUT_MS / 1000} s`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'timeout.png') }).catch(() => undefined);
    } else {
      exitCode = Number(outcome);
      if (exitCode !== 0) {
        await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => undefined);
      }
    }
  } catch (error) {
    console.error('run-e2e: failed:', error);
  } finally {
    await browser?.close().catch(() => undefined);
    try {
      process.kill(-(/** @type {number} */ (codeServer.pid)), 'SIGTERM');
    } catch {
      // already gone
    }
    fake.process.stdin?.end();
    fake.process.kill();
    if (!process.env.E2E_KEEP) {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  console.log(`extension-host tests ${exitCode === 0 ? 'passed' : 'FAILED'} (exit code ${exitCode}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(exitCode === 0 ? 0 : 1);
}

module.exports = { main };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
