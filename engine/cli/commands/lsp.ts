// tally lsp --stdio: the language server (server/src), for VS Code and any LSP editor.

import { CliError, type Io } from '../io.js';
import type { GlobalOptions } from '../options.js';

export async function runLsp(g: GlobalOptions, _io: Io): Promise<number> {
  if (!g.values.stdio) throw new CliError('usage: tally lsp --stdio (the server speaks LSP over standard input and output)');
  const { startServer } = await import('../../../server/src/server.js');
  const connection = startServer();
  // Stay alive until the client exits; the connection ends the process on `exit`.
  await new Promise<void>((resolve) => connection.onExit(() => resolve()));
  return 0;
}
