import type { z } from 'zod';

/** zod issues as lines a model (or a person) reads: `- path.to.field: message`, `(root)` for the value itself. */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[], root = '(root)'): string {
  return issues.map((issue) => `- ${issue.path.map(String).join('.') || root}: ${issue.message}`).join('\n');
}
