// Drives a real VS Code (code-server) in headless Chromium with playwright-core and checks the
// aioscope extension against live CPython processes. Started by scripts/e2e.sh, which installs
// everything and passes the paths in AIOSCOPE_E2E_* variables.
//
// For each Python version, the parts (AIOSCOPE_E2E_PARTS selects some, for debugging the test):
//   tree      tree.py from a launch configuration: the CALL STACK's rows, the first stop's task
//             and frame, label frames, the Await Tree (hierarchy, frame click and highlight, a
//             filter on functions changed in one click, collapse all), a new snapshot while
//             paused (Refresh, F6) keeping the frame looked at, a Watch error that is no toast
//   phases    phases.py, whose tasks finish and start on a signal: new snapshots while paused
//             (Refresh, F6) and while continued with a refresh interval reach the CALL STACK
//   cycle     cycle.py through "aioscope: Attach to Python Process…": the warning, ⚠ rows
//   values    dapvalues.py: VARIABLES (Arguments, Locals with the values the program itself
//             prints, expanding them), watch expressions, hovers in the editor, the Await Tree's
//             frames as calls with their arguments
//   refused   a CPython 3.13 process through the same command: the error dialog
//   many      service.py with 10,000 tasks through ${command:pickProcess}: how fast the views
//             come, the capped CALL STACK and its last row, identical tasks folded in the tree
//   exit      blocked.py: the running task first, then the process killed: the last snapshot
//   launch    "create a launch.json file" in a folder without one
//   icon      the extension's icon in the Extensions view
//   lenses    health.py through the attach command: the language server the extension starts
//             shows how long tasks wait in code lenses, and the stuck task and the blocked event
//             loop as warnings (in the editor and the Problems panel), gone with the session
//   time      health.py followed with a refresh interval: how long tasks have waited in the CALL
//             STACK and the Await Tree, the stuck task marked, the loop lag in the tree's header,
//             and the blocked loop's notification, whose button opens the blocking frame
// Expected task names, files and lines come from `aioscope ps/pstree --json`.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run scripts/e2e.sh)`);
    process.exit(2);
  }
  return v;
};

const codeServer = env('AIOSCOPE_E2E_CODE_SERVER');
const chromiumPath = env('AIOSCOPE_E2E_CHROMIUM');
const vsix = env('AIOSCOPE_E2E_VSIX');
const aioscope = env('AIOSCOPE_E2E_AIOSCOPE');
const artifacts = env('AIOSCOPE_E2E_ARTIFACTS');
const work = env('AIOSCOPE_E2E_WORK');
const scenarios = env('AIOSCOPE_E2E_SCENARIOS');
const targets = env('AIOSCOPE_E2E_TARGETS')
  .split(/\s+/)
  .filter(Boolean)
  .map((s) => {
    const i = s.indexOf('=');
    return { version: s.slice(0, i), python: s.slice(i + 1) };
  });
const { chromium } = createRequire(path.join(env('AIOSCOPE_E2E_PLAYWRIGHT'), 'package.json'))('playwright-core');
const python313 = process.env.AIOSCOPE_E2E_PYTHON313 ?? '';
const allParts = ['tree', 'phases', 'cycle', 'values', 'refused', 'many', 'exit', 'launch', 'icon', 'lenses', 'time'];
const parts = new Set((process.env.AIOSCOPE_E2E_PARTS ?? allParts.join(',')).split(',').map((s) => s.trim()).filter(Boolean));

const timeout = 30_000;
let passed = 0;
let failed = 0;
const failures = [];
const children = [];
let page;
let shot = 0;

function log(msg) {
  console.log(`e2e: ${msg}`);
}

async function screenshot(name) {
  if (!page) {
    return;
  }
  shot++;
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file });
    log(`  screenshot ${path.relative(process.cwd(), file)}`);
  } catch (err) {
    log(`  screenshot ${name} failed: ${err.message}`);
  }
}

/** Records one assertion; on failure also a screenshot of the moment. */
async function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    log(`ok    ${name}`);
  } else {
    failed++;
    failures.push(name);
    log(`FAIL  ${name}${detail ? `: ${detail}` : ''}`);
    await screenshot(`FAIL-${name.replace(/[^\w.-]+/g, '_').slice(0, 60)}`);
  }
  return ok;
}

/** Polls fn until it returns a truthy value or the time is up; returns the last value. */
async function until(fn, ms = timeout, every = 200) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    try {
      v = await fn();
    } catch {
      v = undefined;
    }
    if (v || Date.now() > end) {
      return v;
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts a scenario program and waits for its "READY <pid>" line. */
async function startTarget(python, script, args = []) {
  const child = spawn(python, [path.join(scenarios, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const target = { child, out: '' };
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (target.out += d));
  target.pid = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not print READY in 20 s: ${err}`)), 20_000);
    const look = () => {
      const m = /READY (\d+)/.exec(target.out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${err}`));
    });
  });
  /** Waits until the program has printed a line matching re. */
  target.waitFor = (re, ms = 10_000) => until(() => re.test(target.out), ms, 50);
  return target;
}

