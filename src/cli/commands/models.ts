import { Command, Option } from "commander";
import { KV_CACHE_TYPES, type KvCacheType } from "../../models/memory-estimate.js";
import { formatModelListing, formatRecommendations } from "../../models/format-listing.js";
import { detectNvidiaGpus } from "../../system/gpu.js";
import { addModelFlags, configFromFlags, type ModelFlags } from "../shared-options.js";

interface ModelsFlags extends ModelFlags {
  recommend?: boolean;
  json?: boolean;
  kvCacheType?: KvCacheType;
}

/** `builder models`: local models and whether they fit; `--recommend` ranks code models for this machine. */
export function modelsCommand(): Command {
  const command = new Command("models")
    .description(
      "List local models (GGUF files in the model cache, Ollama tags) with size, quantization, context and fit; --recommend ranks code models for this GPU",
    )
    .option("--recommend", "rank code models (built-in table + models.catalog) for the detected memory at num_ctx")
    .option("--json", "print JSON")
    .addOption(
      new Option("--kv-cache-type <type>", "KV cache type for the estimate")
        .choices([...KV_CACHE_TYPES])
        .default("f16"),
    );
  addModelFlags(command);
  return command.action(async (flags: ModelsFlags) => {
    const config = configFromFlags(flags);
    const { listModels, recommendForConfig } = await import("../../models/model-listing.js");
    const detection = await detectNvidiaGpus();
    const cacheType = flags.kvCacheType ?? "f16";
    if (flags.recommend) {
      const listing = recommendForConfig(config, detection, cacheType);
      process.stdout.write(flags.json ? JSON.stringify(listing, null, 2) + "\n" : formatRecommendations(listing));
      return;
    }
    const listing = await listModels(config, detection, cacheType);
    process.stdout.write(flags.json ? JSON.stringify(listing, null, 2) + "\n" : formatModelListing(listing));
  });
}
