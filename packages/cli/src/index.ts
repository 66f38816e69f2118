export { COMMANDS, type Command, type CommandModule } from './commands.js';
export { main } from './main.js';
