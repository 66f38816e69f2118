import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type { Attributes, Context, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import { errorMessage } from '../error-message.js';

/** Options of {@link configureTracing}. */
export interface TracingOptions {
  /**
   * Where spans go. @default the global provider of `@opentelemetry/api` (set by your OpenTelemetry SDK,
   * e.g. `NodeTracerProvider.register()`); without an SDK nothing is recorded.
   */
  tracerProvider?: TracerProvider;
  /**
   * Record message content (prompts, answers, tool arguments and results, code) on spans. It may hold
   * secrets, so it is off unless turned on here or with OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true.
   * @default false
   */
  recordContent?: boolean;
}

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** What hopgen's spans carry down the call tree: the span to parent under, and the agent acting. */
interface TraceScope {
  context: Context;
  agentName: string | undefined;
}

const TRACER_NAME = '@hopgen/agents';
const scopes = new AsyncLocalStorage<TraceScope>();
let loadedApi: OpenTelemetryApi | null | undefined;
let options: TracingOptions = {};
let cachedTracer: { provider: TracerProvider; tracer: Tracer } | undefined;

/**
 * Sets where hopgen's OpenTelemetry spans go and whether they carry message content. Tracing needs the
 * optional peer dependency `@opentelemetry/api`; without it (or without an SDK) nothing is recorded.
 */
export function configureTracing(next: TracingOptions): void {
  options = { ...next };
}

/** The OpenTelemetry API when it is installed; loaded once, synchronously, so nothing waits for it. */
function openTelemetry(): OpenTelemetryApi | null {
  if (loadedApi === undefined) {
    try {
      loadedApi = createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
    } catch {
      loadedApi = null;
    }
  }
  return loadedApi;
}

/** True when spans should carry message content. */
export function recordsContent(): boolean {
  return (
    options.recordContent ??
    process.env['OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT']?.toLowerCase() === 'true'
  );
}

/** A span hopgen is recording: set attributes as the work reveals them. */
export interface RecordingSpan {
  setAttributes(attributes: Attributes): void;
  updateName(name: string): void;
  /** Marks the span as failed without an exception (a tool's `Error:` answer, a block's exit code). */
  fail(description: string, errorType: string): void;
}

/** Where a span sits in the tree and which agent acts in it. */
export interface SpanSettings {
  name: string;
  attributes: Attributes;
  /** The agent acting from this span down; children without one inherit it. */
  agentName?: string;
}

/**
 * Runs `work` inside a span that is the child of the innermost hopgen span (or of the caller's active
 * OpenTelemetry context). Every span gets `gen_ai.agent.name` of the acting agent, so costs can be broken
 * down per agent. A thrown error sets the span's status to ERROR and is rethrown. Without the API, or
 * when the provider does not record, `work` runs as it is.
 */
export async function withSpan<T>(
  settings: SpanSettings,
  work: (span: RecordingSpan | undefined) => Promise<T>,
): Promise<T> {
  const api = openTelemetry();
  if (api === null) return work(undefined);
  const parent = scopes.getStore();
  const agentName = settings.agentName ?? parent?.agentName;
  const tracer = tracerOf(api);
  const span = tracer.startSpan(
    settings.name,
    {
      kind: api.SpanKind.INTERNAL,
      attributes: {
        ...settings.attributes,
        ...(agentName !== undefined ? { 'gen_ai.agent.name': agentName } : {}),
      },
    },
    parent?.context ?? api.context.active(),
  );
  if (!span.isRecording()) {
    span.end();
    return work(undefined);
  }
  const scope: TraceScope = {
    context: api.trace.setSpan(parent?.context ?? api.context.active(), span),
    agentName,
  };
  try {
    return await scopes.run(scope, () => work(recordingSpan(api, span)));
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
    span.setStatus({
      code: api.SpanStatusCode.ERROR,
      message: errorMessage(error),
    });
    throw error;
  } finally {
    span.end();
  }
}

/** The tracer of the configured (or global) provider; the global one is a proxy that follows later registrations. */
function tracerOf(api: OpenTelemetryApi): Tracer {
  const provider = options.tracerProvider ?? api.trace.getTracerProvider();
  if (cachedTracer?.provider !== provider)
    cachedTracer = { provider, tracer: provider.getTracer(TRACER_NAME) };
  return cachedTracer.tracer;
}

function recordingSpan(api: OpenTelemetryApi, span: Span): RecordingSpan {
  return {
    setAttributes: (attributes) => span.setAttributes(attributes),
    updateName: (name) => span.updateName(name),
    fail: (description, errorType) => {
      span.setAttribute('error.type', errorType);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: description });
    },
  };
}
