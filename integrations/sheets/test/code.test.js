// Code.gs and Mapping.gs under node (node --test integrations/sheets/test/): the script is loaded into a vm
// context whose SpreadsheetApp, UrlFetchApp, PropertiesService, ScriptApp and LockService are
// small in-memory stand-ins, so what the script sends and writes can be read back. The API's
// answers are shaped as the front door gives them (analyzer_lambda/frontdoor/app.py).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const vm = require('node:vm');

const DIR = path.join(__dirname, '..');
// Apps Script loads a project's files into one global scope, in order.
const FILES = ['Code.gs', 'Mapping.gs'];
const SOURCES = FILES.map((name) => [name, fs.readFileSync(path.join(DIR, name), 'utf8')]);
const API = 'https://api.example/';
const KEY = 'rs_test_key';

class FakeSheet {
  constructor(rows) {
    this.cells = rows.map((row) => row.slice());
    this.selected = [];
  }
  getLastRow() { return this.cells.length; }
  getLastColumn() { return Math.max(...this.cells.map((row) => row.length)); }
  getRange(row, col, rows = 1, cols = 1) {
    const sheet = this;
    return {
      getValues() {
        const out = [];
        for (let r = row; r < row + rows; r += 1) {
          const line = [];
          for (let c = col; c < col + cols; c += 1) {
            line.push((sheet.cells[r - 1] || [])[c - 1] ?? '');
          }
          out.push(line);
        }
        return out;
      },
      setValue(value) {
        while (sheet.cells.length < row) sheet.cells.push([]);
        const line = sheet.cells[row - 1];
        while (line.length < col) line.push('');
        line[col - 1] = value;
      },
      getRow() { return row; },
      getNumRows() { return rows; },
    };
  }
  getActiveRangeList() {
    return { getRanges: () => this.selected.map(([row, rows]) => this.getRange(row, 1, rows, 1)) };
  }
  column(name) {
    const index = this.cells[0].indexOf(name);
    assert.ok(index >= 0, `no column ${name}`);
    return this.cells.slice(1).map((row) => row[index] ?? '');
  }
}

function load({ sheet, answer, properties = { RIVALSCOPE_API_URL: API, RIVALSCOPE_API_KEY: KEY } }) {
  const fetched = [];
  const triggers = [];
  const toasts = [];
  const spreadsheet = { getSheets: () => [sheet], toast: (text) => toasts.push(text) };
  const context = {
    SpreadsheetApp: {
      getActiveSheet: () => sheet,
      getActiveSpreadsheet: () => spreadsheet,
      getUi: () => {
        const menu = { items: [], addItem(label, fn) { this.items.push([label, fn]); return this; },
          addToUi() { context.menu = this; } };
        return { createMenu: (name) => Object.assign(menu, { name }) };
      },
    },
    UrlFetchApp: {
      fetchAll(requests) {
        return requests.map((request) => {
          fetched.push(request);
          const [code, body] = answer(request);
          return { getResponseCode: () => code, getContentText: () => JSON.stringify(body) };
        });
      },
    },
    PropertiesService: { getScriptProperties: () => ({ getProperty: (name) => properties[name] ?? null }) },
    LockService: { getDocumentLock: () => ({ tryLock: () => true, releaseLock() {} }) },
    ScriptApp: {
      getProjectTriggers: () => triggers.slice(),
      deleteTrigger: (t) => triggers.splice(triggers.indexOf(t), 1),
      newTrigger(handler) {
        const built = { handler, getHandlerFunction: () => handler };
        const chain = { timeBased: () => chain, everyMinutes: (m) => { built.minutes = m; return chain; },
          create: () => { triggers.push(built); return built; } };
        return chain;
      },
    },
  };
  vm.createContext(context);
  SOURCES.forEach(([filename, source]) => vm.runInContext(source, context, { filename }));
  return { gs: context, fetched, triggers, toasts };
}

const DONE = {
  run: '2026-12-02T01-02-03',
  status: 'done',
  error: null,
  progress: { shards: 1, shards_done: 1, chunks_stored: 1, pages: 2, pages_analysed: 2 },
  report_url: 'https://bucket.s3.amazonaws.com/reports/r/report.html?X-Amz-Signature=r',
  pages: [
    { url: 'https://a.example/', status: 'done', error: null,
      analysis: { offering: 'Analytics', summary: 'Acme sells analytics at 49 USD.' },
      screenshot_url: 'https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=a' },
    { url: 'https://b.example/', status: 'blocked', analysis: null,
      error: { type: 'blocked_by_site', message: 'Cloudflare challenge' },
      screenshot_url: 'https://bucket.s3.amazonaws.com/b.png?X-Amz-Signature=b' },
  ],
};

