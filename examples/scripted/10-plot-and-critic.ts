import { type ContentPart, contentToString, type ModelRequest } from '@hopgen/agents';
import type { ScriptedReply } from '@hopgen/agents/testing';

const FIRST_CHART = `\`\`\`python
import matplotlib.pyplot as plt

regions = ["North-East", "North-West", "South-East", "South-West", "Central", "Islands"]
sales = [182, 145, 121, 98, 160, 44]
plt.figure(figsize=(6, 4))
plt.bar(regions, sales)
plt.title("Sales by region")
plt.savefig("sales_analysis.png")
\`\`\``;

const SECOND_CHART = `\`\`\`python
import matplotlib.pyplot as plt

regions = ["North-East", "North-West", "South-East", "South-West", "Central", "Islands"]
sales = [182, 145, 121, 98, 160, 44]
order = sorted(range(len(sales)), key=lambda index: sales[index])
plt.figure(figsize=(7, 4))
plt.barh([regions[index] for index in order], [sales[index] for index in order], color="#4C72B0")
plt.title("Sales by region (thousand EUR)")
plt.xlabel("thousand EUR")
plt.tight_layout()
plt.savefig("sales_analysis.png")
\`\`\``;

/** Offline replies of the Coder: a first chart, then the one the Critic asked for. */
export function coderScript(request: ModelRequest): ScriptedReply {
  const critique = request.messages.some((message) =>
    contentToString(message.content).includes('horizontal bars'),
  );
  return critique
    ? `Redrawn as the Critic asked.\n${SECOND_CHART}`
    : `Here is a first chart.\n${FIRST_CHART}`;
}

/**
 * Offline replies of the Critic, a vision model: it answers from the image parts it was really sent, so
 * the example fails if no chart reached it. It reads each PNG's size from its header, as a stand-in for looking.
 */
export function criticScript(request: ModelRequest): ScriptedReply {
  const images = request.messages.flatMap((message) =>
    Array.isArray(message.content) ? message.content.filter((part) => part.type === 'image_url') : [],
  );
  const newest = images.at(-1);
  if (newest === undefined) return 'I was sent no chart to look at.';
  const { width, height } = pngSize(newest);
  const round = request.messages.filter((message) =>
    contentToString(message.content).startsWith('exitcode: 0'),
  ).length;
  if (round < 2) {
    return `I see the chart (${width} x ${height} px, ${images.length} image in my prompt). The six region names overlap under the bars and the axis has no unit. Please use horizontal bars sorted by sales and label the unit (thousand EUR).`;
  }
  return `The new chart (${width} x ${height} px) is readable: sorted horizontal bars, unit on the axis. Approved. TERMINATE`;
}

function pngSize(part: ContentPart): { width: number; height: number } {
  const url = part.type === 'image_url' ? part.image_url.url : '';
  const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
