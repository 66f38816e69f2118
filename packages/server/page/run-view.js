// The run view's renderer, shared by the page of hopgen serve (in the browser, no build step) and
// report.html (in Node): one renderer, so a finished run shows the same facts in both. Plain
// JavaScript with types in run-view.d.ts, because the browser loads this file as it is.

/** The stylesheet both use: the page links it, report.html inlines it. */
export const RUN_VIEW_STYLE_URL = new URL('./run-view.css', import.meta.url);

/** Agent colours, in order of first appearance. */
const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4d7c0f'];

/** One message as a list item: avatar, sender → recipient, time, and its text, code, output, tool calls and images. */
function renderMessage(entry, colors, imageUri) {
  const color = colors.get(entry.sender) ?? '#64748b';
  const { message } = entry;
  const body = [];
  const text = contentText(message.content);
  if (entry.execution !== void 0) {
    body.push(renderExecution(text, entry.execution));
  } else if (message.tool_responses?.length || message.role === 'tool') {
    for (const response of message.tool_responses ?? [message]) {
      body.push(
        `<div class="tool-result"><div class="label">Tool result${response.tool_call_id ? ` · ${escapeHtml(response.tool_call_id)}` : ''}</div><pre>${escapeHtml(contentText(response.content))}</pre></div>`,
      );
    }
  } else if (text) {
    body.push(renderMarkdown(text));
  }
  for (const call of message.tool_calls ?? [])
    body.push(renderToolCall(call.function.name, call.function.arguments));
  for (const name of entry.images ?? []) {
    const uri = imageUri(name);
    body.push(
      uri === void 0
        ? `<p class="missing">Image ${escapeHtml(name)} is missing.</p>`
        : `<figure class="inline"><img src="${uri}" alt="Image displayed by the code (${escapeHtml(name)})"><figcaption>${escapeHtml(name)}</figcaption></figure>`,
    );
  }
  if (body.length === 0) body.push('<p class="muted">(empty message)</p>');
  return `<li class="message${entry.streaming ? ' streaming' : ''}" id="message-${entry.index}" style="--agent:${color}">
  <div class="avatar" aria-hidden="true">${escapeHtml(initials(entry.sender))}</div>
  <div class="bubble">
    <div class="meta"><strong>${escapeHtml(entry.sender)}</strong> <span class="arrow">→</span> ${escapeHtml(entry.recipient)}<span class="when">${formatSeconds(entry.atMs)}</span></div>
    ${body.join('\n')}
  </div>
</li>`;
}

/** The result of a code run: exit code, languages, duration and output. */
function renderExecution(text, execution) {
  const match = /^exitcode: (-?\d+) \(([^)]*)\)\nCode output: ?([\s\S]*)$/.exec(text);
  const output = match ? match[3] : text;
  const ok = execution.exitCode === 0;
  return `<div class="execution ${ok ? 'ok' : 'failed'}">
  <div class="label"><span class="pill">${ok ? 'exit 0 · succeeded' : `exit ${execution.exitCode} · failed`}</span> ${escapeHtml(execution.languages.join(', '))} in the sandbox · ${formatSeconds(execution.durationMs)}</div>
  <pre>${escapeHtml(output.trimEnd()) || '<span class="muted">(no output)</span>'}</pre>
</div>`;
}

/** A tool call with its arguments (code arguments shown as code). */
function renderToolCall(name, argumentsJson) {
  let parsed;
  try {
    parsed = JSON.parse(argumentsJson);
  } catch {
    parsed = void 0;
  }
  if (parsed && typeof parsed === 'object' && typeof parsed.code === 'string') {
    const { code, ...rest } = parsed;
    return `<div class="tool-call"><div class="label">Calls tool <code>${escapeHtml(name)}</code>${Object.keys(rest).length ? ` with <code>${escapeHtml(JSON.stringify(rest))}</code>` : ''}</div>${codeBlock(code, 'python')}</div>`;
  }
  const pretty = parsed === void 0 ? argumentsJson : JSON.stringify(parsed, null, 2);
  return `<div class="tool-call"><div class="label">Calls tool <code>${escapeHtml(name)}</code></div><pre>${escapeHtml(pretty)}</pre></div>`;
}