test('the script compiles as Apps Script V8 would load it, and its manifest is valid', () => {
  SOURCES.forEach(([filename, source]) => assert.doesNotThrow(() => new vm.Script(source, { filename })));
  const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'appsscript.json'), 'utf8'));
  assert.equal(manifest.runtimeVersion, 'V8');
  assert.ok(manifest.oauthScopes.includes('https://www.googleapis.com/auth/script.external_request'));
  assert.ok(manifest.oauthScopes.includes('https://www.googleapis.com/auth/spreadsheets.currentonly'));
});

test('the menu offers analysing the selection, refreshing and stopping', () => {
  const { gs } = load({ sheet: new FakeSheet([['URL', 'Prompt']]), answer: () => [500, {}] });
  gs.onOpen();
  assert.equal(gs.menu.name, 'rivalscope');
  assert.deepEqual(gs.menu.items.map(([, fn]) => fn), ['analyseSelectedRows', 'refreshRuns', 'stopRefreshing']);
});

test('a row becomes POST /runs with its URLs, its prompt and the bearer key', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  const request = gs.runRequest('https://a.example, https://b.example\nhttps://c.example', ' pricing? ');
  assert.deepEqual(JSON.parse(JSON.stringify(request.payload)), {
    urls: ['https://a.example', 'https://b.example', 'https://c.example'], prompt: 'pricing?',
  });
  const api = gs.apiSettings({ getProperty: (n) => ({ RIVALSCOPE_API_URL: API, RIVALSCOPE_API_KEY: KEY })[n] });
  const options = gs.startRequest(api, request.payload);
  assert.equal(options.url, 'https://api.example/runs');
  assert.equal(options.method, 'post');
  assert.equal(options.contentType, 'application/json');
  assert.equal(options.headers.Authorization, `Bearer ${KEY}`);
  assert.equal(options.muteHttpExceptions, true); // a 4xx is read, not thrown
  assert.deepEqual(JSON.parse(options.payload), JSON.parse(JSON.stringify(request.payload)));
  assert.equal(gs.statusRequest(api, DONE.run).url, `https://api.example/runs/${DONE.run}`);
});

test('rows that cannot be sent say why, in the row', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  assert.equal(gs.runRequest('', 'p').error, 'no URL in the URL column');
  assert.match(gs.runRequest('acme.example', 'p').error, /not a web address: acme\.example/);
  assert.equal(gs.runRequest('https://a.example', '  ').error, 'no prompt in the Prompt column');
  assert.throws(() => gs.apiSettings({ getProperty: () => null }), /RIVALSCOPE_API_URL/);
});

test('answers of POST /runs map to the row: started, refused, or try again', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  assert.deepEqual({ ...gs.startUpdate(202, JSON.stringify({ run: DONE.run, status: 'crawling' })) },
    { status: 'crawling', run: DONE.run });
  const refused = { error: { code: 'bad_url', message: 'https://10.0.0.1/ is a private address' } };
  assert.deepEqual({ ...gs.startUpdate(400, JSON.stringify(refused)) },
    { status: 'error: https://10.0.0.1/ is a private address' });
  assert.match(gs.startUpdate(401, '{}').status, /API key was refused/);
  assert.equal(gs.startUpdate(429, '{}'), null);
  assert.equal(gs.startUpdate(503, 'not json'), null);
});

test('a finished run fills in status, summaries, screenshot links and the report link', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  const update = gs.statusUpdate(200, JSON.stringify(DONE));
  assert.equal(update.status, 'done');
  assert.equal(update.summary, 'https://a.example/: Acme sells analytics at 49 USD.\n'
    + 'https://b.example/: blocked: Cloudflare challenge');
  assert.equal(update.screenshot, `${DONE.pages[0].screenshot_url}\n${DONE.pages[1].screenshot_url}`);
  assert.equal(update.report, DONE.report_url);
});

test('a running run shows its progress; a failed one its reason', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  const analysing = { ...DONE, status: 'analysing', report_url: null, pages: [DONE.pages[0]],
    progress: { pages: 2, pages_analysed: 1 } };
  assert.equal(gs.statusUpdate(200, JSON.stringify(analysing)).status, 'analysing (1/2 pages)');
  const failed = { ...DONE, status: 'failed', error: 'the crawl stored no page (exit code 1)', pages: [] };
  const update = gs.statusUpdate(200, JSON.stringify(failed));
  assert.equal(update.status, 'failed');
  assert.equal(update.summary, 'the crawl stored no page (exit code 1)');
  assert.equal(gs.statusUpdate(500, '{}'), null);
  assert.match(gs.statusUpdate(404, JSON.stringify({ error: { message: 'no run x' } })).status, /^error: no run x/);
});