function aioscopeJSON(cmd, pid) {
  const r = spawnSync(aioscope, [cmd, '--json', String(pid)], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.stdout === '') {
    throw new Error(`aioscope ${cmd} ${pid} failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** Process state from /proc/PID/stat ("S", "R", "T" for stopped...). */
function procState(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

// ---- workbench helpers ----

// A pane's header carries its title; its aria-label also carries the view's description.
const paneHeader = (title) => page.locator('.pane-header').filter({ has: page.locator('h3.title', { hasText: new RegExp(`^${title}$`, 'i') }) });
const pane = (title) => page.locator('.pane').filter({ has: paneHeader(title) });

/** Expands the panes wanted and collapses the others, to give the lists room. */
async function arrangePanes(expand) {
  for (const title of ['Variables', 'Watch', 'Call Stack', 'Breakpoints', 'Await Tree']) {
    const header = paneHeader(title);
    if ((await header.count()) === 0) {
      continue;
    }
    const open = (await header.getAttribute('aria-expanded')) === 'true';
    if (open !== expand.includes(title)) {
      await header.click();
      await page.waitForTimeout(150);
    }
  }
}

/** The rendered rows of a pane's list. */
async function rows(title) {
  return pane(title).evaluate((p) =>
    [...p.querySelectorAll('.monaco-list-row')]
      .map((r) => ({
        index: Number(r.dataset.index),
        level: Number(r.getAttribute('aria-level')),
        aria: r.getAttribute('aria-label') ?? '',
        name: (r.querySelector('.label-name') ?? r.querySelector('.name') ?? r.querySelector('.label'))?.textContent?.trim() ?? '',
        description: r.querySelector('.label-description')?.textContent?.trim() ?? '',
        expanded: r.getAttribute('aria-expanded'),
        setsize: Number(r.getAttribute('aria-setsize')),
        selected: r.classList.contains('selected'),
        text: r.textContent ?? '',
      }))
      .sort((a, b) => a.index - b.index),
  );
}

/** Scrolls a pane's list until a row matches; undefined if none does. */
/**
 * Scrolls a pane's list to its first row: with the wheel, and when that does not get there (a
 * long list, scrolled far down), with the list's Home key.
 */
// scrollToTop scrolls a list to its first row, and reports whether it got there: a busy machine
// can leave a long list short of it, and a reader of every row must then try again.
async function scrollToTop(title, list, box) {
  const atTop = async () => (await rows(title)).some((r) => r.index === 0);
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.mouse.wheel(0, -100000);
    await page.waitForTimeout(100 * (attempt + 1));
    if (await atTop()) {
      return true;
    }
    await list.focus();
    await page.keyboard.press('Home');
    const top = await until(atTop, 3000, 50);
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
    if (top) {
      return true;
    }
  }
  return false;
}

async function findRow(title, pred, { fromTop = true } = {}) {
  const list = pane(title).locator('.monaco-list').first();
  const box = await list.boundingBox();
  if (!box) {
    return undefined;
  }
  await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
  if (fromTop) {
    await scrollToTop(title, list, box);
  }
  let last = '';
  for (let i = 0; i < 60; i++) {
    const rs = await rows(title);
    const hit = rs.find(pred);
    if (hit) {
      return hit;
    }
    const sig = rs.map((r) => r.index).join(',');
    if (sig === last) {
      return undefined; // the bottom
    }
    last = sig;
    await page.mouse.wheel(0, Math.max(60, box.height * 0.6));
    await page.waitForTimeout(120);
  }
  return undefined;
}

async function clickRow(title, row, { twistie = false } = {}) {
  // The list may have scrolled or re-rendered since the row was found (VS Code reveals the
  // frame it focuses): then the row is looked for again by what it says.
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = pane(title).locator(`.monaco-list-row[data-index="${row.index}"]`);
    try {
      if ((await r.getAttribute('aria-label', { timeout: 2000 })) === row.aria) {
        await r.scrollIntoViewIfNeeded({ timeout: 5000 });
        await (twistie ? r.locator('.monaco-tl-twistie') : r).click({ timeout: 5000 });
        return;
      }
    } catch {
      // looked for again below
    }
    row = (await findRow(title, (x) => x.aria === row.aria)) ?? row;
  }
  throw new Error(`no row "${row.aria}" in ${title} to click`);
}

/** Clicks one of a pane's title actions (they show when the pane is hovered). */
async function paneAction(title, label) {
  await paneHeader(title).hover();
  const a = pane(title).locator(`.pane-header .action-label[aria-label="${label}"]`);
  await a.waitFor({ state: 'visible', timeout: 5000 });
  await a.click();
}

/** The file of the active editor tab and the line of the cursor. */
async function editorState() {
  return page.evaluate(() => {
    const tab = document.querySelector('.editor-group-container.active .tab.active') ?? document.querySelector('.tab.active');
    const title = tab?.querySelector('.label-name')?.textContent?.trim() ?? '';
    const resource = tab?.getAttribute('data-resource-name') ?? '';
    const editor = document.querySelector('.editor-group-container.active .monaco-editor') ?? document.querySelector('.monaco-editor');
    const active = editor?.querySelector('.line-numbers.active-line-number')?.textContent?.trim() ?? '';
    const status = document.getElementById('status.editor.selection')?.textContent ?? '';
    const m = /Ln (\d+), Col (\d+)/.exec(status);
    // The breadcrumbs above the editor: the folders down to the file (relative to the workspace
    // folder, which shows as its name, or from / for files outside it).
    const crumbs = [...(document.querySelector('.editor-group-container.active .breadcrumbs-control') ?? document).querySelectorAll('.monaco-breadcrumb-item')].map((e) => e.textContent?.trim() ?? '');
    return { title, resource, activeLine: active, statusLine: m ? m[1] : '', status, crumbs };
  });
}

/** Whether the breadcrumbs name the file itself: its folders (a suffix of them) and its name. */
function crumbsMatch(crumbs, file) {
  const at = crumbs.lastIndexOf(path.basename(file));
  if (at < 1) {
    return false;
  }
  return file.endsWith('/' + crumbs.slice(0, at + 1).join('/'));
}

async function expectEditorAt(what, file, line) {
  const st = await until(async () => {
    const s = await editorState();
    return s.title === path.basename(file) && crumbsMatch(s.crumbs, file) && s.statusLine === String(line) && s.activeLine === String(line) ? s : undefined;
  }, 10_000);
  const s = st ?? (await editorState());
  await check(
    `${what} opens ${path.basename(file)} at line ${line}`,
    st !== undefined,
    `tab "${s.title}", breadcrumbs "${s.crumbs.join(' › ')}" (want ${file}), active line number "${s.activeLine}", status "${s.status}"`,
  );
}

async function runCommand(title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
}

async function welcomeText() {
  return pane('Await Tree').locator('.welcome-view-content').innerText({ timeout: 2000 }).catch(() => '');
}

async function treeMessage() {
  return pane('Await Tree').locator('.message').innerText({ timeout: 1000 }).catch(() => '');
}

/** The texts of the notification toasts shown. */
async function toasts() {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts().catch(() => []);
}

/** Whether the active editor's cursor line carries a whole-line decoration (a highlight). */
async function cursorLineHighlighted() {
  return page.evaluate(() => {
    const editor = document.querySelector('.editor-group-container.active .monaco-editor') ?? document.querySelector('.monaco-editor');
    for (const line of editor?.querySelectorAll('.view-overlays > div') ?? []) {
      if (line.querySelector('.current-line') && [...line.children].some((c) => /\bced-/.test(c.className) && getComputedStyle(c).backgroundColor !== 'rgba(0, 0, 0, 0)')) {
        return true;
      }
    }
    return false;
  });
}

/** A CALL STACK row of a task: its name, marks before it, where it waits after it. */
function taskRow(name) {
  return (r) => ['', '▶ ', '⚠ ', '⏳ '].some((mark) => r.aria.startsWith(`Thread ${mark}${name} · `) || r.aria.startsWith(`Thread ${mark}${name} Paused`));
}

/** The thread rows of the CALL STACK (every one, scrolling through the list). */
async function allThreadRows() {
  const seen = new Map();
  const list = pane('Call Stack').locator('.monaco-list').first();
  const box = await list.boundingBox();
  if (!box) {
    return [];
  }
  await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
  if (!(await scrollToTop('Call Stack', list, box))) {
    log('  the CALL STACK did not scroll to its first row: its rows are read from where it stands');
  }
  let last = '';
  for (let i = 0; i < 1000; i++) {
    const rs = await rows('Call Stack');
    for (const r of rs) {
      if (r.aria.startsWith('Thread ')) {
        seen.set(r.index, r);
      }
    }
    const sig = rs.map((r) => r.index).join(',');
    if (sig === last) {
      break;
    }
    last = sig;
    // The list scrolls further than the wheel's pixels: steps of a quarter page miss no row.
    await page.mouse.wheel(0, Math.max(40, box.height * 0.25));
    await page.waitForTimeout(60);
  }
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

/** The last thread row of the CALL STACK, as its End key shows it. */
async function lastThreadRow() {
  const list = pane('Call Stack').locator('.monaco-list').first();
  await list.focus();
  await page.keyboard.press('End');
  await page.waitForTimeout(300);
  return until(async () => {
    const threads = (await rows('Call Stack')).filter((r) => r.aria.startsWith('Thread '));
    return threads[threads.length - 1];
  }, 5000);
}

/** Presses a key with the focus in the editor area, as a user would after reading code. */
async function pressInEditor(key) {
  await page.mouse.click(1200, 400);
  await page.keyboard.press(key);
}

/** Ends the debug session shown and waits for the Await Tree's welcome. */
async function disconnect(version, what) {
  await pressInEditor('Shift+F5');
  await check(`[${version}] the ${what} session ends`, (await waitNoSession()) === true, await welcomeText());
}

async function waitNoSession() {
  return until(async () => (await welcomeText()).includes('No aioscope session is running'), 20_000);
}

/** Where text first occurs in the editor's line holding lineText: the middle of its first character. */
async function editorTextPoint(lineText, text, charOffset = 0) {
  return page.evaluate(
    ({ lineText, text, charOffset }) => {
      for (const line of document.querySelectorAll('.editor-group-container.active .monaco-editor .view-line')) {
        const content = (line.textContent ?? '').replace(/\u00a0/g, ' ');
        if (!content.includes(lineText)) {
          continue;
        }
        const at = content.indexOf(text, content.indexOf(lineText)) + charOffset;
        // Find the text node holding character `at` and measure it.
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        let seen = 0;
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const len = n.textContent.length;
          if (at < seen + len) {
            const range = document.createRange();
            range.setStart(n, at - seen);
            range.setEnd(n, at - seen + 1);
            const r = range.getBoundingClientRect();
            return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
          }
          seen += len;
        }
      }
      return undefined;
    },
    { lineText, text, charOffset },
  );
}

/**
 * Hovers the editor at text (in the line holding lineText) until the debug hover shows want, and
 * returns the hover's text. The point is measured again for each try: code lenses of the language
 * server come and go above lines and move them.
 */
async function debugHover(lineText, text, charOffset, want) {
  let shown = '';
  for (let attempt = 0; attempt < 3 && !shown.includes(want); attempt++) {
    await page.mouse.move(10, 10);
    await page.waitForTimeout(300);
    const pt = await editorTextPoint(lineText, text, charOffset);
    if (pt === undefined) {
      return `(no "${text}" in an editor line with "${lineText}")`;
    }
    await page.mouse.move(pt.x - 2, pt.y);
    await page.mouse.move(pt.x, pt.y, { steps: 3 });
    const hover = page.locator('.debug-hover-widget').first();
    shown = (await until(async () => ((await hover.isVisible()) ? (await hover.innerText()).trim() || undefined : undefined), 8000)) ?? '';
  }
  await page.waitForTimeout(400); // the hover fades in
  return shown;
}

/** The rendered hover (tooltip) text, once one shows. */
async function hoverText(timeoutMs = 5000) {
  return until(async () => {
    const texts = await page.locator('.monaco-hover, .workbench-hover, .custom-hover').allInnerTexts();
    return texts.find((t) => t.trim() !== '');
  }, timeoutMs);
}

/**
 * A session on dapvalues.py: a frame's Arguments and Locals in VARIABLES with the values the
 * program prints for them, expanding a dict, watch expressions (and a refused one, without a
 * notification), hovers in the editor, and the Await Tree's frames as calls.
 */
async function partValues({ version, values, names }) {
  const configName = names.values;
  const facts = values.facts.handler;
  const reprOf = (name) => facts.vars.find((v) => v[0] === name)[2];
  await runCommand('Debug: Select and Start Debugging');
  const configItem = page.locator('.quick-input-widget .monaco-list-row', { hasText: configName }).first();
  await configItem.waitFor({ state: 'visible', timeout: 10_000 });
  await configItem.click();
  await page.mouse.move(1200, 600);
  await arrangePanes(['Call Stack', 'Variables', 'Watch']);
  const threadRow = await until(() => findRow('Call Stack', taskRow('handler')), 30_000, 500);
  if (!(await check(`[${version}] the dapvalues.py session lists the task handler`, threadRow !== undefined))) {
    return;
  }
  await clickRow('Call Stack', threadRow, { twistie: true });
  const frameAria = `Stack Frame handle, line ${facts.line}, dapvalues.py`;
  const frameRow = await until(() => findRow('Call Stack', (r) => r.aria === frameAria), 15_000, 500);
  if (!(await check(`[${version}] handler's stack shows "${frameAria}"`, frameRow !== undefined))) {
    return;
  }
  await clickRow('Call Stack', frameRow);
  await expectEditorAt(`[${version}] clicking frame handle`, path.join(scenarios, 'dapvalues.py'), facts.line);

  // VARIABLES: Arguments (open at once), Locals, Task — read from the process.
  const varRow = (name, value) => (r) => r.aria === `${name}, value ${value}`;
  const args = facts.vars.filter((v) => v[1] === 'argument');
  const argsShown = await until(async () => {
    for (const [name, , repr] of args) {
      if (!(await findRow('Variables', varRow(name, repr)))) {
        return undefined;
      }
    }
    return true;
  }, 15_000, 500);
  await check(
    `[${version}] VARIABLES shows handle's Arguments: ${args.map((a) => `${a[0]} = ${a[2]}`).join(', ')}`,
    argsShown === true,
    JSON.stringify((await rows('Variables')).map((r) => r.aria)),
  );
  // The VARIABLES view gets the room: the frame is selected.
  await arrangePanes(['Variables']);
  const scopes = [];
  for (const name of ['Arguments', 'Locals', 'Task']) {
    const row = await findRow('Variables', (r) => r.aria === `Scope ${name}`);
    if (row) {
      scopes.push([name, row.index]);
    }
  }
  await check(
    `[${version}] VARIABLES has the scopes Arguments, Locals and Task, in that order`,
    scopes.map((x) => x[0]).join(',') === 'Arguments,Locals,Task' && scopes[0][1] < scopes[1][1] && scopes[1][1] < scopes[2][1],
    JSON.stringify(scopes),
  );
  await screenshot(`${version}-variables-arguments`);

  const localsScope = await findRow('Variables', (r) => r.aria === 'Scope Locals');
  if (localsScope && localsScope.expanded !== 'true') {
    await clickRow('Variables', localsScope, { twistie: true });
  }
  const localsWanted = ['nested', 'items', 'label', 'text', 'point'];
  const localsShown = await until(async () => {
    for (const name of localsWanted) {
      if (!(await findRow('Variables', varRow(name, reprOf(name))))) {
        return undefined;
      }
    }
    return true;
  }, 15_000, 500);
  await check(
    `[${version}] VARIABLES shows handle's Locals as the program's repr(): ${localsWanted.map((n) => `${n} = ${reprOf(n)}`).join(', ')}`,
    localsShown === true,
    JSON.stringify((await rows('Variables')).map((r) => r.aria)),
  );
  const nestedRow = await findRow('Variables', varRow('nested', reprOf('nested')));
  if (nestedRow) {
    await clickRow('Variables', nestedRow, { twistie: true });
    const child = await until(() => findRow('Variables', varRow("'list'", '[1, [2, 3]]')), 10_000, 300);
    await check(`[${version}] expanding nested shows its item 'list': [1, [2, 3]]`, child !== undefined, JSON.stringify((await rows('Variables')).map((r) => r.aria)));
  }
  // The Task scope: what the task is doing, without the adapter's own numbers.
  const taskScope = await findRow('Variables', (r) => r.aria === 'Scope Task');
  if (taskScope && taskScope.expanded !== 'true') {
    await clickRow('Variables', taskScope, { twistie: true });
  }
  const taskFacts = await until(async () => {
    const name = await findRow('Variables', varRow('name', 'handler'));
    const state = await findRow('Variables', varRow('state', 'pending (suspended)'));
    return name && state ? true : undefined;
  }, 10_000, 300);
  const internal = await findRow('Variables', (r) => r.aria.startsWith('threadId,') || r.aria.startsWith('columns '));
  await check(`[${version}] the Task scope says the task's name and state, and no thread id`, taskFacts === true && internal === undefined, JSON.stringify((await rows('Variables')).map((r) => r.aria)));
  await screenshot(`${version}-variables-locals`);

  // Watch expressions: read in the selected frame; a refused one says so in place, no toast.
  await arrangePanes(['Watch']);
  const watches = [
    ["nested['list'][1]", '[2, 3]'],
    ['len(big)', '100000'],
    ['point.tags[-1]', "'q'"],
  ];
  for (const [expr] of [...watches, ['point.x + 1']]) {
    await paneAction('Watch', 'Add Expression');
    const input = pane('Watch').locator('input');
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill(expr);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(200);
  }
  for (const [expr, want] of watches) {
    const row = await until(() => findRow('Watch', (r) => r.aria === `${expr}, value ${want}`), 10_000, 300);
    await check(`[${version}] watch ${expr} = ${want}`, row !== undefined, JSON.stringify((await rows('Watch')).map((r) => r.aria)));
  }
  const refused = await until(() => findRow('Watch', (r) => r.aria.startsWith('point.x + 1') && r.text.includes('aioscope only reads values')), 10_000, 300);
  await check(`[${version}] watch point.x + 1 shows the refusal in place`, refused !== undefined, JSON.stringify((await rows('Watch')).map((r) => r.text)));
  const toasts = await page.locator('.notifications-toasts .notification-toast', { hasText: 'only reads values' }).count();
  await check(`[${version}] the refused watch shows no notification`, toasts === 0, `${toasts} toasts`);
  await screenshot(`${version}-watch`);

  // Hovers in the editor (dapvalues.py is open at the frame's line).
  await page.keyboard.press('Escape');
  const hoverItems = await debugHover('items = [10, 20, 30]', 'items', 0, '[10, 20, 30]');
  await check(`[${version}] hovering items in the editor shows [10, 20, 30]`, hoverItems.includes('[10, 20, 30]'), hoverItems);
  await screenshot(`${version}-hover-name`);
  const hoverItem = await debugHover('label = point.tags[-1]', '-1', 0, "'q'");
  await check(`[${version}] hovering the subscript of point.tags[-1] shows 'q'`, hoverItem.includes("'q'"), hoverItem);
  await screenshot(`${version}-hover-subscript`);
  await page.mouse.move(10, 10);

  // The Await Tree: handler's frames as calls, whole values in the tooltip.
  await arrangePanes(['Await Tree']);
  const handlerRow = await until(() => findRow('Await Tree', (r) => r.name === 'handler'), 15_000, 500);
  if (handlerRow && handlerRow.expanded !== 'true') {
    await clickRow('Await Tree', handlerRow, { twistie: true });
  }
  const call = `handle(request=${reprOf('request')}, user_id=${reprOf('user_id')}, retries=${reprOf('retries')}`;
  const callRow = await until(() => findRow('Await Tree', (r) => r.name.startsWith(call)), 15_000, 500);
  await check(`[${version}] Await Tree shows handler's frame as the call ${call}, …)`, callRow !== undefined, JSON.stringify((await rows('Await Tree')).map((r) => r.name)));
  if (callRow) {
    await pane('Await Tree').locator(`.monaco-list-row[data-index="${callRow.index}"]`).hover();
    const tip = await hoverText(8000);
    await check(`[${version}] its tooltip lists the arguments whole`, (tip ?? '').includes('Arguments:') && (tip ?? '').includes(`extra = ${reprOf('extra')}`), tip);
    await screenshot(`${version}-await-tree-arguments`);
  }
  await arrangePanes(['Call Stack', 'Await Tree']);
  await disconnect(version, 'dapvalues.py');
}

// ---- the scenario ----

/** Starts a launch configuration of the workspace through "Debug: Select and Start Debugging". */
async function startConfig(name) {
  await runCommand('Debug: Select and Start Debugging');
  const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await item.click();
  await page.mouse.move(1200, 600);
}

/** Picks a process in aioscope's process picker, already open. */
async function pickInPicker(pid) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Attach to a Python process' }).waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('.quick-input-widget input').fill(String(pid));
  return until(async () => {
    const t = await page.locator('.quick-input-widget .monaco-list-row').first().innerText({ timeout: 1000 });
    return t.includes(`pid ${pid}`) ? t : undefined;
  }, 10_000);
}

