import type { HostLanguages, LanguageCommand } from './language-probe.js';

/** A template this server offers, with the languages it really has on this host. */
export interface LocalTemplate {
  id: string;
  name: 'code-interpreter' | 'base';
  displayName: string;
  description: string;
  languages: Map<string, LanguageCommand>;
  /** Modules the warm pool imports into the persistent interpreter. */
  preloadModules: string[];
  features: string[];
}

/** Builds the two templates from what the host has. */
export function buildTemplates(host: HostLanguages): Map<string, LocalTemplate> {
  const codeInterpreter = new Map<string, LanguageCommand>();
  const base = new Map<string, LanguageCommand>();
  if (host.python) {
    base.set('python', host.python);
    if (host.pythonDataScience) codeInterpreter.set('python', host.python);
  }
  if (host.bash) {
    codeInterpreter.set('bash', host.bash);
    base.set('bash', host.bash);
  }
  if (host.javascript) codeInterpreter.set('javascript', host.javascript);
  if (host.go) codeInterpreter.set('go', host.go);
  const templates = new Map<string, LocalTemplate>();
  templates.set('code-interpreter', {
    id: '1',
    name: 'code-interpreter',
    displayName: 'Code Interpreter',
    description:
      'Python 3 with numpy, pandas, matplotlib, seaborn, scipy and scikit-learn, plus Node.js and bash (local sandbox).',
    languages: codeInterpreter,
    preloadModules: host.pythonDataScience ? ['numpy', 'pandas', 'matplotlib', 'matplotlib.pyplot'] : [],
    features: ['ipython', 'rich-output', 'files', 'commands', 'env', 'streaming'],
  });
  templates.set('base', {
    id: '2',
    name: 'base',
    displayName: 'Base',
    description: 'bash and Python 3 (local sandbox).',
    languages: base,
    preloadModules: [],
    features: ['ipython', 'files', 'commands', 'env', 'streaming'],
  });
  return templates;
}

/** The wire form of a template (`GET /v1/templates`). */
export function templateToJson(template: LocalTemplate): Record<string, unknown> {
  const languages = [...template.languages.keys()];
  return {
    id: template.id,
    name: template.name,
    display_name: template.displayName,
    description: template.description,
    category: template.name === 'base' ? 'base' : 'data-science',
    language: languages.includes('python') ? 'python' : (languages[0] ?? null),
    languages,
    default_resources: { vcpu: 1, memory_mb: 1024, disk_gb: 1 },
    features: template.features,
    tags: ['local'],
    is_active: languages.length > 0,
    status: 'active',
  };
}