test('cell text is never a formula and never over the cell limit', () => {
  const { gs } = load({ sheet: new FakeSheet([[]]), answer: () => [500, {}] });
  assert.equal(gs.cellText('=IMPORTXML("https://evil.example")'), `'=IMPORTXML("https://evil.example")`);
  assert.equal(gs.cellText('-1 plan'), "'-1 plan");
  assert.equal(gs.cellText('x'.repeat(60000)).length, 49000);
});

test('from the menu to the filled-in row: sent, polled by a trigger, trigger removed', () => {
  const sheet = new FakeSheet([
    ['Prompt', 'URL'],
    ['what changed in pricing?', 'https://a.example https://b.example'],
    ['', 'https://c.example'],
  ]);
  sheet.selected = [[2, 2]];
  let finished = false;
  const { gs, fetched, triggers } = load({
    sheet,
    answer: (request) => (request.method === 'post'
      ? [202, { run: DONE.run, status: 'crawling', status_url: `${API}runs/${DONE.run}` }]
      : [200, finished ? DONE : { ...DONE, status: 'crawling', pages: [], report_url: null, progress: {} }]),
  });

  gs.analyseSelectedRows();
  assert.deepEqual(sheet.cells[0], ['Prompt', 'URL', 'Status', 'Summary', 'Screenshot', 'Report', 'Run']);
  assert.deepEqual(sheet.column('Status'), ['crawling', 'error: no prompt in the Prompt column']);
  assert.deepEqual(sheet.column('Run'), [DONE.run, '']);
  assert.equal(fetched.length, 1);
  assert.deepEqual(JSON.parse(fetched[0].payload), {
    urls: ['https://a.example', 'https://b.example'], prompt: 'what changed in pricing?',
  });
  assert.deepEqual(triggers.map((t) => [t.handler, t.minutes]), [['refreshRuns', 1]]);

  gs.refreshRuns(); // still crawling: the trigger stays
  assert.equal(sheet.column('Status')[0], 'crawling');
  assert.equal(triggers.length, 1);

  finished = true;
  gs.refreshRuns();
  assert.equal(sheet.column('Status')[0], 'done');
  assert.match(sheet.column('Summary')[0], /Acme sells analytics/);
  assert.equal(sheet.column('Report')[0], DONE.report_url);
  assert.equal(triggers.length, 0); // nothing left to poll
  assert.ok(fetched.every((r) => r.headers.Authorization === `Bearer ${KEY}`));
});

test('rows beyond the execution budget stay queued for the next execution', () => {
  const sheet = new FakeSheet([['URL', 'Prompt', 'Status', 'Run'], ['https://a.example', 'p', 'queued', '']]);
  const { gs, fetched } = load({ sheet, answer: () => [202, { run: DONE.run, status: 'crawling' }] });
  const columns = gs.findColumns(sheet.cells[0]);
  gs.sendQueued(sheet, columns, Date.now() - gs.RIVALSCOPE.BUDGET_MS - 1);
  assert.equal(fetched.length, 0);
  assert.equal(sheet.column('Status')[0], 'queued');
  gs.sendQueued(sheet, columns, Date.now());
  assert.equal(sheet.column('Status')[0], 'crawling');
});

test('a throttled start leaves the row queued and the next execution sends it again', () => {
  const sheet = new FakeSheet([['URL', 'Prompt', 'Status', 'Run'], ['https://a.example', 'p', 'queued', '']]);
  let throttled = true;
  const { gs, fetched } = load({
    sheet,
    answer: (request) => {
      if (request.method === 'get') return [200, { ...DONE, status: 'crawling', pages: [], progress: {} }];
      return throttled ? [429, { error: { message: 'try again in 2 s' } }] : [202, { run: DONE.run }];
    },
  });
  gs.refreshRuns();
  assert.equal(sheet.column('Status')[0], 'queued');
  throttled = false;
  gs.refreshRuns();
  assert.equal(fetched.filter((r) => r.method === 'post').length, 2);
  assert.deepEqual(sheet.column('Run'), [DONE.run]);
  assert.equal(sheet.column('Status')[0], 'crawling');
});

test('requests go out in parallel batches of at most BATCH', () => {
  const rows = [['URL', 'Prompt', 'Status', 'Run']];
  for (let i = 0; i < 23; i += 1) rows.push([`https://s${i}.example`, 'p', 'queued', '']);
  const sheet = new FakeSheet(rows);
  const sizes = [];
  const { gs } = load({ sheet, answer: () => [202, { run: DONE.run }] });
  const fetchAll = gs.UrlFetchApp.fetchAll;
  gs.UrlFetchApp.fetchAll = (requests) => { sizes.push(requests.length); return fetchAll(requests); };
  gs.sendQueued(sheet, gs.findColumns(rows[0]), Date.now());
  assert.deepEqual(sizes, [10, 10, 3]);
});