/** A small Markdown subset: fenced code, paragraphs, lists, headings, `code`, **bold**. */
function renderMarkdown(text) {
  const parts = [];
  const fence = /```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)\n[ \t]*```/g;
  let last = 0;
  for (const match of text.matchAll(fence)) {
    parts.push(renderProse(text.slice(last, match.index)));
    parts.push(codeBlock(match[2], match[1] || 'text'));
    last = match.index + match[0].length;
  }
  parts.push(renderProse(text.slice(last)));
  return parts.join('');
}
function renderProse(text) {
  const html = [];
  for (const block of text
    .trim()
    .split(/\n{2,}/)
    .filter(Boolean)) {
    let paragraph = [];
    let list;
    const flush = () => {
      if (paragraph.length > 0) html.push(renderParagraph(paragraph));
      if (list !== void 0)
        html.push(list.ordered ? `<ol>${list.items.join('')}</ol>` : `<ul>${list.items.join('')}</ul>`);
      paragraph = [];
      list = void 0;
    };
    for (const line of block.split('\n')) {
      const item = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(line);
      if (item) {
        if (paragraph.length > 0) flush();
        list ??= { ordered: /\d/.test(item[1] ?? ''), items: [] };
        list.items.push(`<li>${inline(item[2] ?? '')}</li>`);
      } else {
        if (list !== void 0) flush();
        paragraph.push(line);
      }
    }
    flush();
  }
  return html.join('');
}
function renderParagraph(lines) {
  const heading = /^(#{1,4})\s+(.*)$/.exec(lines[0] ?? '');
  if (heading && lines.length === 1) return `<p class="heading">${inline(heading[2] ?? '')}</p>`;
  return `<p>${lines.map(inline).join('<br>')}</p>`;
}
function inline(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\bTERMINATE\b/g, '<span class="terminate">TERMINATE</span>');
}

/** A code block with its language. */
function codeBlock(code, language) {
  return `<div class="code"><div class="label">${escapeHtml(language)}</div><pre><code>${escapeHtml(code)}</code></pre></div>`;
}

/** The text of a message content (image parts become `<image>`). */
function contentText(content) {
  if (content === null || content === void 0) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '<image>')).join('');
}

/** A cost in dollars. */
function formatCost(cost) {
  if (cost === null) return 'unknown';
  return `$${cost.toFixed(cost !== 0 && cost < 0.01 ? 5 : 2)}`;
}

/** Why a chat ended, in words for people. */
const TERMINATION_WORDS = {
  'max-turns': 'it reached its maximum number of turns',
  'termination-message': 'an agent said it was done (a termination message such as TERMINATE)',
  'max-consecutive-auto-reply': 'an agent reached its limit of automatic replies in a row',
  'human-exit': 'the person typed exit',
  'max-round': 'the group chat reached its maximum number of rounds',
  'no-eligible-speaker': 'nobody was allowed to speak next',
  'no-reply': 'an agent had no reply',
  'selector-ended': 'the speaker selection ended the chat',
  aborted: 'it was cancelled',
};

/** The termination reason in words; an unknown identifier is shown as it is. */
function describeTermination(reason) {
  return TERMINATION_WORDS[reason] ?? reason;
}

/** Milliseconds as seconds, or minutes and seconds. */
function formatSeconds(ms) {
  return ms < 6e4
    ? `${(ms / 1e3).toFixed(1)} s`
    : `${Math.floor(ms / 6e4)} min ${Math.round((ms % 6e4) / 1e3)} s`;
}

/** One or two letters for an avatar. */
function initials(name) {
  const words = name.split(/[\s_-]+|(?=[A-Z][a-z])/).filter((word) => word.length > 0);
  const letters = words.length > 1 ? `${words[0]?.[0] ?? ''}${words[1]?.[0] ?? ''}` : name.slice(0, 1);
  return letters.toUpperCase();
}

/** Text cut to `length` characters with an ellipsis. */
function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** Escapes text for HTML element content and attribute values. */
function escapeHtml(text) {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
export {
  PALETTE,
  codeBlock,
  contentText,
  describeTermination,
  escapeHtml,
  formatCost,
  formatSeconds,
  initials,
  renderExecution,
  renderMarkdown,
  renderMessage,
  renderToolCall,
  truncate,
};
