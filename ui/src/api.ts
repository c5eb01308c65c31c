// Calls into the shell: typed commands that throw a `CommandError` (typed, with words).
import { commands, events, type Event, type Result, type UiError } from "./bindings";
import { errorWords } from "./format";

export { commands };

export class CommandError extends Error {
  constructor(public readonly error: UiError) {
    super(errorWords(error));
  }
}

export async function call<T>(pending: Promise<Result<T, UiError>>): Promise<T> {
  const r = await pending;
  if (r.status === "ok") return r.data;
  throw new CommandError(r.error);
}

/** Words for anything thrown by `call` (or by the IPC itself). */
export function messageOf(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

type Listener = (e: Event) => void;
const listeners = new Set<Listener>();
let subscribed = false;

/** Engine events (one IPC subscription per window, shared by the pages). */
export function onEngineEvent(cb: Listener): () => void {
  if (!subscribed) {
    subscribed = true;
    void events.engineEvent.listen((e) => listeners.forEach((l) => l(e.payload)));
  }
  listeners.add(cb);
  return () => listeners.delete(cb);
}
