// Hovers in Python source while an aioscope session is stopped on a snapshot: VS Code asks the
// adapter to evaluate the expression under the pointer in the selected frame (the adapter says
// supportsEvaluateForHovers). This provider decides which expression that is, so that a hover on
// `headers['host']` asks for the item rather than the word.

import * as vscode from 'vscode';
import { debugType } from './debugConfig';
import { expressionAt } from './pythonExpression';

/**
 * Registers the provider while aioscope sessions run: a language has one such provider in
 * effect, and outside aioscope's sessions the editor's own choice stays.
 */
export function registerHoverExpressions(context: vscode.ExtensionContext): void {
  let registration: vscode.Disposable | undefined;
  const sessions = new Set<string>();
  const update = (): void => {
    if (sessions.size > 0 && registration === undefined) {
      registration = vscode.languages.registerEvaluatableExpressionProvider({ language: 'python' }, { provideEvaluatableExpression });
    } else if (sessions.size === 0 && registration !== undefined) {
      registration.dispose();
      registration = undefined;
    }
  };
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type === debugType) {
        sessions.add(s.id);
        update();
      }
    }),
    vscode.debug.onDidTerminateDebugSession((s) => {
      if (sessions.delete(s.id)) {
        update();
      }
    }),
    { dispose: () => registration?.dispose() },
  );
}

function provideEvaluatableExpression(doc: vscode.TextDocument, pos: vscode.Position): vscode.EvaluatableExpression | undefined {
  const e = expressionAt(doc.lineAt(pos.line).text, pos.character);
  if (e === undefined) {
    return undefined;
  }
  return new vscode.EvaluatableExpression(new vscode.Range(pos.line, e.start, pos.line, e.end), e.expression);
}
