/**
 * README code blocks as runnable and type-checkable units (test/readme-examples.test.ts): the
 * fenced ```ts blocks of a Markdown file, each run verbatim as the body of an async function
 * (its `import ... from 'mxo-data'` lines removed and their names passed in), and type-checked as
 * a module of its own with the block's free variables declared.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';

/** The package name the README imports from. */
export const PACKAGE = 'mxo-data';

export interface ReadmeBlock {
  /** The nearest Markdown heading above the block (without the #s). */
  heading: string;
  /** The README line of the block's first code line (1-based). */
  line: number;
  /** The block's text, verbatim. */
  code: string;
}

/** Every fenced block of `lang` in a Markdown text, in order. */
export function readmeBlocks(markdown: string, lang = 'ts'): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const title = /^#{1,6}\s+(.*)$/.exec(text);
    if (title) heading = title[1]!.trim();
    const fence = /^(`{3,})(\S*)\s*$/.exec(text);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && l.trimEnd() === fence[1]);
    if (end < 0) throw new Error(`README line ${i + 1}: a code fence that is never closed`);
    if (fence[2] === lang) blocks.push({ heading, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** A name a block imports from the package: `import { imported as local } from 'mxo-data'`. */
export interface ImportedName {
  imported: string;
  local: string;
}

/**
 * The block's `import { ... } from 'mxo-data'` declarations removed (replaced by blank text, so
 * line numbers stay those of the README) and the names they import. Any other import, or a
 * default or namespace import, is refused: the harness could not provide it.
 */
export function splitImports(block: ReadmeBlock): { imports: ImportedName[]; body: string } {
  const source = ts.createSourceFile('block.ts', block.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: ImportedName[] = [];
  let body = block.code;
  for (const statement of [...source.statements].reverse()) {
    if (!ts.isImportDeclaration(statement)) continue;
    const from = (statement.moduleSpecifier as ts.StringLiteral).text;
    const clause = statement.importClause;
    const named = clause?.namedBindings;
    if (from !== PACKAGE || !clause || clause.name || !named || !ts.isNamedImports(named)) {
      throw new Error(`${where(block, statement)}: only \`import { ... } from '${PACKAGE}'\` can be provided to a README block`);
    }
    for (const element of named.elements)
      imports.unshift({ imported: (element.propertyName ?? element.name).text, local: element.name.text });
    const start = statement.getStart(source);
    body = body.slice(0, start) + body.slice(start, statement.end).replace(/[^\n]/g, ' ') + body.slice(statement.end);
  }
  return { imports, body };
}

/** The README line (1-based) of a position in a block's code. */
export function readmeLine(block: ReadmeBlock, position: number): number {
  return block.line + block.code.slice(0, position).split('\n').length - 1;
}

function where(block: ReadmeBlock, node: ts.Node): string {
  return `README.md:${readmeLine(block, node.getStart())} (block "${block.heading}")`;
}

/** A block compiled to a function: call it with the imported names' values and the free variables. */
export interface CompiledBlock {
  /** Parameter names, in order: the imported names, then the free variables. */
  params: string[];
  /** Runs the block; `at` is called with the README line of each top-level statement before it runs. */
  run(at: (line: number) => void, values: Record<string, unknown>): Promise<unknown>;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

/**
 * Transpiles a block's body (imports removed) with TypeScript (ES2022, ESNext modules) into the
 * body of an async function whose parameters are the imported names and `freeVariables`. Before
 * each top-level statement the function reports the README line it starts on, so a failure
 * names the statement that threw.
 */
export function compileBlock(block: ReadmeBlock, freeVariables: string[]): CompiledBlock {
  const { imports, body } = splitImports(block);
  const source = ts.createSourceFile('block.ts', body, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  let instrumented = body;
  for (const statement of [...source.statements].reverse()) {
    const start = statement.getStart(source);
    instrumented = `${instrumented.slice(0, start)}__readmeLine(${readmeLine(block, start)}); ${instrumented.slice(start)}`;
  }
  const output = ts.transpileModule(instrumented, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false },
    reportDiagnostics: true,
    fileName: 'block.ts',
  });
  const problems = (output.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length > 0)
    throw new Error(`README.md:${block.line} (block "${block.heading}") does not transpile:\n${problems.join('\n')}`);
  const js = output.outputText.replace(/^export \{\};\s*$/m, '');
  const params = [...imports.map((i) => i.local), ...freeVariables];
  const clash = params.find((p, i) => params.indexOf(p) !== i);
  if (clash) throw new Error(`README block "${block.heading}": ${clash} is both imported and a free variable`);
  const fn = new AsyncFunction('__readmeLine', ...params, js);
  return {
    params,
    run: (at, values) => {
      const missing = params.filter((p) => !(p in values));
      if (missing.length > 0) throw new Error(`README block "${block.heading}": no value for ${missing.join(', ')}`);
      return fn(at, ...params.map((p) => values[p]));
    },
  };
}

/** A block to type-check, with the types of its free variables (TypeScript text; `Mxo.` names the package's exports). */
export interface TypedBlock {
  block: ReadmeBlock;
  declarations: Record<string, string>;
}

/**
 * Type-checks each block as a module of its own (`.mts`, so top-level await is allowed) in a
 * temporary directory: `'mxo-data'` is resolved to `srcIndex` (src/index.ts), the free variables
 * are declared with their types, and the compiler options are those of `tsconfigPath`. Returns
 * the diagnostics of the blocks (README lines), none when they all compile.
 */
export function typecheckBlocks(blocks: TypedBlock[], tsconfigPath: string, srcIndex: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    tsconfigPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${tsconfigPath}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'readme-examples-'));
  try {
    const specifier = JSON.stringify(srcIndex.replace(/\.ts$/, '.js'));
    const files = blocks.map(({ block, declarations }, i) => {
      const header = [
        `import type * as Mxo from ${specifier};`,
        ...Object.entries(declarations).map(([name, type]) => `declare const ${name}: ${type};`),
      ];
      const code = block.code.replace(/(from\s+)(['"])mxo-data\2/g, `$1${specifier}`);
      const file = path.join(dir, `block-${i + 1}.mts`);
      // `export {}` keeps a block without imports a module (its names stay its own).
      writeFileSync(file, `${header.join('\n')}\n${code}\nexport {};\n`);
      return { file, block, headerLines: header.length, headerText: header };
    });
    const program = ts.createProgram(
      files.map((f) => f.file),
      { ...parsed.options, noEmit: true, declaration: false, sourceMap: false },
    );
    const messages: string[] = [];
    for (const d of program.getOptionsDiagnostics()) messages.push(`tsconfig: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    for (const { file, block, headerLines, headerText } of files) {
      const source = program.getSourceFile(file)!;
      const declared = (i: number) => headerText[i] ?? '';
      for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
        const line = d.start === undefined ? undefined : source.getLineAndCharacterOfPosition(d.start).line - headerLines;
        // A diagnostic in the header is one of the declared free variables' types (the test's).
        const inHeader = line !== undefined && line < 0;
        const at = line === undefined || inHeader ? `${block.line}` : `${block.line + line}`;
        const code =
          line === undefined
            ? ''
            : inHeader
              ? `\n    (declared) ${declared(line + headerLines)}`
              : `\n    ${block.code.split('\n')[line]?.trim()}`;
        messages.push(`README.md:${at} (block "${block.heading}"): TS${d.code} ${text}${code}`);
      }
    }
    return messages;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
