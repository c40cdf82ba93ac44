// Navigation: completion, hover, go to definition, references, rename, document and workspace
// symbols. Each answer is the engine's LanguageService's (document + offset in, plain results
// out); this file checks the params, converts positions to offsets and the results to LSP types.

import {
  CompletionItemKind,
  InsertTextFormat,
  LSPErrorCodes,
  ResponseError,
  SymbolKind,
  type CompletionParams,
  type DefinitionParams,
  type DocumentSymbol,
  type DocumentSymbolParams,
  type HoverParams,
  type PrepareRenameParams,
  type ReferenceParams,
  type RenameParams,
  type TextEdit,
  type WorkspaceSymbolParams,
} from 'vscode-languageserver/node.js';
import type { CompletionItem as EngineCompletion, SymbolInfo } from '../../engine/src/index.js';
import { checkParams } from './params.js';
import type { ServerState } from './state.js';
import type { ProjectState } from './workspace.js';

const COMPLETION_KIND: Record<EngineCompletion['kind'], CompletionItemKind> = {
  key: CompletionItemKind.Property,
  value: CompletionItemKind.EnumMember,
  reference: CompletionItemKind.Reference,
  snippet: CompletionItemKind.Snippet,
  kind: CompletionItemKind.Class,
  property: CompletionItemKind.Field,
  event: CompletionItemKind.Event,
};

const SYMBOL_KIND: Record<string, SymbolKind> = {
  Entity: SymbolKind.Class,
  Events: SymbolKind.Event,
  Segment: SymbolKind.Array,
  Trait: SymbolKind.Property,
  Score: SymbolKind.Number,
  Lifecycle: SymbolKind.Enum,
  Kpi: SymbolKind.Constant,
  Campaign: SymbolKind.Function,
  Test: SymbolKind.Method,
  stage: SymbolKind.EnumMember,
  band: SymbolKind.EnumMember,
};

export function registerNavigation(server: ServerState): void {
  const { connection } = server;

  connection.onCompletion((params) => {
    const p = checkParams<CompletionParams>('textDocument/completion', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return [];
    const items = a.state.service.completionsAt(a.rel, server.offsetOf(a.state, a.rel, p.position));
    return items.map((i) => ({
      label: i.label,
      kind: COMPLETION_KIND[i.kind],
      detail: i.detail,
      documentation: i.documentation ? { kind: 'markdown' as const, value: i.documentation } : undefined,
      sortText: i.sortText,
      insertTextFormat: i.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
      ...(i.replace
        ? { textEdit: { range: server.rangeOf(a.state, a.rel, i.replace), newText: i.insertText ?? i.label } }
        : { insertText: i.insertText ?? i.label }),
    }));
  });

  connection.onHover((params) => {
    const p = checkParams<HoverParams>('textDocument/hover', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return null;
    const h = a.state.service.hoverAt(a.rel, server.offsetOf(a.state, a.rel, p.position));
    return h ? { contents: { kind: 'markdown', value: h.markdown }, range: server.rangeOf(a.state, a.rel, h.span) } : null;
  });

  connection.onDefinition((params) => {
    const p = checkParams<DefinitionParams>('textDocument/definition', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service.definitionAt(a.rel, server.offsetOf(a.state, a.rel, p.position)).map((l) => ({ uri: server.uriFor(a.state, l.file), range: server.rangeOf(a.state, l.file, l.span) }));
  });

  connection.onReferences((params) => {
    const p = checkParams<ReferenceParams>('textDocument/references', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service
      .referencesAt(a.rel, server.offsetOf(a.state, a.rel, p.position), p.context.includeDeclaration)
      .map((l) => ({ uri: server.uriFor(a.state, l.file), range: server.rangeOf(a.state, l.file, l.span) }));
  });

  connection.onPrepareRename((params) => {
    const p = checkParams<PrepareRenameParams>('textDocument/prepareRename', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return null;
    const r = a.state.service.prepareRename(a.rel, server.offsetOf(a.state, a.rel, p.position));
    if ('error' in r) throw new ResponseError(LSPErrorCodes.RequestFailed, r.error);
    return { range: server.rangeOf(a.state, a.rel, r.span), placeholder: r.placeholder };
  });

  connection.onRenameRequest((params) => {
    const p = checkParams<RenameParams>('textDocument/rename', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return null;
    const r = a.state.service.renameAt(a.rel, server.offsetOf(a.state, a.rel, p.position), p.newName);
    if (r.error || !r.edits) throw new ResponseError(LSPErrorCodes.RequestFailed, r.error ?? 'cannot rename');
    const changes: Record<string, TextEdit[]> = {};
    for (const [file, edits] of r.edits) changes[server.uriFor(a.state, file)] = edits.map((e) => ({ range: server.rangeOf(a.state, file, e.span), newText: e.text }));
    return { changes };
  });

  function toDocumentSymbol(state: ProjectState, s: SymbolInfo): DocumentSymbol {
    return {
      name: s.name,
      detail: s.detail,
      kind: SYMBOL_KIND[s.kind] ?? SymbolKind.Object,
      range: server.rangeOf(state, s.file, s.span),
      selectionRange: server.rangeOf(state, s.file, s.selectionSpan),
      children: s.children?.map((c) => toDocumentSymbol(state, c)),
    };
  }

  connection.onDocumentSymbol((params) => {
    const p = checkParams<DocumentSymbolParams>('textDocument/documentSymbol', params);
    const a = server.at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service.documentSymbols(a.rel).map((s) => toDocumentSymbol(a.state, s));
  });

  connection.onWorkspaceSymbol((params) => {
    const p = checkParams<WorkspaceSymbolParams>('workspace/symbol', params);
    const out = [];
    for (const s of server.workspace.projects.values())
      for (const sym of s.service.workspaceSymbols(p.query))
        out.push({ name: sym.name, kind: SYMBOL_KIND[sym.kind] ?? SymbolKind.Object, containerName: sym.kind, location: { uri: server.uriFor(s, sym.file), range: server.rangeOf(s, sym.file, sym.selectionSpan) } });
    return out;
  });
}
