// What the extension's parts share: the running client, the definitions list and the choice of a
// definition (`Tally`, built by extension.ts's activate and handed to each part). Its own module,
// so the parts (the tree, the panel, SQL documents, plan and checks, new definition) never import
// extension.ts, which imports them.

import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { DefinitionRef, DefinitionsResult } from './protocol';

/** The language id of definition files (highlighted by VS Code's YAML grammar). */
export const LANGUAGE_ID = 'tally-yaml';

export interface Tally {
  readonly context: vscode.ExtensionContext;
  readonly output: vscode.OutputChannel;
  /** The running client (restarting replaces it). */
  client(): LanguageClient;
  definitions(compute?: boolean): Promise<DefinitionsResult>;
  /** The definition under the cursor, or one the user picks. */
  resolveRef(arg: unknown, kinds: readonly string[]): Promise<DefinitionRef | undefined>;
}