/** The time a thread row's badge gives the stop, "snapshot HH:MM:SS". */
function stopTime(row) {
  return /snapshot (\d\d:\d\d:\d\d)/.exec(row?.text ?? '')?.[1];
}

async function testVersion(browser, port, { version, python }) {
  log(`--- CPython ${version} (${python})`);
  const started = [];
  const start = async (script, args) => {
    const t = await startTarget(python, script, args);
    started.push(t);
    return t;
  };
  const tree = await start('tree.py');
  const phases = parts.has('phases') ? await start('phases.py') : undefined;
  const blocked = parts.has('exit') ? await start('blocked.py') : undefined;
  let values;
  if (parts.has('values')) {
    const valuesFacts = path.join(work, `dapvalues-${version}.json`);
    fs.mkdirSync(work, { recursive: true });
    values = await start('dapvalues.py', ['--json', valuesFacts]);
    values.facts = JSON.parse(fs.readFileSync(valuesFacts, 'utf8'));
  }
  log(`tree.py pid ${tree.pid}${phases ? `, phases.py pid ${phases.pid}` : ''}${blocked ? `, blocked.py pid ${blocked.pid}` : ''}`);

  const ws = path.join(work, `ws-${version}`);
  fs.mkdirSync(ws, { recursive: true });
  const wsFile = path.join(ws, `scenarios-${version}.code-workspace`);
  const names = {
    tree: `Attach to tree.py (Python ${version})`,
    pick: `Attach to a picked process (Python ${version})`,
    phases: `Follow phases.py (Python ${version})`,
    blocked: `Attach to blocked.py (Python ${version})`,
    values: `Attach to dapvalues.py (Python ${version})`,
  };
  const configurations = [
    { type: 'aioscope', request: 'attach', name: names.tree, processId: tree.pid },
    { type: 'aioscope', request: 'attach', name: names.pick, processId: '${command:pickProcess}' },
  ];
  if (phases) {
    configurations.push({ type: 'aioscope', request: 'attach', name: names.phases, processId: phases.pid, refreshInterval: 500 });
  }
  if (blocked) {
    configurations.push({ type: 'aioscope', request: 'attach', name: names.blocked, processId: blocked.pid });
  }
  if (values) {
    configurations.push({ type: 'aioscope', request: 'attach', name: names.values, processId: values.pid });
  }
  const health = parts.has('time') ? await timeTarget(start, version, names, configurations) : undefined;
  fs.writeFileSync(wsFile, JSON.stringify({ folders: [{ path: scenarios }], launch: { version: '0.2.0', configurations } }, null, 2));

  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  page = await context.newPage();
  const consoleLog = fs.createWriteStream(path.join(artifacts, `browser-console-${version}.log`));
  page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
  const ctx = { version, python, tree, phases, blocked, values, health, names, start };
  try {
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${port}/?workspace=${encodeURIComponent(wsFile)}`);
    await page.waitForSelector('.monaco-workbench .part.activitybar', { timeout: 60_000 });
    await page.waitForSelector('.part.statusbar', { timeout: 60_000 });
    log(`workbench loaded in ${Date.now() - t0} ms`);
    await page.waitForTimeout(1500);

    // Run and Debug view, wide enough to read; the hover of the focused start button would
    // cover the pane headers, so the focus goes to the editor area first.
    await page.keyboard.press('Control+Shift+D');
    await page.locator('.start-debug-action-item .codicon-debug-start').waitFor({ timeout });
    const sb = await page.locator('#workbench\\.parts\\.sidebar').boundingBox();
    await page.mouse.move(sb.x + sb.width - 1, sb.y + sb.height / 2);
    await page.mouse.down();
    await page.mouse.move(sb.x + 560, sb.y + sb.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.keyboard.press('Escape');
    await page.mouse.click(1200, 400);
    await arrangePanes(['Call Stack', 'Await Tree']);

    const welcome = await until(async () => {
      const t = await welcomeText();
      return t.includes('No aioscope session is running') ? t : undefined;
    }, 15_000);
    await check(`[${version}] Await Tree says how to start a session when none runs`, welcome !== undefined && /Attach to Python Process/.test(welcome ?? ''), await welcomeText());
    await screenshot(`${version}-welcome`);

    for (const [name, run] of [
      ['tree', partTree],
      ['phases', partPhases],
      ['cycle', partCycle],
      ['values', partValues],
      ['refused', partRefused],
      ['many', partMany],
      ['exit', partExit],
      ['icon', partIcon],
      ['lenses', partLenses],
      ['time', partTime],
    ]) {
      if (parts.has(name)) {
        log(`[${version}] part ${name}`);
        try {
          await run(ctx);
        } catch (err) {
          await check(`[${version}] ${name}: no unexpected error`, false, err.stack ?? String(err));
          await page.keyboard.press('Escape');
          await disconnectIfRunning();
        }
      }
    }
  } catch (err) {
    await check(`[${version}] no unexpected error`, false, err.stack ?? String(err));
  } finally {
    consoleLog.end();
    await context.close();
    page = undefined;
    for (const t of started) {
      t.child.kill();
    }
  }
  if (parts.has('launch')) {
    await partLaunch(browser, port, version);
  }
}

/** Ends a debug session left running by a part that failed. */
async function disconnectIfRunning() {
  if (!(await welcomeText()).includes('No aioscope session is running')) {
    await pressInEditor('Shift+F5');
    await waitNoSession();
  }
}

// tree.py from the workspace's launch configuration.
async function partTree({ version, tree, names }) {
  // What aioscope's CLI reads from the same process is what the workbench must show.
  const ps = aioscopeJSON('ps', tree.pid);
  const pstree = aioscopeJSON('pstree', tree.pid);
  const byName = new Map(ps.tasks.map((t) => [t.name, t]));
  const frameOf = (task, fn) => byName.get(task).frames.find((f) => f.function === fn);
  const leafFrame = frameOf('A-leaf-1', 'c1');
  const taskAFrame = frameOf('Task-A', 'c2');
  const leafCurrent = frameOf('A-leaf-1', 'deep');
  const leafSleep = frameOf('A-leaf-1', 'sleep');
  const gatherPart = frameOf('gatherer', 'gather_part');
  await check(`[${version}] pstree of tree.py has Task-1 at the root`, pstree.roots.length === 1 && pstree.roots[0].name === 'Task-1');

  // Attach through the launch configuration selected in the Run view.
  const selected = await page.locator('.start-debug-action-item select').inputValue();
  await check(`[${version}] launch configuration "${names.tree}" is selected`, selected.startsWith(names.tree), selected);
  await page.locator('.start-debug-action-item .codicon-debug-start').click();
  await page.mouse.move(1200, 600);

  const wanted = ['Task-1', 'Task-A', 'Task-B', 'A-leaf-1', 'A-leaf-2', 'B-leaf-1', 'gatherer', 'tâche-ünïcode', 'emoji-😀'];
  const firstSeen = await until(() => findRow('Call Stack', taskRow('Task-1')), 30_000, 500);
  await check(`[${version}] the session starts and CALL STACK lists tasks`, firstSeen !== undefined);
  // The first stop shows the first task waiting in the program's own code, at that frame —
  // not the main thread idle in select().
  await expectEditorAt(`[${version}] the first stop`, gatherPart.file, gatherPart.line);
  const focused = await until(async () => (await rows('Call Stack')).find((r) => r.selected), 10_000);
  await check(
    `[${version}] the first stop selects gatherer's frame gather_part in CALL STACK`,
    focused?.aria === `Stack Frame gather_part, line ${gatherPart.line}, ${path.basename(gatherPart.file)}`,
    focused?.aria,
  );
  const missing = [];
  for (const name of wanted) {
    if (!(await findRow('Call Stack', taskRow(name)))) {
      missing.push(name);
    }
  }
  await check(`[${version}] CALL STACK lists the task names ${wanted.join(', ')}`, missing.length === 0, `missing: ${missing.join(', ')}`);
  const leafRow = await findRow('Call Stack', taskRow('A-leaf-1'));
  const wantRow = `A-leaf-1 · deep ${path.basename(leafCurrent.file)}:${leafCurrent.line}`;
  await check(`[${version}] a task's row says where it waits: "${wantRow}"`, leafRow?.aria.startsWith(`Thread ${wantRow} `), leafRow?.aria);
  const gRow = await findRow('Call Stack', taskRow('gatherer'));
  const firstStop = stopTime(gRow);
  await check(`[${version}] the stopped task's badge is short: "snapshot HH:MM:SS"`, firstStop !== undefined && /snapshot \d\d:\d\d:\d\d$/.test(gRow.text), gRow?.text);
  const cut = await pane('Call Stack')
    .locator(`.monaco-list-row[data-index="${gRow?.index}"] .thread .name`)
    .evaluate((e) => e.scrollWidth > e.clientWidth)
    .catch(() => true);
  await check(`[${version}] the stopped task's name is not cut short by its badge`, cut === false);
  const mainThread = await findRow('Call Stack', (r) => /^Thread Thread \d+ "MainThread" · event loop /.test(r.aria));
  await check(`[${version}] CALL STACK names the OS thread after its threading.Thread: 'Thread N "MainThread" · event loop'`, mainThread !== undefined);
  await check(`[${version}] the target keeps running (state ${procState(tree.pid)})`, !/[Tt]/.test(procState(tree.pid)));
  const treeOpen = await until(async () => (await paneHeader('Await Tree').getAttribute('aria-expanded')) === 'true', 10_000);
  await check(`[${version}] the Await Tree is open once the session has its first snapshot`, treeOpen === true);
  await screenshot(`${version}-callstack-first-stop`);

  // Expand A-leaf-1 and click its c1 frame.
  if (leafRow) {
    await clickRow('Call Stack', leafRow, { twistie: true });
  }
  const frameAria = `Stack Frame c1, line ${leafFrame.line}, ${path.basename(leafFrame.file)}`;
  const frameRow = await until(() => findRow('Call Stack', (r) => r.aria === frameAria && r.index > (leafRow?.index ?? 0)), 15_000, 500);
  await check(`[${version}] A-leaf-1's stack shows "${frameAria}"`, frameRow !== undefined);
  const labelRow = await findRow('Call Stack', (r) => r.text.includes('awaited by Task-A') && r.index > (leafRow?.index ?? 0));
  // A label frame points at where the awaiting task awaits: screen readers read a place.
  await check(
    `[${version}] A-leaf-1's stack continues with "awaited by Task-A", read as a place, not "line 0, Unknown Source"`,
    /^Stack Frame awaited by Task-A, line [1-9]\d*, taskgroups\.py$/.test(labelRow?.aria ?? ''),
    labelRow?.aria,
  );
  if (frameRow) {
    await clickRow('Call Stack', frameRow);
    await expectEditorAt(`[${version}] clicking frame c1 in CALL STACK`, leafFrame.file, leafFrame.line);
  }
  await screenshot(`${version}-callstack-frame-click`);
  // The innermost frame is in the interpreter's own asyncio package, outside the workspace.
  const sleepAria = `Stack Frame sleep, line ${leafSleep.line}, ${path.basename(leafSleep.file)}`;
  const sleepRow = await findRow('Call Stack', (r) => r.aria === sleepAria && r.index > (leafRow?.index ?? 0));
  if (await check(`[${version}] A-leaf-1's stack starts with "${sleepAria}"`, sleepRow !== undefined)) {
    await clickRow('Call Stack', sleepRow);
    await expectEditorAt(`[${version}] clicking frame sleep in CALL STACK`, leafSleep.file, leafSleep.line);
    await screenshot(`${version}-callstack-asyncio-frame-click`);
  }

  // The Await Tree: hierarchy as pstree, current line, frames open at their line.
  await arrangePanes(['Await Tree']);
  const treeRows = await until(async () => {
    const rs = await rows('Await Tree');
    return rs.some((r) => r.name === 'A-leaf-1') ? rs : undefined;
  }, 15_000);
  const level = (name) => treeRows?.find((r) => r.name === name)?.level;
  await check(
    `[${version}] Await Tree nests Task-1 > Task-A > A-leaf-1 and Task-1 > Task-B`,
    level('Task-1') === 1 && level('Task-A') === 2 && level('A-leaf-1') === 3 && level('Task-B') === 2,
    JSON.stringify(treeRows?.filter((r) => /Task|leaf/.test(r.name)).map((r) => [r.name, r.level])),
  );
  const between = (parent, child) => {
    const rs = treeRows ?? [];
    const p = rs.findIndex((r) => r.name === parent);
    const c = rs.findIndex((r, i) => i > p && r.name === child);
    if (p < 0 || c < 0) {
      return false;
    }
    return rs.slice(p + 1, c).every((r) => r.level > rs[p].level);
  };
  await check(`[${version}] A-leaf-1 sits under Task-A, B-leaf-1 under Task-B`, between('Task-A', 'A-leaf-1') && between('Task-B', 'B-leaf-1'));
  const leafTreeRow = treeRows?.find((r) => r.name === 'A-leaf-1');
  const wantDesc = `${leafCurrent.function} ${path.basename(leafCurrent.file)}:${leafCurrent.line}`;
  await check(`[${version}] Await Tree shows A-leaf-1's current line "${wantDesc}"`, leafTreeRow?.description === wantDesc, leafTreeRow?.description);
  const message = await treeMessage();
  await check(`[${version}] Await Tree shows when the snapshot was taken`, /snapshot taken at \d\d:\d\d:\d\d\.\d{3}/.test(message) && message.includes(`Python ${ps.python_version}`), message);
  await screenshot(`${version}-await-tree`);

  // Task-A's frame c2 shows as the call that made it, once its arguments are read.
  const c2Call = "c2(tg_name='A')";
  const withArgs = await until(async () => {
    const rs = await rows('Await Tree');
    const a = rs.findIndex((x) => x.name === 'Task-A');
    return rs.find((r, i) => r.name === c2Call && i > a);
  }, 10_000);
  const c2Row = withArgs ?? (await rows('Await Tree')).find((r) => r.name.startsWith('c2'));
  await check(`[${version}] Await Tree shows Task-A's frame as the call ${c2Call}`, withArgs !== undefined, c2Row?.name);
  if (await check(`[${version}] Await Tree lists Task-A's frame c2 with its line`, c2Row?.description === `${path.basename(taskAFrame.file)}:${taskAFrame.line}`, c2Row?.description)) {
    await clickRow('Await Tree', c2Row);
    await expectEditorAt(`[${version}] clicking frame c2 in the Await Tree`, taskAFrame.file, taskAFrame.line);
    await check(`[${version}] the frame clicked in the Await Tree is highlighted in the editor`, (await until(cursorLineHighlighted, 5000)) === true);
    await screenshot(`${version}-await-tree-frame-click`);
  }

  // A filter on a function name, then changed with one click, then cleared.
  await paneAction('Await Tree', 'Filter Tasks…');
  const filterInput = page.locator('.quick-input-widget input');
  await filterInput.waitFor({ state: 'visible', timeout: 10_000 });
  await filterInput.fill('gather_part');
  await page.keyboard.press('Enter');
  const byFunction = await until(async () => {
    const names = (await rows('Await Tree')).filter((r) => byName.has(r.name)).map((r) => `${r.level}:${r.name}`);
    return names.join(' ') === '1:Task-1 2:gatherer' ? names : undefined;
  }, 10_000);
  const filterMsg = await treeMessage();
  await check(
    `[${version}] filter "gather_part" (a function) finds gatherer; the header says "1 of 13 tasks match"`,
    byFunction !== undefined && filterMsg.startsWith('Filter “gather_part”: 1 of 13 tasks match'),
    `${JSON.stringify((await rows('Await Tree')).map((r) => `${r.level}:${r.name}`))} | ${filterMsg}`,
  );
  await screenshot(`${version}-await-tree-filter-function`);
  await paneAction('Await Tree', 'Change Task Filter…');
  await filterInput.waitFor({ state: 'visible', timeout: 10_000 });
  const prefilled = await filterInput.inputValue();
  await filterInput.fill('leaf-1');
  await page.keyboard.press('Enter');
  const filtered = await until(async () => {
    const names = (await rows('Await Tree')).filter((r) => r.level > 0 && byName.has(r.name)).map((r) => `${r.level}:${r.name}`);
    return names.join(' ') === '1:Task-1 2:Task-A 3:A-leaf-1 2:Task-B 3:B-leaf-1' ? names : undefined;
  }, 10_000);
  await check(
    `[${version}] one click on the active filter changes it (prefilled "${prefilled}") to "leaf-1": the matches and the tasks above them`,
    prefilled === 'gather_part' && filtered !== undefined,
    JSON.stringify((await rows('Await Tree')).map((r) => `${r.level}:${r.name}`)),
  );
  await screenshot(`${version}-await-tree-filter`);
  await paneAction('Await Tree', 'Clear Task Filter');
  const cleared = await until(async () => (await rows('Await Tree')).some((r) => r.name === 'gatherer'), 10_000);
  await check(`[${version}] clearing the filter shows every task again`, cleared === true);
  await paneAction('Await Tree', 'Filter Tasks…');
  await filterInput.waitFor({ state: 'visible', timeout: 10_000 });
  await filterInput.fill('fetch_url');
  await page.keyboard.press('Enter');
  const none = await until(async () => ((await treeMessage()).startsWith('Filter “fetch_url”: none of 13 tasks match') ? true : undefined), 10_000);
  await check(`[${version}] a filter that matches nothing says "none of 13 tasks match"`, none === true, await treeMessage());
  await paneAction('Await Tree', 'Clear Task Filter');

  // A new snapshot while paused reaches the CALL STACK too, keeping the frame looked at.
  await arrangePanes(['Call Stack', 'Await Tree']);
  const c1Again = await findRow('Call Stack', (r) => r.aria === frameAria);
  if (c1Again) {
    await clickRow('Call Stack', c1Again);
    await expectEditorAt(`[${version}] clicking frame c1 in CALL STACK again`, leafFrame.file, leafFrame.line);
  }
  const before = await treeMessage();
  await page.waitForTimeout(1100); // the badge shows seconds
  await paneAction('Await Tree', 'Refresh Await Tree');
  const after = await until(async () => {
    const m = await treeMessage();
    return m !== before && /snapshot taken at/.test(m) ? m : undefined;
  }, 10_000);
  await check(`[${version}] Refresh takes a new snapshot`, after !== undefined, `before "${before}", after "${after}"`);
  const leafStop = await until(async () => {
    const r = await findRow('Call Stack', taskRow('A-leaf-1'));
    const t = stopTime(r);
    return t !== undefined && t !== firstStop ? t : undefined;
  }, 10_000);
  await check(`[${version}] Refresh while paused reaches the CALL STACK: A-leaf-1, the task looked at, shows the new snapshot's time`, leafStop !== undefined, `first stop ${firstStop}`);
  // The list may have scrolled the selected row out of view (it renders only the rows in
  // view): looked for through the whole list if not in view.
  const stillSelected =
    (await until(async () => (await rows('Call Stack')).find((r) => r.selected && r.aria === frameAria), 5000)) ??
    (await findRow('Call Stack', (r) => r.selected && r.aria === frameAria));
  await check(`[${version}] after Refresh, CALL STACK keeps frame c1 selected`, stillSelected !== undefined, JSON.stringify((await rows('Call Stack')).filter((r) => r.selected).map((r) => r.aria)));
  await expectEditorAt(`[${version}] after Refresh, the editor`, leafFrame.file, leafFrame.line);
  await screenshot(`${version}-refresh-while-paused`);
  const beforeF6 = await treeMessage();
  await page.waitForTimeout(1100);
  await pressInEditor('F6');
  const afterF6 = await until(async () => {
    const m = await treeMessage();
    return m !== beforeF6 && /snapshot taken at/.test(m) ? m : undefined;
  }, 10_000);
  const leafStopF6 = await until(async () => {
    const t = stopTime(await findRow('Call Stack', taskRow('A-leaf-1')));
    return t !== undefined && t !== leafStop ? t : undefined;
  }, 10_000);
  await check(`[${version}] F6 while paused takes a new snapshot, shown in the Await Tree and the CALL STACK`, afterF6 !== undefined && leafStopF6 !== undefined, `${beforeF6} | ${afterF6}`);

  // An expression in Watch fails in the Watch view, not in a notification as well.
  await arrangePanes(['Watch', 'Call Stack']);
  await paneAction('Watch', 'Add Expression');
  await page.keyboard.type('this is not python');
  await page.keyboard.press('Enter');
  const watchError = await until(async () => (await rows('Watch')).find((r) => /this is not python/.test(r.text) && r.text.length > 'this is not python'.length + 2), 10_000);
  await page.waitForTimeout(1000);
  const noisy = (await toasts()).filter((t) => /aioscope|evaluate|python/i.test(t));
  await check(`[${version}] a Watch expression's error shows in Watch, and no notification pops up`, watchError !== undefined && noisy.length === 0, `${watchError?.text} | toasts ${JSON.stringify(noisy)}`);
  await screenshot(`${version}-watch-error`);
  await paneAction('Watch', 'Remove All Expressions').catch(() => undefined);

  // Collapse all leaves only the root.
  await arrangePanes(['Call Stack', 'Await Tree']);
  await paneAction('Await Tree', 'Collapse All');
  const collapsed = await until(async () => {
    const rs = await rows('Await Tree');
    return rs.length === 1 && rs[0].name === 'Task-1' && rs[0].expanded === 'false' ? rs : undefined;
  }, 10_000);
  await check(`[${version}] Collapse All leaves the collapsed root task`, collapsed !== undefined, JSON.stringify((await rows('Await Tree')).map((r) => r.name)));

  // Disconnect: the view says how to start again, the target lives on.
  await disconnect(version, 'tree.py');
  await check(`[${version}] the target outlives the session`, fs.existsSync(`/proc/${tree.pid}`) && !/[TtZ]/.test(procState(tree.pid)));
}

