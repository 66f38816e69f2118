#!/usr/bin/env node
// A committed shim, so package managers can link the command before `dist/` is built.
import { main } from '../dist/main.js';

// Exit even while runs wait for a person: their requests are stored and stay answerable.
process.exit(await main(process.argv.slice(2)));
