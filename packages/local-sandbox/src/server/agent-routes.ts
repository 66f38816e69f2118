import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleExecuteRoute } from './execute-routes.js';
import { handleFileRoute } from './file-routes.js';
import { HopxHttpError, optionalStringMap, readJsonObject, sendJson } from './http-utilities.js';
import type { SandboxSession } from './sandbox-session.js';

/** Version reported by the local agent. */
export const AGENT_VERSION = 'hopgen-local-0.1.0';

async function handleEnvRoute(
  session: SandboxSession,
  method: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (method === 'GET') {
    // user-defined variables only; the base environment is the same in every sandbox
  } else if (method === 'PUT' || method === 'PATCH' || method === 'POST') {
    const body = await readJsonObject(request, 1024 * 1024);
    const envVars = optionalStringMap(body, 'env_vars');
    if (!envVars) throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required field "env_vars".');
    session.envVars =
      method === 'PUT' && body.merge !== true ? { ...envVars } : { ...session.envVars, ...envVars };
  } else if (method === 'DELETE') {
    session.envVars = {};
  } else {
    return false;
  }
  sendJson(response, 200, { env_vars: session.envVars, count: Object.keys(session.envVars).length });
  return true;
}

/** Serves one agent request for `session`; `route` is the path after `/sandboxes/{id}`. */
export async function handleAgentRoute(
  session: SandboxSession,
  method: string,
  route: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  session.metrics.requests++;
  const uptimeSeconds = (Date.now() - session.createdAt.getTime()) / 1000;
  if (method === 'GET' && route === '/health') {
    sendJson(response, 200, {
      status: 'healthy',
      version: AGENT_VERSION,
      uptime_seconds: uptimeSeconds,
      features: {
        languages: [...session.template.languages.keys()],
        ipython: session.template.languages.has('python'),
      },
    });
    return true;
  }
  if (method === 'GET' && route === '/info') {
    sendJson(response, 200, {
      vm_id: session.id,
      agent: 'hopgen-local-sandbox',
      version: AGENT_VERSION,
      uptime_seconds: uptimeSeconds,
      template: session.template.name,
      languages: [...session.template.languages.keys()],
      status: session.status,
    });
    return true;
  }
  if (method === 'GET' && route === '/metrics/snapshot') {
    const running = [...session.processes.values()].filter((entry) => entry.status === 'running').length;
    sendJson(response, 200, {
      uptime_seconds: uptimeSeconds,
      total_executions: session.metrics.executions,
      requests_total: session.metrics.requests,
      total_requests: session.metrics.requests,
      error_count: session.metrics.errors,
      total_errors: session.metrics.errors,
      active_processes: running,
      memory_usage_bytes: await session.isolated.memoryUsageBytes(),
      timestamp: new Date().toISOString(),
    });
    return true;
  }
  if (route === '/env') return handleEnvRoute(session, method, request, response);
  if (method === 'GET' && route === '/jupyter/sessions') {
    sendJson(response, 200, {
      sessions: session.processServer.replRunning ? [{ kernel_id: 'python3', execution_state: 'idle' }] : [],
    });
    return true;
  }
  if (route.startsWith('/files/')) return handleFileRoute(session, method, route, query, request, response);
  if (route.startsWith('/execute') || route.startsWith('/commands/') || route === '/processes') {
    return handleExecuteRoute(session, method, route, query, request, response);
  }
  return false;
}