// phases.py: tasks that finish and start on a signal, while paused and while continued.
async function partPhases({ version, phases, names }) {
  const next = async (n) => {
    process.kill(phases.pid, 'SIGUSR1');
    await check(`[${version}] phases.py moved to phase ${n}`, (await phases.waitFor(new RegExp(`PHASE ${n}\\b`))) === true);
  };
  const phaseRows = async (n) => (await allThreadRows()).filter((r) => new RegExp(`^Thread phase-${n}-\\d `).test(r.aria));
  // The rows of phase n's three tasks, once they are the only tasks listed, in the state wanted
  // (a stopped thread's badge is the stop's description).
  const onlyPhase = (n, state) =>
    until(async () => {
      const all = await allThreadRows();
      const tasks = all.filter((r) => /^Thread phase-\d+-\d /.test(r.aria));
      const inState = (r) => (state === 'Running' ? / Running$/.test(r.aria) : / (Paused|snapshot \d\d:\d\d:\d\d)$/.test(r.aria));
      return tasks.length === 3 && tasks.every((r) => r.aria.startsWith(`Thread phase-${n}-`) && inState(r)) ? tasks : undefined;
    }, 10_000, 250);

  await startConfig(names.phases);
  const first = await onlyPhase(1, 'Paused');
  await check(`[${version}] CALL STACK lists phase 1's three tasks`, first !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria)));

  await next(2);
  await paneAction('Await Tree', 'Refresh Await Tree');
  const second = await onlyPhase(2, 'Paused');
  await check(`[${version}] Refresh while paused: phase 1's finished tasks leave the CALL STACK, phase 2's appear, paused`, second !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria)));
  await screenshot(`${version}-phases-refresh-while-paused`);

  await next(3);
  await pressInEditor('F6');
  const third = await onlyPhase(3, 'Paused');
  await check(`[${version}] F6 while paused: phase 3's tasks replace phase 2's in the CALL STACK`, third !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria)));

  // Continued, with a snapshot every 500 ms: the CALL STACK follows.
  await pressInEditor('F5');
  const running = await onlyPhase(3, 'Running');
  await check(`[${version}] continued: the tasks run`, running !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria)));
  await next(4);
  const live = await onlyPhase(4, 'Running');
  await check(`[${version}] while continued, the refresh interval's snapshots reach the CALL STACK: phase 3's tasks leave, phase 4's appear`, live !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria)));
  const treeLive = await until(async () => (await rows('Await Tree')).some((r) => r.name === 'phase-4-1'), 5000);
  await check(`[${version}] ... and the Await Tree`, treeLive === true);
  await screenshot(`${version}-phases-live`);
  await pressInEditor('F6'); // Pause
  const paused = await onlyPhase(4, 'Paused');
  await check(`[${version}] Pause stops on phase 4's tasks`, paused !== undefined, JSON.stringify(await phaseRows(4)));
  await disconnect(version, 'phases.py');
}

