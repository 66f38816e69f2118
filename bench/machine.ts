import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { SYSTEM_PYTHON } from './processes.js';

/** The machine a run was measured on, read at run time. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  python: string;
  bubblewrap: string;
  /** 1-, 5- and 15-minute load averages when the run started: other work on the machine adds noise. */
  loadAverageAtStart: number[];
  /** The same when the run ended. */
  loadAverageAtEnd?: number[];
}

/** 1-, 5- and 15-minute load averages now, two decimals. */
export function currentLoadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
}

function operatingSystem(): string {
  try {
    return readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Describes this machine. */
export function describeMachine(): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    os: operatingSystem(),
    node: process.version,
    python: `${firstLine(SYSTEM_PYTHON, ['--version'])} (${SYSTEM_PYTHON})`,
    bubblewrap: firstLine('bwrap', ['--version']),
    loadAverageAtStart: currentLoadAverage(),
  };
}
