/**
 * rivalscope for Google Sheets: select rows with a URL and a prompt, choose
 * rivalscope > "Analyse selected rows", and the row fills in with the run's status, each
 * page's analysis summary, its screenshot link and the report link when they are ready.
 *
 * The sheet's first row names the columns (any order, any case): "URL" (one or more URLs,
 * separated by spaces, commas or line breaks) and "Prompt" (prompt text, or the NAME of a
 * prompt stored under prompts/). "Status", "Summary", "Screenshot", "Report" and "Run" are
 * added at the end of the header when missing.
 *
 * Script Properties (Project Settings > Script Properties): RIVALSCOPE_API_URL (the API's
 * base URL, e.g. https://abc.lambda-url.eu-west-1.on.aws) and RIVALSCOPE_API_KEY (a bearer
 * key of the API). The key is never written into the sheet.
 *
 * Apps Script's limits: an execution ends after 6 minutes, so each one stops sending after
 * BUDGET_MS and leaves the remaining rows "queued" for the next; the API answers POST /runs
 * and GET /runs/{run} at once (it never waits for a crawl), so no request comes near
 * UrlFetchApp's 30-second limit, and requests go out in small parallel batches (fetchAll).
 * Results arrive through a time-driven trigger (every minute) that polls the rows still
 * running and removes itself when none is left.
 *
 * This file holds the entry points and the sheet's reads and writes; Mapping.gs the pure
 * mapping of rows to API requests and of the API's answers to cells.
 */

var RIVALSCOPE = {
  MENU: 'rivalscope',
  COLUMNS: {
    url: 'URL',
    prompt: 'Prompt',
    status: 'Status',
    summary: 'Summary',
    screenshot: 'Screenshot',
    report: 'Report',
    run: 'Run'
  },
  RESULT_COLUMNS: ['status', 'summary', 'screenshot', 'report', 'run'],
  FINAL: ['done', 'failed', 'error'],
  BUDGET_MS: 4.5 * 60 * 1000, // of the 6 minutes an execution may take
  BATCH: 10, // requests per UrlFetchApp.fetchAll
  POLL_MINUTES: 1,
  TRIGGER: 'refreshRuns',
  CELL_LIMIT: 49000 // a cell holds at most 50,000 characters
};

// ---------------------------------------------------------------- menu and entry points

function onOpen() {
  SpreadsheetApp.getUi()
    .createMenu(RIVALSCOPE.MENU)
    .addItem('Analyse selected rows', 'analyseSelectedRows')
    .addItem('Refresh results now', 'refreshRuns')
    .addItem('Stop refreshing', 'stopRefreshing')
    .addToUi();
}

/** The menu item: mark the selected rows queued, send what fits in this execution. */
function analyseSelectedRows() {
  var started = Date.now();
  var sheet = SpreadsheetApp.getActiveSheet();
  var columns = ensureColumns(sheet);
  var rows = selectedRows(sheet);
  var queued = 0;
  rows.forEach(function (row) {
    var values = readRow(sheet, columns, row);
    var request = runRequest(values.url, values.prompt);
    if (request.error) {
      writeRow(sheet, columns, row, { status: 'error: ' + request.error });
      return;
    }
    writeRow(sheet, columns, row, { status: 'queued', summary: '', screenshot: '', report: '', run: '' });
    queued += 1;
  });
  if (queued) {
    ensureTrigger();
    sendQueued(sheet, columns, started);
  }
  SpreadsheetApp.getActiveSpreadsheet().toast(
    queued + ' row(s) sent to rivalscope; results fill in as runs finish.', RIVALSCOPE.MENU);
}

/** The trigger (and the menu item): send queued rows, poll running ones, stop when done. */
function refreshRuns() {
  var started = Date.now();
  var lock = LockService.getDocumentLock();
  if (!lock.tryLock(10000)) {
    return; // another execution is at it; the next minute's trigger comes anyway
  }
  try {
    var pending = 0;
    SpreadsheetApp.getActiveSpreadsheet().getSheets().forEach(function (sheet) {
      var columns = findColumns(headerRow(sheet));
      if (columns.run === undefined || columns.status === undefined) {
        return;
      }
      sendQueued(sheet, columns, started);
      pending += pollRunning(sheet, columns, started);
    });
    if (!pending) {
      stopRefreshing();
    }
  } finally {
    lock.releaseLock();
  }
}

function stopRefreshing() {
  ScriptApp.getProjectTriggers().forEach(function (trigger) {
    if (trigger.getHandlerFunction() === RIVALSCOPE.TRIGGER) {
      ScriptApp.deleteTrigger(trigger);
    }
  });
}

