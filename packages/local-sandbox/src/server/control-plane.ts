import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HopxHttpError,
  MAX_TTL_SECONDS,
  optionalPositiveNumber,
  optionalString,
  optionalStringMap,
  readJsonObject,
  sendJson,
} from './http-utilities.js';
import type { SandboxManager } from './sandbox-manager.js';
import type { SandboxSession } from './sandbox-session.js';
import { type LocalTemplate, templateToJson } from './templates.js';

/** What the control plane needs from the server. */
export interface ControlPlaneContext {
  manager: SandboxManager;
  templates: Map<string, LocalTemplate>;
  /** Control-plane base URL, e.g. `http://127.0.0.1:7070`. */
  baseURL: () => string;
  limits: { memoryBytes: number; cpus: number; workspaceBytes: number };
  /** Largest page of `GET /v1/sandboxes`. */
  listPageLimit: number;
  /** Longest TTL in seconds when a client gives none (0 = none). */
  defaultTimeoutSeconds: number;
}

/** The Sandbox object of HopX's control plane. */
export function sandboxJson(context: ControlPlaneContext, session: SandboxSession): Record<string, unknown> {
  const publicHost = `${context.baseURL()}/sandboxes/${session.id}`;
  return {
    id: session.id,
    object: 'sandbox',
    status: session.status,
    public_host: publicHost,
    direct_url: publicHost,
    template_name: session.template.name,
    template_id: session.template.id,
    region: 'local',
    resources: {
      vcpu: context.limits.cpus,
      memory_mb: Math.round(context.limits.memoryBytes / (1024 * 1024)),
      disk_mb: Math.round(context.limits.workspaceBytes / (1024 * 1024)),
    },
    internet_access: session.internetAccess,
    timeout_seconds: session.timeoutSeconds,
    expires_at: session.expiresAt?.toISOString() ?? null,
    created_at: session.createdAt.toISOString(),
    started_at: session.createdAt.toISOString(),
  };
}

function templateFor(context: ControlPlaneContext, body: Record<string, unknown>): LocalTemplate {
  const name = optionalString(body, 'template_name');
  const rawId = body.template_id;
  const id = rawId === undefined || rawId === null ? undefined : String(rawId);
  const template =
    name !== undefined
      ? context.templates.get(name)
      : id !== undefined
        ? [...context.templates.values()].find((candidate) => candidate.id === id || candidate.name === id)
        : context.templates.get('code-interpreter');
  if (!template) {
    const known = [...context.templates.values()]
      .map((candidate) => `${candidate.name} (id ${candidate.id})`)
      .join(', ');
    throw new HopxHttpError(
      404,
      'TEMPLATE_NOT_FOUND',
      `Template not found: ${name ?? id}. Available: ${known}.`,
    );
  }
  if (template.languages.size === 0) {
    throw new HopxHttpError(
      400,
      'INVALID_REQUEST',
      `Template ${template.name} has no usable language on this host (install python3, bash or node under /usr).`,
    );
  }
  return template;
}

const STATUSES = new Set(['running', 'paused', 'stopped', 'creating']);