// cycle.py through the attach command and its process picker.
async function partCycle({ version, start }) {
  const cycle = await start('cycle.py');
  await runCommand('aioscope: Attach to Python Process…');
  const pickRow = await pickInPicker(cycle.pid);
  await check(`[${version}] the picker lists cycle.py with its PID and Python ${version}`, pickRow !== undefined && pickRow.includes(`Python ${version}`) && pickRow.includes('cycle.py'), pickRow);
  await screenshot(`${version}-process-picker`);
  await page.keyboard.press('Enter');

  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'await cycle' });
  const toastText = await toast
    .first()
    .innerText({ timeout: 30_000 })
    .catch(() => '');
  await check(
    `[${version}] attaching to cycle.py shows a warning naming the cycle`,
    /await cycle/.test(toastText) && (toastText.includes('A → B → A') || toastText.includes('B → A → B')) && toastText.includes(String(cycle.pid)),
    toastText,
  );
  await screenshot(`${version}-cycle-warning`);
  const cycleRows = await until(async () => {
    const rs = await rows('Await Tree');
    return rs.some((r) => r.name === 'A' && r.description.includes('await cycle')) && rs.some((r) => r.name === 'B' && r.description.includes('await cycle')) ? rs : undefined;
  }, 10_000);
  await check(`[${version}] the Await Tree marks A and B as an await cycle`, cycleRows !== undefined, JSON.stringify((await rows('Await Tree')).map((r) => [r.name, r.description])));
  const marked = await until(async () => (await findRow('Call Stack', (r) => r.aria.startsWith('Thread ⚠ A · '))) && (await findRow('Call Stack', (r) => r.aria.startsWith('Thread ⚠ B · '))), 10_000);
  await check(`[${version}] CALL STACK marks A and B with ⚠`, marked !== undefined);
  const show = toast.first().locator('.monaco-button', { hasText: 'Show in Await Tree' });
  if ((await show.count()) > 0) {
    await show.click();
    const sel = await until(async () => (await rows('Await Tree')).find((r) => r.selected && (r.name === 'A' || r.name === 'B')), 10_000);
    await check(`[${version}] "Show in Await Tree" selects the cycle's task`, sel !== undefined);
  }
  await screenshot(`${version}-cycle-tree`);
  await disconnect(version, 'cycle.py');
}

