// TRAMLINE_PUBLIC_URL: the base FHIR links are built from (never the Host header). A bad value
// stops the engine at start with the variable named, instead of producing broken links.
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../core/config.js';

describe('TRAMLINE_PUBLIC_URL', () => {
  it('is optional and loses a trailing slash', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ TRAMLINE_PUBLIC_URL: 'https://tramline.example.org/' }).publicUrl).toBe('https://tramline.example.org');
    expect(loadConfig({ TRAMLINE_PUBLIC_URL: 'http://10.0.0.5:8080/care' }).publicUrl).toBe('http://10.0.0.5:8080/care');
  });

  it('refuses what is not an http(s) base URL, naming the variable', () => {
    for (const bad of ['tramline.example.org', 'ftp://x.example', 'https://x.example/?a=1', 'https://x.example/#f']) {
      expect(() => loadConfig({ TRAMLINE_PUBLIC_URL: bad })).toThrow(/TRAMLINE_PUBLIC_URL/);
    }
  });
});
