// `tramline send --host H --port P [--timeout ms] <files…>`: send HL7 v2 files over MLLP and
// print each ACK's MSA-1 and MSA-2. Exit code 1 if any ACK is not AA/CA or a file fails.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { MllpClient, parseAckCode } from '../../../adapters/mllp/client.js';

export interface SendOptions {
  host: string;
  port: number;
  timeout: number;
}

export interface Output {
  log: (line: string) => void;
  error: (line: string) => void;
}

function positiveInt(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

/**
 * Split a file's text into messages: a message starts at each line beginning with `MSH`;
 * LF, CRLF and CR line ends all become CR segment ends; blank lines are dropped.
 */
export function splitMessages(text: string): string[] {
  const lines = text.replace(/^\uFEFF|^\xEF\xBB\xBF/, '').split(/\r\n|\r|\n/);
  const messages: string[][] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (line.startsWith('MSH') || messages.length === 0) messages.push([]);
    messages[messages.length - 1].push(line);
  }
  return messages.map((segments) => segments.join('\r') + '\r');
}

const ACCEPTED = new Set(['AA', 'CA']);

/** Send every message of every file in order; returns the process exit code. */
export async function sendFiles(files: string[], options: SendOptions, out: Output = { log: console.log, error: console.error }): Promise<number> {
  const client = new MllpClient({ host: options.host, port: options.port, responseTimeoutMs: options.timeout, connectTimeoutMs: options.timeout });
  let failed = false;
  try {
    for (const file of files) {
      let text: string;
      try {
        // Latin-1 maps bytes 1:1 to characters, so the bytes sent are the file's own.
        text = (await readFile(file)).toString('latin1');
      } catch (err) {
        out.error(`${file}: cannot read file: ${(err as Error).message}`);
        failed = true;
        continue;
      }
      const messages = splitMessages(text);
      if (messages.length === 0 || !messages[0].startsWith('MSH')) {
        out.error(`${file}: no HL7 v2 message (expected a line starting with MSH)`);
        failed = true;
        continue;
      }
      for (const [i, msg] of messages.entries()) {
        const label = messages.length > 1 ? `${file}#${i + 1}` : file;
        try {
          const ack = parseAckCode(await client.send(Buffer.from(msg, 'latin1')));
          const ok = ACCEPTED.has(ack.code);
          if (!ok) failed = true;
          out.log(`${label}: ${ack.code || '(no MSA)'} ${ack.controlId}${!ok && ack.text ? ` ${ack.text}` : ''}`);
        } catch (err) {
          out.error(`${label}: send failed: ${(err as Error).message}`);
          failed = true;
        }
      }
    }
  } finally {
    await client.close();
  }
  return failed ? 1 : 0;
}

export function registerSendCommand(program: Command): Command {
  return program
    .command('send')
    .description('send HL7 v2 messages over MLLP and print each ACK (MSA-1 MSA-2)')
    .requiredOption('--host <host>', 'MLLP host')
    .requiredOption('--port <port>', 'MLLP port', positiveInt('--port', 65535))
    .option('--timeout <ms>', 'connect and reply timeout in milliseconds', positiveInt('--timeout', 3_600_000), 30_000)
    .argument('<files...>', 'files holding one or more HL7 v2 messages (LF, CRLF or CR segment ends)')
    .action(async (files: string[], opts: SendOptions) => {
      process.exitCode = await sendFiles(files, opts);
    });
}
