// The page of hopgen serve: the list of runs, and one run's live view. No build step: the browser
// loads these modules as they are. The token stays in this tab (sessionStorage) and goes to the API
// in the Authorization header, never in a URL.
import { applyEvent, createRunState } from './run-state.js';
import {
  describeTermination,
  escapeHtml,
  formatCost,
  formatSeconds,
  PALETTE,
  renderMarkdown,
  renderMessage,
} from './run-view.js';

const app = document.getElementById('app');
const TOKEN_KEY = 'hopgen-serve-token';

function readToken() {
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash)?.[1];
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: {
      authorization: `Bearer ${readToken()}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
  });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenForm('The token was refused.');
    throw new Error('token refused');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

function showTokenForm(problem) {
  app.innerHTML = `<section class="card token-form"><h1>hopgen serve</h1>
    <p>${problem ? `${escapeHtml(problem)} ` : ''}Paste the token <code>hopgen serve</code> printed (or open the address it printed, with <code>#token=</code>).</p>
    <form><input name="token" type="password" autocomplete="off" aria-label="Token" required> <button>Open</button></form></section>`;
  app.querySelector('form').addEventListener('submit', (submitted) => {
    submitted.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, new FormData(submitted.target).get('token'));
    route();
  });
}

// ------------------------------------------------------------------------------------- runs list

let listTimer;

async function showRunList() {
  app.innerHTML = `<header class="card hero"><p class="eyebrow">hopgen serve</p><h1>Runs</h1>
    <form class="start" id="start"><label>Pipeline <select name="pipeline" id="pipeline"></select></label>
    <label class="wide">Input (JSON) <textarea name="input" id="input" rows="3">{}</textarea></label>
    <label><input type="checkbox" name="codeExecution" checked> Approve code before it runs</label>
    <label><input type="checkbox" name="toolCalls"> Approve tool calls</label>
    <button id="start-run">Start run</button><p class="problem" id="start-problem" role="alert"></p></form></header>
    <section class="card"><table class="runs"><thead><tr><th>Run</th><th>Pipeline</th><th>Status</th><th>Started</th><th>Waiting for</th></tr></thead><tbody id="runs"></tbody></table></section>`;
  const { pipelines } = await api('/api/pipelines');
  document.getElementById('pipeline').innerHTML = pipelines
    .map((pipeline) => `<option>${escapeHtml(pipeline.name)}</option>`)
    .join('');
  document.getElementById('start').addEventListener('submit', async (submitted) => {
    submitted.preventDefault();
    const form = new FormData(submitted.target);
    const problem = document.getElementById('start-problem');
    problem.textContent = '';
    let input;
    try {
      input = JSON.parse(String(form.get('input') || 'null'));
    } catch {
      problem.textContent = 'The input is not JSON: write it as {"task": "..."}, or {} for the defaults.';
      return;
    }
    try {
      const run = await api('/api/runs', {
        method: 'POST',
        body: JSON.stringify({
          pipeline: form.get('pipeline'),
          input,
          approval: { codeExecution: form.has('codeExecution'), toolCalls: form.has('toolCalls') },
        }),
      });
      navigate(`/runs/${encodeURIComponent(run.runId)}`);
    } catch (error) {
      problem.textContent = error.message;
    }
  });
  const refresh = async () => {
    const { runs } = await api('/api/runs');
    const body = document.getElementById('runs');
    if (!body) return;
    body.innerHTML =
      runs
        .map(
          (run) =>
            `<tr><td><a href="/runs/${encodeURIComponent(run.runId)}" data-link>${escapeHtml(run.runId)}</a></td><td>${escapeHtml(run.pipeline ?? '—')}</td><td><span class="state ${run.status}">${run.status}</span></td><td>${new Date(run.createdAt).toLocaleString()}</td><td>${run.pendingRequests > 0 ? `${run.pendingRequests} request(s)` : ''}</td></tr>`,
        )
        .join('') || '<tr><td colspan="5" class="muted">No runs yet: start one above.</td></tr>';
  };
  await refresh();
  listTimer = setInterval(() => refresh().catch(() => undefined), 2000);
}

// --------------------------------------------------------------------------------------- one run

let stream;

function showRun(runId) {
  const state = createRunState(runId);
  window.hopgenRun = state;
  const images = new Map();
  app.innerHTML = `<p class="back"><a href="/" data-link>← All runs</a></p>
    <header class="card hero" id="run-header"></header>
    <section class="card" id="requests" hidden></section>
    <section class="card" id="charts-card" hidden><h2>Charts</h2><div class="gallery" id="charts"></div></section>
    <section class="card"><h2>Conversation</h2><ol class="conversation" id="conversation"></ol><div id="running"></div><p class="ended" id="ended" hidden></p></section>
    <section class="card"><h2>Who spoke when</h2><ol class="speakers" id="speakers"></ol></section>`;
  let connection = 'connecting';
  let shownRequests = '';
  let scheduled = false;
  // A cancel asked of a run another process runs (a worker) is stored; the run stops at that
  // process's next look (1 s by default). Until its run-stopped event arrives, the page says so.
  let cancelRequested = false;
  const stopping = () => cancelRequested && (state.status === 'running' || state.status === 'waiting');

  const imageUri = (name) => {
    if (images.has(name)) return images.get(name) ?? undefined;
    images.set(name, null);
    fetch(`/api/runs/${encodeURIComponent(runId)}/files/${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${readToken()}` },
    })
      .then((response) => (response.ok ? response.blob() : undefined))
      .then((blob) => {
        if (blob) images.set(name, URL.createObjectURL(blob));
        render();
      });
    return undefined;
  };

  const colors = new Map();
  const colorOf = (name) => {
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  };

  function render() {
    scheduled = false;
    for (const message of state.messages) colorOf(message.sender);
    const executions = state.messages.filter((message) => message.execution);
    const failed = executions.filter((message) => message.execution.exitCode !== 0).length;
    const duration = state.lastTime && state.startedAt ? state.lastTime - state.startedAt : 0;
    document.getElementById('run-header').innerHTML =
      `<p class="eyebrow">hopgen run · ${escapeHtml(runId)}</p>
      <h1>${escapeHtml(state.pipeline ?? 'Run')}</h1>
      <div class="status ${state.status === 'finished' ? 'succeeded' : state.status === 'failed' ? 'failed' : 'live'}" id="run-status">${escapeHtml(stopping() ? '◌ Stopping…' : statusText(state))}</div>
      <span class="connection ${connection}" id="connection">${connection}</span>
      ${state.status === 'running' || state.status === 'waiting' ? `<button class="cancel" id="cancel"${stopping() ? ' disabled' : ''}>${stopping() ? 'Stopping…' : 'Cancel run'}</button>` : ''}
      ${state.error ? `<p class="problems">${escapeHtml(state.error)}</p>` : ''}
      <dl class="facts">
        ${fact('Started', state.startedAt ? new Date(state.startedAt).toLocaleString() : '—')}
        ${fact('Duration', formatSeconds(duration))}
        ${fact('Messages', String(state.messages.length))}
        ${fact('Code runs', `${executions.length}${failed ? ` (${failed} failed)` : ''}`)}
        ${fact('Cost so far', `${formatCost(state.cost)} · ${state.tokens.toLocaleString('en-US')} tokens`)}
      </dl>`;
    document.getElementById('cancel')?.addEventListener('click', cancel);
    const chartsCard = document.getElementById('charts-card');
    chartsCard.hidden = state.charts.length === 0;
    document.getElementById('charts').innerHTML = state.charts
      .map((name) => {
        const uri = imageUri(name);
        return uri
          ? `<figure><img src="${uri}" alt="Chart produced in the sandbox (${escapeHtml(name)})"><figcaption>${escapeHtml(name)}</figcaption></figure>`
          : `<p class="muted">Loading ${escapeHtml(name)}…</p>`;
      })
      .join('');
    document.getElementById('conversation').innerHTML = state.messages
      .map((message) => renderMessage(message, colors, imageUri))
      .join('\n');
    document.getElementById('running').innerHTML = [...state.running.entries()]
      .map(
        ([agent, running]) =>
          `<div class="execution running"><div class="label"><span class="pill">running</span> ${escapeHtml(agent)} runs ${running.codeBlocks.length} block(s) in the sandbox…</div><pre>${escapeHtml(running.output) || '<span class="muted">(no output yet)</span>'}</pre></div>`,
      )
      .join('');
    const ended = document.getElementById('ended');
    ended.hidden = state.termination === undefined;
    if (state.termination) {
      ended.innerHTML = `The chat ended: <strong>${escapeHtml(describeTermination(state.termination.reason))}</strong>`;
    }
    document.getElementById('speakers').innerHTML = state.speakers
      .map(
        (turn) =>
          `<li style="--agent:${colorOf(turn.speaker)}"><span class="when">${formatSeconds(turn.atMs)}</span> round ${turn.round}: <strong>${escapeHtml(turn.speaker)}</strong></li>`,
      )
      .join('');
    // Requests seen during the replay may be answered already: show them once the page is live.
    if (connection !== 'catching up') renderRequests();
  }

  // Rebuilt only when the open requests change, so a half-typed answer is never lost.
  function renderRequests() {
    // A stopped, failed or finished run reads no answers (the API refuses them: run-ended).
    const ended = state.status === 'finished' || state.status === 'failed' || state.status === 'stopped';
    const open = ended ? [] : [...state.requests.values()];
    const keys = ended ? 'ended' : open.map((request) => request.requestId).join('|');
    if (keys === shownRequests) return;
    shownRequests = keys;
    const section = document.getElementById('requests');
    section.hidden = open.length === 0;
    section.innerHTML = open
      .map((request) =>
        request.kind === 'human-input'
          ? `<form class="request input" data-request="${escapeHtml(request.requestId)}"><h2>${escapeHtml(request.data.agent ?? 'An agent')} asks you</h2>
            <p class="prompt">${escapeHtml(request.data.prompt ?? '')}</p>
            <div class="answer"><input name="text" autocomplete="off" aria-label="Your answer" placeholder="Your answer (empty: let the agent reply on its own)"><button>Send</button></div><p class="problem" role="alert"></p></form>`
          : `<form class="request approval" data-request="${escapeHtml(request.requestId)}"><h2>${escapeHtml(request.data.agent ?? 'An agent')} waits for your approval</h2>
            ${renderApprovalSubject(request.data)}
            <div class="answer"><input name="reason" autocomplete="off" aria-label="Reason to reject" placeholder="Reason, if you reject"><button name="decision" value="approve" class="approve">Approve</button><button name="decision" value="reject" class="reject">Reject</button></div><p class="problem" role="alert"></p></form>`,
      )
      .join('');
    for (const form of section.querySelectorAll('form')) {
      form.addEventListener('submit', (submitted) => answer(submitted, form));
    }
  }

  async function answer(submitted, form) {
    submitted.preventDefault();
    const requestId = encodeURIComponent(form.dataset.request);
    const base = `/api/runs/${encodeURIComponent(runId)}/requests/${requestId}`;
    const data = new FormData(form);
    const decision = submitted.submitter?.value;
    try {
      for (const button of form.querySelectorAll('button')) button.disabled = true;
      if (form.classList.contains('input')) {
        await api(`${base}/input`, {
          method: 'POST',
          body: JSON.stringify({ text: String(data.get('text')) }),
        });
      } else if (decision === 'reject') {
        const reason = String(data.get('reason') || '').trim() || 'Rejected by a person.';
        await api(`${base}/reject`, { method: 'POST', body: JSON.stringify({ reason }) });
      } else {
        await api(`${base}/approve`, { method: 'POST', body: '{}' });
      }
    } catch (error) {
      for (const button of form.querySelectorAll('button')) button.disabled = false;
      form.querySelector('.problem').textContent = error.message;
    }
  }

  async function cancel() {
    const detail = await api(`/api/runs/${encodeURIComponent(runId)}/cancel`, {
      method: 'POST',
      body: '{}',
    }).catch((error) => {
      alert(error.message);
    });
    if (detail?.cancelRequested) {
      cancelRequested = true;
      schedule();
    }
  }

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  };

  // Server-Sent Events over fetch, so the token goes in a header; a dropped connection reconnects with
  // Last-Event-ID, and the server sends only what this page has not applied yet.
  const controller = new AbortController();
  stream = controller;
  (async () => {
    const detail = await api(`/api/runs/${encodeURIComponent(runId)}`).catch(() => undefined);
    state.pipeline = detail?.pipeline ?? undefined;
    cancelRequested = detail?.cancelRequested === true;
    while (!controller.signal.aborted) {
      try {
        const replayedTo =
          (await api(`/api/runs/${encodeURIComponent(runId)}`).catch(() => undefined))?.lastSequence ?? 0;
        const response = await fetch(`/api/runs/${encodeURIComponent(runId)}/events`, {
          headers: { authorization: `Bearer ${readToken()}`, 'last-event-id': String(state.lastSequence) },
          signal: controller.signal,
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        // "live" once the replay reached what the store held when the page asked, so nobody answers a stale request.
        const caughtUp = () => (state.lastSequence >= replayedTo ? 'live' : 'catching up');
        connection = caughtUp();
        schedule();
        const onEvent = (event) => {
          // The cancel is honoured by a stop naming it, or moot once the run finishes. Only an event
          // written after the page asked counts: replaying an old stop (a shutdown, an earlier cancel
          // of a run resumed since) must not hide a cancel still pending.
          const ends = event.type === 'run-finished' || (event.type === 'run-stopped' && event.data?.cancel);
          if (ends && event.sequence > replayedTo) cancelRequested = false;
          if (applyEvent(state, event)) {
            connection = caughtUp();
            schedule();
          }
        };
        if (await readStream(response.body, onEvent)) {
          connection = 'ended';
          schedule();
          return;
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      connection = 'reconnecting';
      schedule();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

/** Reads SSE blocks, calling `onEvent` for each run event; true when the server sent `end`. */
async function readStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === 'end') return true;
      if (data !== undefined) onEvent(JSON.parse(data));
    }
  }
}

function renderApprovalSubject(data) {
  if (Array.isArray(data.codeBlocks)) {
    return data.codeBlocks
      .map((block) => renderMarkdown(`\`\`\`${block.language}\n${block.code}\n\`\`\``))
      .join('');
  }
  return `<p>Tool <code>${escapeHtml(String(data.toolName ?? data.name ?? 'call'))}</code> with <code>${escapeHtml(JSON.stringify(data.arguments ?? data.args ?? {}))}</code></p>`;
}

function statusText(state) {
  if (state.status === 'finished') return '✔ Finished';
  if (state.status === 'failed') return '✘ Failed';
  if (state.status === 'stopped') return '■ Stopped';
  return state.requests.size > 0 ? '● Waiting for you' : '● Running';
}

function fact(label, value) {
  return `<div><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>`;
}

// ---------------------------------------------------------------------------------------- routing

function navigate(path) {
  history.pushState(null, '', path);
  route();
}

function route() {
  clearInterval(listTimer);
  stream?.abort();
  if (!readToken()) {
    showTokenForm();
    return;
  }
  const runId = /^\/runs\/([^/]+)$/.exec(location.pathname)?.[1];
  if (runId) showRun(decodeURIComponent(runId));
  else showRunList().catch(() => undefined);
}

document.addEventListener('click', (clicked) => {
  const link = clicked.target.closest?.('a[data-link]');
  if (!link) return;
  clicked.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', route);
route();
