import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * An MCP tool result as the text the model reads: text parts as they are, one line each for images,
 * audio and resources (a chat-completion tool message carries text only), or the structured content
 * as JSON when there is nothing else.
 */
export function toolResultText(result: CallToolResult): string {
  const parts = (result.content ?? []).map((part) => {
    switch (part.type) {
      case 'text':
        return part.text;
      case 'image':
      case 'audio':
        return `[${part.type} ${part.mimeType}, ${decodedLength(part.data)} bytes]`;
      case 'resource_link':
        return `[resource ${part.uri}${part.name ? ` (${part.name})` : ''}]`;
      case 'resource': {
        const resource = part.resource;
        if ('text' in resource && typeof resource.text === 'string') return resource.text;
        return `[resource ${resource.uri}${resource.mimeType ? ` (${resource.mimeType})` : ''}]`;
      }
      default:
        return `[${(part as { type: string }).type}]`;
    }
  });
  if (parts.length === 0 && result.structuredContent !== undefined) {
    return JSON.stringify(result.structuredContent);
  }
  return parts.join('\n');
}

function decodedLength(base64: string): number {
  return Buffer.byteLength(base64, 'base64');
}
