import type { Plugin } from 'esbuild';

export const skipCloudflareProbe: Plugin;
