import { describe, expect, it } from 'vitest';
import { describeTermination, renderReport, timelineTicks } from '../demo/support/report.js';
import type { Transcript } from '../demo/support/transcript.js';

const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

function transcript(overrides: Partial<Transcript> = {}): Transcript {
  return {
    runId: 'run-1',
    title: 'A <b>title</b>',
    task: 'Do the task',
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 4200,
    runtime: {
      sandbox: 'local',
      model: 'scripted',
      sandboxDescription: 'local sandbox',
      modelDescription: 'scripted',
    },
    outcome: 'succeeded',
    problems: [],
    chats: [{ index: 0, title: 'Chat', startedAtMs: 0, terminationReason: 'termination-message' }],
    messages: [
      {
        index: 0,
        atMs: 10,
        chat: 0,
        sender: 'Coder',
        recipient: 'User',
        message: {
          role: 'assistant',
          content: 'Plan:\n- one\n- two\n\n```python\nprint("<script>alert(1)</script>")\n```',
        },
      },
      {
        index: 1,
        atMs: 900,
        chat: 0,
        sender: 'User',
        recipient: 'Coder',
        message: { role: 'user', content: 'exitcode: 1 (execution failed)\nCode output: Traceback <boom>' },
        execution: { exitCode: 1, durationMs: 800, languages: ['python'] },
        images: ['chart.png'],
      },
    ],
    events: [{ atMs: 500, type: 'sandbox-killed', detail: 'Fault injected' }],
    usage: {
      usageIncludingCachedInference: {
        totalCost: 0,
        models: { scripted: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cost: 0 } },
      },
      usageExcludingCachedInference: {
        totalCost: 0,
        models: { scripted: { promptTokens: 10, completionTokens: 5, totalTokens: 15, cost: 0 } },
      },
    },
    files: ['chart.png'],
    charts: ['chart.png'],
    ...overrides,
  };
}

describe('renderReport', () => {
  it('escapes everything the agents wrote, so a message cannot inject markup', () => {
    const html = renderReport(transcript(), new Map([['chart.png', png]]));
    expect(html).not.toContain('<script>');
    expect(html).toContain('print(&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;)');
    expect(html).toContain('A &lt;b&gt;title&lt;/b&gt;');
    expect(html).toContain('Traceback &lt;boom&gt;');
  });

  it('shows code, the failed run, lists, events, the timeline and the cost, with images inline', () => {
    const html = renderReport(transcript(), new Map([['chart.png', png]]));
    expect(html).toContain('<div class="label">python</div>');
    expect(html).toContain('exit 1 · failed');
    expect(html).toContain('<ul><li>one</li><li>two</li></ul>');
    expect(html).toContain('Fault injected');
    expect(html).toContain('<svg viewBox=');
    expect(html).toContain('href="#message-1"');
    expect(html).toContain('ScriptedModelClient');
    // Once in the gallery, once inline with the message that produced it.
    expect(html.split(`data:image/png;base64,${png.toString('base64')}`)).toHaveLength(3);
  });

  it('says so when an image file is missing instead of embedding a broken one', () => {
    const html = renderReport(transcript(), new Map());
    expect(html).toContain('Image chart.png is missing.');
    expect(html).not.toContain('data:image/png');
  });

  it('labels the time axis of a short run with distinct round values', () => {
    const labels = (totalMs: number) => timelineTicks(totalMs).map((tick) => tick.label);
    expect(labels(120)).toEqual(['0 ms', '50 ms', '100 ms']);
    expect(labels(4200)).toEqual(['0 s', '1 s', '2 s', '3 s', '4 s']);
    expect(labels(95_000)).toEqual(['0 s', '30 s', '60 s', '90 s']);
    expect(labels(600_000)).toEqual(['0 min', '2 min', '4 min', '6 min', '8 min', '10 min']);
    for (const total of [1, 37, 120, 999, 4200, 61_000, 3_000_000]) {
      const all = labels(total);
      expect(new Set(all).size, `labels of a ${total} ms run`).toBe(all.length);
      expect(all.length).toBeLessThanOrEqual(6);
    }
    const html = renderReport(transcript({ durationMs: 120 }), new Map([['chart.png', png]]));
    expect(html).toContain('>50 ms</text>');
    expect(html).not.toContain('>0.0 s</text>');
  });

  it('says in words why the chat ended', () => {
    const html = renderReport(transcript(), new Map([['chart.png', png]]));
    expect(html).toContain(
      'The chat ended: <strong>an agent said it was done (a termination message such as TERMINATE)</strong>',
    );
    expect(html).not.toContain('termination-message');
    expect(describeTermination('max-round')).toBe('the group chat reached its maximum number of rounds');
  });
});
