import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

// The attributes that break cost and time down per agent.
const SHOWN = [
  'gen_ai.agent.name',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'hopgen.sandbox.id',
  'hopgen.speaker.name',
];

/** Prints finished spans under a 'Spans:' heading, each under its parent, with its telling attributes. */
export function printSpanTree(spans: readonly ReadableSpan[]): void {
  const children = (parent: ReadableSpan | undefined) =>
    spans.filter((span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId);
  const print = (span: ReadableSpan, depth: number): void => {
    const attributes = SHOWN.filter((key) => span.attributes[key] !== undefined).map(
      (key) => `${key}=${span.attributes[key]}`,
    );
    const status = span.status.code === 2 ? ' [ERROR]' : '';
    console.log(`${'  '.repeat(depth)}${span.name}${status}  ${attributes.join(' ')}`);
    for (const child of children(span)) print(child, depth + 1);
  };
  console.log('\nSpans:');
  for (const root of children(undefined)) print(root, 0);
}
