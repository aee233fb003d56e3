// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const runnerClientNodeMessage =
  'The runner must not load @kubernetes/client-node: it adds about 75 MiB RSS to every runner pod (the runner memory ' +
  'budget). Use operator/runner/reporting/in-cluster-api.ts (type imports are fine).';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cluster/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The functional core: what the operator wants is computed without talking to the API server.
    files: [
      'operator/api/**',
      'operator/schedule/**',
      'operator/reconcile/desired*.ts',
      'operator/reconcile/status*.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message: 'Pure modules must not talk to the API server (type imports are fine).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The runner runs in every CronJob, watcher and cleanup pod: its memory is paid once per pod.
    files: ['operator/runner/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message: runnerClientNodeMessage,
              allowTypeImports: true,
            },
          ],
          // The operator's runtime loads the client (kube-config, informers, the writer).
          patterns: [{ group: ['**/runtime/*'], message: runnerClientNodeMessage, allowTypeImports: true }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "ImportExpression[source.value='@kubernetes/client-node']", message: runnerClientNodeMessage },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