function ensureTrigger() {
  var exists = ScriptApp.getProjectTriggers().some(function (trigger) {
    return trigger.getHandlerFunction() === RIVALSCOPE.TRIGGER;
  });
  if (!exists) {
    ScriptApp.newTrigger(RIVALSCOPE.TRIGGER).timeBased().everyMinutes(RIVALSCOPE.POLL_MINUTES).create();
  }
}

// ---------------------------------------------------------------- the API, in batches

function sendQueued(sheet, columns, started) {
  var api = apiSettings(PropertiesService.getScriptProperties());
  var rows = rowsWithStatus(sheet, columns, function (status) { return status === 'queued'; });
  batches(rows, RIVALSCOPE.BATCH).some(function (batch) {
    if (Date.now() - started > RIVALSCOPE.BUDGET_MS) {
      return true; // left queued: the trigger sends them in its next execution
    }
    var requests = batch.map(function (row) {
      var values = readRow(sheet, columns, row);
      return startRequest(api, runRequest(values.url, values.prompt).payload);
    });
    UrlFetchApp.fetchAll(requests).forEach(function (response, i) {
      var update = startUpdate(response.getResponseCode(), response.getContentText());
      if (update) {
        writeRow(sheet, columns, batch[i], update);
      }
    });
    return false;
  });
}

/** Polls the rows whose run is not finished; returns how many are still running after. */
function pollRunning(sheet, columns, started) {
  var api = apiSettings(PropertiesService.getScriptProperties());
  var rows = rowsWithStatus(sheet, columns, function (status, run) {
    return Boolean(run) && RIVALSCOPE.FINAL.indexOf(status) < 0 && status !== 'queued';
  });
  var running = rows.length;
  batches(rows, RIVALSCOPE.BATCH).some(function (batch) {
    if (Date.now() - started > RIVALSCOPE.BUDGET_MS) {
      return true;
    }
    var requests = batch.map(function (row) {
      return statusRequest(api, readRow(sheet, columns, row).run);
    });
    UrlFetchApp.fetchAll(requests).forEach(function (response, i) {
      var update = statusUpdate(response.getResponseCode(), response.getContentText());
      if (update) {
        writeRow(sheet, columns, batch[i], update);
        if (RIVALSCOPE.FINAL.indexOf(statusWord(update.status)) >= 0) {
          running -= 1;
        }
      }
    });
    return false;
  });
  var queued = rowsWithStatus(sheet, columns, function (status) { return status === 'queued'; });
  return running + queued.length;
}

// ---------------------------------------------------------------- the sheet

function headerRow(sheet) {
  var width = Math.max(sheet.getLastColumn(), 1);
  return sheet.getRange(1, 1, 1, width).getValues()[0];
}

function ensureColumns(sheet) {
  var columns = findColumns(headerRow(sheet));
  if (!columns.url || !columns.prompt) {
    throw new Error('Name the columns in row 1: "' + RIVALSCOPE.COLUMNS.url + '" and "' +
      RIVALSCOPE.COLUMNS.prompt + '"');
  }
  var next = sheet.getLastColumn() + 1;
  RIVALSCOPE.RESULT_COLUMNS.forEach(function (role) {
    if (!columns[role]) {
      sheet.getRange(1, next).setValue(RIVALSCOPE.COLUMNS[role]);
      columns[role] = next;
      next += 1;
    }
  });
  return columns;
}

function selectedRows(sheet) {
  var seen = {};
  var rows = [];
  sheet.getActiveRangeList().getRanges().forEach(function (range) {
    for (var row = range.getRow(); row < range.getRow() + range.getNumRows(); row += 1) {
      if (row > 1 && !seen[row]) {
        seen[row] = true;
        rows.push(row);
      }
    }
  });
  return rows;
}

function readRow(sheet, columns, row) {
  var values = sheet.getRange(row, 1, 1, sheet.getLastColumn()).getValues()[0];
  var get = function (role) { return columns[role] ? values[columns[role] - 1] : ''; };
  return { url: get('url'), prompt: get('prompt'), status: String(get('status')), run: String(get('run')) };
}

function writeRow(sheet, columns, row, update) {
  Object.keys(update).forEach(function (role) {
    if (columns[role]) {
      sheet.getRange(row, columns[role]).setValue(cellText(update[role]));
    }
  });
}

function rowsWithStatus(sheet, columns, accept) {
  var last = sheet.getLastRow();
  if (last < 2) {
    return [];
  }
  var values = sheet.getRange(2, 1, last - 1, sheet.getLastColumn()).getValues();
  var rows = [];
  values.forEach(function (cells, i) {
    var status = statusWord(cells[columns.status - 1]);
    var run = columns.run ? String(cells[columns.run - 1] || '') : '';
    if (accept(status, run)) {
      rows.push(i + 2);
    }
  });
  return rows;
}