// health.py: a task stuck on an Event from 1 s on, a sleeper, and a callback that blocks the loop
// for 400 ms every 5 s; followed with a snapshot every second and a stuck threshold of 3 s.
const timeStuckThresholdMs = 3000;

async function timeTarget(start, version, names, configurations) {
  const health = await start('health.py', ['1', Array(60).fill('400').join(','), '5']);
  names.time = `Follow health.py (Python ${version})`;
  configurations.push({
    type: 'aioscope',
    request: 'attach',
    name: names.time,
    processId: health.pid,
    refreshInterval: 1000,
    stuckThreshold: timeStuckThresholdMs,
  });
  log(`health.py pid ${health.pid}`);
  return health;
}

async function partTime({ version, health, names }) {
  const file = path.join(scenarios, 'health.py');
  const source = fs.readFileSync(file, 'utf8').split('\n');
  const sleepLine = source.findIndex((l) => l.includes('time.sleep(ms / 1000)')) + 1;
  const waitLine = source.findIndex((l) => l.includes('await ev.wait()')) + 1;
  const attachedAt = Date.now();
  await startConfig(names.time);
  const stuckPaused = (r) => taskRow('stuck-forever')(r) && / (Paused|snapshot \d\d:\d\d:\d\d)$/.test(r.aria);
  const stopped = await until(async () => (await findRow('Call Stack', stuckPaused)) !== undefined, 20_000);
  await check(`[${version}] health.py: the first stop lists stuck-forever`, stopped === true);
  // Continued, refreshing every second (F5 again if the first press came too early).
  const continuedAt = Date.now();
  const running = await until(async () => {
    if ((await findRow('Call Stack', (r) => taskRow('stuck-forever')(r) && / Running$/.test(r.aria))) !== undefined) {
      return true;
    }
    await pressInEditor('F5');
    await page.waitForTimeout(1500);
    return false;
  }, 15_000, 0);
  await check(`[${version}] health.py: continued`, running === true, JSON.stringify((await allThreadRows()).map((r) => r.aria).slice(0, 4)));
  await arrangePanes(['Call Stack', 'Await Tree']);

  // The blocked loop's notification: which function, where, and a button to go there.
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'event loop' }).first();
  // The toast's text, once it is all there (it is drawn in parts).
  const toastText =
    (await until(async () => {
      const text = await toast.innerText({ timeout: 1000 }).catch(() => '');
      return text.includes('blocked for') ? text : undefined;
    }, 20_000)) ?? (await toast.innerText({ timeout: 1000 }).catch(() => ''));
  // The 300 ms blocks are timed from samples 50 ms apart while the loop is idle, and a busy
  // machine delays samples more: 200 to 599 ms.
  await check(
    `[${version}] a blocked loop shows a notification naming the blocking function and its line`,
    toastText.includes(`process ${health.pid}`) && toastText.includes(`blocking_call (health.py:${sleepLine})`) && /blocked for [2-5]\d\d ms/.test(toastText),
    toastText,
  );
  await screenshot(`${version}-time-loop-blocked`);

  // Waits in the Await Tree and the CALL STACK; stuck-forever marked once it has waited 3 s
  // since the session first saw it there (a lower bound, ≥: it was there before the attach).
  const stuckDesc = /· ⏳ stuck (≥ )?(\d+) s$/;
  const stuckTree = await until(() => findRow('Await Tree', (r) => r.name === 'stuck-forever' && stuckDesc.test(r.description)), 20_000);
  const sleeperTree = await findRow('Await Tree', (r) => r.name === 'sleeper');
  const described = (await rows('Await Tree')).map((r) => [r.name, r.description]);
  await check(`[${version}] the Await Tree marks stuck-forever stuck and says for how long`, stuckTree !== undefined, JSON.stringify(described));
  await check(`[${version}] ... and how long the sleeper has waited`, /· waiting ≥ \d+ s$/.test(sleeperTree?.description ?? ''), sleeperTree?.description);
  const stuckIcon = await pane('Await Tree')
    .locator('.monaco-list-row', { hasText: 'stuck-forever' })
    .first()
    .locator('.codicon-watch')
    .count()
    .catch(() => 0);
  await check(`[${version}] ... with the stuck icon`, stuckIcon > 0);
  const others = (await rows('Await Tree')).filter((r) => r.name !== 'stuck-forever' && r.description.includes('stuck'));
  await check(`[${version}] ... and no other task stuck`, others.length === 0, JSON.stringify(others.map((r) => [r.name, r.description])));
  const waitedSecs = Number(stuckDesc.exec(stuckTree?.description ?? '')?.[2] ?? -1);
  await check(
    `[${version}] ... for at least the threshold and no longer than the session has watched it`,
    waitedSecs >= timeStuckThresholdMs / 1000 && waitedSecs <= (Date.now() - attachedAt) / 1000 + 1,
    `${waitedSecs} s`,
  );
  const header = await until(async () => {
    const m = await treeMessage();
    return /· (loop lag \d+(\.\d)? (ms|s)|⚠ loop blocked [\d.]+ (ms|s) in blocking_call health\.py:\d+)$/.test(m) && m.includes('⏳ 1 stuck') ? m : undefined;
  }, 10_000);
  await check(`[${version}] the Await Tree's header shows the loop lag and the stuck task`, header !== undefined, await treeMessage());
  const stuckRow = await until(
    () => findRow('Call Stack', (r) => new RegExp(`^Thread ⏳ stuck-forever · wait_forever health\\.py:${waitLine} · stuck (≥ )?\\d+ s `).test(r.aria)),
    15_000,
  );
  await check(`[${version}] the CALL STACK's row of stuck-forever is marked ⏳ and says how long`, stuckRow !== undefined, JSON.stringify((await allThreadRows()).map((r) => r.aria).slice(0, 8)));
  await page.mouse.move(1200, 600); // no row's hover over the lists
  await page.waitForTimeout(300);
  await screenshot(`${version}-time-waits`);

  // The notification's button opens the frame where the loop was blocked, highlighted.
  const open = toast.locator('.monaco-button', { hasText: 'Open Blocking Frame' });
  const canOpen = (await open.count().catch(() => 0)) > 0;
  await check(`[${version}] the notification offers "Open Blocking Frame"`, canOpen);
  if (canOpen) {
    await open.click();
    await expectEditorAt(`[${version}] "Open Blocking Frame"`, file, sleepLine);
    await check(`[${version}] ... and highlights the blocking line`, (await until(cursorLineHighlighted, 5000)) === true);
    await screenshot(`${version}-time-blocking-frame`);
  }
  await disconnect(version, 'health.py');
}