/** Serves `/v1/*`. Returns false when the route is not a control-plane route. */
export async function handleControlPlane(
  context: ControlPlaneContext,
  method: string,
  segments: string[],
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const { manager } = context;
  const [, resource, id, action, subaction] = segments;
  if (resource === 'templates') {
    if (method === 'GET' && id === undefined) {
      let templates = [...context.templates.values()].map(templateToJson);
      const language = query.get('language');
      if (language)
        templates = templates.filter((template) => (template.languages as string[]).includes(language));
      const category = query.get('category');
      if (category) templates = templates.filter((template) => template.category === category);
      sendJson(response, 200, { object: 'list', data: templates, has_more: false });
      return true;
    }
    if (method === 'GET' && id !== undefined && action === undefined) {
      const template =
        context.templates.get(id) ?? [...context.templates.values()].find((entry) => entry.id === id);
      if (!template) throw new HopxHttpError(404, 'TEMPLATE_NOT_FOUND', `Template not found: ${id}`);
      sendJson(response, 200, templateToJson(template));
      return true;
    }
    return false;
  }
  if (resource !== 'sandboxes') return false;
  if (id === undefined) {
    if (method === 'POST') {
      const body = await readJsonObject(request, 1024 * 1024);
      const template = templateFor(context, body);
      const requestedTimeout = optionalPositiveNumber(body, 'timeout_seconds', MAX_TTL_SECONDS);
      const timeoutSeconds =
        requestedTimeout ?? (context.defaultTimeoutSeconds > 0 ? context.defaultTimeoutSeconds : undefined);
      const envVars = optionalStringMap(body, 'env_vars');
      const session = await manager.create({
        template,
        internetAccess: body.internet_access === true,
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        ...(envVars ? { envVars } : {}),
      });
      sendJson(response, 201, {
        ...sandboxJson(context, session),
        auth_token: session.token,
        token_expires_at: session.tokenExpiresAt.toISOString(),
      });
      return true;
    }
    if (method === 'GET') {
      const status = query.get('status');
      if (status && !STATUSES.has(status)) {
        throw new HopxHttpError(400, 'INVALID_REQUEST', `Unknown status ${JSON.stringify(status)}.`);
      }
      // Without `limit` (the SDK's Sandbox.list, which never follows a cursor) every sandbox is
      // answered; with one (Sandbox.iter sends limit=100) pages follow `next_cursor`, as on HopX.
      const limitText = query.get('limit');
      const limit = limitText === null ? Number.POSITIVE_INFINITY : Number(limitText);
      if (limitText !== null && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
        throw new HopxHttpError(400, 'INVALID_REQUEST', 'Query "limit" must be an integer from 1 to 1000.');
      }
      let sessions = manager.list();
      if (status) sessions = sessions.filter((session) => session.status === status);
      const cursor = query.get('cursor');
      if (cursor) {
        const after = Buffer.from(cursor, 'base64url').toString('utf8');
        const index = sessions.findIndex((session) => session.id === after);
        // The cursor's sandbox may be gone; continue after the ones created no later than it.
        sessions =
          index >= 0
            ? sessions.slice(index + 1)
            : sessions.filter((session) => session.id.localeCompare(after) > 0);
      }
      const pageSize = limitText === null ? sessions.length : Math.min(limit, context.listPageLimit);
      const page = sessions.slice(0, pageSize);
      const hasMore = sessions.length > pageSize;
      const last = page.at(-1);
      sendJson(response, 200, {
        object: 'list',
        data: page.map((session) => sandboxJson(context, session)),
        has_more: hasMore,
        next_cursor: hasMore && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
      });
      return true;
    }
    return false;
  }
  const session = manager.get(id);
  if (action === undefined) {
    if (method === 'GET') {
      sendJson(response, 200, sandboxJson(context, session));
      return true;
    }
    if (method === 'DELETE') {
      await manager.destroy(session.id);
      sendJson(response, 200, { id: session.id, object: 'sandbox', status: 'deleted', deleted: true });
      return true;
    }
    return false;
  }
  if (method === 'POST' && action === 'token' && subaction === 'refresh') {
    manager.refreshToken(session);
    sendJson(response, 200, {
      auth_token: session.token,
      token_expires_at: session.tokenExpiresAt.toISOString(),
    });
    return true;
  }
  if (method === 'PUT' && action === 'timeout') {
    const body = await readJsonObject(request, 64 * 1024);
    const seconds = optionalPositiveNumber(body, 'timeout_seconds', MAX_TTL_SECONDS);
    if (seconds === undefined)
      throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required field "timeout_seconds".');
    manager.setTimeout(session, seconds);
    sendJson(response, 200, {
      id: session.id,
      timeout_seconds: seconds,
      expires_at: session.expiresAt?.toISOString() ?? null,
    });
    return true;
  }
  if (method === 'POST' && action === 'pause') {
    await manager.pause(session);
    sendJson(response, 200, sandboxJson(context, session));
    return true;
  }
  if (method === 'POST' && action === 'resume') {
    await manager.resume(session);
    sendJson(response, 200, sandboxJson(context, session));
    return true;
  }
  return false;
}
