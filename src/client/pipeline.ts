/** Opens the store and Recorder a trail owns (when it is not handed a shared recorder). */
import { Recorder } from "../pipeline/recorder.js";
import { openStore } from "../store/open.js";
import type { ResolvedConfig } from "./config.js";
import type { RecorderPort } from "./recorder-port.js";

export interface OwnedPipeline {
  recorder: RecorderPort;
  close(): Promise<void>;
}

export async function openPipeline(config: Readonly<ResolvedConfig>): Promise<OwnedPipeline> {
  const store = await openStore(config.audit.storage);
  const recorder = new Recorder({
    store,
    level: config.audit.level,
    ...(config.audit.includeFields ? { includeFields: config.audit.includeFields } : {}),
    ...(config.protect ? { protect: config.protect } : {}),
  });
  return {
    recorder,
    close: async () => {
      try {
        await recorder.close();
      } finally {
        await store.close();
      }
    },
  };
}