// A CPython 3.13 process, which aioscope cannot read, through the attach command.
async function partRefused({ version }) {
  if (python313 === '') {
    await check(`[${version}] a CPython 3.13 to be refused (AIOSCOPE_E2E_PYTHON313)`, false);
    return;
  }
  const old = await startTarget(python313, 'noasyncio.py');
  try {
    await runCommand('aioscope: Attach to Python Process…');
    await pickInPicker(old.pid);
    await page.keyboard.press('Enter');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 }).catch(() => undefined);
    const text = await dialog.innerText({ timeout: 2000 }).catch(() => '');
    const buttons = await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts().catch(() => []);
    await check(
      `[${version}] attaching to CPython 3.13 fails in a dialog that says why and offers "Pick Another Process…", not "Open 'launch.json'"`,
      /3\.13\.\d+ is not supported/.test(text) && buttons.includes('Pick Another Process…') && !buttons.some((b) => /launch\.json/.test(b)),
      `${text} | ${JSON.stringify(buttons)}`,
    );
    const noisy = (await toasts()).filter((t) => /not supported/.test(t));
    await check(`[${version}] ... and not in a notification as well`, noisy.length === 0, JSON.stringify(noisy));
    await screenshot(`${version}-attach-refused`);
    await page.keyboard.press('Escape');
    await waitNoSession();
  } finally {
    old.child.kill();
  }
}

// service.py with 10,000 tasks, through a configuration whose processId is ${command:pickProcess}.
async function partMany({ version, names, start }) {
  const svc = await start('service.py', ['9300', '700']);
  const ps = aioscopeJSON('ps', svc.pid);
  const total = ps.tasks.length;
  // Picks service.py and times, from choosing it, the first CALL STACK row and the Await Tree.
  const attach = async () => {
    await arrangePanes(['Call Stack', 'Await Tree']);
    await startConfig(names.pick);
    await pickInPicker(svc.pid);
    const t = { start: Date.now() };
    await page.keyboard.press('Enter');
    await until(
      async () => {
        if (t.callStackMs === undefined && (await rows('Call Stack')).some((r) => r.aria.startsWith('Thread '))) {
          t.callStackMs = Date.now() - t.start;
        }
        if (t.treeMs === undefined && (await treeMessage()).includes(`${total.toLocaleString('en-US')} tasks`)) {
          t.treeMs = Date.now() - t.start;
        }
        return t.callStackMs !== undefined && t.treeMs !== undefined;
      },
      30_000,
      50,
    );
    log(`  ${total} tasks: first CALL STACK row after ${t.callStackMs} ms, Await Tree after ${t.treeMs} ms`);
    return t;
  };
  // A machine busy with other work can slow an attach down: a slow one is timed again, up to
  // three times in all, and the best times count. The budgets (1.5 s and 2 s) are for a quiet
  // machine of the kind the performance notes are measured on: AIOSCOPE_E2E_BUDGET_SCALE scales
  // them for a slower or shared one (a CI runner: make test sets 3).
  const scale = Number(process.env.AIOSCOPE_E2E_BUDGET_SCALE ?? '1') || 1;
  const callStackBudget = 1500 * scale;
  const treeBudget = 2000 * scale;
  const fast = (t) => t.callStackMs !== undefined && t.callStackMs <= callStackBudget && t.treeMs !== undefined && t.treeMs <= treeBudget;
  const tries = [await attach()];
  while (!fast(tries[tries.length - 1]) && tries.length < 3) {
    await pressInEditor('Shift+F5');
    await waitNoSession();
    tries.push(await attach());
  }
  const best = (key) => Math.min(...tries.map((x) => x[key] ?? Infinity));
  await check(`[${version}] ${total} tasks: the CALL STACK shows within ${callStackBudget / 1000} s (${tries.map((x) => x.callStackMs).join(' ms, ')} ms)`, best('callStackMs') <= callStackBudget);
  await check(`[${version}] ${total} tasks: the Await Tree shows within ${treeBudget / 1000} s (${tries.map((x) => x.treeMs).join(' ms, ')} ms)`, best('treeMs') <= treeBudget);

  const all = await allThreadRows();
  const missing = ['producer', 'stage-0', 'stage-1', 'stage-2', 'consumer'].filter((n) => !all.some(taskRow(n)));
  await check(`[${version}] the capped CALL STACK lists the pipeline's tasks among ${total}: ${missing.length === 0 ? 'all' : `missing ${missing.join(', ')}`}`, missing.length === 0, `${all.length} rows read`);
  await check(
    `[${version}] ... and the thread named keepalive`,
    all.some((r) => /^Thread Thread \d+ "keepalive" · event loop /.test(r.aria)),
    JSON.stringify(all.slice(0, 4).map((r) => [r.index, r.aria])),
  );
  const last = await lastThreadRow();
  await check(
    `[${version}] the capped CALL STACK ends with a row saying how many tasks it leaves out`,
    /^Thread … [\d,]+ more tasks in \d+ groups — see the Await Tree /.test(last?.aria ?? '') && last?.setsize === 1000,
    `last of ${last?.setsize}: ${last?.aria}`,
  );
  await screenshot(`${version}-10000-tasks-callstack`);

  await arrangePanes(['Await Tree']);
  const queued = ps.tasks.filter((t) => t.frames.some((f) => f.function === 'Lock.acquire')).length;
  const label = `×${queued.toLocaleString('en-US')} Task-N`;
  const group = await until(() => findRow('Await Tree', (r) => r.name === label), 10_000, 500);
  const poolLine = ps.tasks.find((t) => t.frames.some((f) => f.function === 'Lock.acquire')).frames.find((f) => f.function === 'Pool.request').line;
  await check(
    `[${version}] the Await Tree folds the ${queued} tasks queued on the lock into "${label}  Pool.request service.py:${poolLine}"`,
    group?.description === `Pool.request service.py:${poolLine}`,
    JSON.stringify((await rows('Await Tree')).map((r) => [r.name, r.description])),
  );
  if (group) {
    await clickRow('Await Tree', group, { twistie: true });
    const pages = await until(async () => {
      const rs = await rows('Await Tree');
      return rs.filter((r) => /^tasks \d+–\d+$/.test(r.name)).length >= 2 ? rs : undefined;
    }, 10_000);
    await check(`[${version}] the group expands to its tasks, paged by 1,000`, pages !== undefined);
  }
  const idle = await findRow('Await Tree', (r) => r.name === '×700 Task-N');
  await check(`[${version}] ... and the keepalive thread's 700 idle tasks into "×700 Task-N"`, idle !== undefined);
  await screenshot(`${version}-10000-tasks-tree`);
  await arrangePanes(['Call Stack', 'Await Tree']);
  await disconnect(version, '10,000-task');
}

// blocked.py: the task blocking the loop is shown first; then the process is killed.
async function partExit({ version, blocked, names }) {
  const ps = aioscopeJSON('ps', blocked.pid);
  const freezer = ps.tasks.find((t) => t.name === 'freezer').frames.find((f) => f.function === 'freezer');
  await startConfig(names.blocked);
  const row = await until(() => findRow('Call Stack', (r) => r.aria.startsWith(`Thread ▶ freezer · freezer blocked.py:${freezer.line} `)), 20_000, 500);
  await check(`[${version}] CALL STACK marks the task running on the loop: "▶ freezer · freezer blocked.py:${freezer.line}"`, row !== undefined);
  await expectEditorAt(`[${version}] the first stop, on the running task,`, freezer.file, freezer.line);
  await screenshot(`${version}-running-task`);

  await arrangePanes(['Await Tree']);
  process.kill(blocked.pid, 'SIGKILL');
  const gone = await until(async () => (/^Process \d+ exited at \d\d:\d\d:\d\d\.\d{3} — its last snapshot:/.test(await treeMessage()) ? true : undefined), 20_000);
  const kept = await until(async () => (await findRow('Await Tree', (r) => r.name === 'freezer')) !== undefined, 5000);
  await check(`[${version}] when the process exits, the Await Tree keeps its last snapshot, marked "process exited at …"`, gone === true && kept === true, await treeMessage());
  await screenshot(`${version}-exited`);
  await paneAction('Await Tree', "Clear the Exited Process's Snapshot");
  await check(`[${version}] the exited process's snapshot can be cleared`, (await waitNoSession()) === true, await welcomeText());
  await arrangePanes(['Call Stack', 'Await Tree']);
}

