// The bundled language server (dist/server.mjs): the same server as `tally lsp --stdio`.
import { startServer } from '../../server/src/server.js';

const connection = startServer();
connection.onExit(() => process.exit(0));
