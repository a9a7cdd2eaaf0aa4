import type { StorageConfig } from "../config";
import { LocalR2Store } from "./local-r2-store";
import type { ObjectStore } from "./object-store";
import { S3Store } from "./s3-store";

export async function openObjectStore(config: StorageConfig): Promise<ObjectStore> {
  switch (config.kind) {
    case "s3":
      return new S3Store(config);
    case "local-r2":
      return LocalR2Store.open(config.persistDir);
  }
}
