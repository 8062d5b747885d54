/**
 * rivalscope for Google Sheets, the pure half: a row to the request of POST /runs, the API's
 * answers (POST /runs, GET /runs/{run}) to the row's cells, and the header's columns. No
 * Apps Script service is called here (Code.gs does that), so node tests it as it is.
 */

function apiSettings(properties) {
  var base = String(properties.getProperty('RIVALSCOPE_API_URL') || '').trim().replace(/\/+$/, '');
  var key = String(properties.getProperty('RIVALSCOPE_API_KEY') || '').trim();
  if (!/^https?:\/\/[^\s]+$/.test(base)) {
    throw new Error('Set the Script Property RIVALSCOPE_API_URL to the API address (https://...)');
  }
  if (!key) {
    throw new Error('Set the Script Property RIVALSCOPE_API_KEY to an API key of rivalscope');
  }
  return { base: base, key: key };
}

function parseUrls(text) {
  return String(text || '').split(/[\s,]+/).filter(function (part) { return part.length > 0; });
}

/** A row's request body, or the reason it cannot be sent (the API checks the rest). */
function runRequest(urlText, promptText) {
  var urls = parseUrls(urlText);
  var prompt = String(promptText || '').trim();
  if (!urls.length) {
    return { error: 'no URL in the URL column' };
  }
  var bad = urls.filter(function (url) { return !/^https?:\/\/[^\s/]+/i.test(url); });
  if (bad.length) {
    return { error: 'not a web address: ' + bad.join(', ') + ' (write https://...)' };
  }
  if (!prompt) {
    return { error: 'no prompt in the Prompt column' };
  }
  return { payload: { urls: urls, prompt: prompt } };
}

function startRequest(api, payload) {
  return {
    url: api.base + '/runs',
    method: 'post',
    contentType: 'application/json',
    payload: JSON.stringify(payload),
    headers: { Authorization: 'Bearer ' + api.key },
    muteHttpExceptions: true,
    followRedirects: false
  };
}

function statusRequest(api, run) {
  return {
    url: api.base + '/runs/' + encodeURIComponent(run),
    method: 'get',
    headers: { Authorization: 'Bearer ' + api.key },
    muteHttpExceptions: true,
    followRedirects: false
  };
}

/** The row's cells after POST /runs answered; null: leave the row queued (try again). */
function startUpdate(code, text) {
  var body = parseJson(text);
  if (code === 202 || code === 200) {
    return { status: body.status || 'crawling', run: body.run || '' };
  }
  if (code === 429 || code >= 500) {
    return null; // throttled or a passing fault: the next execution sends it again
  }
  return { status: 'error: ' + errorMessage(code, body) };
}

/** The row's cells after GET /runs/{run} answered; null: no news (try again later). */
function statusUpdate(code, text) {
  var body = parseJson(text);
  if (code === 429 || code >= 500) {
    return null;
  }
  if (code !== 200) {
    return { status: 'error: ' + errorMessage(code, body) };
  }
  var pages = body.pages || [];
  var status = body.status || 'crawling';
  var update = {
    status: status,
    summary: cellText(status === 'failed' && body.error ? body.error : summaries(pages)),
    screenshot: pages.map(function (page) { return page.screenshot_url || ''; }).filter(Boolean).join('\n'),
    report: body.report_url || ''
  };
  if (status !== 'done' && status !== 'failed') {
    var progress = body.progress || {};
    update.status = status + progressText(progress);
  }
  return update;
}

/** "crawling" of "crawling (1/2 pages)", "error" of "error: ...": the state a cell shows. */
function statusWord(text) {
  return String(text || '').split(/[:(]/)[0].trim();
}

function progressText(progress) {
  if (progress.pages) {
    return ' (' + (progress.pages_analysed || 0) + '/' + progress.pages + ' pages)';
  }
  return progress.chunks_stored ? ' (' + progress.chunks_stored + ' chunk(s) stored)' : '';
}

/** One line per page: its analysis's summary (or first text field), or its error. */
function summaries(pages) {
  return pages.map(function (page) {
    var text = pageSummary(page);
    return pages.length > 1 ? page.url + ': ' + text : text;
  }).join('\n');
}

function pageSummary(page) {
  if (page.error) {
    return page.status + ': ' + (page.error.message || page.error.type || 'error');
  }
  var analysis = page.analysis || {};
  if (typeof analysis.summary === 'string' && analysis.summary.trim()) {
    return analysis.summary.trim();
  }
  var first = Object.keys(analysis).filter(function (name) {
    return typeof analysis[name] === 'string' && analysis[name].trim();
  })[0];
  return first ? analysis[first].trim() : JSON.stringify(analysis);
}

function errorMessage(code, body) {
  var error = body && body.error;
  if (code === 401) {
    return 'the API key was refused (Script Property RIVALSCOPE_API_KEY)';
  }
  if (error && typeof error === 'object' && error.message) {
    return error.message;
  }
  return 'HTTP ' + code;
}

/** Text for a cell: never read as a formula, never over the cell limit. */
function cellText(value) {
  var text = String(value === undefined || value === null ? '' : value);
  if (/^[=+\-@]/.test(text)) {
    text = "'" + text;
  }
  return text.length > RIVALSCOPE.CELL_LIMIT ? text.slice(0, RIVALSCOPE.CELL_LIMIT - 1) + '…' : text;
}

function parseJson(text) {
  try {
    var value = JSON.parse(text || '{}');
    return value && typeof value === 'object' ? value : {};
  } catch (e) {
    return {};
  }
}

function batches(items, size) {
  var out = [];
  for (var i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** Column indexes (1-based) by role, from the header row's names. */
function findColumns(header) {
  var columns = {};
  Object.keys(RIVALSCOPE.COLUMNS).forEach(function (role) {
    var wanted = RIVALSCOPE.COLUMNS[role].toLowerCase();
    for (var i = 0; i < header.length; i += 1) {
      if (String(header[i]).trim().toLowerCase() === wanted) {
        columns[role] = i + 1;
        return;
      }
    }
  });
  return columns;
}
