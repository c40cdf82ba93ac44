// The Tally view in the activity bar: definitions grouped by kind, with the server's cached live
// figures (segment sizes, KPI statuses) as descriptions and status icons. Asking for the tree
// also starts the missing previews on the server; each one that lands (`tally/liveChanged`)
// refreshes the view.

import * as vscode from 'vscode';
import type { Tally } from './tally';
import { previewKindOf, type DefinitionEntry } from './protocol';

const GROUPS: { kind: string; label: string; icon: string }[] = [
  { kind: 'Segment', label: 'Segments', icon: 'organization' },
  { kind: 'Kpi', label: 'KPIs', icon: 'graph-line' },
  { kind: 'Lifecycle', label: 'Lifecycles', icon: 'debug-step-over' },
  { kind: 'Trait', label: 'Traits', icon: 'symbol-property' },
  { kind: 'Score', label: 'Scores', icon: 'symbol-number' },
  { kind: 'Campaign', label: 'Campaigns', icon: 'megaphone' },
  { kind: 'Entity', label: 'Entities', icon: 'symbol-class' },
  { kind: 'Events', label: 'Event streams', icon: 'symbol-event' },
  { kind: 'Test', label: 'Tests', icon: 'beaker' },
];
/** The previewable kinds (protocol's kind map) but campaigns, whose SQL is not one query. */
const COMPILABLE = new Set(['Segment', 'Kpi', 'Lifecycle', 'Trait', 'Score']);

const STATUS_ICON: Record<string, [string, string]> = {
  met: ['pass-filled', 'charts.green'],
  on_track: ['pass', 'charts.green'],
  at_risk: ['warning', 'charts.yellow'],
  missed: ['error', 'charts.red'],
  failed: ['error', 'charts.red'],
};

type Node = { group: (typeof GROUPS)[number]; items: DefinitionEntry[] } | { entry: DefinitionEntry };

export class DefinitionsTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private entries: readonly DefinitionEntry[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tally: Tally) {
    vscode.languages.onDidChangeDiagnostics(() => this.refreshSoon(), undefined, tally.context.subscriptions);
    vscode.workspace.onDidSaveTextDocument(() => this.refreshSoon(), undefined, tally.context.subscriptions);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 300);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      try {
        this.entries = (await this.tally.definitions(true)).definitions;
      } catch {
        this.entries = [];
      }
      return GROUPS.map((group) => ({ group, items: this.entries.filter((e) => e.kind === group.kind) })).filter((g) => g.items.length);
    }
    if ('group' in node) return node.items.map((entry) => ({ entry }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if ('group' in node) {
      const item = new vscode.TreeItem(node.group.label, node.group.kind === 'Segment' || node.group.kind === 'Kpi' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `group:${node.group.kind}`;
      item.description = String(node.items.length);
      item.iconPath = new vscode.ThemeIcon(node.group.icon);
      item.contextValue = 'group';
      return item;
    }
    const e = node.entry;
    const item = new vscode.TreeItem(e.name, vscode.TreeItemCollapsibleState.None);
    item.id = `${e.root}:${e.kind}:${e.name}`;
    const context = ['definition'];
    if (previewKindOf(e.kind)) context.push('previewable');
    if (COMPILABLE.has(e.kind)) context.push('compilable');
    item.contextValue = context.join(' ');
    if (e.hasErrors) {
      item.description = 'has errors';
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
    } else if (e.kind === 'Kpi' && e.status) {
      const [icon, color] = STATUS_ICON[e.status] ?? ['circle-outline', 'foreground'];
      item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
      item.description = e.live ?? e.status.replace('_', ' ');
    } else {
      item.iconPath = new vscode.ThemeIcon(GROUPS.find((g) => g.kind === e.kind)?.icon ?? 'symbol-misc');
      item.description = e.kind === 'Segment' && e.count !== null ? e.count.toLocaleString('en-US') : (e.live ?? undefined);
    }
    const tip = new vscode.MarkdownString(`**${e.kind}** \`${e.name}\`${e.live ? `\n\n${e.live}` : ''}${e.hasErrors ? '\n\nHas errors: see the Problems panel.' : ''}\n\n${vscode.workspace.asRelativePath(vscode.Uri.parse(e.uri))}`);
    item.tooltip = tip;
    item.resourceUri = undefined;
    item.command = { command: 'tally.openDefinition', title: 'Open', arguments: [e] };
    return item;
  }
}
