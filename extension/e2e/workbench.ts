// A real VS Code workbench for end-to-end tests: code-server 4.100.3 (VS Code 1.100.3) installed
// by e2e/setup.sh into .cache/code-server, driven by playwright-core in Debian's Chromium. Every
// run uses throwaway user-data, extensions, XDG and TMPDIR folders; nothing touches ~ or the repo.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Page } from 'playwright-core';

export const REPO = join(import.meta.dirname, '..', '..');
export const CODE_SERVER = join(process.env.TALLY_E2E_CACHE ?? join(REPO, '.cache'), 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = process.env.TALLY_E2E_CHROMIUM ?? '/usr/bin/chromium';

export interface Workbench {
  readonly page: Page;
  readonly folder: string;
  readonly logs: string[];
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'workbench.tips.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.commandCenter.enabled': false,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
  // The tests insert multi-line YAML at column 1; the editor must not re-indent it.
  'editor.autoIndent': 'none',
  'window.zoomLevel': 0,
};

/** Starts code-server on `folder` with the .vsix installed and opens it in headless Chromium. */
export async function openWorkbench(folder: string, vsix: string, settings: Record<string, unknown> = {}): Promise<Workbench> {
  const base = mkdtempSync(join(tmpdir(), 'tally-e2e-'));
  const dirs = { userData: join(base, 'user-data'), extensions: join(base, 'extensions'), xdgConfig: join(base, 'config'), xdgData: join(base, 'data'), tmp: join(base, 'tmp'), browser: join(base, 'browser') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...SETTINGS, ...settings }, null, 2));
  const port = await freePort();
  const config = join(base, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = { ...process.env, XDG_CONFIG_HOME: dirs.xdgConfig, XDG_DATA_HOME: dirs.xdgData, TMPDIR: dirs.tmp, CI: process.env.CI ?? '' };
  delete (env as Record<string, unknown>).TALLY_DATABASE_URL;
  delete (env as Record<string, unknown>).DATABASE_URL;
  const common = ['--config', config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  execFileSync(CODE_SERVER, [...common, '--install-extension', vsix], { env, stdio: 'pipe' });
  const logs: string[] = [];
  const server: ChildProcess = spawn(
    CODE_SERVER,
    [...common, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', folder],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
  server.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
  const stop = () => {
    try {
      process.kill(-server.pid!, 'SIGTERM'); // the whole process group: a watcher child outlives the main process otherwise
    } catch {
      /* already gone */
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline || server.exitCode !== null) {
      stop();
      throw new Error(`code-server did not start:\n${logs.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(dirs.browser, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    stop();
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') logs.push(`[browser] ${m.text()}\n`);
  });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return {
    page,
    folder,
    logs,
    close: async () => {
      await context.close().catch(() => undefined);
      stop();
      await new Promise((r) => setTimeout(r, 300));
      if (!process.env.TALLY_E2E_KEEP) rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Runs a command from the command palette (F1: Ctrl+Shift+P can be taken by the browser). */
export async function runCommand(page: Page, title: string): Promise<void> {
  // The palette can close under us when an editor takes the focus (e.g. a file switching to the
  // Tally YAML language just after it opened): try again a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      await input.fill(`>${title}`, { timeout: 5_000 });
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
      await row.waitFor({ timeout: 15_000 });
      await input.press('Enter', { timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.waitForTimeout(300);
    }
  }
}

/** Puts the keyboard focus back into the active editor. */
export async function focusEditor(page: Page): Promise<void> {
  await runCommand(page, 'View: Focus Active Editor Group');
}

/** Opens a file of the workspace through Quick Open. */
export async function openFile(page: Page, relPath: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(relPath);
  const name = relPath.split('/').pop()!;
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 15_000 });
  await input.press('Enter');
  await page.locator(`.tab.active[aria-label*="${name}"]`).first().waitFor({ timeout: 15_000 });
  // Definition files switch to the Tally YAML language right after opening: wait for it, so the
  // switch does not steal the focus from what the test does next.
  if (/^definitions\/.*\.ya?ml$/.test(relPath)) await page.locator('.statusbar-item', { hasText: 'Tally YAML' }).first().waitFor({ timeout: 15_000 });
}

/** Goes to a 1-based line of the active editor (Quick Open's `:` mode). */
export async function goToLine(page: Page, line: number): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${line}`);
  await input.press('Enter');
}

/** The frame of a webview whose document has `selector` (webviews are nested iframes). */
export async function webviewFrame(page: Page, selector: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      // A frame that is still loading can hold a query for long: give each one a short look.
      const found = await Promise.race([f.$(selector).catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
      if (found) return f;
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
    await page.waitForTimeout(250);
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function ensureInstalled(): void {
  if (!existsSync(CODE_SERVER)) throw new Error(`code-server is not installed at ${CODE_SERVER}: run extension/e2e/setup.sh`);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: run extension/e2e/setup.sh`);
}

/**
 * The text of the editor in the panel (the Output view's channel), top to bottom: Monaco renders
 * only the visible lines, so this scrolls through it a page at a time.
 */
export async function outputText(page: Page): Promise<string> {
  const editor = page.locator('.panel .monaco-editor').first();
  // Focus the output's editor so the keys below scroll it. A click can be refused while the panel's
  // maximize transition leaves the page itself on top of the editor; focusing Monaco's input works then.
  await editor
    .locator('.view-lines')
    .click({ position: { x: 5, y: 5 }, timeout: 5_000 })
    .catch(() => editor.locator('textarea').first().focus());
  await page.keyboard.press('Control+Home');
  const visible = () =>
    editor.evaluate((el) =>
      Array.from(el.querySelectorAll<HTMLElement>('.view-lines .view-line'))
        .map((l) => [parseFloat(l.style.top) || 0, (l.textContent ?? '').replace(/\u00a0/g, ' ')] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, t]) => t)
        .join('\n'),
    );
  const pages = [await visible()];
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('PageDown');
    // The next page once Monaco has rendered it; the same text for a while: the end.
    const next = await until('the next page', async () => {
      const t = await visible();
      return t !== pages.at(-1) ? t : undefined;
    }, 1_000).catch(() => undefined);
    if (next === undefined) break;
    pages.push(next);
  }
  return pages.join('\n');
}

/**
 * Closes an editor by its tab's close button (`.tab[aria-label^=label]`, case-sensitive). Not
 * through the palette: "View: Close Editor" also matches "View: Close All Editor Groups", which
 * the palette lists first.
 */
export async function closeTab(page: Page, label: string): Promise<void> {
  const tab = page.locator(`.tab[aria-label^="${label}"]`).first();
  if ((await tab.count()) === 0) return;
  await tab.hover();
  await tab.locator('.tab-actions .action-label').first().click();
  await tab.waitFor({ state: 'detached', timeout: 10_000 });
}