// The extension's icon, as the Extensions view shows it.
async function partIcon({ version }) {
  await page.keyboard.press('Control+Shift+X');
  const search = page.locator('.extensions-viewlet .suggest-input-container').first();
  await search.waitFor({ state: 'visible', timeout: 15_000 });
  await search.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('@installed aioscope');
  const item = page.locator('.extension-list-item', { hasText: 'aioscope' }).first();
  const src = await item
    .locator('img.icon')
    .getAttribute('src', { timeout: 15_000 })
    .catch(() => '');
  await check(`[${version}] the Extensions view shows aioscope's own icon`, /icon\.png/.test(src ?? ''), src);
  await screenshot(`${version}-extension-icon`);
  await page.keyboard.press('Control+Shift+D');
}

// "create a launch.json file" in a folder without one: a single configuration.
// ---- the language server's time in the editor (part "lenses") ----

/** The user settings of the workbench: the file main() writes, which VS Code watches. */
function userSettingsFile() {
  return path.join(work, 'user-data', 'User', 'settings.json');
}

/** Sets (or, with undefined, removes) user settings while the workbench runs. */
function setUserSettings(values) {
  const file = userSettingsFile();
  const settings = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) {
      delete settings[k];
    } else {
      settings[k] = v;
    }
  }
  fs.writeFileSync(file, JSON.stringify(settings, null, 2));
}

/** The texts of the code lenses shown in the active editor. */
async function codeLensTexts() {
  return page
    .locator('.editor-group-container.active .monaco-editor .codelens-decoration')
    .allInnerTexts()
    .catch(() => []);
}

/** Opens a file of the workspace with Quick Open. */
async function quickOpen(name) {
  await page.keyboard.press('Escape');
  await page.mouse.click(1200, 400);
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
  await until(async () => (await editorState()).title === name, 10_000);
}

/** The rows of the Problems panel, opening it first. */
async function problemRows() {
  if ((await page.locator('.markers-panel').count()) === 0 || !(await page.locator('.markers-panel').first().isVisible())) {
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
  }
  return page.locator('.markers-panel .monaco-list-row').allInnerTexts();
}

// health.py through the attach command: the extension starts `aioscope lsp` for the session.
// The stuck threshold is set down to 2 s so that the stuck task shows soon; the loop is blocked
// for 400 ms every 2 s.
async function partLenses({ version, start }) {
  const health = await start('health.py', ['0.5', Array(60).fill(400).join(','), '2']);
  setUserSettings({ 'aioscope.languageServer.stuckThreshold': 2000 });
  try {
    await page.waitForTimeout(1000); // the workbench reads the settings file again
    await runCommand('aioscope: Attach to Python Process…');
    await pickInPicker(health.pid);
    await page.keyboard.press('Enter');
    await until(async () => !(await welcomeText()).includes('No aioscope session is running'), 20_000);
    // The first stop opens health.py at main's frame; Quick Open if it did not.
    if ((await until(async () => (await editorState()).title === 'health.py', 15_000)) !== true) {
      await quickOpen('health.py');
    }
    // The first stop shows main's line, at the end: Go to Line 30 brings lines 24 (stuck-forever)
    // and 29 (sleeper) into view.
    await page.waitForTimeout(500);
    await pressInEditor('Control+G');
    const goTo = page.locator('.quick-input-widget input');
    await goTo.waitFor({ state: 'visible', timeout: 10_000 });
    await goTo.fill(':30');
    await page.keyboard.press('Enter');

    const sleeping = Number(/SLEEPING ([\d.]+)/.exec(health.out)?.[1]);
    const lenses = await until(async () => {
      const ls = await codeLensTexts();
      return ls.some((l) => /^⏸ 1 task · sleeper · waiting \d+ s$/.test(l)) && ls.some((l) => /^⏸ 1 task · stuck-forever · waiting (≥ )?\d+ s$/.test(l)) ? ls : undefined;
    }, 30_000);
    await check(`[${version}] code lenses say which tasks wait on health.py's lines and for how long`, lenses !== undefined, JSON.stringify(await codeLensTexts()));
    const slept = Number(/sleeper · waiting (\d+) s/.exec((lenses ?? []).join('\n'))?.[1]);
    const truth = Date.now() / 1000 - sleeping;
    await check(`[${version}] the sleeper's lens says how long it has slept by the program's own clock`, slept <= truth + 1 && slept >= truth - 4, `lens ${slept} s, program ${truth.toFixed(1)} s`);

    const squiggles = await until(async () => ((await page.locator('.editor-group-container.active .monaco-editor .squiggly-warning').count()) > 0 ? true : undefined), 30_000);
    await check(`[${version}] warnings are underlined in the editor`, squiggles === true);
    const problems = await until(async () => {
      const rs = await problemRows();
      return rs.some((r) => r.includes('stuck: task stuck-forever has waited here for')) && rs.some((r) => r.includes('event loop blocked here')) ? rs : undefined;
    }, 30_000);
    await check(`[${version}] the Problems panel lists the stuck task and the blocked event loop`, problems !== undefined, JSON.stringify(await problemRows()));
    await screenshot(`${version}-lsp-lenses-problems`);

    // The hover on the stuck task's line: the warning and the task, how long it has waited.
    await page.mouse.move(10, 10);
    // On the keyword, not on an expression, which the debug hover would take.
    const pt = await editorTextPoint('await ev.wait()', 'await', 2);
    let hover = '';
    if (pt !== undefined) {
      await page.mouse.move(pt.x - 2, pt.y);
      await page.mouse.move(pt.x, pt.y, { steps: 3 });
      hover = (await until(async () => {
        const t = await hoverText(2000);
        return t && t.includes('stuck-forever') && t.includes('waiting') ? t : undefined;
      }, 10_000)) ?? '';
    }
    await check(`[${version}] hovering the stuck task's line shows the warning and how long it has waited`, /stuck: task stuck-forever/.test(hover) && /waiting (≥ )?\d+ s — stuck/.test(hover), hover);
    await screenshot(`${version}-lsp-hover`);
    await page.mouse.move(10, 10);

    await disconnect(version, 'health.py');
    const gone = await until(async () => ((await codeLensTexts()).some((l) => l.startsWith('⏸')) ? undefined : true), 15_000);
    await check(`[${version}] the lenses go with the session`, gone === true, JSON.stringify(await codeLensTexts()));
  } finally {
    setUserSettings({ 'aioscope.languageServer.stuckThreshold': undefined });
    health.child.kill();
  }
}

async function partLaunch(browser, port, version) {
  const dir = path.join(work, `no-launch-${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app.py'), 'import asyncio\n');
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  page = await context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dir)}`);
    await page.waitForSelector('.part.statusbar', { timeout: 60_000 });
    await page.waitForTimeout(1500);
    await page.keyboard.press('Control+Shift+D');
    const link = page.locator('.debug-viewlet a, .welcome-view-content a', { hasText: 'create a launch.json file' }).first();
    await link.waitFor({ state: 'visible', timeout: 15_000 });
    await link.click();
    const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Python asyncio (read-only attach)' }).first();
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    await item.click();
    const file = path.join(dir, '.vscode', 'launch.json');
    const text = await until(() => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined), 15_000);
    const count = ((text ?? '').match(/"type":\s*"aioscope"/g) ?? []).length;
    await check(`[${version}] "create a launch.json file" writes one aioscope configuration`, count === 1, text);
    const options = await until(async () => {
      const o = await page.locator('.start-debug-action-item select option').allInnerTexts();
      return o.length > 0 ? o : undefined;
    }, 10_000);
    await check(`[${version}] ... and the Run view's list shows it once, without "(1)"`, (options ?? []).filter((o) => /aioscope/.test(o)).length === 1 && !(options ?? []).some((o) => /\(1\)/.test(o)), JSON.stringify(options));
    await page.keyboard.press('Escape'); // the suggestions VS Code opens over the new file
    await screenshot(`${version}-launch-json`);
  } catch (err) {
    await check(`[${version}] launch: no unexpected error`, false, err.stack ?? String(err));
  } finally {
    await context.close();
    page = undefined;
  }
}


async function main() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) {
    if (f.endsWith('.png') || f.endsWith('.log')) {
      fs.rmSync(path.join(artifacts, f));
    }
  }
  const userData = path.join(work, 'user-data');
  const extensions = path.join(work, 'extensions');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.ignoreRecommendations': true,
        'git.enabled': false,
        'git.openRepositoryInParentFolders': 'never',
        'editor.minimap.enabled': false,
        'debug.toolBarLocation': 'docked',
      },
      null,
      2,
    ),
  );
  const csEnv = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(work, 'xdg-config'),
    XDG_DATA_HOME: path.join(work, 'xdg-data'),
  };
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  const inst = spawnSync(codeServer, ['--install-extension', vsix, ...common], { env: csEnv, encoding: 'utf8' });
  await check('the .vsix installs into code-server', inst.status === 0 && /successfully installed/.test(inst.stdout + inst.stderr), inst.stdout + inst.stderr);
  const installed = fs.readdirSync(extensions).find((d) => d.startsWith('aioscope.aioscope-'));
  await check('the installed extension carries an executable aioscope', installed !== undefined && (fs.statSync(path.join(extensions, installed, 'bin', 'aioscope')).mode & 0o111) !== 0);

  const port = await freePort();
  const csLog = fs.createWriteStream(path.join(artifacts, 'code-server.log'));
  const cs = spawn(
    codeServer,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...common],
    { env: csEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(cs);
  cs.stdout.pipe(csLog);
  cs.stderr.pipe(csLog);
  const up = await until(
    () =>
      new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    30_000,
  );
  if (!(await check('code-server serves the workbench', up === true))) {
    return;
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    for (const t of targets) {
      await testVersion(browser, port, t);
    }
  } finally {
    await browser.close();
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill();
      }
    }
    console.log(`e2e: interrupted (${sig})`);
    process.exit(130);
  });
}

try {
  await main();
} catch (err) {
  await check('no unexpected error', false, err.stack ?? String(err));
} finally {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill();
    }
  }
}
if (failures.length > 0) {
  log(`failed: ${failures.join('; ')}`);
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
