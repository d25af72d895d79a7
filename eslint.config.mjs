import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/proto/src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: ['type:proto'] },
            { sourceTag: 'type:storage', onlyDependOnLibsWithTags: ['type:runtime'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:proto', 'type:runtime'] },
            { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:proto', 'type:runtime', 'type:storage', 'type:testing'] },
            { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:proto', 'type:runtime'] },
            { sourceTag: 'type:devstack', onlyDependOnLibsWithTags: ['type:proto', 'type:runtime', 'type:testing'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'libs/testing/**/*.ts', 'libs/devstack/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
