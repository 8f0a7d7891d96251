// Drives a real VS Code (code-server) in headless Chromium with playwright-core and checks the
// aioscope extension against live CPython processes. Started by scripts/e2e.sh, which installs
// everything and passes the paths in AIOSCOPE_E2E_* variables.
//
// For each Python version: start testdata/scenarios/tree.py and cycle.py, open a workspace on
// testdata/scenarios whose launch configuration attaches to tree.py, click "Start Debugging",
// and check the CALL STACK, clicking a coroutine frame, the Await Tree (hierarchy, frame click,
// frames shown as calls with their arguments, filter, refresh, collapse all), disconnecting,
// then attach to cycle.py through the "aioscope: Attach to Python Process…" command and its
// process picker and check the await-cycle warning; then attach to dapvalues.py and check the
// VARIABLES view (Arguments and Locals with the values the program itself prints, expanding
// them), watch expressions, hovers in the editor and the arguments in the Await Tree. Expected
// task names, files and lines come from `aioscope ps/pstree --json`, values from the program's
// own repr().

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
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const pid = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not print READY in 20 s: ${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${err}`));
    });
  });
  return { pid, child };
}

function aioscopeJSON(cmd, pid) {
  const r = spawnSync(aioscope, [cmd, '--json', String(pid)], { encoding: 'utf8' });
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
        selected: r.classList.contains('selected'),
        text: r.textContent ?? '',
      }))
      .sort((a, b) => a.index - b.index),
  );
}

/** Scrolls a pane's list until a row matches; undefined if none does. */
async function findRow(title, pred, { fromTop = true } = {}) {
  const list = pane(title).locator('.monaco-list').first();
  const box = await list.boundingBox();
  if (!box) {
    return undefined;
  }
  await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
  if (fromTop) {
    await page.mouse.wheel(0, -100000);
    await page.waitForTimeout(100);
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
  const r = pane(title).locator(`.monaco-list-row[data-index="${row.index}"]`);
  await r.scrollIntoViewIfNeeded();
  await (twistie ? r.locator('.monaco-tl-twistie') : r).click();
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
async function testValues(version, python, configName, values) {
  const facts = values.facts.handler;
  const reprOf = (name) => facts.vars.find((v) => v[0] === name)[2];
  await runCommand('Debug: Select and Start Debugging');
  const configItem = page.locator('.quick-input-widget .monaco-list-row', { hasText: configName }).first();
  await configItem.waitFor({ state: 'visible', timeout: 10_000 });
  await configItem.click();
  await page.mouse.move(1200, 600);
  await arrangePanes(['Call Stack', 'Variables', 'Watch']);
  const threadRow = await until(() => findRow('Call Stack', (r) => r.aria.startsWith('Thread handler ')), 30_000, 500);
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
  await page.mouse.click(1200, 400);
  await page.keyboard.press('Shift+F5');
  await check(`[${version}] the dapvalues.py session ends`, (await waitNoSession()) === true);
}

// ---- the scenario ----

async function testVersion(browser, port, { version, python }) {
  log(`--- CPython ${version} (${python})`);
  const tree = await startTarget(python, 'tree.py');
  const cycle = await startTarget(python, 'cycle.py');
  const valuesFacts = path.join(work, `dapvalues-${version}.json`);
  fs.mkdirSync(work, { recursive: true });
  const values = await startTarget(python, 'dapvalues.py', ['--json', valuesFacts]);
  values.facts = JSON.parse(fs.readFileSync(valuesFacts, 'utf8'));
  log(`tree.py pid ${tree.pid}, cycle.py pid ${cycle.pid}, dapvalues.py pid ${values.pid}`);

  // What aioscope's CLI reads from the same process is what the workbench must show.
  const ps = aioscopeJSON('ps', tree.pid);
  const pstree = aioscopeJSON('pstree', tree.pid);
  const byName = new Map(ps.tasks.map((t) => [t.name, t]));
  const leaf = byName.get('A-leaf-1');
  const leafFrame = leaf.frames.find((f) => f.function === 'c1');
  const taskA = byName.get('Task-A');
  const taskAFrame = taskA.frames.find((f) => f.function === 'c2');
  const leafCurrent = leaf.frames.find((f) => f.function === 'deep');
  const leafSleep = leaf.frames.find((f) => f.function === 'sleep');
  await check(`[${version}] pstree of tree.py has Task-1 at the root`, pstree.roots.length === 1 && pstree.roots[0].name === 'Task-1');

  const ws = path.join(work, `ws-${version}`);
  fs.mkdirSync(ws, { recursive: true });
  const wsFile = path.join(ws, `scenarios-${version}.code-workspace`);
  const configName = `Attach to tree.py (Python ${version})`;
  const pickConfigName = `Attach to a picked process (Python ${version})`;
  const valuesConfigName = `Attach to dapvalues.py (Python ${version})`;
  fs.writeFileSync(
    wsFile,
    JSON.stringify(
      {
        folders: [{ path: scenarios }],
        launch: {
          version: '0.2.0',
          configurations: [
            { type: 'aioscope', request: 'attach', name: configName, processId: tree.pid },
            { type: 'aioscope', request: 'attach', name: pickConfigName, processId: '${command:pickProcess}' },
            { type: 'aioscope', request: 'attach', name: valuesConfigName, processId: values.pid },
          ],
        },
      },
      null,
      2,
    ),
  );

  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  page = await context.newPage();
  const consoleLog = fs.createWriteStream(path.join(artifacts, `browser-console-${version}.log`));
  page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
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

    // Attach through the workspace's launch configuration.
    const selected = await page.locator('.start-debug-action-item select').inputValue();
    await check(`[${version}] launch configuration "${configName}" is selected`, selected.startsWith(configName), selected);
    await page.locator('.start-debug-action-item .codicon-debug-start').click();
    await page.mouse.move(1200, 600);

    const wanted = ['Task-1', 'Task-A', 'Task-B', 'A-leaf-1', 'A-leaf-2', 'B-leaf-1', 'gatherer', 'tâche-ünïcode', 'emoji-😀'];
    const threadRow = (name) => (r) => r.aria === `Thread ${name} Paused` || r.aria.startsWith(`Thread ${name} `);
    const firstSeen = await until(() => findRow('Call Stack', threadRow('Task-1')), 30_000, 500);
    await check(`[${version}] the session starts and CALL STACK lists tasks`, firstSeen !== undefined);
    const missing = [];
    for (const name of wanted) {
      if (!(await findRow('Call Stack', threadRow(name)))) {
        missing.push(name);
      }
    }
    await check(`[${version}] CALL STACK lists the task names ${wanted.join(', ')}`, missing.length === 0, `missing: ${missing.join(', ')}`);
    const mainThread = await findRow('Call Stack', (r) => /^Thread Thread \d+ \(MainThread\)/.test(r.aria));
    await check(`[${version}] CALL STACK lists the OS thread as "Thread N (MainThread)"`, mainThread !== undefined);
    await check(`[${version}] the target keeps running (state ${procState(tree.pid)})`, !/[Tt]/.test(procState(tree.pid)));
    const treeOpen = await until(async () => (await paneHeader('Await Tree').getAttribute('aria-expanded')) === 'true', 10_000);
    await check(`[${version}] the Await Tree is open once the session has its first snapshot`, treeOpen === true);
    await screenshot(`${version}-callstack`);

    // Expand A-leaf-1 and click its c1 frame.
    const leafRow = await findRow('Call Stack', threadRow('A-leaf-1'));
    if (leafRow) {
      await clickRow('Call Stack', leafRow, { twistie: true });
    }
    const frameAria = `Stack Frame c1, line ${leafFrame.line}, ${path.basename(leafFrame.file)}`;
    const frameRow = await until(() => findRow('Call Stack', (r) => r.aria === frameAria && r.index > (leafRow?.index ?? 0)), 15_000, 500);
    await check(`[${version}] A-leaf-1's stack shows "${frameAria}"`, frameRow !== undefined);
    const labelRow = await findRow('Call Stack', (r) => r.text.includes('awaited by Task-A'));
    await check(`[${version}] A-leaf-1's stack continues with "awaited by Task-A"`, labelRow !== undefined);
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
    const header = await paneHeader('Await Tree').innerText();
    const message = await pane('Await Tree').locator('.message').innerText().catch(() => '');
    await check(`[${version}] Await Tree shows when the snapshot was taken`, /snapshot taken at \d\d:\d\d:\d\d\.\d{3}/.test(message) && message.includes(`Python ${ps.python_version}`), `${header} | ${message}`);
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
      await screenshot(`${version}-await-tree-frame-click`);
    }

    // Filter by task name.
    await paneAction('Await Tree', 'Filter Tasks by Name…');
    const filterInput = page.locator('.quick-input-widget input');
    await filterInput.waitFor({ state: 'visible', timeout: 10_000 });
    await filterInput.fill('leaf-1');
    await page.keyboard.press('Enter');
    const filtered = await until(async () => {
      const rs = (await rows('Await Tree')).filter((r) => r.level > 0);
      const names = rs.filter((r) => byName.has(r.name)).map((r) => `${r.level}:${r.name}`);
      return names.join(' ') === '1:Task-1 2:Task-A 3:A-leaf-1 2:Task-B 3:B-leaf-1' ? names : undefined;
    }, 10_000);
    await check(`[${version}] filter "leaf-1" shows only the matching tasks and those above them`, filtered !== undefined, JSON.stringify((await rows('Await Tree')).map((r) => `${r.level}:${r.name}`)));
    await screenshot(`${version}-await-tree-filter`);
    await paneAction('Await Tree', 'Clear Task Filter');
    const cleared = await until(async () => (await rows('Await Tree')).some((r) => r.name === 'gatherer'), 10_000);
    await check(`[${version}] clearing the filter shows every task again`, cleared === true);

    // Refresh takes a new snapshot (through the aioscope/snapshot request).
    const before = await pane('Await Tree').locator('.message').innerText().catch(() => '');
    await page.waitForTimeout(50);
    await paneAction('Await Tree', 'Refresh Await Tree');
    const after = await until(async () => {
      const m = await pane('Await Tree').locator('.message').innerText().catch(() => '');
      return m !== before && /snapshot taken at/.test(m) ? m : undefined;
    }, 10_000);
    await check(`[${version}] Refresh takes a new snapshot`, after !== undefined, `before "${before}", after "${after}"`);

    // Collapse all leaves only the root.
    await paneAction('Await Tree', 'Collapse All');
    const collapsed = await until(async () => {
      const rs = await rows('Await Tree');
      return rs.length === 1 && rs[0].name === 'Task-1' && rs[0].expanded === 'false' ? rs : undefined;
    }, 10_000);
    await check(`[${version}] Collapse All leaves the collapsed root task`, collapsed !== undefined, JSON.stringify((await rows('Await Tree')).map((r) => r.name)));

    // Disconnect: the view says how to start again, the target lives on.
    await page.mouse.click(1200, 400);
    await page.keyboard.press('Shift+F5');
    const gone = await waitNoSession();
    await check(`[${version}] after disconnecting, the Await Tree shows its welcome content`, gone === true, await welcomeText());
    await check(`[${version}] the target outlives the session`, fs.existsSync(`/proc/${tree.pid}`) && !/[TtZ]/.test(procState(tree.pid)));

    // Attach to cycle.py with the command and its process picker.
    await runCommand('aioscope: Attach to Python Process…');
    const pickTitle = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Attach to a Python process' });
    await check(`[${version}] the process picker opens`, await pickTitle.waitFor({ state: 'visible', timeout: 15_000 }).then(() => true, () => false));
    const pickInput = page.locator('.quick-input-widget input');
    await pickInput.fill(String(cycle.pid));
    const pickRow = await until(async () => {
      const r = page.locator('.quick-input-widget .monaco-list-row').first();
      const t = await r.innerText({ timeout: 1000 });
      return t.includes(`pid ${cycle.pid}`) ? t : undefined;
    }, 10_000);
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
    const show = toast.first().locator('.monaco-button', { hasText: 'Show in Await Tree' });
    if ((await show.count()) > 0) {
      await show.click();
      const sel = await until(async () => (await rows('Await Tree')).find((r) => r.selected && (r.name === 'A' || r.name === 'B')), 10_000);
      await check(`[${version}] "Show in Await Tree" selects the cycle's task`, sel !== undefined);
    }
    await screenshot(`${version}-cycle-tree`);
    await page.mouse.click(1200, 400);
    await page.keyboard.press('Shift+F5');
    await check(`[${version}] the cycle session ends`, (await waitNoSession()) === true);

    await testValues(version, python, valuesConfigName, values);

    // 10,000 tasks: the Await Tree pages the root's children and stays responsive.
    // This one starts from a launch configuration whose processId is ${command:pickProcess}.
    const many = await startTarget(python, 'many.py', ['10000']);
    // Picks many.py and times, from choosing it, the first CALL STACK and the Await Tree.
    const attachMany = async () => {
      await arrangePanes(['Call Stack', 'Await Tree']);
      await runCommand('Debug: Select and Start Debugging');
      const configItem = page.locator('.quick-input-widget .monaco-list-row', { hasText: pickConfigName }).first();
      await configItem.waitFor({ state: 'visible', timeout: 10_000 });
      await configItem.click();
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Attach to a Python process' }).waitFor({ state: 'visible', timeout: 15_000 });
      await page.locator('.quick-input-widget input').fill(String(many.pid));
      await until(async () => (await page.locator('.quick-input-widget .monaco-list-row').first().innerText({ timeout: 1000 })).includes(`pid ${many.pid}`), 10_000);
      const t = { start: Date.now() };
      await page.keyboard.press('Enter');
      t.message = await until(
        async () => {
          if (t.callStackMs === undefined && (await pane('Call Stack').locator('.monaco-list-row').count()) > 0) {
            t.callStackMs = Date.now() - t.start;
          }
          const m = await pane('Await Tree').locator('.message').innerText({ timeout: 1000 });
          if (t.treeMs === undefined && m.includes('10001 tasks')) {
            t.treeMs = Date.now() - t.start;
          }
          return t.treeMs !== undefined && t.callStackMs !== undefined ? m : undefined;
        },
        30_000,
        50,
      );
      return t;
    };
    // A machine busy with other work can slow an attach down: a slow one is timed again, up to
    // three times in all, and the best times count.
    const fast = (t) => t.callStackMs !== undefined && t.callStackMs <= 1500 && t.treeMs !== undefined && t.treeMs <= 2000;
    let timing = await attachMany();
    const tries = [timing];
    while (!fast(timing) && tries.length < 3) {
      log(`  10,000 tasks: CALL STACK after ${timing.callStackMs} ms, Await Tree after ${timing.treeMs} ms; timing another attach`);
      await page.mouse.click(1200, 400);
      await page.keyboard.press('Shift+F5');
      await waitNoSession();
      timing = await attachMany();
      tries.push(timing);
    }
    const best = (key) => Math.min(...tries.map((x) => x[key] ?? Infinity));
    await check(`[${version}] 10,000 tasks: the first CALL STACK shows within 1.5 s (${tries.map((x) => x.callStackMs).join(' ms, ')} ms)`, best('callStackMs') <= 1500);
    await check(`[${version}] 10,000 tasks: the Await Tree shows within 2 s (${tries.map((x) => x.treeMs).join(' ms, ')} ms)`, best('treeMs') <= 2000);
    const tMany = timing.start;
    const manyMsg = timing.message;
    await arrangePanes(['Await Tree']);
    const pages = await until(async () => {
      const rs = await rows('Await Tree');
      return rs.filter((r) => /^tasks \d+–\d+$/.test(r.name)).length >= 2 ? rs : undefined;
    }, 15_000);
    const shownMs = Date.now() - tMany;
    await check(`[${version}] a 10,000-task process picked through \${command:pickProcess} shows in the Await Tree, children paged by 1,000 (${shownMs} ms)`, manyMsg !== undefined && pages !== undefined && shownMs < 20_000, JSON.stringify((await rows('Await Tree')).map((r) => r.name).slice(0, 8)));
    const firstPage = pages?.find((r) => r.name === 'tasks 1–1000');
    if (firstPage) {
      const tPage = Date.now();
      await clickRow('Await Tree', firstPage, { twistie: true });
      const opened = await until(async () => (await rows('Await Tree')).filter((r) => r.level === firstPage.level + 1 && /^Task-\d+$/.test(r.name)).length >= 10, 10_000);
      await check(`[${version}] a page of 1,000 tasks opens (${Date.now() - tPage} ms)`, opened === true);
    }
    await screenshot(`${version}-10000-tasks`);
    await page.mouse.click(1200, 400);
    await page.keyboard.press('Shift+F5');
    await check(`[${version}] the 10,000-task session ends`, (await waitNoSession()) === true);
    many.child.kill();
  } catch (err) {
    await check(`[${version}] no unexpected error`, false, err.stack ?? String(err));
  } finally {
    consoleLog.end();
    await context.close();
    page = undefined;
    for (const t of [tree, cycle, values]) {
      t.child.kill();
    }
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
